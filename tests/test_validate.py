"""`inv validate`: catches a missing or invalid index, a changed count or user row, a slow or failing endpoint."""

from __future__ import annotations

import pytest

from pgrunbook import commands
from pgrunbook.config import load_config
from pgrunbook.outcome import Status

from .phases import gone_through_gate, sandbox_api, write_playbook

pytestmark = pytest.mark.integration


def migrated(db, **inventory):
    cfg, run = gone_through_gate(db.inventory(**inventory))
    commands.migrate(cfg, yes=True)
    return cfg


def failures(report) -> dict[str, str]:
    return {c.id: c.summary for c in report.checks if c.status is Status.FAIL}


def test_passes_after_a_clean_migration(app_db):
    db = app_db("legacy")
    cfg = migrated(db)
    _, report = commands.validate(cfg)
    assert report.ok and not report.drift


def test_missing_index(app_db):
    db = app_db("tracked")
    cfg = migrated(db)
    with db.connect() as conn:
        conn.execute("DROP INDEX idx_users_role")
    _, report = commands.validate(cfg)
    assert "public.idx_users_role missing" in failures(report)["expected-indexes"]
    assert "42 performance indexes, expected 43" in failures(report)["performance-indexes"] and not report.drift


def test_invalid_index(app_db):
    db = app_db("tracked")
    cfg = migrated(db)
    with db.connect() as conn:
        conn.execute("UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'public.idx_campaigns_status'::regclass")
    _, report = commands.validate(cfg)
    assert "public.idx_campaigns_status is INVALID" in failures(report)["expected-indexes"]


def test_changed_count_is_drift(app_db):
    db = app_db("tracked")
    cfg = migrated(db)
    with db.connect() as conn:
        conn.execute("DELETE FROM users WHERE id = (SELECT max(id) FROM users WHERE role = 'fbo')")
    _, report = commands.validate(cfg)
    assert "fbo users 60 → 59" in failures(report)["protected-counts"] and report.drift


def test_changed_user_row_is_drift(app_db):
    db = app_db("tracked")
    cfg = migrated(db)
    with db.connect() as conn:
        conn.execute("UPDATE users SET first_name = 'Changed' WHERE id = 3")
    _, report = commands.validate(cfg)
    assert "users-fingerprint" in failures(report) and "protected-counts" not in failures(report) and report.drift


def test_no_loss_policy_accepts_growth_but_not_loss(app_db, tmp_path):
    db = app_db("tracked")
    playbook = write_playbook(tmp_path / "pb.yml", validate={"drift": "no-loss"})
    cfg, _ = gone_through_gate(db.inventory(), playbook)
    commands.migrate(cfg, yes=True)
    with db.connect() as conn:
        conn.execute("INSERT INTO users (email, password, first_name, last_name, role) "
                     "SELECT 'new' || g || '@x.test', password, 'N', 'U', 'fbo' FROM users, generate_series(1, 3) g WHERE users.id = 1")
    _, report = commands.validate(cfg)
    assert report.ok, failures(report)
    with db.connect() as conn:
        conn.execute("DELETE FROM users WHERE id = 5")
        conn.execute("INSERT INTO users (email, password, first_name, last_name, role) SELECT 'more@x.test', password, 'N', 'U', 'fbo' FROM users WHERE id = 1")
    _, report = commands.validate(cfg)
    assert "1 pre-existing users rows gone" in failures(report)["protected-counts"] and report.drift


def test_api_smoke_test_passes_then_catches_slow_and_failing_endpoints(app_db):
    db = app_db("tracked")
    with sandbox_api(db.url, db.workdir) as api:
        cfg = migrated(db, api=api)
        _, report = commands.validate(cfg)
        assert report.ok, failures(report)
        assert "login ok" in next(c.summary for c in report.checks if c.id == "api")
        slow = {**api, "endpoints": [{"path": "/api/campaigns", "budget_ms": 0.001}]}
        _, report = commands.validate(load_config(db.inventory(api=slow)))
        assert "over budget" in failures(report)["api"]
        missing = {**api, "endpoints": [{"path": "/api/nope", "budget_ms": 500}]}
        _, report = commands.validate(load_config(db.inventory(api=missing)))
        assert "status [404]" in failures(report)["api"]
        wrong = {**api, "login": {"email": api["login"]["email"], "password": "wrong-password"}}
        _, report = commands.validate(load_config(db.inventory(api=wrong)))
        assert "login failed" in failures(report)["api"]


def test_hot_queries_show_the_new_index_in_use(app_db, tmp_path):
    db = app_db("tracked")
    query = "SELECT id FROM users WHERE role = 'manager' AND manager_id IS NULL ORDER BY created_at DESC LIMIT 20"
    playbook = write_playbook(tmp_path / "pb.yml", validate={"hot_queries": [query]})
    with db.connect() as conn:
        conn.execute("SET enable_seqscan = off")  # not effective across sessions; the planner decides
    cfg, _ = gone_through_gate(db.inventory(), playbook)
    commands.migrate(cfg, yes=True)
    _, report = commands.validate(cfg)
    hot = next(c for c in report.checks if c.id == "hot-queries")
    assert "→" in hot.summary and report.ok


def test_an_added_column_is_not_drift(app_db):
    db = app_db("tracked")
    path = db.drizzle_dir / "0011_add_performance_indexes.sql"
    path.write_text(path.read_text() + '\n--> statement-breakpoint\nALTER TABLE "users" ADD COLUMN "nickname" varchar(50);\n')
    cfg = migrated(db)
    _, report = commands.validate(cfg)
    assert report.ok and not report.drift, failures(report)


def test_a_dropped_column_is_drift(app_db):
    db = app_db("tracked")
    cfg = migrated(db)
    with db.connect() as conn:
        conn.execute("ALTER TABLE users DROP COLUMN phone")
    _, report = commands.validate(cfg)
    assert "phone" in failures(report)["users-fingerprint"] and report.drift
