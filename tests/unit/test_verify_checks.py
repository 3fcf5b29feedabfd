"""`verify.evaluate`, without a server: phase 1's checks on gathered facts, the journal and the ledger.

The base is a database where three local migrations are applied and recorded as drizzle
records them; each case changes one input and names the check it is about.
"""

from __future__ import annotations

import json

import pytest

from pgrunbook.config import Expectations, MigratePolicy
from pgrunbook.models import IndexFacts, RoleCounts, SequenceState, TableFacts
from pgrunbook.outcome import Status
from pgrunbook.verify import VerifyReport, evaluate

from .factories import ITS_NAME, TOOLS, facts, local, migration, override, row, server, state, tool

OK, INFO, WARN, FAIL = Status.OK, Status.INFO, Status.WARN, Status.FAIL
M0, M1, M2 = migration(0), migration(1), migration(2)
LOCAL = local(M0, M1, M2)
RECORDED = [row(1, M0), row(2, M1), row(3, M2)]
EXPECT = Expectations(tables=["users", "campaigns"], roles=["fbo", "manager"])


def inputs(*, rows: list | None | str = "recorded", local_migrations=LOCAL, drizzle: str | None = None, preapplied=(),
           app_stopped=None, tools=TOOLS, exp=EXPECT, migrate: MigratePolicy | None = MigratePolicy(), **fact_changes) -> dict:
    """evaluate()'s arguments: `rows` the tracking rows (None: no tracking table), reconciled under the rules of
    `drizzle` (default: the folder's), `fact_changes` on the facts."""
    tracking = RECORDED if rows == "recorded" else rows
    return {"facts": facts(**{"tracking_rows": None if tracking is None else tuple(tracking), **fact_changes}),
            "local": local_migrations, "state": state(local_migrations, tracking, drizzle), "tools": tools, "exp": exp,
            "migrate": migrate, "preapplied": preapplied, "app_stopped": app_stopped}


CRLF = migration(0, "CREATE TABLE t0 (id int);\r\n")
NAMED = [row(1, M0, name=ITS_NAME), row(2, M1, name=ITS_NAME), row(3, M2, name=ITS_NAME)]

# case id -> (inputs, the check, its status, a piece of its summary)
CASES = {
    "app-left-stopped": (inputs(app_stopped="run r1 stopped the app and was interrupted"), "app-left-stopped", FAIL,
                         "run r1 stopped the app"),
    "connection": (inputs(), "connection", OK, "connected to app as owner: PostgreSQL 18.1"),
    # users by role
    "roles-ok": (inputs(), "users-by-role", OK, "fbo 60, manager 8; total 68"),
    "roles-uncountable": (inputs(roles=RoleCounts("users", "kind", None, "public.users.kind does not exist")), "users-by-role", FAIL,
                          "cannot count users by role: public.users.kind does not exist"),
    # issue 12: an expected role with zero rows is a count of 0 (a new app), not a failure
    "roles-expected-role-without-rows": (inputs(exp=Expectations(tables=[], roles=["admin"])), "users-by-role", OK,
                                         "users.role: fbo 60, manager 8, admin 0; total 68"),
    "roles-null-labelled": (inputs(roles=RoleCounts("users", "role", {"(no role: NULL)": 2, "fbo": 1})), "users-by-role", OK,
                            "(no role: NULL) 2, fbo 1, manager 0; total 3"),
    "expected-table-in-another-schema": (inputs(exp=Expectations(tables=["auth.users", "users"]),
                                                tables=(TableFacts("users", 3, 0, 0), TableFacts("users", 3, 0, 0, "auth"))),
                                         "expected-tables", OK, "2 of 2 expected tables present (1 tables in public, 1 in the other"),
    "expected-table-not-in-public": (inputs(exp=Expectations(tables=["auth.users"]), tables=(TableFacts("users", 3, 0, 0),)),
                                     "expected-tables", FAIL, "missing: auth.users"),
    # drizzle tracking: case A or B
    "tracking-case-a": (inputs(), "drizzle-tracking", OK, "case A: drizzle tracking present, 3 rows"),
    "tracking-empty-table": (inputs(rows=[]), "drizzle-tracking", WARN, "case B: drizzle's tracking table exists but is empty"),
    "tracking-schema-without-table": (inputs(rows=None), "drizzle-tracking", WARN, "schema `drizzle` exists but has no tracking table"),
    "tracking-no-schema": (inputs(rows=None, drizzle_schema=False), "drizzle-tracking", WARN, "case B: schema `drizzle` is absent"),
    # the local journal
    "journal-ok": (inputs(), "local-journal", OK, "3 local migrations in /drizzle"),
    # issue 12 item 2: drizzle ignores a file its journal does not list: a WARN naming it, a FAIL only if the playbook says so
    "journal-file-not-listed": (inputs(local_migrations=local(M0, M1, M2, files_not_in_journal=("0003_x.sql",))), "local-journal", WARN,
                                "file not in the journal, which drizzle never runs (nor does pgrunbook): 0003_x.sql"),
    "journal-file-not-listed-fail": (inputs(local_migrations=local(M0, M1, M2, files_not_in_journal=("0003_x.sql",)),
                                            exp=Expectations(tables=[], files_not_in_journal="fail")), "local-journal", FAIL, "0003_x.sql"),
    "journal-entry-without-file": (inputs(local_migrations=local(M0, M1, M2, entries_without_file=("0003_x",))), "local-journal", FAIL,
                                   "journal entries without a .sql file (drizzle fails): 0003_x"),
    # which drizzle reads the ledger next, and what drizzle 1.0 would get wrong
    "format-0.45": (inputs(), "drizzle-format", OK, "drizzle 0.45 folder, 0.45 ledger (id, hash, created_at)"),
    "format-1.0-ledger": (inputs(rows=NAMED, drizzle="1.0"), "drizzle-format", OK, "drizzle 0.45 folder, 1.0 ledger (+ name, applied_at)"),
    "format-upgrade-next": (inputs(drizzle="1.0"), "drizzle-format", WARN,
                            "drizzle 1.0 upgrades this ledger on its next run (every row matched: id 1 by created_at"),
    "format-upgrade-throws": (inputs(rows=[row(1, M0), row(2, M1), row(3, M2, hash="ab" * 32, created_at=99000)], drizzle="1.0"),
                              "drizzle-format", FAIL, "rows drizzle 1.0's ledger upgrade cannot name (it throws): id 3"),
    "format-renamed-folder": (inputs(rows=[*NAMED[:2], row(3, M2, name="19700101000003_old")], drizzle="1.0"), "drizzle-format", FAIL,
                              "renamed (drizzle 1.0 would run them again): 0002_m2 (row: 19700101000003_old)"),
    "format-nameless-row": (inputs(rows=[*NAMED[:2], row(3, M2, v1=True)], drizzle="1.0"), "drizzle-format", FAIL,
                            "rows without a name (drizzle 1.0 ignores them): id 3"),
    # applied migrations against the local files
    "applied-ok": (inputs(), "applied-migrations", OK, "3 applied, all matching local files"),
    "applied-no-table": (inputs(rows=None), "applied-migrations", INFO, "no tracking table"),
    "applied-unknown-row": (inputs(rows=[*RECORDED, row(4, M2, hash="ab" * 32, created_at=9000)]), "applied-migrations", FAIL,
                            "rows matching no local file: id 4 (abababababab…)"),
    "applied-edited-file": (inputs(rows=[row(1, M0, hash="cd" * 32), row(2, M1), row(3, M2)]), "applied-migrations", FAIL,
                            "files edited after they were applied (same `when`, other hash): 0000_m0"),
    "applied-line-endings-only": (inputs(rows=[row(1, CRLF, created_at=M0.when), row(2, M1), row(3, M2)]), "applied-migrations", WARN,
                                  "0000_m0 differ only in line endings (CRLF/LF)"),
    "applied-duplicate-row": (inputs(rows=[*RECORDED, row(4, M2)]), "applied-migrations", WARN, "duplicate rows: 4"),
    # the ledger: recorded migrations form a prefix of the journal
    "ledger-prefix": (inputs(), "ledger-consistent", OK, "recorded migrations form a prefix of the journal"),
    "ledger-gap": (inputs(rows=[row(1, M0), row(3, M2)]), "ledger-consistent", WARN, "unrecorded before a recorded migration: 0001_m1"),
    "ledger-gap-would-rerun": (inputs(rows=[row(1, M0), row(3, M2, created_at=1500)], preapplied=("0001_m1",)), "ledger-consistent", FAIL,
                               "0001_m1 is in the schema but not recorded, while a later migration is"),
    # pending and stranded
    "pending-none": (inputs(), "pending-migrations", OK, "no pending migration"),
    "pending": (inputs(rows=[row(1, M0)]), "pending-migrations", INFO, "2 pending: 0001_m1, 0002_m2"),
    "stranded-none": (inputs(rows=[row(1, M0)]), "stranded-migrations", OK, "no stranded migration"),
    "stranded": (inputs(rows=[row(1, M0), row(3, M2)]), "stranded-migrations", WARN,
                 "stranded: 0001_m1 (when 2000) <= max(created_at) 3000"),
    # drizzle's high-water mark
    "created-at-ok": (inputs(), "tracking-created-at", OK, "every tracking row has a created_at"),
    "created-at-null": (inputs(rows=[row(1, M0, created_at=None), row(2, M1), row(3, M2)]), "tracking-created-at", FAIL,
                        "tracking rows with NULL created_at (id 1)"),
    # the tracking sequence
    "sequence-ok": (inputs(), "tracking-sequence", OK, "next id 12 > max(id) 11"),
    "sequence-none": (inputs(sequence=None), "tracking-sequence", INFO, "no tracking sequence yet"),
    "sequence-unreadable": (inputs(sequence=SequenceState("s_id_seq", None, 3)), "tracking-sequence", INFO, "this role may not read it"),
    "sequence-behind": (inputs(sequence=SequenceState("drizzle.m_id_seq", 3, 11)), "tracking-sequence", FAIL,
                        "would hand out id 3 but max(id) is 11"),
    # indexes and tables
    "indexes": (inputs(), "indexes", INFO, "5 indexes in public, 1 `idx_*`"),
    "index-invalid": (inputs(performance_indexes=(IndexFacts("idx_users_role", "users", False),)), "indexes", WARN,
                      "INVALID (a failed concurrent build): idx_users_role"),
    "tables-present": (inputs(), "expected-tables", OK, "2 of 2 expected tables present (2 tables in public)"),
    "table-missing": (inputs(exp=Expectations(tables=["users", "proofs"])), "expected-tables", FAIL, "1 of 2 expected tables; missing: proofs"),
    # client tools of the server's major
    "tools-ok": (inputs(), "client-tools", OK, "pg_dump 18.1, pg_restore 18.1, psql 18.1 (server 18)"),
    "tools-older-than-server": (inputs(tools=(tool("pg_dump", "17.6"), tool("pg_restore", "18.1"))), "client-tools", FAIL,
                                "older than the server (18)"),
    "tools-pg-restore-too-new": (inputs(tools=(tool("pg_dump", "17.6"), tool("pg_restore", "17.6")), server=server(version_num=160004)),
                                 "client-tools", FAIL, "pg_restore 17 emits SET transaction_timeout, which PostgreSQL 16 rejects"),
    # database- and role-level settings
    "settings-none": (inputs(), "session-settings", OK, "no database- or role-level override"),
    "settings-same-value": (inputs(setting_overrides=(override("search_path", "public,pg_temp"),)), "session-settings", OK,
                            "no database- or role-level override"),
    "settings-pinned-overridden": (inputs(setting_overrides=(override("standard_conforming_strings", "off"),)), "session-settings", WARN,
                                   "standard_conforming_strings = 'off' (database app)"),
    "settings-checked-overridden": (inputs(setting_overrides=(override("session_replication_role", "replica", database=None, role="app"),)),
                                    "session-settings", WARN,
                                    "session_replication_role = 'replica' (every database, role app, not overridable by pgrunbook)"),
    # migrate's statement bounds
    "bounded": (inputs(), "statement-timeout", OK, "statements bounded: 30min (4h for CONCURRENTLY builds)"),
    "unbounded": (inputs(migrate=MigratePolicy(statement_timeout="0", concurrent_statement_timeout="0")), "statement-timeout", WARN,
                  "no limit: migrate.statement_timeout = 0, migrate.concurrent_statement_timeout = 0"),
}

CHECKS = {
    "app-left-stopped": {FAIL}, "connection": {OK}, "users-by-role": {OK, FAIL}, "drizzle-tracking": {OK, WARN},
    "local-journal": {OK, WARN, FAIL}, "drizzle-format": {OK, WARN, FAIL}, "applied-migrations": {OK, INFO, WARN, FAIL},
    "ledger-consistent": {OK, WARN, FAIL},
    "pending-migrations": {OK, INFO}, "stranded-migrations": {OK, WARN}, "tracking-created-at": {OK, FAIL},
    "tracking-sequence": {OK, INFO, FAIL}, "indexes": {INFO, WARN}, "expected-tables": {OK, FAIL}, "client-tools": {OK, FAIL},
    "session-settings": {OK, WARN}, "statement-timeout": {OK, WARN},
}


def checks(**kwargs) -> dict:
    return {c.id: c for c in evaluate(**kwargs)}


def test_every_check_and_status_has_a_case():
    covered = {}
    for _, check_id, status, _ in CASES.values():
        covered.setdefault(check_id, set()).add(status)
    assert covered == CHECKS


def test_a_recorded_database_passes_every_check_in_order():
    found = evaluate(**inputs())
    assert [c.id for c in found] == [c for c in CHECKS if c != "app-left-stopped"]
    assert not [c for c in found if c.status in (WARN, FAIL)]


@pytest.mark.parametrize("case", sorted(CASES))
def test_check(case):
    kwargs, check_id, status, summary = CASES[case]
    check = checks(**kwargs)[check_id]
    assert check.status is status, check
    assert summary in check.summary
    if status is FAIL:
        assert check.detail, "a failing check says what to do next"


def test_optional_checks_are_absent_unless_asked_for():
    found = checks(**inputs(migrate=None))
    assert "statement-timeout" not in found and "app-left-stopped" not in found


def test_a_gap_the_next_deploy_would_not_rerun_is_only_a_warning_even_if_preapplied():
    found = checks(**inputs(rows=[row(1, M0), row(3, M2)], preapplied=("0001_m1",)))  # 0001's when is below drizzle's mark
    assert found["ledger-consistent"].status is WARN


def test_report_json_shape():
    args = inputs(rows=[row(1, M0), row(3, M2)])
    report = VerifyReport({"inventory": "prod", "database": "app"}, args["facts"], args["local"], args["state"], args["tools"], EXPECT,
                          evaluate(**args))
    data = json.loads(json.dumps(report.as_json()))
    assert report.ok and data["verdict"] == "ok" and report.scenario == "A"
    assert data["drizzle"]["pending"] == ["0001_m1"] and data["drizzle"]["stranded"] == [{"tag": "0001_m1", "when": 2000, "mark": 3000}]
    assert data["drizzle"]["drizzle_would_apply"] == [] and data["drizzle"]["sequence"]["behind"] is False
    assert data["expected_tables"] == {"expected": 2, "present": 2, "missing": []}
    assert data["tools"]["pg_restore"] == {"path": "/usr/lib/postgresql/18/bin/pg_restore", "version": "18.1"}
    assert data["server"]["can_create_in_database"] is True and data["users"]["total"] == 68
    assert [c["id"] for c in data["checks"]] == [c.id for c in report.checks]


def test_a_failing_check_fails_the_report():
    args = inputs(exp=Expectations(tables=["proofs"]))
    report = VerifyReport({}, args["facts"], args["local"], args["state"], args["tools"], args["exp"], evaluate(**args))
    assert not report.ok and report.as_json()["verdict"] == "failed"


def test_scenario_b_without_rows():
    args = inputs(rows=[])
    report = VerifyReport({}, args["facts"], args["local"], args["state"], args["tools"], EXPECT, evaluate(**args))
    assert report.scenario == "B" and report.as_json()["drizzle"]["tracking_table_present"] is True
