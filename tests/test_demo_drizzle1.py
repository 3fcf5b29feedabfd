"""`inv demo --drizzle 1.0` and `--break`: the whole runbook on the fixture converted by the real `drizzle-kit up`.

Same harness as tests/test_demo.py (the real command line, a sandbox folder and ports of its own).
After the run the ledger is drizzle 1.0's: every migration folder recorded by name, with the
created_at drizzle 1.0 computes (the folder's second), so drizzle 1.0's migrator would apply nothing.
"""

from __future__ import annotations

import pytest

from pgrunbook.drizzle import load_migrations
from pgrunbook.sandbox import FIXTURE_DRIZZLE_V1
from tests.test_demo import demo_env, inv  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _connect(env, root):
    import psycopg

    password = (root / "pg" / "password").read_text().strip()
    return psycopg.connect(f"postgresql://postgres:{password}@127.0.0.1:{env['PGRUNBOOK_SANDBOX_PORT']}/htf_sunup_db")


def test_demo_drizzle_1_0_runs_the_whole_runbook_and_leaves_a_1_0_ledger(demo_env):  # noqa: F811
    env, root = demo_env
    done = inv(env, "demo", "--drizzle", "1.0")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "migrate-prod: ok" in done.stdout and "report.fr.md" in done.stdout
    report = next(root.glob("backups/runs/*/report.fr.md")).read_text()
    assert "- [x] ✅ Migration réussie" in report and "Indexes créés : **43**" in report
    assert sorted(p.name for p in (root / "app" / "drizzle").iterdir()) == sorted(
        p.name for p in FIXTURE_DRIZZLE_V1.iterdir() if p.is_dir())
    local = load_migrations(FIXTURE_DRIZZLE_V1)
    with _connect(env, root) as conn:
        rows = conn.execute("SELECT name, hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id").fetchall()
        indexes = conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'idx\\_%'").fetchone()[0]
    assert sorted(rows) == sorted((m.tag, m.hash, m.when) for m in local.entries)  # names, hashes, 1.0's created_at
    assert indexes == 43


def test_demo_drizzle_1_0_break_rolls_back_and_exits_4(demo_env):  # noqa: F811
    env, root = demo_env
    done = inv(env, "demo", "--drizzle", "1.0", "--break")
    assert done.returncode == 4, done.stdout[-3000:] + done.stderr[-3000:]
    assert "rolled back: validation found drift" in done.stderr
    with _connect(env, root) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 68
        assert conn.execute("SELECT to_regclass('drizzle.__drizzle_migrations')").fetchone()[0] is None  # legacy again
        kept = conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'htf_sunup_db_before_rollback_%'").fetchone()[0]
    assert kept == 1


def test_unknown_drizzle_version_is_a_usage_error(demo_env):  # noqa: F811
    env, _ = demo_env
    done = inv(env, "sandbox.reset", "--drizzle", "2.0")
    assert done.returncode == 2 and "unknown drizzle version" in done.stderr and "Traceback" not in done.stderr
