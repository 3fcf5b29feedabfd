"""Run journals: what each phase of a run observed, decided and did, as JSON lines.

A run is one pass of the runbook against one database: verify → backup → analyze → gate
→ migrate → validate (→ rollback) → report. Its journal lives in
`<backup dir>/runs/<run-id>/journal.jsonl` (folder 0700, file 0600). Every line is one
record, flushed and fsynced before the step it announces and after it ends, so a crash,
Ctrl-C or a lost connection leaves a journal that tells the truth:

    {"ts": "2026-11-25T16:10:00.123+00:00", "run": "<run-id>", "phase": "migrate",
     "event": "start" | "end" | "fact" | "decision" | "error",
     "status": "" | "ok" | "failed" | "go" | "no-go" | "rolled-back" | "interrupted",
     "data": {...}}

Records hold facts the phases produced (counts, plan tags, created index names, row
ids, timings, redacted URLs); never a secret. Separate tasks (`inv gate`, then `inv
migrate`) share a run: by default the newest unfinished run of the same database, else a
new one; `--run ID` names one.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from . import faults
from .errors import RuntimeFailure, UsageError

RUNS = "runs"
JOURNAL = "journal.jsonl"
OPEN_RUN_MAX_AGE = timedelta(hours=12)


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Run:
    id: str
    dir: Path

    @property
    def journal(self) -> Path:
        return self.dir / JOURNAL

    # ------------------------------------------------------------------ writing

    def record(self, phase: str, event: str, status: str = "", **data: Any) -> dict[str, Any]:
        entry = {"ts": now().isoformat(timespec="milliseconds"), "run": self.id, "phase": phase,
                 "event": event, "status": status, "data": data}
        line = (json.dumps(entry, default=str, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            _append_whole(self.journal, line)
        except OSError as exc:
            raise RuntimeFailure(
                f"cannot write the run journal {self.journal}: {exc.strerror or exc}",
                changed=f"nothing of this record was written (the journal ends at its last complete record); the {phase} step it "
                        "announces was not started",
                next_step=f"free space or fix permissions on {self.dir.parent}, then run the task again") from None
        faults.reached(f"{phase}:{event}")
        if status:
            faults.reached(f"{phase}:{event}:{status}")
        return entry

    # ------------------------------------------------------------------ reading

    def records(self) -> list[dict[str, Any]]:
        if not self.journal.exists():
            return []
        out = []
        for line in self.journal.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line torn by a crash mid-write: the records before it still stand
        return out

    def last(self, phase: str, event: str | None = None, status: str | None = None) -> dict[str, Any] | None:
        for entry in reversed(self.records()):
            if entry["phase"] == phase and (event is None or entry["event"] == event) and (status is None or entry["status"] == status):
                return entry
        return None

    def first(self, phase: str, event: str | None = None) -> dict[str, Any] | None:
        for entry in self.records():
            if entry["phase"] == phase and (event is None or entry["event"] == event):
                return entry
        return None

    def target(self) -> str:
        first = self.records()[:1]
        return first[0]["data"].get("target", "") if first else ""

    @property
    def finished(self) -> bool:
        return self.last("run", "end") is not None

    def started_at(self) -> datetime:
        first = self.records()[:1]
        return datetime.fromisoformat(first[0]["ts"]) if first else now()


def _append_whole(path: Path, line: bytes) -> None:
    """Append one record and fsync it, or leave the file as it was: a full disk must not leave
    half a JSON line that every later reader trips on."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    size = os.fstat(fd).st_size
    try:
        written = os.write(fd, line)
        if written != len(line):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        os.fsync(fd)
    except OSError:
        try:
            os.ftruncate(fd, size)
        except OSError:  # pragma: no cover - best effort: readers skip a torn last line anyway
            pass
        raise
    finally:
        os.close(fd)


def operator() -> str:
    """Who runs this: OS user @ host (the report's "Exécuté par")."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid {os.getuid()}"
    return f"{user}@{socket.gethostname()}"


def start_run(backup_dir: Path, target: str, *, kind: str) -> Run:
    """A new run of `kind` ("phases" or "migrate-prod") against `target` (user@host:port/db)."""
    runs = _runs_dir(backup_dir)
    run_id = f"{now():%Y%m%d_%H%M%S}_{secrets.token_hex(3)}"
    path = runs / run_id
    path.mkdir(mode=0o700)
    run = Run(run_id, path)
    try:
        run.record("run", "start", target=target, kind=kind, pid=os.getpid(), operator=operator())
    except RuntimeFailure:
        shutil.rmtree(path, ignore_errors=True)  # no empty journal.jsonl left behind: the run never started
        raise
    return run


def open_run(backup_dir: Path, run_id: str) -> Run:
    path = _runs_dir(backup_dir) / run_id
    if not (path / JOURNAL).exists():
        known = ", ".join(r.id for r in list_runs(backup_dir)[:5]) or "none"
        raise UsageError(f"no run {run_id!r} in {path.parent} (latest: {known})",
                         next_step=f"pick one of the folders in {path.parent} (newest last), or omit --run for the newest")
    return Run(run_id, path)


def current_or_new(backup_dir: Path, target: str, run_id: str | None = None) -> Run:
    """`run_id`, else the newest unfinished run of `target` younger than 12 h, else a new run."""
    if run_id:
        return open_run(backup_dir, run_id)
    for run in list_runs(backup_dir):
        if run.target() == target and not run.finished and now() - run.started_at() < OPEN_RUN_MAX_AGE:
            return run
    return start_run(backup_dir, target, kind="phases")


def list_runs(backup_dir: Path) -> list[Run]:
    """Every run, newest first."""
    runs = backup_dir / RUNS
    if not runs.is_dir():
        return []
    return [Run(p.name, p) for p in sorted(runs.iterdir(), reverse=True) if (p / JOURNAL).exists()]


def iter_phase(run: Run, phase: str) -> Iterator[dict[str, Any]]:
    return (r for r in run.records() if r["phase"] == phase)


def _runs_dir(backup_dir: Path) -> Path:
    backup_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    runs = backup_dir / RUNS
    runs.mkdir(mode=0o700, exist_ok=True)
    runs.chmod(0o700)
    return runs
