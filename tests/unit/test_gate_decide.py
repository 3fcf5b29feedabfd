"""`gate.decide`, without a server: each criterion's verdicts, and one FAIL is a NO-GO.

Every case starts from inputs on which every criterion holds (`gate_inputs()`), changes one
thing and names the criterion it is about, the status it must get and a piece of its summary.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from pgrunbook.config import MigratePolicy
from pgrunbook.gate import GateDecision, decide, plan_fingerprint, plan_steps, within_approved
from pgrunbook.outcome import Status
from pgrunbook.preflight import CheckResult, DataCheck, PreflightReport
from pgrunbook.rehearse import Drift, RehearsalResult, StatementMeasure
from pgrunbook.sqlcheck import Policy, analyze_sql
from pgrunbook.verify import statement_bounds

from .factories import (
    NOW,
    activity,
    analysis,
    created,
    evidence,
    expected,
    gate_inputs,
    manifest,
    plan,
    privileges,
    restore_test,
    step,
)

OK, INFO, WARN, FAIL = Status.OK, Status.INFO, Status.WARN, Status.FAIL
PLAN = plan(step("0011_indexes"))
B_PLAN = plan(step("0000_init", "baseline"), step("0001_more", "baseline"), step("0002_new"), scenario="B", create_tracking=True)
UNIQUE = DataCheck("unique", "0011_indexes.sql", 3, "CREATE UNIQUE INDEX ...", "public.users", "unique (email)", keys=("email",))


def rehearsal(outcome: str = "ok", **overrides) -> RehearsalResult:
    values = {"reason": "2 migration(s) applied, every table's rows kept", "plan_fingerprint": plan_fingerprint(PLAN),
              "backup_id": "app_backup_1", "database": "app_rehearsal", "seconds": {"restore": 1.5, "apply": 0.25}}
    return RehearsalResult(outcome, **{**values, **overrides})


def lock(seconds: float) -> StatementMeasure:
    return StatementMeasure("0011_indexes", "0011_indexes.sql", 1, "CREATE INDEX ...", 0.0, seconds, True,
                            ("ShareLock on public.users",), seconds, None)


# case id -> (what changes, the criterion, its status, a piece of its summary)
CASES = {
    # backup: present, of this database, ok, recent, enough verified copies
    "backup-ok": ({}, "backup", OK, "app_backup_1: 10 min old, 1 verified copies (≥ 1), integrity ok"),
    "backup-missing": ({"backup": None}, "backup", FAIL, "no backup of this database"),
    "backup-of-another-database": ({"backup": manifest(database={"name": "other", "host": "db.internal", "port": 5432})},
                                   "backup", FAIL, "it is of other@db.internal:5432, not of this database"),
    "backup-failed": ({"backup": manifest(status="failed", problems=("integrity: toc unreadable",))},
                      "backup", FAIL, "its status is failed: integrity: toc unreadable"),
    "backup-stale": ({"backup": manifest(age_minutes=300)}, "backup", FAIL, "it is 300 min old (limit 120 min"),
    "backup-too-few-copies": ({"min_copies": 2}, "backup", FAIL, "1 verified copies, 2 required"),
    # protected counts: recorded now, or the playbook's role count is wrong
    "protected-ok": ({}, "protected-counts", OK, "recorded now: fbo 60, manager 8, total 68; users 68"),
    "protected-uncountable": ({"protected": {"users_by_role": {"by_role": None, "total": None}, "tables": {}}},
                              "protected-counts", FAIL, "users by role cannot be counted"),
    # drizzle tracking: case A, a baseline with evidence, a baseline refused
    "tracking-case-a": ({}, "drizzle-tracking", OK, "case A: drizzle tracking present"),
    "tracking-no-baseline-needed": ({"plan": plan(step("0011_indexes"), scenario="C", create_tracking=True)},
                                    "drizzle-tracking", OK, "scenario C: no baseline needed"),
    "tracking-baseline-with-evidence": ({"plan": B_PLAN, "evidence": evidence(checked=3)}, "drizzle-tracking", OK,
                                        "case B: baseline of 2 migration(s) with evidence (3 objects present)"),
    "tracking-baseline-refused": ({"plan": B_PLAN, "evidence": evidence(missing=(created("column", "phone", table="users"),))},
                                  "drizzle-tracking", FAIL, "baseline refused: 1 object(s) missing (column public.users.phone)"),
    # migrations allowed by the policy
    "allowed": ({}, "migrations-allowed", OK, "1 migration(s) to apply, all allowed"),
    "allowed-with-exception": ({"analyses": (analysis("-- pgrunbook: allow review-select checked by hand\nSELECT 1;"),)},
                               "migrations-allowed", OK, "1 reviewed exception(s) (0 from the playbook, 1 in the SQL): review-select"),
    "allowed-destructive-listed": ({"analyses": (analysis("-- pgrunbook: allow review-select checked\nSELECT 1;"),
                                                 analyze_sql("DROP INDEX IF EXISTS i;", file="0012_x.sql",
                                                             policy=Policy.from_dict({"rules": {"ban-drop": "off"}})))},
                                   "migrations-allowed", OK, "runs DROP ×1"),
    "forbidden-statement": ({"analyses": (analysis("TRUNCATE daily_bonus;"),)}, "migrations-allowed", FAIL,
                            "not allowed by policy: 0011_indexes.sql:1 [ban-truncate]"),
    "review-statement": ({"analyses": (analysis("ALTER TABLE users RENAME TO people;"),)}, "migrations-allowed", FAIL,
                         "[review-rename]"),
    # privileges
    "privileges-owner": ({}, "privileges", OK, "owner: owner of the tables to index, CREATE and CREATEDB"),
    "privileges-superuser": ({"privileges": privileges(superuser=True, createdb=False, create_on_public=False,
                                                       unowned_tables=("public.users",))}, "privileges", OK, "owner: superuser"),
    "privileges-no-create-on-database": ({"plan": B_PLAN, "evidence": evidence(), "privileges": privileges(create_on_database=False)},
                                         "privileges", FAIL, "owner lacks: CREATE on the database (for schema drizzle)"),
    "privileges-create-on-database-unneeded": ({"privileges": privileges(create_on_database=False)}, "privileges", OK, "owner:"),
    "privileges-no-create-on-public": ({"expected": expected(tables=("public.t",)), "privileges": privileges(create_on_public=False)},
                                       "privileges", FAIL, "CREATE on schema public"),
    "privileges-not-owner": ({"privileges": privileges(unowned_tables=("public.users",))}, "privileges", FAIL,
                             "ownership of public.users (CREATE INDEX needs it)"),
    "privileges-no-createdb": ({"privileges": privileges(createdb=False)}, "privileges", FAIL,
                               "CREATEDB (a full rollback restores beside"),
    "privileges-no-createdb-in-place": ({"privileges": privileges(createdb=False), "needs_rollback_db": False}, "privileges", OK, "owner:"),
    # rollback ready: a restorable backup, pg_restore able to restore it here, an app controller
    "rollback-restorable": ({}, "rollback-ready", OK, "backup app_backup_1: restorable; app controller: none"),
    "rollback-known-pair": ({"restore_tools": "pg_restore 18.1 -> PostgreSQL 18"}, "rollback-ready", OK,
                            "pg_restore 18.1 -> PostgreSQL 18, a known-compatible pair"),
    "rollback-restore-tested": ({"backup": manifest(restore_verification=restore_test()), "restore_problem": "too old"},
                                "rollback-ready", OK, "its restore test passed on this server"),
    "rollback-no-restorable-backup": ({"backup": manifest(status="failed")}, "rollback-ready", FAIL, "no restorable backup"),
    "rollback-wrong-pg-restore": ({"restore_problem": "pg_restore 18 emits SET transaction_timeout"}, "rollback-ready", FAIL,
                                  "cannot be restored on this server: pg_restore 18 emits SET transaction_timeout"),
    "rollback-no-controller": ({"controller": (False, "docker: command not found")}, "rollback-ready", FAIL,
                               "app controller not ready: docker: command not found"),
    # no other run, no blockers
    "no-other-run": ({}, "no-other-run", OK, "no other pgrunbook run"),
    "another-run": ({"activity": activity(lock_holder="pid 42")}, "no-other-run", FAIL, "another pgrunbook run holds the lock: pid 42"),
    "no-blockers": ({}, "no-blockers", OK, "no long-open transaction"),
    "long-transaction": ({"activity": activity(long_transactions=("pid 7 (idle in transaction, transaction open 300s)",))},
                         "no-blockers", FAIL, "pid 7 (idle in transaction"),
    "lock-holder": ({"activity": activity(lock_holders_on_targets=("pid 8 (active, transaction open 9s)",))},
                    "no-blockers", FAIL, "pid 8 (active"),
    # backup current: the rows a rollback to this backup would discard (when live counts are given)
    "backup-current": ({"live_counts": {"public.users": 68, "public.campaigns": 10}}, "backup-current", OK,
                       "every table's rows equal backup app_backup_1's (2 tables)"),
    "backup-current-rows-changed": ({"live_counts": {"public.users": 65, "public.campaigns": 10}}, "backup-current", WARN,
                                    "3 rows changed since backup app_backup_1 (public.users -3)"),
    "backup-current-new-table": ({"live_counts": {"public.users": 68, "public.campaigns": 10, "public.t": 4}}, "backup-current",
                                 WARN, "4 rows changed since backup app_backup_1 (public.t +4)"),
    "backup-current-beyond-limit": ({"live_counts": {"public.users": 70, "public.campaigns": 7}, "max_rows_changed_since_backup": 4},
                                    "backup-current", FAIL, "5 rows changed since backup app_backup_1 (public.campaigns -3, public.users +2)"),
    # the rehearsal (when asked for)
    "rehearsal-ok": ({"rehearsal": rehearsal()}, "rehearsal", OK, "on a copy of backup app_backup_1 (restore 1.5s, apply 0.2s)"),
    "rehearsal-longest-lock": ({"rehearsal": rehearsal(statements=(lock(0.05), lock(2.5)))}, "rehearsal", OK,
                               "writes blocked longest by 0011_indexes.sql:1 held ShareLock on public.users 2.5 s; "
                               "0011_indexes.sql:1 held ShareLock on public.users 50 ms"),
    "rehearsal-not-dropped": ({"rehearsal": rehearsal(dropped=False)}, "rehearsal", WARN,
                              "the scratch database app_rehearsal was NOT dropped"),
    "rehearsal-skipped": ({"rehearsal": rehearsal("skipped", reason="nothing to apply")}, "rehearsal", INFO,
                          "not rehearsed: nothing to apply"),
    "rehearsal-refused": ({"rehearsal": rehearsal("refused", reason="no backup to restore")}, "rehearsal", FAIL,
                          "cannot rehearse: no backup to restore"),
    "rehearsal-of-another-plan": ({"rehearsal": rehearsal(plan_fingerprint="0" * 16)}, "rehearsal", FAIL,
                                  "the rehearsal was of another plan"),
    "rehearsal-failed": ({"rehearsal": rehearsal("failed", failed_at="0011_indexes.sql:3 CREATE UNIQUE INDEX",
                                                 reason="0011_indexes.sql:3: could not create unique index")}, "rehearsal", FAIL,
                         "the plan fails at 0011_indexes.sql:3 CREATE UNIQUE INDEX: could not create unique index"),
    "rehearsal-drift": ({"rehearsal": rehearsal("drift", drift=(Drift("public.users", "rows-lost", 68, 60, ("0011_indexes.sql:2 DELETE",)),))},
                        "rehearsal", FAIL, "public.users lost 8 row(s) (68 → 60) — by 0011_indexes.sql:2 DELETE"),
    # the live-data preflight (when measured)
    "preflight-nothing-to-check": ({"preflight": PreflightReport()}, "data-preflight", OK, "no statement of the plan depends on the data"),
    "preflight-holds": ({"preflight": PreflightReport((CheckResult(UNIQUE, "ok"),))}, "data-preflight", OK,
                        "1 data check(s) hold on the live data"),
    "preflight-not-checked": ({"preflight": PreflightReport((CheckResult(UNIQUE, "not-checked", reason="timeout"),))},
                              "data-preflight", WARN, "0 data check(s) hold; 1 not checked"),
    "preflight-would-fail": ({"preflight": PreflightReport((CheckResult(UNIQUE, "fail", 4, 2, ("1, 2", "3, 4")),))},
                             "data-preflight", FAIL, "would fail on the live data: 0011_indexes.sql:3 unique (email) on public.users"),
    # migrate's statement bounds (passed through from verify.statement_bounds)
    "statements-bounded": ({"statement_bounds": statement_bounds(MigratePolicy())}, "statement-timeout", OK, "statements bounded: 30min"),
    "statements-unbounded": ({"statement_bounds": statement_bounds(MigratePolicy(statement_timeout="0"))}, "statement-timeout", WARN,
                             "no limit: migrate.statement_timeout = 0"),
}

# Every criterion, and the statuses it can give.
CRITERIA = {
    "backup": {OK, FAIL}, "protected-counts": {OK, FAIL}, "drizzle-tracking": {OK, FAIL}, "migrations-allowed": {OK, FAIL},
    "privileges": {OK, FAIL}, "rollback-ready": {OK, FAIL}, "no-other-run": {OK, FAIL}, "no-blockers": {OK, FAIL},
    "backup-current": {OK, WARN, FAIL}, "rehearsal": {OK, INFO, WARN, FAIL}, "data-preflight": {OK, WARN, FAIL},
    "statement-timeout": {OK, WARN},
}


def by_id(decision: GateDecision) -> dict:
    return {c.id: c for c in decision.checks}


def test_every_criterion_and_status_has_a_case():
    covered = {}
    for _, criterion, status, _ in CASES.values():
        covered.setdefault(criterion, set()).add(status)
    assert covered == CRITERIA


def test_the_base_inputs_are_a_go_on_every_criterion():
    everything = {"live_counts": {"public.users": 68, "public.campaigns": 10}, "rehearsal": rehearsal(),
                  "preflight": PreflightReport(), "statement_bounds": statement_bounds(MigratePolicy())}
    decision = decide(gate_inputs(**everything))
    assert decision.go and [c.id for c in decision.checks] == list(CRITERIA)
    assert {c.status for c in decision.checks} == {OK}


@pytest.mark.parametrize("case", sorted(CASES))
def test_criterion(case):
    changes, criterion, status, summary = CASES[case]
    decision = decide(gate_inputs(**changes))
    check = by_id(decision)[criterion]
    assert check.status is status, check
    assert summary in check.summary
    assert decision.go is (status is not FAIL)  # one FAIL alone is a NO-GO; WARN and INFO are not
    if status is FAIL:
        assert check.detail, "a failing criterion says what to do next"


def test_optional_criteria_are_absent_unless_their_input_is_given():
    ids = set(by_id(decide(gate_inputs())))
    assert not ids & {"backup-current", "rehearsal", "data-preflight", "statement-timeout"}
    assert "backup-current" not in by_id(decide(gate_inputs(backup=None, live_counts={"public.users": 1})))


def test_no_go_names_every_failing_criterion():
    decision = decide(gate_inputs(backup=None, activity=activity(lock_holder="pid 42")))
    assert not decision.go
    assert {c.id for c in decision.checks if c.status is FAIL} == {"backup", "rollback-ready", "no-other-run"}
    assert decision.as_json()["decision"] == "NO-GO" and decision.backup_id is None


def test_go_records_the_plan_and_the_backup_it_relies_on():
    decision = decide(gate_inputs())
    data = decision.as_json()
    assert data["decision"] == "GO" and data["backup_id"] == "app_backup_1"
    assert data["plan_fingerprint"] == plan_fingerprint(PLAN) and data["steps"] == [["0011_indexes", "apply", "hash-0011_indexes"]]
    assert [c["id"] for c in data["checks"]] == [c.id for c in decision.checks]


def test_the_backup_age_is_measured_at_the_given_now():
    assert decide(gate_inputs(now=NOW.replace(hour=13, minute=49))).go  # 119 min
    assert not decide(gate_inputs(now=NOW.replace(hour=13, minute=51))).go  # 121 min


def test_plan_fingerprint_changes_with_any_step_and_not_otherwise():
    same = plan(step("0011_indexes"))
    assert plan_fingerprint(same) == plan_fingerprint(PLAN)
    assert plan_fingerprint(plan(step("0011_indexes", stranded=True))) == plan_fingerprint(PLAN)  # not a step's identity
    for other in (plan(step("0012_other")), plan(step("0011_indexes", "baseline")), plan(step("0011_indexes"), scenario="C"),
                  plan(step("0011_indexes"), create_tracking=True), replace(PLAN, steps=(replace(PLAN.steps[0], hash="h2"),))):
        assert plan_fingerprint(other) != plan_fingerprint(PLAN)


def test_within_approved_accepts_what_is_left_of_the_go_and_nothing_new():
    approved = plan_steps(plan(step("0011_a"), step("0012_b")))
    assert within_approved(plan(step("0012_b")), approved)  # 0011 committed before a crash: resume on the same GO
    assert within_approved(plan(), approved)
    assert not within_approved(plan(step("0012_b"), step("0013_c")), approved)
    assert not within_approved(plan(replace(step("0012_b"), hash="edited")), approved)
