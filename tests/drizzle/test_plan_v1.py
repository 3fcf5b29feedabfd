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


def test_045_ledger_under_a_v1_folder_keeps_its_shape():
    lm = v1_local(P, Q)
    plan = make_plan(lm, reconcile(lm, [TrackingRow(1, P.hash, P.when_v1 + 250)]))
    assert not plan.ledger_v1 and [s.tag for s in plan.apply] == [Q.tag]


def test_the_schedule_writes_1_0s_table_and_rows():
    from pgrunbook.schedule import _row, _tracking_table

    plan = make_plan(v1_local(P, Q), reconcile(v1_local(P, Q), None), baseline_until=P.tag)
    (ddl,) = _tracking_table(plan)
    assert "name text" in ddl.sql and "applied_at timestamp with time zone DEFAULT now()" in ddl.sql
    assert _row(plan, plan.steps[1]).sql.endswith(f"VALUES ('{Q.hash}', {Q.when_v1}, '{Q.tag}')")


def test_upgrade_sql_shows_each_row_its_name_and_why_and_refuses_the_unmatched():
    from pgrunbook.drizzle.plan import upgrade_sql

    state = reconcile(v1_local(P, Q), [TrackingRow(1, P.hash, P.when_v1 + 250), TrackingRow(2, "e" * 64, 7)])
    alter_name, alter_applied, first, second = upgrade_sql(state)
    assert "ADD COLUMN IF NOT EXISTS \"name\" text" in alter_name and "DEFAULT now()" in alter_applied
    assert f"SET \"name\" = '{P.tag}'" in first and "WHERE \"id\" = 1" in first and "created_at second" in first
    assert second.startswith("-- id 2") and "REFUSED" in second
