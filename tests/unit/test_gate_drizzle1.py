"""The gate on drizzle 1.0 plans (pure): the ledger upgrade as an approved step, the history graph as a criterion."""

from __future__ import annotations

from dataclasses import replace

from pgrunbook.analyze import evaluate
from pgrunbook.drizzle.history import ROOT, Node, check_history
from pgrunbook.drizzle.plan import make_plan
from pgrunbook.drizzle.state import TrackingRow, reconcile
from pgrunbook.gate import decide, plan_fingerprint, plan_steps, within_approved
from pgrunbook.outcome import Status

from ..drizzle.test_state import P, Q, v1_local
from .factories import gate_inputs


def upgrade_plan(created_at: int | None = None):
    lm = v1_local(P, Q)
    return make_plan(lm, reconcile(lm, [TrackingRow(7, P.hash, P.when_v1 if created_at is None else created_at)]))


def test_the_upgrade_is_the_first_step_the_go_approves():
    plan = upgrade_plan()
    steps = plan_steps(plan)
    assert steps[0][:2] == ["drizzle.__drizzle_migrations", "upgrade-ledger"] and steps[1][0] == Q.tag
    decision = decide(gate_inputs(plan=plan))
    check = next(c for c in decision.checks if c.id == "ledger-upgrade")
    assert decision.go and check.status is Status.OK and "1 row(s) their names (1 by created_at)" in check.summary
    # migrate re-plans under its lock: the same rows -> approved; a row changed since -> not
    assert within_approved(upgrade_plan(), steps) and not within_approved(upgrade_plan(P.when_v1 + 5), steps)
    assert plan_fingerprint(plan) != plan_fingerprint(replace(plan, upgrade=()))
    # after the upgrade committed (a resumed migrate), the plan without it is still within the GO
    assert within_approved(replace(plan, upgrade=()), steps)


def test_diverging_branches_are_a_no_go_and_one_line_is_ok():
    line = [Node("1_a", "a", (ROOT,)), Node("2_b", "b", ("a",))]
    ok = decide(gate_inputs(history=check_history(line)))
    assert ok.go and next(c for c in ok.checks if c.id == "migration-history").status is Status.OK
    forked = check_history(line + [Node("3_c", "c", ("a",))])
    decision = decide(gate_inputs(history=forked))
    check = next(c for c in decision.checks if c.id == "migration-history")
    assert not decision.go and check.status is Status.FAIL and "2 open heads" in check.summary and check.detail


def test_folders_without_snapshot_are_a_warning_said_not_guessed():
    history = check_history([Node("1_a", "a", (ROOT,))], unchecked=["2_hand"])
    check = next(c for c in decide(gate_inputs(history=history)).checks if c.id == "migration-history")
    assert check.status is Status.WARN and "2_hand" in check.summary


def test_analyze_shows_the_history_and_the_upgrade():
    plan = upgrade_plan()
    history = check_history([Node("1_a", "a", (ROOT,)), Node("2_b", "b", (ROOT,))])
    checks = {c.id: c for c in evaluate(plan, (), None, "", None, history)}
    assert checks["migration-history"].status is Status.FAIL
    assert checks["ledger-upgrade"].status is Status.INFO and f"id 7 -> {P.tag}" in checks["ledger-upgrade"].summary
    assert "upgrade the ledger to drizzle 1.0's shape (1 row(s) named)" in checks["plan"].summary
