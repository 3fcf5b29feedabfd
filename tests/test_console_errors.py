"""Errors that fit the target (issue 14, item 3), as a user sees them from the command line.

A sandbox gets sandbox next steps; a `next:` keeps the user's -i/-p; a taken port is one line,
not the old server log; Ctrl-C in a backup says what became of the partial dump. Each runs
`inv` in a subprocess against a sandbox of its own (PGRUNBOOK_SANDBOX_DIR, free ports).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from pgrunbook.config import PROJECT_ROOT
from pgrunbook.sandbox.cluster import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def own_sandbox():
    root = Path(tempfile.mkdtemp(prefix="pgrunbook-errors-"))
    root.chmod(0o755)
    env = {**os.environ, "PGRUNBOOK_SANDBOX_DIR": str(root), "PGRUNBOOK_SANDBOX_PORT": str(free_port())}
    yield env, root
    subprocess.run(["inv", "sandbox.down", "--purge"], cwd=PROJECT_ROOT, env=env, capture_output=True, timeout=120)
    shutil.rmtree(root, ignore_errors=True)


def inv(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run(["inv", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_a_next_step_keeps_the_users_inventory(own_sandbox):
    env, _ = own_sandbox
    done = inv(env, "rollback", "-i", "inventory/sandbox.yml")
    assert done.returncode == 2
    assert "next: `inv rollback -i inventory/sandbox.yml --full --dry-run` shows the full plan" in done.stderr, done.stderr


def test_a_sandbox_gets_sandbox_next_steps(own_sandbox):
    env, _ = own_sandbox
    empty = inv(env, "verify")  # no sandbox yet: no app folder
    assert empty.returncode == 2 and "next: the sandbox has no app yet: `inv sandbox.up` then `inv sandbox.reset`" in empty.stderr
    assert inv(env, "sandbox.up").returncode == 0 and inv(env, "sandbox.reset").returncode == 0
    assert inv(env, "sandbox.down").returncode == 0
    down = inv(env, "verify")
    assert down.returncode == 1, down.stderr
    assert "next: the sandbox's PostgreSQL is not running: `inv sandbox.up` starts it" in down.stderr
    assert "VPN" not in down.stderr and "firewall" not in down.stderr


def test_a_taken_sandbox_port_is_one_clear_error_not_the_server_log(own_sandbox):
    env, root = own_sandbox
    assert inv(env, "sandbox.up").returncode == 0 and inv(env, "sandbox.down").returncode == 0  # the log now holds a start and a stop
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", int(env["PGRUNBOOK_SANDBOX_PORT"])))
        busy.listen()
        done = inv(env, "sandbox.up")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 3, done.stderr
    assert lines[0] == f"error: the sandbox PostgreSQL cannot listen on 127.0.0.1:{env['PGRUNBOOK_SANDBOX_PORT']}: another program holds that port"
    assert "PGRUNBOOK_SANDBOX_PORT=<free port> inv sandbox.up" in lines[2]
    assert "LOG:" not in done.stderr and "database system is shut down" not in done.stderr


def test_ctrl_c_between_the_dump_and_its_manifest_says_the_partial_dump_was_removed(own_sandbox):
    env, root = own_sandbox
    assert inv(env, "sandbox.up").returncode == 0 and inv(env, "sandbox.reset").returncode == 0
    done = inv({**env, "PGRUNBOOK_FAULT_AT": "backup:dumped", "PGRUNBOOK_FAULT_SIGNAL": "INT"}, "backup")
    assert done.returncode == 130, done.stderr[-2000:]
    said = done.stderr.splitlines()[-1]
    assert said.startswith("interrupted: backup: the partial dump ") and "was removed" in said and "no manifest was written" in said
    dump = Path(said.split("the partial dump ", 1)[1].split(" was removed")[0])
    assert dump.parent == root / "backups" and not dump.exists()
    assert not [p for p in (root / "copies").rglob("*") if p.is_file()]  # the copies written with it are gone too
