"""`validate.evaluate`, without a server: each post-migration check, and which failures are drift.

Drift (a lost or changed row) is what makes `inv migrate-prod` roll back on its own; a
missing index or a slow endpoint fails validation without being drift.
"""

from __future__ import annotations

import pytest

from pgrunbook.outcome import Status
from pgrunbook.validate import DRIFT_CHECKS, TableChange, ValidationReport, evaluate, table_changes

from .factories import endpoint, snapshot, validation_inputs

OK, INFO, WARN, FAIL = Status.OK, Status.INFO, Status.WARN, Status.FAIL
BEFORE = snapshot()
FEWER_FBO = {"by_role": {"fbo": 59, "manager": 8}, "total": 67}
MORE_FBO = {"by_role": {"fbo": 63, "manager": 8}, "total": 71}
FINGERPRINT = BEFORE["fingerprint"]
HOT = "SELECT id FROM users WHERE role = 'manager' ORDER BY created_at DESC LIMIT 20"


def rows(changed: dict[str, int | None]) -> dict[str, int]:
    """Every table's rows after the migration: the snapshot's, with `changed` (None: the table is gone)."""
    after = {**BEFORE["all_tables"], **changed}
    return {table: n for table, n in after.items() if n is not None}


def api(*endpoints: dict, login_error: str | None = None) -> dict:
    return {"login_error": login_error, "endpoints": list(endpoints)}


# case id -> (what changes, the check, its status, a piece of its summary, drift)
CASES = {
    # every expected index: present, on its table, valid
    "indexes-ok": ({}, "expected-indexes", OK, "1 expected indexes present, on the right tables, valid", False),
    "index-missing": ({"index_details": {}}, "expected-indexes", FAIL, "public.idx_users_role missing", False),
    "index-on-another-table": ({"index_details": {"public.idx_users_role": {"table": "public.campaigns", "valid": True}}},
                               "expected-indexes", FAIL, "public.idx_users_role is on public.campaigns, expected public.users", False),
    "index-invalid": ({"index_details": {"public.idx_users_role": {"table": "public.users", "valid": False}}},
                      "expected-indexes", FAIL, "public.idx_users_role is INVALID", False),
    # the idx_* total
    "performance-total-ok": ({}, "performance-indexes", OK, "1 performance indexes, as expected", False),
    "performance-total-unset": ({"expected_performance_indexes": None}, "performance-indexes", INFO, "1 performance indexes", False),
    "performance-total-wrong": ({"performance_indexes": 42, "expected_performance_indexes": 43}, "performance-indexes", FAIL,
                                "42 performance indexes, expected 43", False),
    # a tracking row for each applied migration
    "tracking-ok": ({}, "tracking-rows", OK, "a tracking row for each of the 1 migration(s) of the plan", False),
    "tracking-missing": ({"recorded_tags": ("0010_x",)}, "tracking-rows", FAIL, "applied but not recorded: 0011_indexes", False),
    # protected counts, exact policy
    "counts-identical": ({}, "protected-counts", OK, "identical to before the migration: fbo users 60, manager users 8, users 68", False),
    "counts-changed-exact": ({"after": snapshot(users_by_role=FEWER_FBO)}, "protected-counts", FAIL, "counts changed: fbo users 60 → 59", True),
    "counts-grew-exact": ({"after": snapshot(users_by_role=MORE_FBO)}, "protected-counts", FAIL, "fbo users 60 → 63", True),
    # protected counts, no-loss policy
    "counts-grew-no-loss": ({"drift_policy": "no-loss", "after": snapshot(users_by_role=MORE_FBO), "preexisting_rows_left": 68},
                            "protected-counts", OK, "no loss (grew: fbo users 60 → 63)", False),
    "counts-identical-no-loss": ({"drift_policy": "no-loss", "preexisting_rows_left": 68}, "protected-counts", OK, "no loss, identical", False),
    "counts-lost-no-loss": ({"drift_policy": "no-loss", "after": snapshot(users_by_role=FEWER_FBO)}, "protected-counts", FAIL,
                            "rows lost: fbo users 60 → 59", True),
    "preexisting-row-gone-no-loss": ({"drift_policy": "no-loss", "after": snapshot(users_by_role=MORE_FBO), "preexisting_rows_left": 67},
                                     "protected-counts", FAIL, "1 pre-existing users rows gone", True),
    # every table's rows, whatever the policy
    "tables-same": ({}, "table-rows", OK, "no table lost rows (3 tables compared)", False),
    "tables-grew": ({"after": snapshot(all_tables=rows({"public.campaigns": 12}))}, "table-rows", OK, "grew: public.campaigns 10 → 12", False),
    "tables-new-table-ignored": ({"after": snapshot(all_tables={**BEFORE["all_tables"], "public.audit": 0})}, "table-rows", OK,
                                 "no table lost rows (3 tables compared)", False),
    "tables-lost-rows": ({"after": snapshot(all_tables=rows({"public.campaigns": 7}))}, "table-rows", FAIL,
                         "rows lost in 1 table(s): public.campaigns 10 → 7", True),
    "tables-dropped": ({"after": snapshot(all_tables=rows({"public.campaigns": None}))}, "table-rows", FAIL, "public.campaigns 10 → dropped", True),
    "tables-lost-rows-no-loss": ({"drift_policy": "no-loss", "preexisting_rows_left": 68,
                                  "after": snapshot(all_tables=rows({"public.campaigns": 7}))}, "table-rows", FAIL, "public.campaigns 10 → 7", True),
    "tables-loss-allowed": ({"after": snapshot(all_tables=rows({"public.campaigns": 7})), "allow_row_loss": ("public.campaigns",)},
                            "table-rows", WARN, "lost, allowed by validate.allow_row_loss: public.campaigns 10 → 7 (allowed)", False),
    "tables-drop-allowed": ({"after": snapshot(all_tables=rows({"public.campaigns": None})), "allow_row_loss": ("public.campaigns",)},
                            "table-rows", WARN, "public.campaigns 10 → dropped (allowed)", False),
    "tables-other-table-allowed": ({"after": snapshot(all_tables=rows({"public.campaigns": 7})), "allow_row_loss": ("public.users",)},
                                   "table-rows", FAIL, "public.campaigns 10 → 7", True),
    "tables-not-snapshotted": ({"before": snapshot(all_tables=None)}, "table-rows", INFO, "every table's rows not compared", False),
    # the users fingerprint (exact policy only)
    "fingerprint-same": ({}, "users-fingerprint", OK, "users: same 68 rows, same content in its 2 pre-existing columns", False),
    "fingerprint-changed": ({"after": snapshot(fingerprint={**FINGERPRINT, "md5": "0" * 32})}, "users-fingerprint", FAIL,
                            "the content of users changed (68 rows before, 68 now)", True),
    "fingerprint-column-gone": ({"after": snapshot(fingerprint={**FINGERPRINT, "md5": None, "missing_columns": ["email"]})},
                                "users-fingerprint", FAIL, "columns of users gone since before: email", True),
    # the API smoke test (when an API is configured)
    "api-ok": ({"api_before": api(endpoint(median_ms=30)), "api_after": api(endpoint())}, "api", OK,
               "login ok; /api/campaigns median 12 ms (before 30), p95 20 ms / 100", False),
    "api-login-failed": ({"api_after": api(login_error="401 Unauthorized")}, "api", FAIL, "login failed: 401 Unauthorized", False),
    "api-over-budget": ({"api_after": api(endpoint(p95_ms=250))}, "api", FAIL, "/api/campaigns: over budget (250 ms p95)", False),
    "api-wrong-status": ({"api_after": api(endpoint("/api/nope", statuses=(404, 404)))}, "api", FAIL, "/api/nope: status [404]", False),
    "api-unreachable": ({"api_after": api(endpoint(error="connection refused", statuses=()))}, "api", FAIL,
                        "/api/campaigns: connection refused", False),
    # the hot queries' plans (reported)
    "counts-no-loss-uuid-key": ({"drift_policy": "no-loss", "preexisting_rows_left": None,
                                 "before": snapshot(fingerprint={**FINGERPRINT, "table": "auth.users", "key": ["id"], "max_pk": None})},
                                "protected-counts", WARN, "pre-existing rows of auth.users compared by count only: its key (id) is not serial",
                                False),
    "counts-no-loss-keyless": ({"drift_policy": "no-loss", "preexisting_rows_left": None,
                                "before": snapshot(fingerprint={**FINGERPRINT, "table": "events", "key": [], "max_pk": None})},
                               "protected-counts", WARN, "it has no primary key", False),
    "fingerprint-off": ({"before": snapshot(fingerprint=None), "after": snapshot(fingerprint=None)}, "users-fingerprint", INFO,
                        "expectations.fingerprint: false", False),
    "hot-queries": ({"before": snapshot(hot_queries=[{"query": HOT, "ms": 4.0, "indexes": []}]),
                     "after": snapshot(hot_queries=[{"query": HOT, "ms": 0.5, "indexes": ["idx_users_role"]}])},
                    "hot-queries", INFO, "4.0 → 0.5 ms, now uses idx_users_role", False),
}

CHECKS = {
    "expected-indexes": {OK, FAIL}, "performance-indexes": {OK, INFO, FAIL}, "tracking-rows": {OK, FAIL},
    "protected-counts": {OK, WARN, FAIL}, "table-rows": {OK, INFO, WARN, FAIL}, "users-fingerprint": {OK, INFO, FAIL}, "api": {OK, FAIL},
    "hot-queries": {INFO},
}


def by_id(report: ValidationReport) -> dict:
    return {c.id: c for c in report.checks}


def test_every_check_and_status_has_a_case():
    covered = {}
    for _, check_id, status, _, _ in CASES.values():
        covered.setdefault(check_id, set()).add(status)
    assert covered == CHECKS


def test_a_clean_migration_passes_every_check():
    report = evaluate(validation_inputs())
    assert report.ok and not report.drift
    assert [c.id for c in report.checks] == ["expected-indexes", "performance-indexes", "tracking-rows", "protected-counts",
                                             "table-rows", "users-fingerprint"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_check(case):
    changes, check_id, status, summary, drift = CASES[case]
    report = evaluate(validation_inputs(**changes))
    check = by_id(report)[check_id]
    assert check.status is status, check
    assert summary in check.summary
    assert report.ok is (status is not FAIL)
    assert report.drift is drift
    if status is FAIL:
        assert check.detail, "a failing check says what to do next"


def test_drift_is_exactly_a_failed_count_fingerprint_or_table_rows_check():
    assert DRIFT_CHECKS == {"protected-counts", "users-fingerprint", "table-rows"}
    not_drift = evaluate(validation_inputs(index_details={}, recorded_tags=(), performance_indexes=0,
                                           api_after=api(login_error="down")))
    assert not not_drift.ok and not not_drift.drift
    assert not_drift.as_json() == {"ok": False, "drift": False, "checks": [c.as_dict() for c in not_drift.checks]}


def test_the_fingerprint_is_compared_only_under_the_exact_policy():
    changed = snapshot(fingerprint={**FINGERPRINT, "md5": "0" * 32})
    assert "users-fingerprint" in by_id(evaluate(validation_inputs(after=changed)))
    report = evaluate(validation_inputs(drift_policy="no-loss", preexisting_rows_left=68, after=changed))
    assert "users-fingerprint" not in by_id(report) and report.ok


def test_api_and_hot_queries_only_when_measured():
    ids = set(by_id(evaluate(validation_inputs())))
    assert "api" not in ids and "hot-queries" not in ids


# --------------------------------------------------------------------------- table_changes


TABLE_CASES = {
    "same": ({"a": 1, "b": 2}, {"a": 1, "b": 2}, (), ()),
    "grew": ({"a": 1}, {"a": 3}, (), (TableChange("a", 1, 3),)),
    "lost": ({"a": 5}, {"a": 3}, (), (TableChange("a", 5, 3),)),
    "dropped-even-empty": ({"a": 0}, {}, (), (TableChange("a", 0, None),)),
    "created-is-no-change": ({}, {"new": 9}, (), ()),
    "allowed": ({"a": 5, "b": 1}, {"a": 0, "b": 0}, ("a",), (TableChange("a", 5, 0, True), TableChange("b", 1, 0))),
}


@pytest.mark.parametrize("case", sorted(TABLE_CASES))
def test_table_changes(case):
    before, after, allowed, changes = TABLE_CASES[case]
    assert table_changes(before, after, allowed) == changes


@pytest.mark.parametrize(("change", "lost"), [(TableChange("a", 5, 3), True), (TableChange("a", 0, None), True),
                                              (TableChange("a", 3, 5), False), (TableChange("a", 3, 3), False)])
def test_table_change_lost(change, lost):
    assert change.lost is lost


# --------------------------------------------------------------------------- the approved plan's expected post-state (issue 12 item 6)

from pgrunbook.sqlcheck import analyze_files, objects_after  # noqa: E402
from pgrunbook.validate import ExpectedChanges, expected_changes  # noqa: E402

DROPS_PHONE = ExpectedChanges(dropped_columns=("public.users.phone",), added_columns=("public.users.nickname",))
# migrate took the fingerprint over the columns the plan keeps: id, email (phone left out)
KEPT = {**FINGERPRINT, "columns": ["id", "email"]}


def test_a_column_the_approved_plan_drops_from_the_protected_table_is_expected_not_drift():
    report = evaluate(validation_inputs(before=snapshot(fingerprint=KEPT), after=snapshot(fingerprint=KEPT), expected=DROPS_PHONE))
    check = by_id(report)["users-fingerprint"]
    assert report.ok and not report.drift
    assert check.status is OK and "expected: phone dropped by the approved plan; nickname added by the approved plan" in check.summary


def test_a_column_gone_that_the_plan_does_not_drop_is_still_drift():
    gone = {**KEPT, "md5": None, "missing_columns": ["email"]}
    report = evaluate(validation_inputs(before=snapshot(fingerprint=KEPT), after=snapshot(fingerprint=gone), expected=DROPS_PHONE))
    check = by_id(report)["users-fingerprint"]
    assert check.status is FAIL and "email" in check.summary and "the approved plan drops none of them" in check.summary
    assert report.drift


def test_a_changed_row_is_still_drift_when_the_plan_drops_a_column():
    changed = {**KEPT, "md5": "0" * 32}
    report = evaluate(validation_inputs(before=snapshot(fingerprint=KEPT), after=snapshot(fingerprint=changed), expected=DROPS_PHONE))
    assert by_id(report)["users-fingerprint"].status is FAIL and report.drift


def test_a_table_the_approved_plan_drops_is_expected_any_other_gone_table_is_drift():
    after = snapshot(all_tables=rows({"public.campaigns": None}))
    planned = evaluate(validation_inputs(after=after, expected=ExpectedChanges(dropped_tables=("public.campaigns",))))
    check = by_id(planned)["table-rows"]
    assert check.status is WARN and "public.campaigns 10 → dropped (dropped by the approved plan)" in check.summary
    assert not planned.drift
    other = evaluate(validation_inputs(after=after, expected=ExpectedChanges(dropped_tables=("public.other",))))
    assert by_id(other)["table-rows"].status is FAIL and other.drift
    # a table the plan drops but that only lost rows (still there) is not covered: rows lost stay drift
    fewer = evaluate(validation_inputs(after=snapshot(all_tables=rows({"public.campaigns": 3})),
                                       expected=ExpectedChanges(dropped_tables=("public.campaigns",))))
    assert fewer.drift


def test_expected_changes_come_from_the_migrations_operations():
    files = [("0001.sql", 'ALTER TABLE "users" DROP COLUMN "phone";\n--> statement-breakpoint\n'
                          'ALTER TABLE "users" ADD COLUMN "nickname" text;\n--> statement-breakpoint\n'
                          'CREATE TABLE "fresh" ("id" serial PRIMARY KEY, "x" text);\n--> statement-breakpoint\n'
                          'DROP TABLE "legacy";\n--> statement-breakpoint\n'
                          'ALTER TABLE "auth"."users" RENAME COLUMN "a" TO "b";')]
    state = objects_after(analyze_files(files))
    found = expected_changes(state.present, state.absent, {"public.users", "public.legacy", "auth.users"})
    assert found.dropped_columns == ("auth.users.a", "public.users.phone")
    assert found.added_columns == ("auth.users.b", "public.users.nickname")  # fresh's columns are a new table's, not a change
    assert found.dropped_tables == ("public.legacy",) and found.created_tables == ("public.fresh",)
    assert ExpectedChanges.from_json(found.as_json()) == found and ExpectedChanges.from_json(None) == ExpectedChanges()
    assert found.kept("public.users", ["id", "phone", "email"]) == ["id", "email"]


def test_tables_the_approved_plan_creates_have_no_before_to_compare():
    """A new database: the protected table does not exist before the plan, which creates it."""
    created = ExpectedChanges(created_tables=("public.users",))
    absent = {"table": "users", "method": "row-hash", "key": [], "columns": [], "count": None, "max_pk": None, "md5": None,
              "missing_columns": ["(table gone)"]}
    before = snapshot(users_by_role={"by_role": None, "total": None, "table": "public.users"}, tables={"campaigns": 10},
                      fingerprint=absent)
    after = snapshot(users_by_role={"by_role": {}, "total": 0, "table": "public.users"},
                     tables={"users": 0, "campaigns": 10}, fingerprint={**FINGERPRINT, "count": 0})
    report = evaluate(validation_inputs(before=before, after=after, expected=created))
    assert report.ok and not report.drift, [c for c in report.checks if c.status is FAIL]
    assert by_id(report)["users-fingerprint"].status is INFO
    # without that expectation the same snapshots are drift
    assert evaluate(validation_inputs(before=before, after=after)).drift
