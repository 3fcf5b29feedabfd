"""A new database is a plan too (issue 12 item 9): no tracking (or an empty tracking table) and none
of the app's objects: apply everything from the first migration. Part of the app present stays a refusal."""

from __future__ import annotations

import pytest

from pgrunbook import commands
from pgrunbook.config import load_config
from pgrunbook.errors import CheckFailed
from pgrunbook.executor import Executor
from pgrunbook.drizzle.recorder import Recorder
from pgrunbook.pg import connect, read_only
from pgrunbook.planning import observe_and_plan

pytestmark = pytest.mark.integration


def emptied(app_db):
    db = app_db("legacy")
    with db.connect() as conn:
        conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    return db


def plan_of(cfg):
    with connect(cfg.inventory.database) as conn, read_only(conn):
        return observe_and_plan(conn, cfg)


@pytest.mark.parametrize("tracking", ["absent", "empty table"])
def test_a_new_database_plans_every_migration_and_applies_them(app_db, tracking):
    db = emptied(app_db)
    if tracking == "empty table":
        with db.connect() as conn:
            conn.execute("CREATE SCHEMA drizzle; CREATE TABLE drizzle.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, "
                         "created_at bigint)")
    cfg = load_config(db.inventory())
    seen = plan_of(cfg)
    entries = [m.tag for m in seen.local.entries]
    assert seen.baseline_source == "new database"
    assert seen.plan.scenario == "B" and not seen.plan.baseline and [s.tag for s in seen.plan.apply] == entries
    report = commands.analyze(cfg)
    plan_check = next(c for c in report.checks if c.id == "plan")
    assert "a new database" in plan_check.summary
    with connect(cfg.inventory.database, autocommit=True) as conn:
        Executor(conn, Recorder(conn, "drizzle", "__drizzle_migrations"), cfg.playbook.migrate).run(seen.plan, seen.local)
    after = plan_of(cfg)
    assert after.plan.scenario == "A" and after.plan.empty and len(after.facts.tracking_rows) == len(entries)


def test_part_of_the_app_present_without_tracking_is_still_refused(app_db):
    db = emptied(app_db)
    with db.connect() as conn:  # one table of the first migration, as a half-restored database would have
        conn.execute("CREATE TABLE users (id serial PRIMARY KEY)")
    with pytest.raises(CheckFailed, match="some but not all of the first migration's objects exist"):
        plan_of(load_config(db.inventory()))


def test_a_new_database_goes_through_verify_backup_gate_migrate_and_validate(app_db):
    """Issue 12: the playbook's protected tables are absent because the plan creates them: not a failure."""
    from pgrunbook.outcome import Status

    from .phases import write_playbook

    db = emptied(app_db)
    cfg = load_config(db.inventory(), write_playbook(db.workdir / "pb.yml", policy={"allow": ["create-table", "create-type"]}))
    report = commands.verify(cfg)
    failed = {c.id: c.summary for c in report.checks if c.status is Status.FAIL}
    assert report.ok, failed
    checks = {c.id: c for c in report.checks}
    assert "created by the plan" in checks["expected-tables"].summary and "created by the plan" in checks["users-by-role"].summary
    backup = commands.backup(cfg)
    assert backup.ok, [c.as_dict() for c in backup.checks if c.status is Status.FAIL]
    run, decision = commands.gate(cfg)
    assert decision.go, [c for c in decision.as_json()["checks"] if c["status"] == "fail"]
    commands.migrate(cfg, yes=True)
    _, validation = commands.validate(cfg)
    assert validation.ok, [c.as_dict() for c in validation.checks if c.status is Status.FAIL]
    checks = {c.id: c for c in validation.checks}
    assert "created by the approved plan" in checks["users-fingerprint"].summary
    assert decision.go and "users 0" not in checks["protected-counts"].summary  # nothing before: nothing compared


def test_a_protected_table_missing_that_the_plan_does_not_create_still_fails_verify(app_db, tmp_path):
    from pgrunbook.outcome import Status

    from .phases import write_playbook

    db = emptied(app_db)
    pb = write_playbook(tmp_path / "pb.yml", expectations={"tables": ["users", "accounts"], "role_count": {"table": "members"}})
    checks = {c.id: c for c in commands.verify(load_config(db.inventory(), pb)).checks}
    assert checks["expected-tables"].status is Status.FAIL and "missing: accounts" in checks["expected-tables"].summary
    assert "created by the plan: users" in checks["expected-tables"].summary or "users" not in checks["expected-tables"].summary.split("missing:")[1]
    assert checks["users-by-role"].status is Status.FAIL
