"""`inv fleet.migrate-prod` on two embedded clusters: waves, canary, budget, on_failure, limits, resume."""

from __future__ import annotations

import pytest

from pgrunbook.fleet.inventory import load_fleet
from pgrunbook.fleet.journal import TargetEnded, TargetStarted, list_fleet_runs
from pgrunbook.fleet.rollout import FleetOptions, migrate_prod, status, verify
from pgrunbook.runs import list_runs

from ..conftest import TEST_PASSWORD
from .conftest import SessionSampler

pytestmark = pytest.mark.integration


def runs_of(fleet, name):
    return [r for r in list_runs(fleet.target(name).backup_dir) if r.read().opened.kind == "migrate-prod"]


@pytest.mark.slow
def test_clean_rollout_in_waves_within_the_instance_limits(fleet_env):
    env = fleet_env(3)
    fleet = load_fleet(env.write({"canary": 1, "waves": [2, "100%"], "max_parallel": 2}, limits={"a": 2, "b": 1}))
    assert fleet.target_names({"b": env.tenants["b"]}) == env.names
    with SessionSampler(env) as sampler:
        result = migrate_prod(fleet, options=FleetOptions())
    assert result.outcome == "ok", result.as_json()
    assert [len(w.targets) for w in result.waves] == [1, 2, 3] and result.waves[0].targets == (env.names[0],)
    assert sorted(result.targets) == sorted(env.names)  # the discovered tenants of instance b too
    for name in env.names:
        outcome = result.targets[name]
        assert outcome.outcome == "ok" and outcome.users_before == outcome.users_after == 68 and outcome.backup
        assert env.indexes(name) == 43
        assert [r.read().outcome for r in runs_of(fleet, name)] == ["ok"]  # its own run journal, in its own folder
    assert sampler.peak["a"] <= 2 and sampler.peak["b"] <= 1, sampler.peak  # counted on the servers
    assert result.max_concurrency == {"a": 2, "b": 1} and result.max_overall == 2  # wave 1: both of a at once
    journal = result.fleet.read()
    assert journal.closed.status == "ok" and len(journal.all(TargetEnded)) == 6
    data = status(fleet)
    assert data["fleet_run"] == result.fleet.id and data["outcome"] == "ok"
    assert [t["outcome"] for t in data["targets"]] == ["ok"] * 6
    assert TEST_PASSWORD not in result.fleet.journal.read_text()
    checked = verify(fleet)
    assert checked["consistent"] and len(checked["targets"]) == 6
    with env.connect(env.names[4]) as conn:  # another build of the app migrated this tenant: a row no local file has
        conn.execute("INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES (md5('other build'), 1)")
    checked = verify(fleet)
    assert not checked["consistent"] and checked["unknown_rows"] == {env.names[4]: 1} and not checked["behind"]


@pytest.mark.parametrize("on_failure", ["continue", "stop"])
def test_drift_on_one_tenant_rolls_it_back_and_the_wave_goes_on_or_stops(fleet_env, on_failure):
    env = fleet_env(2)
    fleet = load_fleet(env.write({"canary": 1, "waves": ["100%"], "max_parallel": 1, "on_failure": on_failure}))
    broken = env.names[1]  # the first of wave 1
    result = migrate_prod(fleet, options=FleetOptions(after_migrate=env.drift(broken)))
    assert result.targets[broken].outcome == "rolled-back" and result.targets[broken].rollback.startswith("full")
    assert env.indexes(broken) == 0 and env.users(broken) == 68 == result.targets[broken].users_after  # back to its backup
    rest = env.names[2:]
    if on_failure == "continue":
        assert result.outcome == "failed" and all(result.targets[n].outcome == "ok" for n in rest)
        assert result.fleet.read().closed.status == "failed"
        drift = verify(fleet)
        assert set(drift["behind"]) == {broken} and not drift["consistent"]
    else:
        assert result.outcome == "stopped" and "on_failure" in result.reason
        assert result.not_started == rest and all(env.indexes(n) == 0 for n in rest)


def test_a_canary_failure_stops_the_fleet_before_wave_1_and_resume_goes_on(fleet_env):
    env = fleet_env(2)
    fleet = load_fleet(env.write({"canary": 1, "waves": [1, "100%"]}))
    canary = env.names[0]
    result = migrate_prod(fleet, options=FleetOptions(after_migrate=env.drift(canary)))
    assert result.outcome == "stopped" and "canary" in result.reason
    assert list(result.targets) == [canary] and result.targets[canary].outcome == "rolled-back"
    assert all(env.indexes(n) == 0 for n in env.names[1:])
    data = status(fleet)
    assert data["outcome"] == "stopped" and [t["outcome"] for t in data["targets"]] == ["rolled-back"] + ["not started"] * 3
    from pgrunbook.fleet.report_html import write_fleet_report

    page = open(write_fleet_report(data)).read()  # `inv fleet.status --html`
    assert page.count("<svg") == 2 and "<title>Waves on a timeline</title>" in page and "rolled-back · canary" in page
    assert page.count("not started") >= 3 and "<script" not in page
    report = data["targets"][0]["report"]
    assert report.endswith("report.en.md") and f'href="../../targets/a/{canary.partition("/")[2]}/runs/' in page
    resumed = migrate_prod(fleet, options=FleetOptions(resume=result.fleet.id))  # the operator decided to go on
    assert resumed.fleet.id == result.fleet.id and resumed.outcome == "failed"  # the canary stays failed, not run again
    assert all(resumed.targets[n].outcome == "ok" for n in env.names[1:])
    assert len(runs_of(fleet, canary)) == 1
    assert resumed.fleet.read().closed is not None


def test_the_failure_budget_stops_the_fleet(fleet_env):
    env = fleet_env(3)
    fleet = load_fleet(env.write({"canary": 0, "waves": ["100%"], "max_parallel": 1, "max_failures": 2}))
    result = migrate_prod(fleet, options=FleetOptions(after_migrate=env.drift(*env.names[:2])))
    assert result.outcome == "stopped" and "budget" in result.reason
    assert [result.targets[n].outcome for n in env.names[:2]] == ["rolled-back", "rolled-back"]
    assert result.not_started == env.names[2:]
    assert [w["outcomes"] for w in result.wave_totals()] == [{"rolled-back": 2, "not started": 4}]
    assert len(list_fleet_runs(fleet.dir)) == 1
    started = result.fleet.read().all(TargetStarted)
    assert [s.target for s in started] == env.names[:2]


def test_a_tenant_held_by_another_run_fails_and_the_others_proceed(fleet_env):
    from pgrunbook.executor import LOCK_KEY_SQL, LOCK_NAMESPACE

    env = fleet_env(2)
    fleet = load_fleet(env.write({"canary": 0, "waves": ["100%"], "max_parallel": 2}))
    held = env.names[1]
    with env.connect(held) as other:  # another pgrunbook (or a human) holds the migration lock of this tenant
        other.execute(f"SELECT pg_advisory_lock({LOCK_KEY_SQL})", [LOCK_NAMESPACE])
        result = migrate_prod(fleet, options=FleetOptions())
    assert result.targets[held].outcome == "no-go" and "no-other-run" in result.targets[held].reason
    assert env.indexes(held) == 0
    assert all(result.targets[n].outcome == "ok" and env.indexes(n) == 43 for n in env.names if n != held)
    assert result.outcome == "failed"


def test_between_waves_confirm_not_given_stops_after_the_canary(fleet_env):
    env = fleet_env(1)
    fleet = load_fleet(env.write({"canary": 1, "waves": ["100%"], "between_waves": "confirm"}))
    asked = []
    result = migrate_prod(fleet, options=FleetOptions(ask_wave=lambda wave, question: asked.append(wave.number) or False))
    assert asked == [1] and result.outcome == "stopped" and "did not confirm wave 1" in result.reason
    assert list(result.targets) == [env.names[0]] and result.not_started == env.names[1:]


def test_a_session_holding_a_lock_on_one_tenant_fails_it_and_the_others_proceed(fleet_env):
    """The gate calls the open transaction a blocker once it is older than lock_timeout (NO-GO); younger, migrate waits
    lock_timeout, retries, fails, and the run rolls back. Either way that tenant ends as it was, and the other migrates."""
    from ..phases import write_playbook

    env = fleet_env(1)
    playbook = write_playbook(env.workdir / "pb.yml", migrate={"lock_timeout": "1s", "lock_retries": 1, "retry_backoff_seconds": 0})
    fleet = load_fleet(env.write({"canary": 0, "waves": ["100%"], "max_parallel": 2}), playbook)
    held = env.names[1]
    with env.connect(held) as other:  # an app transaction left open with a lock the migration's DDL would wait on
        other.autocommit = False
        other.execute("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
        result = migrate_prod(fleet, options=FleetOptions())
        other.rollback()
    outcome = result.targets[held]
    assert (outcome.outcome, "no-blockers" in outcome.reason or "lock" in outcome.reason) in (("no-go", True), ("rolled-back", True)), outcome
    assert env.indexes(held) == 0 and env.users(held) == 68
    assert result.targets[env.names[0]].outcome == "ok" and env.indexes(env.names[0]) == 43
