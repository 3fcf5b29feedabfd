"""`inv demo --app compose` and `inv demo --break --app compose`, as a user runs them, on a real Docker engine.

The sandbox API runs as the `backend` service of a Docker Compose project (Debian's
docker-compose v1); `--break` ends in the automatic full rollback: compose stop, restore beside,
swap, compose start, API healthy again, exit 4. The downtime the run records runs from the
compose stop command to the health check passing again.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from pgrunbook.demo import compose_project
from pgrunbook.sandbox.api import health_status
from tests.docker_engine import docker_engine  # noqa: F401 - fixture
from tests.test_demo import demo_env, inv  # noqa: F401 - fixture

pytestmark = [pytest.mark.docker, pytest.mark.integration, pytest.mark.slow]


def _rollback_ended(root: Path) -> dict:
    """The data of the journal's rollback `end` record (format 2: one JSON object a line)."""
    for journal in sorted(root.glob("backups/runs/*/journal.jsonl")):
        for line in journal.read_text().splitlines():
            record = json.loads(line)
            if record.get("phase") == "rollback" and record.get("event") == "end":
                return record["data"]
    raise AssertionError("no rollback recorded in the demo's journals")


def test_demo_with_compose_then_break_rolls_back_through_compose(demo_env, docker_engine):  # noqa: F811
    env, root = demo_env
    env = {**env, **docker_engine.env()}
    port = int(env["PGRUNBOOK_DEMO_API_PORT"])
    compose_file = root / "demo" / "compose" / "docker-compose.yml"
    try:
        done = inv(env, "demo", "--app", "compose", "-v")  # -v: every event, the controller's included
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "migrate-prod: ok" in done.stdout and "(service backend: " in done.stderr
        assert "app started in" in done.stderr and "running (healthy)" in done.stderr
        assert health_status("127.0.0.1", port) == 200

        broken = inv(env, "demo", "--break", "--app", "compose", "-v")
        assert broken.returncode == 4, broken.stdout[-3000:] + broken.stderr[-3000:]
        assert "rolled back: validation found drift" in broken.stderr
        stop_line = next(line for line in broken.stderr.splitlines() if "rollback: app stopped in" in line)
        assert "exited" in stop_line
        assert f"port {port}" in broken.stderr.replace("\n", " ")  # the stop waited until the API's port refused connections
        assert health_status("127.0.0.1", port) == 200  # compose start brought the API back, healthy

        ended = _rollback_ended(root)
        timings, downtime = ended.get("timings"), ended.get("downtime_seconds")
        assert downtime is not None and timings, ended
        # From the compose stop command to healthy again: it covers the restore and the swap.
        assert downtime >= timings["restore"] + timings["swap"]
    finally:
        subprocess.run(["docker-compose", "-f", str(compose_file), "-p", compose_project(root), "down", "--timeout", "2"],
                       env=env, capture_output=True, timeout=120)
