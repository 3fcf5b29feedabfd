"""A second major: Debian's PostgreSQL 15 server with its own client tools (issue 11.2).

PostgreSQL 18's pg_restore emits `SET transaction_timeout`, which servers up to 16 reject, and
pg_restore 15 cannot read an archive pg_dump 18 wrote: on a 15 server every restore needs 15's
tools. pgrunbook finds them (Debian's /usr/lib/postgresql/15/bin) by the server's major; these
tests run verify, backup with its restore test, migrate-prod with its automatic rollback, and
both rollbacks against a real 15 server. `.ci/run` installs `postgresql-15`; without it these
tests fail, naming the package (they are not skipped).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from pgrunbook import commands
from pgrunbook.config import load_config
from pgrunbook.errors import RolledBack, ToolError
from pgrunbook.pg import locate_tool, restore_problem
from pgrunbook.rollback import full_rollback, indexes_only_rollback
from pgrunbook.runner import ProdOptions, migrate_prod
from pgrunbook.sandbox import build_app_database, fresh_app_copy
from pgrunbook.sandbox.cluster import Cluster, free_port

from .conftest import TEST_PASSWORD, AppDb, _counter
from .phases import gone_through_gate

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PG15_BIN = Path("/usr/lib/postgresql/15/bin")


@pytest.fixture(scope="module")
def pg15():
    if not (PG15_BIN / "initdb").exists():
        pytest.fail("Debian's PostgreSQL 15 is not installed (apt-get install postgresql-15; .ci/run does it)")
    root = Path(tempfile.mkdtemp(prefix="pgrunbook-test-pg15-"))
    root.chmod(0o755)
    cluster = Cluster(root, free_port(), TEST_PASSWORD, bin_dir=PG15_BIN)
    cluster.ensure_running()
    yield cluster
    cluster.destroy()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def app_db15(pg15, tmp_path):
    made = []

    def make(state: str) -> AppDb:
        name = f"app15_{state}_{next(_counter)}"
        build_app_database(pg15, name, state, drizzle_dir=fresh_app_copy(tmp_path / f"tmpl_{name}"))
        made.append(name)
        return AppDb(pg15, name, fresh_app_copy(tmp_path / name), tmp_path / name)

    yield make
    with psycopg.connect(pg15.url("postgres"), autocommit=True) as admin:
        for row in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE 'app15\\_%'").fetchall():
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(row[0])))


def state(db) -> dict:
    with db.connect() as conn:
        return {"indexes": sorted(r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")),
                "users": conn.execute("SELECT count(*) FROM users").fetchone()[0],
                "drizzle": conn.execute("SELECT to_regnamespace('drizzle') IS NOT NULL").fetchone()[0]}


def test_restore_compatibility_rules():
    assert restore_problem(18, 15) and "transaction_timeout" in restore_problem(18, 15)
    assert restore_problem(15, 15) is None and restore_problem(18, 18) is None and restore_problem(17, 18) is None
    assert "cannot read" in restore_problem(15, 15, dump_major=18)


def test_tools_follow_the_server_major(pg15):
    assert locate_tool("pg_restore", server_major=15).major == 15
    assert locate_tool("pg_restore").major >= 17  # without a server: the wheel's


def test_verify_backup_and_restore_test_on_15(app_db15):
    db = app_db15("legacy")
    cfg = load_config(db.inventory(backup={"verify_restore": True}))
    report = commands.verify(cfg)
    tools = {c.id: c for c in report.checks}["client-tools"]
    assert tools.status.value == "ok" and "pg_restore 15" in tools.summary, tools
    result = commands.backup(cfg)
    assert result.ok, result.as_json()
    assert result.manifest.dump["pg_dump"]["version"].startswith("15.")
    assert result.manifest.restore_verification and result.manifest.restore_verification.ok


def test_migrate_prod_rolls_back_on_15(app_db15):
    db = app_db15("legacy")
    before = state(db)

    def drift(run):
        with db.connect() as conn:
            conn.execute("DELETE FROM daily_bonus WHERE id IN (SELECT id FROM daily_bonus LIMIT 1)")

    with pytest.raises(RolledBack):
        migrate_prod(load_config(db.inventory()), options=ProdOptions(yes=True, after_migrate=drift))
    assert state(db) == before
    ok = migrate_prod(load_config(db.inventory()), options=ProdOptions(yes=True))
    assert ok.outcome == "ok" and len(state(db)["indexes"]) == len(before["indexes"]) + 43


@pytest.mark.parametrize("in_place", [False, True])
def test_full_rollback_on_15(app_db15, in_place):
    db = app_db15("tracked")
    before = state(db)
    cfg, run = gone_through_gate(db.inventory())
    commands.migrate(cfg, yes=True)
    assert state(db) != before
    result = full_rollback(cfg, run=run, in_place=in_place, yes=True)
    assert result.ok, result.as_json()
    assert state(db) == before


def test_indexes_only_rollback_on_15(app_db15):
    db = app_db15("tracked")
    before = state(db)
    cfg, run = gone_through_gate(db.inventory())
    commands.migrate(cfg, yes=True)
    result = indexes_only_rollback(cfg, run=run, yes=True)
    assert result.ok and len(result.dropped_indexes) == 43 and state(db) == before


def test_a_newer_pg_restore_named_by_the_operator_is_refused_before_anything_changes(app_db15):
    db = app_db15("tracked")
    from pgrunbook.pg import default_bin_dir

    cfg, run = gone_through_gate(db.inventory())  # backed up with 15's tools
    commands.migrate(cfg, yes=True)
    migrated = state(db)
    forced = load_config(db.inventory(tools={"bin_dir": str(default_bin_dir())}))
    with pytest.raises(ToolError, match="transaction_timeout"):
        full_rollback(forced, run=run, yes=True)
    assert state(db) == migrated


def test_the_gate_refuses_a_rollback_its_tools_cannot_do(app_db15):
    """Issue 11.2: "rollback-ready" is a proof: a backup taken by pg_dump 18 cannot be restored into 15 by any tool."""
    from pgrunbook.pg import default_bin_dir

    db = app_db15("tracked")
    forced = load_config(db.inventory(tools={"bin_dir": str(default_bin_dir())}))
    assert commands.backup(forced).ok
    _, decision = commands.gate(load_config(db.inventory()))  # 15's own pg_restore cannot read an archive written by 18
    ready = {c.id: c for c in decision.checks}["rollback-ready"]
    assert not decision.go and ready.status.value == "fail" and "cannot read its archive" in ready.summary
    _, decision = commands.gate(forced)  # and 18's pg_restore is rejected by the 15 server
    assert "transaction_timeout" in {c.id: c for c in decision.checks}["rollback-ready"].summary
