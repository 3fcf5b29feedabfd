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


def drizzle(command: str, folder: Path, url: str = "") -> object:
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "drizzle-orm").is_dir():
        pytest.fail("drizzle-orm is not installed for the interop tests: run `bash .ci/run` (npm ci in tests/interop)")
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run([node, str(HERE / "drizzle.mjs"), command, str(folder)], capture_output=True, text=True, env=env, timeout=120)
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
