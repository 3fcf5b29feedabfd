"""`inv demo --fleet`: five tenants on the sandbox, canary then two waves, one tenant rolled back (exit 4)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from pgrunbook.sandbox.cluster import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def test_inv_demo_fleet_shows_canary_two_waves_and_one_rollback():
    root = Path(tempfile.mkdtemp(prefix="pgrunbook-fleetdemo-"))
    root.chmod(0o755)
    env = {**os.environ, "PGRUNBOOK_SANDBOX_DIR": str(root), "PGRUNBOOK_SANDBOX_PORT": str(free_port())}
    try:
        done = subprocess.run(["inv", "demo", "--fleet", "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 4, done.stderr[-3000:]
        data = json.loads(done.stdout)
        assert [(w["wave"], w["targets"]) for w in data["waves"]] == [(0, 1), (1, 2), (2, 2)]
        outcomes = {t["target"]: t["outcome"] for t in data["targets"]}
        assert outcomes.pop("sandbox/fleetdemo_t3") == "rolled-back" and set(outcomes.values()) == {"ok"}
        assert data["outcome"] == "failed" and data["max_concurrency"] == {"sandbox": 2}
    finally:
        subprocess.run(["inv", "sandbox.down", "--purge"], cwd=ROOT, env=env, capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)
