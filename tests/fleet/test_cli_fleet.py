"""The fleet tasks through `cli` (what `inv fleet.*` calls): recap, verify table, status JSON, exit codes."""

from __future__ import annotations

import json

import pytest

from pgrunbook import cli

from ..conftest import TEST_PASSWORD

pytestmark = pytest.mark.integration


def test_fleet_tasks_render_and_exit(fleet_env, capsys):
    env = fleet_env(1)
    path = str(env.write({"canary": 1, "waves": ["100%"]}))
    assert cli.fleet_verify(path, None, as_json=False) == 0  # before: the same ledger (none) on both tenants
    out = capsys.readouterr().out
    assert "no drift between tenants" in out and all(name in out for name in env.names)
    assert cli.fleet_migrate_prod(path, None, resume=None, yes=False, online=False, single_transaction=False, rehearse=None,
                                  as_json=False) == 0
    captured = capsys.readouterr()
    assert "canary" in captured.out and "wave total" in captured.out and "fleet testfleet: ok" in captured.out
    assert TEST_PASSWORD not in captured.out + captured.err
    assert cli.fleet_status(path, None, run_id=None, as_json=True) == 0
    data = json.loads(capsys.readouterr().out)
    assert [t["outcome"] for t in data["targets"]] == ["ok", "ok"] and data["outcome"] == "ok"
    assert cli.fleet_status(path, None, run_id="nope", as_json=True) == 2
    assert "no fleet run 'nope'" in capsys.readouterr().err
    assert cli.fleet_verify(None, None, as_json=True) == 2  # a fleet task needs its fleet inventory
    assert cli.fleet_migrate_prod(path, None, resume=data["fleet_run"], yes=False, online=False, single_transaction=False,
                                  rehearse=None, as_json=True) == 2  # a closed fleet run is not resumed


def test_a_fleet_of_real_targets_needs_yes_or_its_name(fleet_env, capsys):
    env = fleet_env(1)
    path = str(env.write(overrides={"sandbox": False}))
    assert cli.fleet_migrate_prod(path, None, resume=None, yes=False, online=False, single_transaction=False, rehearse=None,
                                  as_json=True) == 2
    assert "not confirmed" in capsys.readouterr().err
    assert not (env.workdir / "fleet" / "fleets").exists() and all(env.indexes(n) == 0 for n in env.names)
