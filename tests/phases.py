"""Helpers for tests that drive whole phases: a backup, a GO, the sandbox API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from pgrunbook import commands
from pgrunbook.config import load_config
from pgrunbook.sandbox.cluster import free_port
from pgrunbook.sandbox.data import SANDBOX_LOGIN


def backed_up(inventory: Path, playbook: Path | None = None):
    cfg = load_config(inventory, playbook)
    result = commands.backup(cfg)
    assert result.ok, result.as_json()
    return cfg


def gone_through_gate(inventory: Path, playbook: Path | None = None):
    cfg = backed_up(inventory, playbook)
    run, decision = commands.gate(cfg)
    assert decision.go, decision.as_json()
    return cfg, run


def write_playbook(path: Path, **sections) -> Path:
    """The default playbook with some sections replaced."""
    import yaml

    from pgrunbook.config import DEFAULT_PLAYBOOK

    data = yaml.safe_load(DEFAULT_PLAYBOOK.read_text())
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    path.write_text(yaml.safe_dump(data))
    return path


@contextmanager
def sandbox_api(db_url: str, workdir: Path):
    """The sandbox's real HTTP API over `db_url`, on a free port; yields the `api:` inventory section."""
    port = free_port()
    pidfile = workdir / "api.pid"
    env = {**os.environ, "PGRUNBOOK_API_DSN": db_url}
    base = [sys.executable, "-m", "pgrunbook.sandbox.api"]
    subprocess.run([*base, "start", "--port", str(port), "--pidfile", str(pidfile)], env=env, check=True, capture_output=True, timeout=60)
    try:
        yield {
            "base_url": f"http://127.0.0.1:{port}",
            "login": {"email": SANDBOX_LOGIN[0], "password": SANDBOX_LOGIN[1]},
            "endpoints": [{"path": "/api/users/all-members", "budget_ms": 500}, {"path": "/api/campaigns", "budget_ms": 500}],
            "requests": 5,
        }
    finally:
        subprocess.run([*base, "stop", "--pidfile", str(pidfile)], capture_output=True, timeout=60)


def manifest_file(backup_dir: Path) -> Path:
    return sorted(backup_dir.glob("*.manifest.json"))[-1]


def age_manifest(backup_dir: Path, hours: int) -> None:
    from datetime import datetime, timedelta, timezone

    path = manifest_file(backup_dir)
    data = json.loads(path.read_text())
    data["created_at"] = (datetime.now(timezone.utc) - timedelta(hours=hours)).isoformat()
    path.write_text(json.dumps(data))
