"""Every rollback killed at each of its steps, then recovered by the tool itself (issue 11.5 and its fault matrix).

A subprocess runs `inv rollback --full` with SIGKILL injected right after a journal step
(`rollback:step:<name>`, see pgrunbook.faults). Whatever the moment, re-running `rollback --full`
for that run reaches the backup's state with the database under its own name, the replaced one
kept, no restore database left; and `inv verify` on a database missing mid-swap names the
recovery command instead of "does not exist".
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import psycopg
import pytest

from pgrunbook import commands
from pgrunbook.errors import ConnectionFailure
from pgrunbook.rollback import full_rollback

from .phases import gone_through_gate

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RUN = ("import sys; from pgrunbook import cli; sys.exit(cli.rollback(sys.argv[1], None, full=True, indexes_only=False, backup=None, "
       "in_place=False, run_id=sys.argv[2], dry_run=False, yes=True, as_json=True))")


def state(db) -> dict:
    with db.connect() as conn:
        return {"indexes": sorted(r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")),
                "tracking": sorted(conn.execute("SELECT hash, created_at FROM drizzle.__drizzle_migrations").fetchall()),
                "users": conn.execute("SELECT count(*), md5(string_agg(md5(u::text), '' ORDER BY id)) FROM users u").fetchone()}


def databases(db) -> set[str]:
    with psycopg.connect(db.cluster.url("postgres")) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [db.name + "%"])}


def rollback_with_fault(db, script: str, inventory, run, point: str) -> subprocess.CompletedProcess:
    """`script` (a rollback) in a subprocess killed at `point`; returns once its sessions are gone too."""
    env = {**os.environ, "PGRUNBOOK_FAULT_AT": point}
    # Under pytest-timeout's 300 s (the test also migrates), so that a hang fails here with the child's output.
    done = subprocess.run([sys.executable, "-c", script, str(inventory), run.id], env=env, capture_output=True, text=True, timeout=200)
    db.wait_for_sessions_to_end()  # until then the dead run's backends hold its lock and block the renames
    return done


@pytest.fixture
def kept_dbs(pg_cluster):
    made = []
    yield made
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
        for db in made:
            for name in databases(db) - {db.name}:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("point", ["rollback:start", "rollback:step:stop-app", "rollback:step:create-restore-db",
                                   "rollback:step:created-restore-db", "rollback:step:restore", "rollback:step:count-restored",
                                   "rollback:step:swap", "rollback:step:renamed", "rollback:step:start-app",
                                   "rollback:step:app-started", "rollback:step:analyze-and-count"])
def test_killed_rollback_is_recovered_by_running_it_again(app_db, kept_dbs, point):
    db = app_db("tracked")
    kept_dbs.append(db)
    before = state(db)
    inventory = db.inventory()
    cfg, run = gone_through_gate(inventory)
    commands.migrate(cfg, yes=True)
    assert state(db) != before
    killed = rollback_with_fault(db, RUN, inventory, run, point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    if point == "rollback:step:renamed":  # mid-swap: the database is missing under its name
        assert db.name not in databases(db)
        with pytest.raises(ConnectionFailure) as missing:
            commands.verify(cfg)
        assert "inv rollback --full" in missing.value.next_step and run.id in missing.value.next_step
    checks = {c.id: c for c in commands.verify(cfg).checks} if db.name in databases(db) else {}
    if point in ("rollback:step:restore", "rollback:step:count-restored", "rollback:step:swap",
                 "rollback:step:start-app"):  # the app was stopped before (after the restore database was made)
        assert checks["app-left-stopped"].status.value == "fail" and run.id in checks["app-left-stopped"].summary
    if point in ("rollback:step:create-restore-db", "rollback:step:created-restore-db"):  # made while the app still ran
        assert "app-left-stopped" not in checks
    result = full_rollback(cfg, run=run, yes=True)
    assert result.ok, result.as_json()
    assert "app-left-stopped" not in {c.id for c in commands.verify(cfg).checks}
    assert state(db) == before
    names = databases(db)
    assert db.name in names and not any("_restore_" in n for n in names), names
    assert any("_before_rollback_" in n for n in names)  # the replaced database is kept
    with psycopg.connect(db.cluster.url("postgres")) as conn:
        blocked = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s AND NOT datallowconn", [db.name + "%"]).fetchall()
    assert blocked == []


RUN_IN_PLACE = RUN.replace("in_place=False", "in_place=True")


def schema_and_ledger(db) -> dict:
    with db.connect() as conn:
        schemas = sorted(r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
                                                    "AND nspname <> 'information_schema'"))
        ledger = (sorted(conn.execute("SELECT hash, created_at FROM drizzle.__drizzle_migrations").fetchall())
                  if "drizzle" in schemas else None)
        return {"schemas": schemas, "ledger": ledger,
                "indexes": sorted(r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")),
                "users": conn.execute("SELECT count(*), md5(string_agg(md5(u::text), '' ORDER BY id)) FROM users u").fetchone()}


@pytest.mark.parametrize("point", ["rollback:step:stop-app", "rollback:step:safety-dump", "rollback:step:restore-in-place",
                                   "rollback:step:start-app"])
def test_killed_in_place_rollback_is_recovered_by_running_it_again(app_db, point):
    """Issue 11: the fault matrix for `--in-place` (scenario B: the run created drizzle's schema, which the backup lacks)."""
    db = app_db("legacy")
    before = schema_and_ledger(db)
    inventory = db.inventory()
    cfg, run = gone_through_gate(inventory)
    commands.migrate(cfg, yes=True)
    killed = rollback_with_fault(db, RUN_IN_PLACE, inventory, run, point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert schema_and_ledger(db)["users"] == before["users"]  # whatever the moment, no row lost
    result = full_rollback(cfg, run=run, in_place=True, yes=True)
    assert result.ok, result.as_json()
    assert schema_and_ledger(db) == before
    assert databases(db) == {db.name}


RUN_INDEXES_ONLY = RUN.replace("full=True, indexes_only=False", "full=False, indexes_only=True")


@pytest.mark.parametrize("point", ["rollback:start", "rollback:step:dropped-index", "rollback:step:removed-tracking-rows"])
def test_killed_index_only_rollback_is_recovered_by_running_it_again(app_db, point):
    """The fault matrix for `--indexes-only`: killed after any step, running it again drops what is left of this
    run's indexes and tracking rows, and nothing else (DROP INDEX CONCURRENTLY IF EXISTS is idempotent)."""
    from pgrunbook.rollback import indexes_only_rollback

    db = app_db("tracked")
    before = state(db)
    inventory = db.inventory()
    cfg, run = gone_through_gate(inventory)
    commands.migrate(cfg, yes=True)
    killed = rollback_with_fault(db, RUN_INDEXES_ONLY, inventory, run, point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert state(db)["users"] == before["users"]
    result = indexes_only_rollback(cfg, run=run, yes=True)
    assert result.ok, result.as_json()
    assert state(db) == before
