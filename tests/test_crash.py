"""Crash tests: migrate-prod killed at each phase boundary and mid-migrate, then resumed.

A subprocess runs the whole runbook with a fault injected (`pgrunbook.faults`): SIGKILL right
after a journal record, or after the executor's n-th statement. `--resume` must then bring
the database to the post-state — same indexes, same tracking rows (hash, created_at) as a
clean run — never a mix, and no row of the protected tables may be lost.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from pgrunbook.config import load_config
from pgrunbook.runner import ProdOptions, migrate_prod

pytestmark = pytest.mark.integration

RUN = ("import sys; from pgrunbook import cli; sys.exit(cli.migrate_prod(sys.argv[1], None, resume=None, yes=True, "
       "online=False, single_transaction=False, as_json=True))")


def state(db) -> dict:
    with db.connect() as conn:
        indexes = sorted(r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"))
        tracked = conn.execute("SELECT to_regclass('drizzle.__drizzle_migrations') IS NOT NULL").fetchone()[0]
        rows = sorted(conn.execute("SELECT hash, created_at FROM drizzle.__drizzle_migrations").fetchall()) if tracked else None
        users = conn.execute("SELECT count(*), md5(string_agg(md5(u::text), '' ORDER BY id)) FROM users u").fetchone()
    return {"indexes": indexes, "tracking": rows, "users": users}


@pytest.fixture(scope="module")
def post_state(pg_cluster, templates, tmp_path_factory):
    """The state a clean migrate-prod leaves on the legacy database."""
    from .conftest import AppDb
    import psycopg
    from psycopg import sql

    from pgrunbook.sandbox import fresh_app_copy

    workdir = tmp_path_factory.mktemp("clean")
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE crash_clean TEMPLATE {}").format(sql.Identifier(templates("legacy"))))
    db = AppDb(pg_cluster, "crash_clean", fresh_app_copy(workdir), workdir)
    os.environ["PGRB_TEST_PW"] = pg_cluster.password
    assert migrate_prod(load_config(db.inventory()), options=ProdOptions(yes=True)).outcome == "ok"
    yield state(db)
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
        admin.execute("DROP DATABASE crash_clean WITH (FORCE)")


def run_with_fault(db, inventory, point: str, sig: str = "KILL") -> subprocess.CompletedProcess:
    """migrate-prod in a subprocess that dies (or is interrupted) at `point`; returns once its sessions are gone too."""
    env = {**os.environ, "PGRUNBOOK_FAULT_AT": point, "PGRUNBOOK_FAULT_SIGNAL": sig}
    # Under pytest-timeout's 300 s, so that a hang fails here with the child's output.
    done = subprocess.run([sys.executable, "-c", RUN, str(inventory)], env=env, capture_output=True, text=True, timeout=240)
    db.wait_for_sessions_to_end()  # until then the dead run's backend still holds the advisory lock
    return done


def last_run(db) -> str:
    return sorted((db.workdir / "backups" / "runs").iterdir())[-1].name


@pytest.mark.parametrize("point", [
    "verify:end", "backup:end", "analyze:end", "gate:decision", "migrate:start",
    "statement:1", "statement:30", "migrate:end", "validate:end", "post-backup:end",
])
def test_killed_then_resumed_reaches_the_post_state(app_db, post_state, point):
    db = app_db("legacy")
    inventory = db.inventory()
    before = state(db)
    killed = run_with_fault(db, inventory, point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert state(db)["users"] == before["users"]  # no row lost, whatever the moment
    result = migrate_prod(load_config(inventory), options=ProdOptions(yes=True, resume=last_run(db)))
    assert result.outcome == "ok", result.reason
    after = state(db)
    assert after == {**post_state, "users": before["users"]}


def test_ctrl_c_mid_migrate_leaves_a_resumable_journal(app_db, post_state):
    db = app_db("legacy")
    inventory = db.inventory()
    before = state(db)
    interrupted = run_with_fault(db, inventory, "statement:10", sig="INT")
    assert interrupted.returncode == 130, interrupted.stderr[-2000:]
    assert "Traceback" not in interrupted.stderr
    run_id = last_run(db)
    journal = (db.workdir / "backups" / "runs" / run_id / "journal.jsonl").read_text()
    assert '"status": "interrupted"' in journal and f"--resume {run_id}" in journal
    mid = state(db)
    assert mid["indexes"] == before["indexes"]  # the migration's transaction was rolled back
    result = migrate_prod(load_config(inventory), options=ProdOptions(yes=True, resume=run_id))
    assert result.outcome == "ok" and state(db) == {**post_state, "users": before["users"]}
