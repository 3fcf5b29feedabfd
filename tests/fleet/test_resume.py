"""SIGKILL of a fleet run mid-wave, then `--resume`: no target run twice, none skipped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from pgrunbook.fleet.inventory import load_fleet
from pgrunbook.fleet.journal import FleetStopped, TargetEnded, TargetStarted, list_fleet_runs
from pgrunbook.fleet.rollout import FleetOptions, migrate_prod
from pgrunbook.runs import list_runs

from ..conftest import TEST_PASSWORD
from ..servers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def no_pgrunbook_session(env) -> bool:
    for cluster in env.clusters.values():
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
            if conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgrunbook' AND datname LIKE %s",
                            [env.prefix + "%"]).fetchone()[0]:
                return False
    return True


def test_sigkill_mid_wave_then_resume_runs_each_target_once(fleet_env):
    env = fleet_env(3)
    path = env.write({"canary": 1, "waves": ["100%"], "max_parallel": 2})
    fleet = load_fleet(path)
    environ = {**os.environ, "PGRB_TEST_PW": TEST_PASSWORD, "PGRUNBOOK_FAULT_AT": "fleet:ended:2",
               "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "pgrunbook", "fleet.migrate-prod", "-i", str(path), "--yes", "--json"],
                          cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300)
    assert done.returncode == -9, (done.returncode, done.stderr[-2000:])  # killed after the second target ended
    (killed,) = list_fleet_runs(fleet.dir)
    journal = killed.read()
    assert len(journal.ended) == 2 and journal.closed is None
    in_flight = journal.in_flight
    assert in_flight, "a wave-1 target was running in parallel when the fleet died"
    assert TEST_PASSWORD not in killed.journal.read_text() + done.stdout + done.stderr
    wait_for(lambda: no_pgrunbook_session(env), what="the killed fleet's sessions to end", timeout=120, interval=0.1)

    result = migrate_prod(fleet, options=FleetOptions(resume=killed.id))
    assert result.fleet.id == killed.id and result.outcome == "ok", result.as_json()
    final = killed.read()
    assert final.closed.status == "ok"
    ends = [r.target for r in final.all(TargetEnded)]
    assert sorted(ends) == sorted(env.names)  # none skipped, none ended twice
    starts = final.all(TargetStarted)
    for name in env.names:
        runs = [r for r in list_runs(fleet.target(name).backup_dir) if r.read().opened.kind == "migrate-prod"]
        assert len(runs) == 1 and runs[0].read().outcome == "ok", name  # one run per target: resumed, never a second
        assert env.indexes(name) == 43
        mine = [s for s in starts if s.target == name]
        if name in in_flight:
            assert len(mine) == 2 and mine[1].run == runs[0].id  # its own run, resumed
        elif name in journal.ended:
            assert len(mine) == 1  # ended before the kill: not run again
    data = json.loads(subprocess.run([sys.executable, "-m", "pgrunbook", "fleet.status", "-i", str(path), "--json"], cwd=ROOT,
                                     env={**environ, "PGRUNBOOK_FAULT_AT": ""}, capture_output=True, text=True, timeout=120).stdout)
    assert data["outcome"] == "ok" and [t["outcome"] for t in data["targets"]] == ["ok"] * 6


def test_a_target_killed_before_its_run_opened_runs_afresh_not_from_an_older_fleet_run(fleet_env):
    """Its TargetStarted is journaled, its runbook never opened a run: the closed run a previous fleet run left in its
    folder is not taken for its outcome."""
    from pgrunbook.fleet.journal import FleetOpened, start_fleet_run

    env = fleet_env(1)
    fleet = load_fleet(env.write({"canary": 0, "waves": ["100%"]}))
    first = migrate_prod(fleet, options=FleetOptions())
    assert first.outcome == "ok"
    name = env.names[0]
    older = first.targets[name].run
    crashed = start_fleet_run(fleet.dir, FleetOpened(name="testfleet", targets=tuple(env.names), waves=(tuple(env.names),)))
    crashed.append(TargetStarted(target=name, wave=1))  # then SIGKILL, before migrate-prod opened its run
    result = migrate_prod(fleet, options=FleetOptions(resume=crashed.id))
    assert result.outcome == "ok"
    runs = [r.id for r in list_runs(fleet.target(name).backup_dir) if r.read().opened.kind == "migrate-prod"]
    assert len(runs) == 2 and result.targets[name].run != older and result.targets[name].run in runs


def test_ctrl_c_lets_the_running_targets_finish_then_resume_does_the_rest(fleet_env):
    env = fleet_env(2)
    path = env.write({"canary": 0, "waves": ["100%"], "max_parallel": 2})
    fleet = load_fleet(path)
    environ = {**os.environ, "PGRB_TEST_PW": TEST_PASSWORD, "PGRUNBOOK_FAULT_AT": "fleet:ended:1", "PGRUNBOOK_FAULT_SIGNAL": "INT",
               "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "pgrunbook", "fleet.migrate-prod", "-i", str(path), "--yes", "--json"],
                          cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300)
    assert done.returncode == 130, (done.returncode, done.stderr[-2000:])
    (stopped,) = list_fleet_runs(fleet.dir)
    journal = stopped.read()
    assert "interrupted" in journal.all(FleetStopped)[-1].reason
    assert not journal.in_flight and 2 <= len(journal.ended) < 4  # every target started finished; not all were started
    result = migrate_prod(fleet, options=FleetOptions(resume=stopped.id))
    assert result.outcome == "ok" and sorted(result.targets) == sorted(env.names)
    assert sorted(r.target for r in stopped.read().all(TargetEnded)) == sorted(env.names)
