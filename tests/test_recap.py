"""The recap at the end of every phase task, followed as printed (issue 14, items 1 and 3).

Starting from `inv verify -i inventory/sandbox.yml`, each task ends with the recap of its run
so far and a `next:` naming the next phase with the user's `-i`; running that command exactly
as printed goes through the runbook to the report. The recaps grow a line per phase.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from pgrunbook.config import PROJECT_ROOT
from pgrunbook.sandbox.cluster import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def sandbox_env():
    root = Path(tempfile.mkdtemp(prefix="pgrunbook-recap-"))
    root.chmod(0o755)
    env = {**os.environ, "PGRUNBOOK_SANDBOX_DIR": str(root), "PGRUNBOOK_SANDBOX_PORT": str(free_port())}
    yield env
    subprocess.run(["inv", "sandbox.down", "--purge"], cwd=PROJECT_ROOT, env=env, capture_output=True, timeout=120)
    shutil.rmtree(root, ignore_errors=True)


def _run(env, command: str) -> subprocess.CompletedProcess:
    return subprocess.run(shlex.split(command), cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_following_each_next_step_as_printed_goes_through_the_runbook(sandbox_env):
    env = sandbox_env
    assert _run(env, "inv sandbox.up").returncode == 0 and _run(env, "inv sandbox.reset").returncode == 0
    command, followed, run_ids = "inv verify -i inventory/sandbox.yml", [], set()
    while command:
        done = _run(env, command)
        assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
        followed.append(command.split()[1])
        if command.startswith("inv report"):
            break
        recap = done.stdout[done.stdout.rindex("RECAP run "):]
        run_ids.add(re.match(r"RECAP run (\S+)", recap).group(1))
        phases = re.findall(r"^  (\S+) +(ok|GO) ", recap, re.M)
        assert [p for p, _ in phases] == [p for p in ("verify", "backup", "gate", "migrate", "validate") if p in followed], recap
        next_line = recap.splitlines()[-1]
        assert next_line.startswith("next: "), recap
        command = re.findall(r"`(inv [^`]+)`", next_line)[-1]  # `inv analyze …` to preview, then `inv gate …`: the phase
        assert "-i inventory/sandbox.yml" in command, next_line
    assert followed == ["verify", "backup", "gate", "migrate", "validate", "report"]
    assert len(run_ids) == 1  # one run, phase after phase
    assert done.stdout.startswith("# ")  # the report itself (Markdown) closes the tour
