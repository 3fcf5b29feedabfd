"""Plans under drizzle 1.0's rules: rows carry the name 1.0 looks for; its traps are refused first."""

from __future__ import annotations

import pytest

from pgrunbook.drizzle import TrackingRow, reconcile
from pgrunbook.drizzle.plan import make_plan
from pgrunbook.errors import CheckFailed

from .test_state import P, Q, R, v1_local, v1_row


def test_new_ledger_for_a_v1_folder_is_created_in_1_0s_shape_with_names():
    plan = make_plan(v1_local(P, Q), reconcile(v1_local(P, Q), None), baseline_until=P.tag)
    assert plan.create_tracking and plan.ledger_v1 and plan.drizzle == "1.0"
    assert [(s.tag, s.name, s.when, s.action) for s in plan.steps] == [(P.tag, P.tag, P.when_v1, "baseline"),
                                                                       (Q.tag, Q.tag, Q.when_v1, "apply")]


def test_v1_only_needs_no_prefix_of_the_ledger():
    """--only on 1.0: an unrecorded earlier folder is simply pending by name, not a trap."""
    lm = v1_local(P, R, Q)
    plan = make_plan(lm, reconcile(lm, [v1_row(1, P)]), only=Q.tag)
    assert plan.scenario == "C" and [s.tag for s in plan.apply] == [Q.tag]


def test_renamed_folder_and_unnameable_rows_are_refused():
    renamed = type(Q)(**{**Q.__dict__, "tag": Q.tag + "_x", "name_v1": Q.tag + "_x"})
    lm = v1_local(P, renamed)
    with pytest.raises(CheckFailed, match="renamed migration folder"):
        make_plan(lm, reconcile(lm, [v1_row(1, P), v1_row(2, Q)]))
    with pytest.raises(CheckFailed, match="match no migration folder"):
        make_plan(v1_local(P), reconcile(v1_local(P), [TrackingRow(1, P.hash, P.when_v1), TrackingRow(2, "e" * 64, 7)]))


def test_045_ledger_under_a_v1_folder_is_upgraded_first_and_rows_get_names():
    lm = v1_local(P, Q)
    plan = make_plan(lm, reconcile(lm, [TrackingRow(1, P.hash, P.when_v1 + 250)]))
    assert plan.ledger_v1 and [s.tag for s in plan.apply] == [Q.tag] and not plan.empty
    assert [(m.row.id, m.name, m.why) for m in plan.upgrade] == [(1, P.tag, "created_at")]
    assert plan.upgrade_step[:2] == ("drizzle.__drizzle_migrations", "upgrade-ledger")


def test_an_upgrade_alone_is_a_plan():
    """Every folder applied under 0.45: the upgrade is still the plan's step (drizzle 1.0 would do it unreviewed)."""
    lm = v1_local(P)
    plan = make_plan(lm, reconcile(lm, [TrackingRow(1, P.hash, P.when_v1)]))
    assert not plan.steps and plan.upgrade and not plan.empty


def test_the_upgrade_step_changes_when_a_row_does():
    lm = v1_local(P, Q)
    one = make_plan(lm, reconcile(lm, [TrackingRow(1, P.hash, P.when_v1)]))
    other = make_plan(lm, reconcile(lm, [TrackingRow(1, P.hash, P.when_v1 + 1)]))
    assert one.upgrade_step != other.upgrade_step


def test_a_1_0_ledger_or_a_0_45_folder_plans_no_upgrade():
    lm = v1_local(P, Q)
    assert make_plan(lm, reconcile(lm, [v1_row(1, P)])).upgrade == ()
    assert make_plan(lm, reconcile(lm, None), baseline_until=P.tag).upgrade == ()


def test_unmatched_rows_are_refused_with_their_list():
    lm = v1_local(P)
    rows = [TrackingRow(1, P.hash, P.when_v1), TrackingRow(2, "e" * 64, 7), TrackingRow(3, "f" * 64, None)]
    with pytest.raises(CheckFailed) as caught:
        make_plan(lm, reconcile(lm, rows))
    assert "id 2 (hash eeeeeeeeeeee…, created_at 7); id 3 (hash ffffffffffff…, created_at None)" in caught.value.what


def test_the_schedule_writes_1_0s_table_and_rows():
    from pgrunbook.schedule import _row, _tracking_table

    plan = make_plan(v1_local(P, Q), reconcile(v1_local(P, Q), None), baseline_until=P.tag)
    (ddl,) = _tracking_table(plan)
    assert "name text" in ddl.sql and "applied_at timestamp with time zone DEFAULT now()" in ddl.sql
    assert _row(plan, plan.steps[1]).sql.endswith(f"VALUES ('{Q.hash}', {Q.when_v1}, '{Q.tag}')")


def test_the_schedule_holds_the_upgrade_first_each_row_its_name_and_why():
    from pgrunbook.config import MigratePolicy
    from pgrunbook.schedule import UPGRADE, plan_sql, schedule

    lm = v1_local(P, Q)
    plan = make_plan(lm, reconcile(lm, [TrackingRow(4, P.hash, P.when_v1 + 250)]))
    units = schedule(plan, {Q.tag: ()}, MigratePolicy())
    assert [u.label for u in units[:2]] == ["session", UPGRADE] and units[1].transactional
    alter_name, alter_applied, name = [s for s in units[1].statements if s.kind.startswith("ledger")]
    assert alter_name.sql == 'ALTER TABLE "drizzle"."__drizzle_migrations" ADD COLUMN IF NOT EXISTS "name" text'
    assert alter_applied.sql.endswith('"applied_at" timestamp with time zone DEFAULT now()')
    assert name.sql == (f'UPDATE "drizzle"."__drizzle_migrations" SET "name" = \'{P.tag}\', "applied_at" = NULL WHERE "id" = 4 '
                        f'AND "hash" = \'{P.hash}\' AND "created_at" IS NOT DISTINCT FROM {P.when_v1 + 250}')
    assert "the only folder of its created_at second" in name.note
    single = schedule(plan, {Q.tag: ()}, MigratePolicy(), single_transaction=True)
    assert [s.kind for s in single[1].statements][3:6] == ["ledger-alter", "ledger-alter", "ledger-name"]
    assert "ledger upgrade first (1 row(s) named)" in plan_sql(plan, {Q.tag: ()}, MigratePolicy()).splitlines()[0]
