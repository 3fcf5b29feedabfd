"""Interoperability with the real drizzle-orm migrator (npm `drizzle-orm`, run by Node).

After pgrunbook has baselined / migrated a database, drizzle's own `migrate()` must agree
with what we recorded: it applies nothing we already applied, exactly what is pending
otherwise, and our hashes are drizzle's, byte for byte.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pgrunbook.config import MigratePolicy
from pgrunbook.drizzle import load_migrations, reconcile
from pgrunbook.drizzle.plan import make_plan
from pgrunbook.drizzle.recorder import Recorder
from pgrunbook.executor import Executor
from pgrunbook.sandbox import FIXTURE_DRIZZLE

pytestmark = pytest.mark.integration
HERE = Path(__file__).parent
INDEXES = "0011_add_performance_indexes"


@pytest.fixture(autouse=True)
def _drizzle_installed() -> None:
    """Fail, not skip: CI installs the npm packages, and a missing install step must stay red.
    Fail first, with how to get them, rather than midway through a test."""
    if shutil.which("node") is None:
        pytest.fail("Node.js is not installed: these tests run drizzle-orm's own migrator with it. Install node and npm "
                    "(apt-get install nodejs npm), then `cd tests/interop && npm ci`", pytrace=False)
    if not (HERE / "node_modules" / "drizzle-orm").is_dir():
        pytest.fail("the npm packages of the interop tests are missing (tests/interop/node_modules): "
                    "run `cd tests/interop && npm ci` (`bash .ci/run` does it too)", pytrace=False)


def drizzle(command: str, folder: Path, url: str = "") -> object:
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run([shutil.which("node"), str(HERE / "drizzle.mjs"), command, str(folder)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def rows(conn) -> list[tuple]:
    return conn.execute("SELECT hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id").fetchall()


def apply(conn, folder: Path, **plan_options):
    local = load_migrations(folder)
    plan = make_plan(local, reconcile(local, Recorder(conn).rows()), **plan_options)
    return Executor(conn, Recorder(conn), MigratePolicy()).run(plan, local)


def test_d_our_hashes_are_drizzles_crlf_included(tmp_path):
    crlf = tmp_path / "crlf"
    shutil.copytree(FIXTURE_DRIZZLE, crlf)
    for sql in crlf.glob("*.sql"):
        sql.write_bytes(sql.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    for folder in (FIXTURE_DRIZZLE, crlf):
        theirs = {e["tag"]: e["hash"] for e in drizzle("hashes", folder)}
        ours = {m.tag: m.hash for m in load_migrations(folder).entries}
        assert ours == theirs and len(ours) == 12


def test_a_after_our_baseline_and_migrate_drizzle_applies_nothing(app_db):
    db = app_db("legacy")
    with db.connect() as conn:
        apply(conn, db.drizzle_dir, baseline_until="0010")
        before = rows(conn)
        drizzle("migrate", db.drizzle_dir, db.url)
        assert rows(conn) == before and len(before) == 12


def test_b_after_our_baseline_alone_drizzle_applies_exactly_the_pending(app_db):
    db = app_db("legacy")
    with db.connect() as conn:
        local = load_migrations(db.drizzle_dir)
        plan = make_plan(local, reconcile(local, None), baseline_until="0009")
        with conn.transaction():
            recorder = Recorder(conn)
            recorder.ensure_table()
            for step in plan.baseline:
                recorder.record(step.hash, step.when)
        pending = [p.tag for p in plan.apply]
        assert pending == ["0010_add_campaign_bonus_config", INDEXES]
        drizzle("migrate", db.drizzle_dir, db.url)
        after = reconcile(local, Recorder(conn).rows())
        assert after.pending == () and [a.tag for a in after.applied][-2:] == pending
        assert rows(conn)[-2:] == [(local.by_tag(t).hash, local.by_tag(t).when) for t in pending]


def test_c_stranded_migration_applied_by_us_then_drizzle_adds_nothing(app_db):
    db = app_db("tracked")
    with db.connect() as conn:
        local = load_migrations(db.drizzle_dir)
        assert reconcile(local, Recorder(conn).rows()).stranded == (INDEXES,)
        drizzle("migrate", db.drizzle_dir, db.url)  # drizzle alone: silently skips the stranded 0011
        assert len(rows(conn)) == 11
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'idx\\_%'").fetchone()[0] == 0
        apply(conn, db.drizzle_dir)
        before = rows(conn)
        drizzle("migrate", db.drizzle_dir, db.url)
        assert rows(conn) == before and len(before) == 12
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'idx\\_%'").fetchone()[0] == 43


# --- drizzle 1.0 (npm drizzle-orm-1 = drizzle-orm 1.0.0-rc.*; folders made by the real drizzle-kit up) ---

from pgrunbook.errors import CheckFailed  # noqa: E402

from .kit import v1_copy  # noqa: E402


@pytest.fixture
def empty_db(pg_cluster):
    """`empty_db()` -> URL of a fresh empty database on the test cluster (dropped afterwards)."""
    import itertools

    import psycopg
    from psycopg import sql

    created, counter = [], itertools.count()

    def make() -> str:
        name = f"interop_v1_{os.getpid()}_{next(counter)}"
        with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        created.append(name)
        return pg_cluster.url(name)

    yield make
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
        for name in created:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def connect(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True)


def ledger(conn) -> list[tuple]:
    return conn.execute("SELECT hash, created_at, name FROM drizzle.__drizzle_migrations ORDER BY id").fetchall()


def schema(conn) -> list[tuple]:
    """Every user table's columns, constraints and indexes (the drizzle schema's ledger left out)."""
    return conn.execute("""
        SELECT 'col', table_name, column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
          FROM information_schema.columns WHERE table_schema = 'public'
        UNION ALL SELECT 'con', conrelid::regclass::text, conname || ' ' || pg_get_constraintdef(oid)
          FROM pg_constraint WHERE connamespace = 'public'::regnamespace
        UNION ALL SELECT 'idx', tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'
        ORDER BY 1, 2, 3""").fetchall()


@pytest.fixture(scope="module")
def v1_folder(tmp_path_factory) -> Path:
    return v1_copy(FIXTURE_DRIZZLE, tmp_path_factory.mktemp("v1") / "drizzle")


def test_v1_our_names_times_and_hashes_are_drizzle_1s(v1_folder):
    theirs = [(e["name"], e["when"], e["hash"]) for e in drizzle("hashes1", v1_folder)]
    local = load_migrations(v1_folder)
    assert local.format == "1.0" and [(m.tag, m.when, m.hash) for m in local.entries] == theirs and len(theirs) == 12
    # drizzle-kit up names each folder as we predict from the journal, and copies the SQL unchanged
    # (0011's `when` was moved after 0010's, as drizzle-kit up asked: its name comes from the new one)
    legacy = load_migrations(FIXTURE_DRIZZLE)
    predicted = sorted((m.name_v1, m.when_v1, m.hash) for m in legacy.entries if m.tag != INDEXES)
    assert predicted == sorted(t for t in theirs if not t[0].endswith("_add_performance_indexes"))


def test_v1_a_partly_applied_by_drizzle_1_rest_by_us_then_drizzle_1_applies_nothing(v1_folder, tmp_path, empty_db):
    partial = tmp_path / "partial"
    partial.mkdir()
    for folder in sorted(p for p in v1_folder.iterdir() if p.is_dir())[:6]:
        shutil.copytree(folder, partial / folder.name)
    ours, theirs = empty_db(), empty_db()
    drizzle("migrate1", partial, ours)
    with connect(ours) as conn:
        assert len(ledger(conn)) == 6 and Recorder(conn).ledger_version() == 1
        state = reconcile(load_migrations(v1_folder), Recorder(conn).rows())
        assert state.drizzle == "1.0" and len(state.pending) == 6 and state.stranded == ()
        result = apply(conn, v1_folder)
        assert len(result.applied) == 6
        before = ledger(conn)
        drizzle("migrate1", v1_folder, ours)
        assert ledger(conn) == before and len(before) == 12 and all(name for _, _, name in before)
        ours_schema = schema(conn)
    drizzle("migrate1", v1_folder, theirs)
    with connect(theirs) as conn:
        assert schema(conn) == ours_schema
        assert sorted(ledger(conn)) == sorted(before)


def test_v1_d_stranded_045_migration_across_the_upgrade_applied_once(app_db, v1_folder):
    """The fixture's 0011 is stranded under 0.45; with the folder converted, 1.0 rules apply it (by name), once."""
    db = app_db("tracked")
    with db.connect() as conn:
        state = reconcile(load_migrations(v1_folder), Recorder(conn).rows())
        assert state.needs_upgrade and not state.upgrade_blocked and [p[15:] for p in state.pending] == ["add_performance_indexes"]
        apply(conn, v1_folder)
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'idx\\_%'").fetchone()[0] == 43
        drizzle("migrate1", v1_folder, db.url)  # upgrades the 0.45 ledger in place, applies nothing
        after = ledger(conn)
        assert len(after) == 12 and sorted(n for _, _, n in after) == sorted(m.tag for m in load_migrations(v1_folder).entries)
        assert reconcile(load_migrations(v1_folder), Recorder(conn).rows()).pending == ()


def test_v1_e_renamed_and_edited_folders_are_reported_before_anything_runs(v1_folder, tmp_path, empty_db):
    url = empty_db()
    drizzle("migrate1", v1_folder, url)
    folder = tmp_path / "drizzle"
    shutil.copytree(v1_folder, folder)
    last = sorted(p for p in folder.iterdir() if p.is_dir())[-1]
    last.rename(folder / (last.name + "_v2"))
    first = sorted(p for p in folder.iterdir() if p.is_dir())[0] / "migration.sql"
    first.write_text(first.read_text() + "\n-- edited after it ran\n")
    with connect(url) as conn:
        before = ledger(conn)
        state = reconcile(load_migrations(folder), Recorder(conn).rows())
        assert state.renamed == ((last.name + "_v2", last.name),) and state.edited == (first.parent.name,)
        with pytest.raises(CheckFailed, match="renamed migration folder"):
            apply(conn, folder)
        assert ledger(conn) == before
    # what drizzle 1.0 itself does with the renamed folder: runs its SQL a second time (this one is
    # idempotent, so it "succeeds") and records it again under the new name
    drizzle("migrate1", folder, url)
    with connect(url) as conn:
        assert ledger(conn)[:-1] == before and ledger(conn)[-1][2] == last.name + "_v2"


def test_v1_verify_says_which_format_and_ledger_before_and_after_drizzle_1s_upgrade(app_db, v1_folder):
    from pgrunbook import commands
    from pgrunbook.config import load_config

    db = app_db("tracked")
    inventory = db.inventory(migrations={"dir": str(v1_folder), "drizzle": "1.0"})
    report = commands.verify(load_config(inventory))
    data = report.as_json()["drizzle"]
    assert (data["format"], data["ledger_version"], data["needs_upgrade"], data["upgrade_blocked"]) == ("1.0", 0, True, False)
    assert len(data["upgrade"]) == 11 and {u["matched_by"] for u in data["upgrade"]} == {"created_at"}
    assert next(c for c in report.checks if c.id == "drizzle-format").status.name == "WARN"
    drizzle("migrate1", v1_folder, db.url)  # drizzle 1.0 upgrades the ledger, then applies the stranded 0011 by name
    data = commands.verify(load_config(inventory)).as_json()["drizzle"]
    assert (data["ledger_version"], data["pending"], data["needs_upgrade"]) == (1, [], False)


def full_ledger(conn) -> list[tuple]:
    return conn.execute("SELECT id, hash, created_at, name, applied_at IS NULL FROM drizzle.__drizzle_migrations ORDER BY id").fetchall()


def test_v1_b_c_our_ledger_upgrade_equals_drizzle_1s_own_and_drizzle_1_then_applies_nothing(app_db, v1_folder):
    """(b) a 0.45 ledger written by pgrunbook (0011 recorded under its old `when`), the folder converted by
    drizzle-kit up, our upgrade -> drizzle 1.0 applies nothing; (c) drizzle 1.0's own upgrade of the same
    ledger gives the same rows (names, created_at, applied_at NULL)."""
    ours, theirs = app_db("tracked"), app_db("tracked")
    for db in (ours, theirs):
        with db.connect() as conn:
            apply(conn, db.drizzle_dir)  # 0.45 rules: the stranded 0011 applied and recorded by pgrunbook
            assert len(rows(conn)) == 12
    with ours.connect() as conn:
        state = reconcile(load_migrations(v1_folder), Recorder(conn).rows())
        assert state.needs_upgrade and state.pending == () and [u.why for u in state.upgrade][-1] == "hash"
        plan = make_plan(load_migrations(v1_folder), state)
        assert len(plan.upgrade) == 12 and plan.steps == ()  # the upgrade is the plan's one step
        result = apply(conn, v1_folder)  # the planned upgrade, run by the executor through the recorder
        assert result.applied == ()
        upgraded = full_ledger(conn)
        drizzle("migrate1", v1_folder, ours.url)
        assert full_ledger(conn) == upgraded
    drizzle("migrate1", v1_folder, theirs.url)  # drizzle 1.0 upgrades the ledger itself
    with theirs.connect() as conn:
        assert full_ledger(conn) == upgraded
