"""`schedule()` without a server: which statements, in which units, in which order; the dry run renders exactly them."""

from __future__ import annotations

import pytest

from pgrunbook.config import MigratePolicy
from pgrunbook.drizzle.plan import MigrationPlan, PlannedMigration
from pgrunbook.errors import UsageError
from pgrunbook.executor import Step
from pgrunbook.pg import PINNED_SETTINGS
from pgrunbook.schedule import BEGIN, SINGLE, plan_sql, quote_ident, quote_literal, schedule
from pgrunbook.sqlcheck.split import split_sql

POLICY = MigratePolicy(lock_timeout="5s", statement_timeout="30min", concurrent_statement_timeout="4h", idle_in_transaction_timeout="1min")
BOUNDS = ["SET LOCAL lock_timeout = '5s'", "SET LOCAL statement_timeout = '30min'"]
TABLE = '"drizzle"."__drizzle_migrations"'


def planned(tag: str, when: int, action: str = "apply") -> PlannedMigration:
    return PlannedMigration(tag, when, f"hash-{tag}", action)  # type: ignore[arg-type]


def step(tag: str, line: int, sql: str, transactional: bool = True, concurrent: bool = False) -> Step:
    return Step(tag, sql, line, transactional, concurrent=concurrent)


def row(p: PlannedMigration) -> str:
    return f"INSERT INTO {TABLE} (\"hash\", \"created_at\") VALUES ('{p.hash}', {p.when})"


def texts(unit) -> list[str]:
    return [s.sql for s in unit.statements]


def plan(*steps: PlannedMigration, create_tracking: bool = False) -> MigrationPlan:
    return MigrationPlan("B" if create_tracking else "A", create_tracking, steps)


def test_the_session_comes_first_pinned_then_bounded():
    unit = schedule(plan(), {}, POLICY)[0]
    assert not unit.transactional and unit.label == "session"
    assert [s.kind for s in unit.statements] == ["pin", "set", "set", "set"]
    pin = unit.statements[0].sql
    assert pin.startswith("SELECT set_config(") and all(f"set_config('{n}', '{v}', false)" in pin for n, v in PINNED_SETTINGS)
    assert texts(unit)[1:] == ["SET lock_timeout = '5s'", "SET statement_timeout = '30min'",
                               "SET idle_in_transaction_session_timeout = '1min'"]


def test_pinned_values_read_the_same_before_standard_conforming_strings_is_pinned():
    assert not any("\\" in n + v for n, v in PINNED_SETTINGS)


def test_transactional_segments_share_a_transaction_and_the_row_goes_in_the_last():
    m = planned("0001_a", 10)
    steps = (step(m.tag, 1, "CREATE TABLE t (a int)"), step(m.tag, 3, "ALTER TABLE t ADD b int"),
             step(m.tag, 5, "VACUUM t", transactional=False), step(m.tag, 7, "COMMENT ON TABLE t IS 'x'"))
    units = schedule(plan(m), {m.tag: steps}, POLICY)[1:]
    assert [u.transactional for u in units] == [True, False, True]
    assert texts(units[0]) == [BEGIN, *BOUNDS, "CREATE TABLE t (a int)", "ALTER TABLE t ADD b int", "COMMIT"]
    assert texts(units[1]) == ["VACUUM t"]
    assert texts(units[2]) == [BEGIN, *BOUNDS, "COMMENT ON TABLE t IS 'x'", row(m), "COMMIT"]
    assert [u.label for u in units] == [m.tag] * 3
    assert [bool(u.comment) for u in units] == [True, False, False] and units[0].comment.startswith(f"apply {m.tag}")


def test_a_migration_ending_in_autocommit_records_in_a_transaction_of_its_own():
    m = planned("0001_a", 10)
    units = schedule(plan(m), {m.tag: (step(m.tag, 1, "CREATE TABLE t (a int)"), step(m.tag, 2, "VACUUM t", transactional=False))}, POLICY)[1:]
    assert [texts(u) for u in units] == [[BEGIN, *BOUNDS, "CREATE TABLE t (a int)", "COMMIT"], ["VACUUM t"],
                                         [BEGIN, *BOUNDS, row(m), "COMMIT"]]
    assert [s.kind for s in units[2].statements] == ["begin", "bound", "bound", "record", "commit"]
    assert units[2].rows == (units[2].statements[3],) and units[2].rows[0].migration == m


def test_an_empty_migration_is_recorded_alone():
    m = planned("0001_empty", 10)
    (unit,) = schedule(plan(m), {m.tag: ()}, POLICY)[1:]
    assert texts(unit) == [BEGIN, *BOUNDS, row(m), "COMMIT"] and unit.comment.startswith(f"apply {m.tag}")


def test_a_concurrent_build_gets_its_own_bound_then_the_usual_one_again():
    m = planned("0001_a", 10)
    build = step(m.tag, 1, "CREATE INDEX CONCURRENTLY i ON t (a)", transactional=False, concurrent=True)
    unit = schedule(plan(m), {m.tag: (build,)}, POLICY)[1]
    assert texts(unit) == ["SET statement_timeout = '4h'", build.sql, "SET statement_timeout = '30min'"]
    before, statement, after = unit.around_step()
    assert [s.sql for s in before] == ["SET statement_timeout = '4h'"] and statement.step == build
    assert [s.sql for s in after] == ["SET statement_timeout = '30min'"]


def test_baseline_creates_the_table_then_records_without_running():
    b0, b1, m = planned("0000_a", 1, "baseline"), planned("0001_b", 2, "baseline"), planned("0002_c", 3)
    units = schedule(plan(b0, b1, m, create_tracking=True), {m.tag: (step(m.tag, 1, "SELECT 1"),)}, POLICY)
    baseline = units[1]
    assert baseline.label == "baseline" and baseline.transactional
    assert [s.kind for s in baseline.statements] == ["begin", "bound", "bound", "tracking-table", "baseline", "baseline", "commit"]
    assert baseline.statements[3].sql.startswith('CREATE SCHEMA IF NOT EXISTS "drizzle";\nCREATE TABLE IF NOT EXISTS "drizzle"."__drizzle_migrations"')
    assert texts(baseline)[4:6] == [row(b0), row(b1)] and [s.migration for s in baseline.rows] == [b0, b1]
    assert texts(units[2]) == [BEGIN, *BOUNDS, "SELECT 1", row(m), "COMMIT"]


def test_baseline_rows_without_creating_the_table():
    b0 = planned("0000_a", 1, "baseline")
    units = schedule(plan(b0), {}, POLICY)
    assert texts(units[1]) == [BEGIN, *BOUNDS, row(b0), "COMMIT"]


def test_single_transaction_holds_everything_in_file_order():
    b0, m1, m2 = planned("0000_a", 1, "baseline"), planned("0001_b", 2), planned("0002_c", 3)
    compiled = {m1.tag: (step(m1.tag, 1, "CREATE TABLE t (a int)"),), m2.tag: (step(m2.tag, 1, "ALTER TABLE t ADD b int"),)}
    session, unit = schedule(plan(b0, m1, m2, create_tracking=True), compiled, POLICY, single_transaction=True)
    assert session.label == "session" and unit.label == SINGLE and unit.transactional
    assert [s.kind for s in unit.statements] == ["begin", "bound", "bound", "tracking-table", "baseline", "step", "record",
                                                 "step", "record", "commit"]
    assert texts(unit)[4:9] == [row(b0), "CREATE TABLE t (a int)", row(m1), "ALTER TABLE t ADD b int", row(m2)]


def test_single_transaction_refuses_a_statement_that_refuses_a_transaction():
    m = planned("0001_a", 10)
    with pytest.raises(UsageError, match="single-transaction"):
        schedule(plan(m), {m.tag: (step(m.tag, 4, "VACUUM t", transactional=False),)}, POLICY, single_transaction=True)


@pytest.mark.parametrize("single", [False, True])
def test_the_dry_run_prints_the_units_statements_and_nothing_else(single):
    b0, m = planned("0000_a", 1, "baseline"), planned("0001_b", 2)
    sql = "DO $$ BEGIN PERFORM 1; END $$"  # a `;` inside a body ends nothing
    compiled = {m.tag: (step(m.tag, 1, "COMMENT ON TABLE t IS 'a; b'"), step(m.tag, 3, sql))}
    units = schedule(plan(b0, m, create_tracking=True), compiled, POLICY, single_transaction=single)
    printed = [s.sql for s in split_sql(plan_sql(plan(b0, m, create_tracking=True), compiled, POLICY, single_transaction=single),
                                        file="plan.sql").statements]
    scheduled = [part.sql for unit in units for s in unit.statements for part in split_sql(s.sql, file="unit").statements]
    assert printed == scheduled
    assert printed.count(BEGIN) == printed.count("COMMIT") == (1 if single else 2)
    assert sql in printed and "COMMENT ON TABLE t IS 'a; b'" in printed


def test_quoting():
    assert quote_ident('a"b') == '"a""b"' and quote_literal("it's") == "'it''s'"
