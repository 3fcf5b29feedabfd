"""A test's injected Ctrl-C is a terminal's Ctrl-C, even in a process that started with SIGINT ignored
(what a background job's children inherit: `inv test` from a CI script)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pgrunbook

SRC = str(Path(pgrunbook.__file__).resolve().parents[1])  # the child imports the pgrunbook under test
SCRIPT = """
import sys
from pgrunbook import faults
try:
    faults.reached("here")
except KeyboardInterrupt:
    sys.exit(130)
sys.exit(0)
"""


def run(env_signal: str | None) -> int:
    env = {**os.environ, "PGRUNBOOK_FAULT_AT": "here", "PYTHONPATH": SRC}
    env.pop("PGRUNBOOK_FAULT_SIGNAL", None)
    if env_signal:
        env["PGRUNBOOK_FAULT_SIGNAL"] = env_signal
    ignore = lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)  # noqa: E731 - as a background job starts it
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, preexec_fn=ignore, timeout=60).returncode


def test_an_injected_ctrl_c_interrupts_a_process_that_started_with_sigint_ignored():
    assert run("INT") == 130


def test_the_default_fault_is_still_a_kill():
    assert run(None) == -signal.SIGKILL
