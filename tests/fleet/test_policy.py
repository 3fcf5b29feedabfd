"""The fleet's rollout policy, pure: waves, canary, failure budget, on_failure, per-instance limits."""

from __future__ import annotations

import pytest

from pgrunbook.fleet.drift import compare
from pgrunbook.fleet.policy import Budget, PolicyError, Wave, budget_spent, may_start, plan_waves, stop_reason, wave_size

T = [f"a/t{i}" for i in range(1, 13)]


@pytest.mark.parametrize("spec, rest, size", [(3, 11, 3), ("3", 11, 3), ("50%", 11, 6), ("10%", 11, 2), ("100%", 11, 11),
                                              ("1%", 3, 1), (" 25 % ", 8, 2)])
def test_wave_size(spec, rest, size):
    assert wave_size(spec, rest) == size


@pytest.mark.parametrize("spec", ["x", "-1", "%", True, 0])
def test_wave_size_refuses(spec):
    with pytest.raises(PolicyError):
        wave_size(spec, 10)


def test_canary_count_then_waves_the_last_size_repeating():
    waves = plan_waves(T, 1, [2, "50%"])
    assert [w.targets for w in waves] == [("a/t1",), ("a/t2", "a/t3"), tuple(T[3:9]), tuple(T[9:])]
    assert [w.number for w in waves] == [0, 1, 2, 3] and waves[0].is_canary and not waves[1].is_canary


def test_every_target_exactly_once_whatever_the_sizes():
    for canary in (0, 1, 3, ["a/t5", "a/t2"]):
        for sizes in ([1], [5], ["33%"], [2, "10%", 4], []):
            placed = [name for wave in plan_waves(T, canary, sizes) for name in wave.targets]
            assert sorted(placed) == sorted(T) and len(placed) == len(T)


def test_canary_by_name_keeps_inventory_order_and_no_canary_means_wave_1_first():
    waves = plan_waves(T[:4], ["a/t3", "a/t1"], ["100%"])
    assert waves[0] == Wave(0, ("a/t1", "a/t3")) and waves[1] == Wave(1, ("a/t2", "a/t4"))
    waves = plan_waves(T[:4], 0, [2])
    assert [w.number for w in waves] == [1, 2] and not waves[0].is_canary


def test_unknown_canary_or_duplicate_target_is_refused():
    with pytest.raises(PolicyError, match="unknown"):
        plan_waves(T, ["b/x"], [1])
    with pytest.raises(PolicyError, match="twice"):
        plan_waves(["a/x", "a/x"], 0, [1])


@pytest.mark.parametrize("failures, total, budget, stops", [
    (0, 10, Budget(1, None), False), (1, 10, Budget(1, None), True), (1, 10, Budget(2, None), False),
    (2, 10, Budget(None, 20), False), (3, 10, Budget(None, 20), True), (1, 10, Budget(None, 0), True),
    (5, 10, Budget(), False)])
def test_failure_budget(failures, total, budget, stops):
    assert (budget_spent(failures, total, budget) is not None) is stops


CANARY, WAVE1 = Wave(0, ("a/t1",)), Wave(1, ("a/t2", "a/t3", "a/t4"))


@pytest.mark.parametrize("outcomes, wave, budget, on_failure, stops", [
    ({"a/t1": "ok"}, CANARY, Budget(), "continue", None),
    ({"a/t1": "warnings"}, CANARY, Budget(), "continue", None),
    ({"a/t1": "rolled-back"}, CANARY, Budget(), "continue", "canary"),
    ({"a/t1": "no-go"}, CANARY, Budget(5, None), "continue", "canary"),
    ({"a/t1": "ok", "a/t2": "rolled-back"}, WAVE1, Budget(), "continue", None),
    ({"a/t1": "ok", "a/t2": "rolled-back"}, WAVE1, Budget(), "stop", "on_failure"),
    ({"a/t1": "ok", "a/t2": "rolled-back", "a/t3": "failed"}, WAVE1, Budget(2, None), "continue", "budget"),
    ({"a/t1": "ok", "a/t2": "rolled-back"}, WAVE1, Budget(None, 5), "continue", "budget"),
])
def test_stop_reason(outcomes, wave, budget, on_failure, stops):
    reason = stop_reason(outcomes, wave, total=12, budget=budget, on_failure=on_failure)
    if stops is None:
        assert reason is None
    else:
        assert reason is not None and stops in reason


def test_may_start_respects_the_instance_and_the_overall_limit():
    limits = {"a": 1, "b": 2}
    assert may_start("a", {}, limits=limits, overall=2)
    assert not may_start("a", {"a": 1}, limits=limits, overall=3)
    assert may_start("b", {"a": 1, "b": 0}, limits=limits, overall=3)
    assert not may_start("b", {"a": 1, "b": 1}, limits=limits, overall=2)
    assert not may_start("c", {"c": 1}, limits=limits, overall=5)  # an instance without a limit: one at a time


class L:
    def __init__(self, target, applied=(), stranded=(), unknown_rows=0, error=""):
        self.target, self.applied, self.stranded, self.unknown_rows, self.error = target, tuple(applied), tuple(stranded), unknown_rows, error


def test_drift_between_tenants():
    drift = compare([L("a/1", ["0000", "0001"]), L("a/2", ["0000"]), L("b/1", ["0000", "0001"], unknown_rows=1),
                     L("b/2", stranded=["0001"]), L("b/3", error="cannot connect")])
    assert drift.newest == ("0000", "0001")
    assert drift.behind == {"a/2": ("0001",), "b/2": ("0000", "0001")}
    assert drift.unknown == {"b/1": 1} and drift.stranded == {"b/2": ("0001",)} and set(drift.unreachable) == {"b/3"}
    assert not drift.consistent
    assert compare([L("a/1", ["0000"]), L("a/2", ["0000"])]).consistent
    assert compare([L("a/1"), L("a/2")]).consistent  # pending everywhere is the next rollout, not drift


@pytest.mark.parametrize("module", ["pgrunbook.fleet.policy", "pgrunbook.fleet.drift"])
def test_the_policy_and_the_drift_comparison_load_no_io(module):
    from ..unit.test_pure_imports import loaded_after_import

    assert loaded_after_import(module) == []


def test_the_example_fleet_inventory_loads_and_plans(monkeypatch):
    from pathlib import Path

    from pgrunbook.fleet.inventory import load_fleet

    monkeypatch.setenv("EU1_PASSWORD", "x")
    fleet = load_fleet(Path(__file__).resolve().parents[2] / "inventory" / "fleet.example.yml")
    names = fleet.target_names({"eu-1": ["tenant_acme", "tenant_hooli", "tenant_test_1"]})
    assert names == ["eu-1/tenant_acme", "eu-1/tenant_globex", "eu-1/tenant_hooli", "us-1/tenant_initech", "us-1/tenant_umbrella"]
    assert [len(w.targets) for w in fleet.waves(names)] == [1, 2, 2] and fleet.limits() == {"eu-1": 1, "us-1": 2}
    assert "x" not in repr(fleet.spec.instances["eu-1"].url)


def test_a_target_of_the_example_is_the_base_inventory_with_its_database_folder_and_overrides(monkeypatch):
    from dataclasses import replace
    from pathlib import Path

    from pgrunbook.fleet.inventory import load_fleet

    for key, value in {"EU1_PASSWORD": "pw-eu1", "PROD_DB_URL": "postgresql://u:p@h:5432/htf_sunup_db", "API_EMAIL": "ops@example.com",
                       "API_PASSWORD": "x"}.items():
        monkeypatch.setenv(key, value)
    root = Path(__file__).resolve().parents[2] / "inventory"
    fleet = load_fleet(root / "fleet.example.yml")
    fleet = replace(fleet, spec=fleet.spec.model_copy(update={"base": root / "production.example.yml"}))
    umbrella = fleet.target("us-1/tenant_umbrella").config.inventory
    assert umbrella.database.dbname == "tenant_umbrella" and umbrella.database.url.host == "db-us-1.internal"
    assert umbrella.backup.format == "directory" and umbrella.backup.jobs == 4 and umbrella.environment == "us"
    assert umbrella.backup.dir == fleet.dir / "targets" / "us-1" / "tenant_umbrella"
    assert umbrella.backup.targets  # the base's copies are kept
    acme = fleet.target("eu-1/tenant_acme").config.inventory
    assert acme.environment == "prod" and "pw-eu1" not in str(acme.database.url) and acme.database.url.password == "pw-eu1"
