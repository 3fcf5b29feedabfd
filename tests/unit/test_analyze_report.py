"""`analyze`'s report, without a server: the plan, the evidence, each file's lint, lock estimates, the post-state."""

from __future__ import annotations

import json

import pytest

from pgrunbook.analyze import LOCK_ESTIMATE_RULE, AnalysisReport, ExpectedState, evaluate, lock_estimates
from pgrunbook.models import TableFacts
from pgrunbook.outcome import Status
from pgrunbook.preflight import CheckResult, DataCheck, PreflightReport
from pgrunbook.sqlcheck import Verdict, objects_after

from .factories import analysis, created, evidence, plan, step

OK, INFO, WARN, FAIL = Status.OK, Status.INFO, Status.WARN, Status.FAIL
MB = 1024 * 1024
A_PLAN = plan(step("0011_indexes"))
B_PLAN = plan(step("0000_init", "baseline"), step("0010_last", "baseline"), step("0011_indexes"), scenario="B", create_tracking=True)
MISSING = tuple(created("column", f"c{i}", table="users") for i in range(13))
UNIQUE = DataCheck("unique", "0011_indexes.sql", 3, "CREATE UNIQUE INDEX ...", "public.users", "unique (email)", keys=("email",))
SEVEN_DROPS = "\n".join(f"DROP TABLE t{i};" for i in range(7))


def report_checks(*, plan=A_PLAN, analyses=(), evidence=None, source="", preflight=None) -> dict:
    return {c.id: c for c in evaluate(plan, analyses, evidence, source, preflight)}


# case id -> (evaluate's inputs, the check, its status, a piece of its summary)
CASES = {
    # the plan
    "plan-empty": ({"plan": plan()}, "plan", OK, "nothing to do: every journal entry is recorded as applied"),
    "plan-apply": ({}, "plan", INFO, "scenario A: apply 0011_indexes"),
    "plan-baseline-from-evidence": ({"plan": B_PLAN, "source": "evidence"}, "plan", INFO,
                                    "scenario B: baseline 0000_init..0010_last (2, auto-detected from the evidence); apply 0011_indexes"),
    "plan-baseline-from-playbook": ({"plan": B_PLAN, "source": "playbook"}, "plan", INFO, "(2, from the playbook)"),
    "plan-baseline-from-option": ({"plan": B_PLAN, "source": "option"}, "plan", INFO, "(2, from --baseline-until)"),
    # the live-data preflight, when measured
    "preflight-holds": ({"preflight": PreflightReport((CheckResult(UNIQUE, "ok"),))}, "data-preflight", OK, "1 data check(s) hold"),
    "preflight-would-fail": ({"preflight": PreflightReport((CheckResult(UNIQUE, "fail", 2, 1, ("1, 2",)),))}, "data-preflight", FAIL,
                             "would fail on the live data"),
    # the baseline's evidence, in scenario B
    "evidence-complete": ({"plan": B_PLAN, "evidence": evidence(checked=3)}, "baseline-evidence", OK, "3 objects checked, all present"),
    "evidence-implicit-missing": ({"plan": B_PLAN, "evidence": evidence(implicit=(created("index", "users_pkey", implicit=True),))},
                                  "baseline-evidence", WARN, "1 PostgreSQL-named object(s) not found under the expected name"),
    "evidence-unverifiable": ({"plan": B_PLAN, "evidence": evidence(unverifiable=(created("policy", "p"),))}, "baseline-evidence", WARN,
                              "1 object(s) of kinds we cannot look up"),
    "evidence-missing": ({"plan": B_PLAN, "evidence": evidence(missing=MISSING[:1])}, "baseline-evidence", FAIL,
                         "1 object(s) the baselined migrations create are missing: column public.users.c0"),
    "evidence-many-missing": ({"plan": B_PLAN, "evidence": evidence(missing=MISSING)}, "baseline-evidence", FAIL,
                              "13 object(s) the baselined migrations create are missing: column public.users.c0, "),
    # each migration's lint
    "lint-allowed": ({"analyses": (analysis(),)}, "lint:0011_indexes.sql", OK, "allowed (1 statements)"),
    "lint-allowed-with-exception": ({"analyses": (analysis("-- pgrunbook: allow review-select checked by hand\nSELECT 1;"),)},
                                    "lint:0011_indexes.sql", OK, "allowed (1 statements); 1 reviewed exception(s)"),
    "lint-forbidden": ({"analyses": (analysis("DROP TABLE users;"),)}, "lint:0011_indexes.sql", FAIL,
                       "forbidden: line 1 [ban-drop] DROP TABLE public.users deletes the table"),
    "lint-review": ({"analyses": (analysis("ALTER TABLE users RENAME TO people;"),)}, "lint:0011_indexes.sql", FAIL, "review: line 1 [review-rename]"),
    "lint-many-findings": ({"analyses": (analysis(SEVEN_DROPS),)}, "lint:0011_indexes.sql", FAIL, "line 6 [ban-drop] DROP TABLE public.t5 deletes"),
    # stranded migrations planned anyway
    "stranded-planned": ({"plan": plan(step("0011_indexes", stranded=True))}, "stranded-planned", WARN,
                         "stranded, planned anyway: 0011_indexes"),
}

CHECKS = {
    "plan": {OK, INFO}, "data-preflight": {OK, FAIL}, "baseline-evidence": {OK, WARN, FAIL}, "lint:0011_indexes.sql": {OK, FAIL},
    "stranded-planned": {WARN},
}


def test_every_check_and_status_has_a_case():
    covered = {}
    for _, check_id, status, _ in CASES.values():
        covered.setdefault(check_id, set()).add(status)
    assert covered == CHECKS


@pytest.mark.parametrize("case", sorted(CASES))
def test_check(case):
    kwargs, check_id, status, summary = CASES[case]
    check = report_checks(**kwargs)[check_id]
    assert check.status is status, check
    assert summary in check.summary
    if status is FAIL:
        assert check.detail, "a failing check says what to do next"


def test_checks_in_order_one_lint_per_file():
    found = evaluate(plan(step("0011_a", stranded=True), step("0012_b")), (analysis(file="0011_a.sql"), analysis(file="0012_b.sql")),
                     evidence(), "", PreflightReport())
    assert [c.id for c in found] == ["plan", "data-preflight", "baseline-evidence", "lint:0011_a.sql", "lint:0012_b.sql", "stranded-planned"]


def test_only_the_first_six_blocking_findings_are_listed():
    check = report_checks(analyses=(analysis(SEVEN_DROPS),))["lint:0011_indexes.sql"]
    assert check.summary.endswith("(+1 more)") and "public.t6" not in check.summary


def test_more_than_twelve_missing_objects_are_cut():
    check = report_checks(plan=B_PLAN, evidence=evidence(missing=MISSING))["baseline-evidence"]
    assert check.summary.endswith(" …") and "c11" in check.summary and "c12" not in check.summary


# --------------------------------------------------------------------------- the report


def report(*analyses, evidence=None, plan=A_PLAN) -> AnalysisReport:
    checks = evaluate(plan, analyses, evidence, "evidence" if plan.baseline else "")
    expected = ExpectedState.from_objects(objects_after(analyses))
    return AnalysisReport({"inventory": "prod"}, plan, "evidence" if plan.baseline else "", analyses, evidence, expected,
                          "-- the dry run", checks)


def test_report_allowed():
    r = report(analysis())
    data = json.loads(json.dumps(r.as_json()))
    assert r.ok and data["verdict"] == "allowed" and data["scenario"] == "A" and data["evidence"] is None
    assert data["apply"] == [{"tag": "0011_indexes", "when": 1000, "hash": "hash-0011_indexes", "stranded": False, "why": "pending"}]
    assert data["expected"] == {"indexes": [{"name": "public.idx_users_role", "table": "public.users"}], "tables": [], "columns": []}
    [migration] = data["migrations"]
    assert migration["file"] == "0011_indexes.sql" and migration["verdict"] == "allowed" and migration["statements"] == 1
    assert data["sql"] == "-- the dry run" and data["preflight"] is None


def test_report_refused_lists_findings_and_evidence():
    r = report(analysis("DROP TABLE users;"), evidence=evidence(missing=MISSING[:2]), plan=B_PLAN)
    data = r.as_json()
    assert not r.ok and data["verdict"] == "refused" and data["baseline_source"] == "evidence"
    assert [b["tag"] for b in data["baseline"]] == ["0000_init", "0010_last"] and data["create_tracking"] is True
    assert data["evidence"] == {"checked": 5, "missing": ["column public.users.c0", "column public.users.c1"], "missing_implicit": [],
                                "unverifiable": []}
    [finding] = [f for f in data["migrations"][0]["findings"] if f["rule"] == "ban-drop"]
    assert finding["verdict"] == "forbidden" and finding["line"] == 1 and finding["excepted"] is None
    assert finding["objects"] == ["public.users"]  # what a playbook exception's `objects` names


def test_expected_state_from_the_objects_the_migrations_leave():
    state = objects_after([analysis('CREATE TABLE "t" ("id" int, "name" text);\nCREATE INDEX IF NOT EXISTS "idx_t" ON "t" ("name");\n'
                                    'ALTER TABLE "users" ADD COLUMN "nick" text;')])
    expected = ExpectedState.from_objects(state)
    assert expected.indexes == (("public.idx_t", "public.t"),) and expected.tables == ("public.t",)
    assert set(expected.columns) == {"public.t.id", "public.t.name", "public.users.nick"}


# --------------------------------------------------------------------------- lock estimates

TABLES = (TableFacts("users", 12, 1_000_000, 600 * MB), TableFacts("campaigns", 8, 20_000_000, 12_000 * MB),
          TableFacts("small", 2, 10, MB // 2))
MEASURED_USERS = {("0011_indexes.sql", 1): {"locks": ["ShareLock on public.users", "AccessShareLock on public.users"],
                                             "lock_seconds": 2.5, "seconds": 2.4}}

# case id -> (SQL, tables created by the plan, rehearsal measures, [(line, a piece of the message)], longest first)
LOCK_CASES = {
    "plain-index": ("CREATE INDEX IF NOT EXISTS i ON users (role);", set(), None,
                    [(1, "blocks writes to public.users (1,000,000 rows, 600.0 MiB) for roughly 10 s (at ~60 MiB/s)")]),
    "minutes": ("CREATE INDEX IF NOT EXISTS i ON campaigns (x);", set(), None, [(1, "for roughly 3 min")]),
    "under-a-second": ("CREATE INDEX IF NOT EXISTS i ON small (x);", set(), None, [(1, "for roughly under a second")]),
    "longest-first": ("CREATE INDEX IF NOT EXISTS i ON users (role);\nCREATE INDEX IF NOT EXISTS j ON campaigns (x);", set(), None,
                      [(2, "public.campaigns"), (1, "public.users")]),
    "concurrently": ("CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON users (role);", set(), None, []),
    "new-table": ("CREATE INDEX IF NOT EXISTS i ON users (role);", {"public.users"}, None, []),
    "unknown-table": ("CREATE INDEX IF NOT EXISTS i ON elsewhere (x);", set(), None, []),
    "not-an-index": ("ALTER TABLE users ADD COLUMN nick text;", set(), None, []),
    "measured": ("CREATE INDEX IF NOT EXISTS i ON users (role);", set(), MEASURED_USERS,
                 [(1, "blocks writes to public.users for 2.5 s — measured by the rehearsal on a restored copy (ShareLock on public.users;")]),
    "measured-no-write-lock": ("CREATE INDEX IF NOT EXISTS i ON users (role);", set(),
                               {("0011_indexes.sql", 1): {"locks": ["AccessShareLock on public.users"], "lock_seconds": 9.0, "seconds": 9.0}}, []),
}


@pytest.mark.parametrize("case", sorted(LOCK_CASES))
def test_lock_estimates(case):
    sql, new_tables, measured, wanted = LOCK_CASES[case]
    found = lock_estimates(analysis(sql), TABLES, new_tables, measured)
    assert [(f.line, text) for f, (_, text) in zip(found, wanted) if text in f.message] == wanted
    assert len(found) == len(wanted)
    assert all(f.rule_id == LOCK_ESTIMATE_RULE and f.verdict is Verdict.INFO and f.file == "0011_indexes.sql" for f in found)


def test_a_measured_plain_index_build_points_to_online_and_other_locks_to_timing():
    [index] = lock_estimates(analysis(), TABLES, set(), {("0011_indexes.sql", 1): MEASURED_USERS[("0011_indexes.sql", 1)]})
    assert "--online" in index.help
    alter = analysis("ALTER TABLE users ADD COLUMN nick text;")
    [column] = lock_estimates(alter, TABLES, set(), {("0011_indexes.sql", 1): {"locks": ["AccessExclusiveLock on public.users"],
                                                                                 "lock_seconds": 0.004, "seconds": 0.003}})
    assert "for 4 ms" in column.message and "when writes can wait" in column.help
