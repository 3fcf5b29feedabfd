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


# --------------------------------------------------------------------------- every table's rows (pure)

from pgrunbook.validate import DRIFT_CHECKS, ValidationInputs, evaluate, table_changes  # noqa: E402

BEFORE_TABLES = {"public.users": 68, "public.daily_bonus": 120, "public.sessions": 9, "public.empty": 0,
                 "drizzle.__drizzle_migrations": 11}


def snapshot(tables: dict[str, int] | None, users: int = 68) -> dict:
    snap = {"users_by_role": {"by_role": {"fbo": users - 8, "manager": 8}, "total": users}, "tables": {"users": users},
            "fingerprint": {"table": "users", "count": users, "md5": "m", "max_pk": users, "columns": ["id"]}}
    return snap if tables is None else {**snap, "all_tables": tables}


def inputs(after_tables: dict[str, int] | None, *, policy: str = "no-loss", allow: tuple[str, ...] = (),
           before_tables: dict[str, int] | None = BEFORE_TABLES) -> ValidationInputs:
    return ValidationInputs(expected_indexes=(), index_details={}, performance_indexes=0, expected_performance_indexes=None,
                            applied_tags=(), recorded_tags=(), drift_policy=policy, before=snapshot(before_tables),
                            after=snapshot(after_tables), preexisting_rows_left=68, api_before=None, api_after=None,
                            allow_row_loss=allow)


def table_check(report):
    return next(c for c in report.checks if c.id == "table-rows")


@pytest.mark.parametrize("policy", ["exact", "no-loss"])
def test_a_table_that_lost_rows_is_drift_whatever_the_policy(policy):
    report = evaluate(inputs({**BEFORE_TABLES, "public.daily_bonus": 0}, policy=policy))
    check = table_check(report)
    assert check.status is Status.FAIL and "public.daily_bonus 120 → 0" in check.summary and report.drift
    assert "table-rows" in DRIFT_CHECKS and "protected-counts" not in failures(report)  # only this line caught it


def test_every_losing_table_is_named_with_before_and_after():
    after = {**BEFORE_TABLES, "public.daily_bonus": 119, "public.sessions": 3}
    check = table_check(evaluate(inputs(after)))
    assert "rows lost in 2 table(s)" in check.summary
    assert "public.daily_bonus 120 → 119" in check.summary and "public.sessions 9 → 3" in check.summary


def test_growth_and_created_tables_are_not_drift():
    after = {**BEFORE_TABLES, "public.daily_bonus": 130, "drizzle.__drizzle_migrations": 12, "public.new_table": 0}
    report = evaluate(inputs(after))
    check = table_check(report)
    assert check.status is Status.OK and not report.drift
    assert "grew: drizzle.__drizzle_migrations 11 → 12, public.daily_bonus 120 → 130" in check.summary
    assert "new_table" not in check.summary


def test_a_dropped_table_loses_all_its_rows_even_an_empty_one():
    after = {k: v for k, v in BEFORE_TABLES.items() if k not in ("public.daily_bonus", "public.empty")}
    check = table_check(evaluate(inputs(after)))
    assert check.status is Status.FAIL
    assert "public.daily_bonus 120 → dropped" in check.summary and "public.empty 0 → dropped" in check.summary


def test_a_renamed_table_is_a_loss_under_its_old_name():
    after = {**{k: v for k, v in BEFORE_TABLES.items() if k != "public.sessions"}, "public.sessions_old": 9}
    check = table_check(evaluate(inputs(after)))
    assert check.status is Status.FAIL and "public.sessions 9 → dropped" in check.summary


def test_only_the_listed_tables_may_lose_rows():
    after = {**BEFORE_TABLES, "public.sessions": 0, "public.daily_bonus": 100}
    report = evaluate(inputs(after, allow=("public.sessions",)))
    check = table_check(report)
    assert check.status is Status.FAIL and "public.daily_bonus 120 → 100" in check.summary and "sessions" not in check.summary
    report = evaluate(inputs({**BEFORE_TABLES, "public.sessions": 0}, allow=("public.sessions",)))
    check = table_check(report)
    assert check.status is Status.WARN and not report.drift and "public.sessions 9 → 0 (allowed)" in check.summary


def test_an_exception_does_not_waive_the_protected_counts():
    after = {**BEFORE_TABLES, "public.users": 67}
    i = inputs(after, policy="exact", allow=("public.users",))
    report = evaluate(ValidationInputs(**{**i.__dict__, "after": {**snapshot(after, users=67)}}))
    assert table_check(report).status is Status.WARN
    assert "protected-counts" in failures(report) and report.drift


def test_exact_policy_still_refuses_growth_of_protected_tables_only():
    after = {**BEFORE_TABLES, "public.daily_bonus": 121}
    report = evaluate(inputs(after, policy="exact"))
    assert report.ok and not report.drift  # daily_bonus is not protected: growth is no drift


def test_no_per_table_counts_before_is_said_not_silently_passed():
    check = table_check(evaluate(inputs(BEFORE_TABLES, before_tables=None)))
    assert check.status is Status.INFO and "not compared" in check.summary


def test_table_changes_lists_only_changes_of_existing_tables():
    changes = table_changes({"a.x": 1, "a.y": 2}, {"a.x": 1, "a.y": 5, "a.z": 9})
    assert [(c.table, c.before, c.after, c.lost) for c in changes] == [("a.y", 2, 5, False)]


def test_allow_row_loss_entries_must_name_one_qualified_table(tmp_path):
    from pgrunbook.config import ValidatePolicy

    assert ValidatePolicy(allow_row_loss=["public.sessions", "public.sessions"]).allow_row_loss == ["public.sessions"]
    for bad in ("sessions", "public.*", "public.", ".x", "a.b.c", "public.sess ions"):
        with pytest.raises(ValueError, match="schema-qualified"):
            ValidatePolicy(allow_row_loss=[bad])


# --------------------------------------------------------------------------- the approved plan's expected post-state (issue 12 item 6)


def approved_drop_of_a_users_column(db, tmp_path):
    """0011 also drops users.updated_at, approved by a reviewed exception pinned to the file's hash."""
    from pgrunbook.drizzle import load_migrations

    path = db.drizzle_dir / "0011_add_performance_indexes.sql"
    path.write_text(path.read_text() + '\n--> statement-breakpoint\nALTER TABLE "users" DROP COLUMN "updated_at";\n'
                    '--> statement-breakpoint\nALTER TABLE "users" ADD COLUMN "nickname" varchar(50);\n')
    sha = load_migrations(db.drizzle_dir).by_tag("0011_add_performance_indexes").hash
    return write_playbook(tmp_path / "playbook.yml", exceptions=[{
        "migration": "0011_add_performance_indexes", "sha256": sha, "rules": ["ban-drop", "squawk:ban-drop-column"],
        "reason": "updated_at is unused", "reviewed_by": "jd"}])


def test_a_column_the_approved_plan_drops_from_the_protected_table_is_not_drift(app_db, tmp_path):
    db = app_db("tracked")
    cfg, _ = gone_through_gate(db.inventory(), approved_drop_of_a_users_column(db, tmp_path))
    commands.migrate(cfg, yes=True)
    _, report = commands.validate(cfg)
    assert report.ok and not report.drift, failures(report)
    fingerprint = next(c for c in report.checks if c.id == "users-fingerprint")
    assert "updated_at dropped by the approved plan" in fingerprint.summary and "nickname added" in fingerprint.summary


def test_a_column_dropped_outside_the_approved_plan_is_still_drift(app_db, tmp_path):
    db = app_db("tracked")
    cfg, _ = gone_through_gate(db.inventory(), approved_drop_of_a_users_column(db, tmp_path))
    commands.migrate(cfg, yes=True)
    with db.connect() as conn:
        conn.execute("ALTER TABLE users DROP COLUMN phone")
    _, report = commands.validate(cfg)
    assert "phone" in failures(report)["users-fingerprint"] and report.drift
