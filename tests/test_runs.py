"""Run journals on a bad day: a full disk never leaves a torn record or an empty journal (issue 11.8)."""

from __future__ import annotations

import json
import subprocess

import pytest

from pgrunbook.errors import RuntimeFailure
from pgrunbook.journal import GateDecided, VerifyEnded
from pgrunbook.runs import list_runs, start_run


@pytest.fixture
def small_disk(tmp_path):
    point = tmp_path / "disk"
    point.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(point)], capture_output=True).returncode != 0:
        pytest.fail("cannot mount a tmpfs here (the tests run as root in CI)")
    yield point
    subprocess.run(["umount", str(point)], check=False)


def fill(folder) -> None:
    """Fill the filesystem to the last byte."""
    import os

    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"x" * 512)
    except OSError:
        pass
    finally:
        os.close(fd)


def test_a_full_disk_mid_run_keeps_every_complete_record_and_says_what_to_do(small_disk):
    run = start_run(small_disk / "backups", "u@h:5432/db", kind="phases")
    run.append(VerifyEnded(status="ok", extra={"facts": "short"}))
    fill(small_disk)
    with pytest.raises(RuntimeFailure) as exc:
        run.append(GateDecided(status="go", extra={"blob": "y" * 5000}))
    assert "cannot write the run journal" in exc.value.what and "free space" in exc.value.next_step
    lines = run.journal.read_bytes().splitlines()
    assert [json.loads(line)["phase"] for line in lines] == ["run", "verify"]  # nothing torn, nothing half-written


def test_a_full_disk_at_the_start_leaves_no_empty_run(small_disk):
    (small_disk / "backups" / "runs").mkdir(parents=True)
    fill(small_disk)
    with pytest.raises(RuntimeFailure, match="cannot write the run journal"):
        start_run(small_disk / "backups", "u@h:5432/db", kind="phases")
    assert list_runs(small_disk / "backups") == [] and list((small_disk / "backups" / "runs").iterdir()) == []


def test_client_tools_die_with_pgrunbook():
    """Issue 11.6: a pgrunbook killed mid-restore leaves no orphan pg_restore / pg_dump behind."""
    import os
    import signal
    import sys
    import time

    code = ("import subprocess, sys; from pgrunbook.pg import dies_with_parent; "
            "p = subprocess.Popen(['sleep', '300'], preexec_fn=dies_with_parent); print(p.pid, flush=True); p.wait()")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{child}/status") as status:
                if "State:\tZ" in status.read():
                    break
        except FileNotFoundError:
            break
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the child outlived its parent")


def test_runs_opened_in_the_same_second_list_newest_first(tmp_path):
    """Run ids share the second and end with a random tail: the order is the first record's time, not the name."""
    from pgrunbook.journal import RunOpened, encode

    runs = tmp_path / "backups" / "runs"
    for name, ts in (("20261202_000000_ffffff", "2026-12-02T00:00:00.100+00:00"), ("20261202_000000_000000", "2026-12-02T00:00:00.900+00:00")):
        (runs / name).mkdir(parents=True)
        (runs / name / "journal.jsonl").write_bytes(encode(RunOpened(target="t", ts=ts), name))
    assert [r.id for r in list_runs(tmp_path / "backups")] == ["20261202_000000_000000", "20261202_000000_ffffff"]
