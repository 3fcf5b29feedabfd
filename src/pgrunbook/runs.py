"""Run journals on disk, and the run lifecycle: open, join, close.

A run is one pass of the runbook against one database: verify → backup → analyze → gate
→ migrate → validate (→ rollback) → report. Its journal lives in
`<backup dir>/runs/<run-id>/journal.jsonl` (folder 0700, file 0600): typed records
(`journal`), one JSON line each, fsynced before the step it announces and after it ends,
so a crash, Ctrl-C or a lost connection leaves a journal that tells the truth. Records hold
facts (counts, plan tags, created index names, row ids, timings, redacted URLs); never a
secret. This module is the only writer of journals.

Lifecycle:
- **open**: `inv verify` and `inv migrate-prod` open a new run; a phase run alone opens one
  when there is no open run of its database. Opening a run abandons (closes) the older open
  runs of the same database that changed nothing (no migration, no rollback started): they
  could no longer be joined.
- **join**: a phase run alone (`inv backup`, `analyze`, `gate`, `migrate`, `validate`) joins
  the newest open run of its database only if the database is still the one the run last
  observed (`journal.state_changes`): otherwise it refuses and names `--new-run`.
- **close**: on validate (phases run one by one), at the end of migrate-prod, on a NO-GO
  and on a rollback. A closed run is read-only: appending to it is refused.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

from . import faults
from .errors import CheckFailed, RuntimeFailure, UsageError
from .journal import (FORMAT, Journal, JournalFormatError, MigrationStarted, Record, RollbackStarted, RunClosed, RunOpened,
                      RunState, StateObserved, encode, state_changes)

RUNS = "runs"
JOURNAL = "journal.jsonl"
R = TypeVar("R", bound=Record)

_cache: dict[Path, tuple[tuple[int, int], Journal]] = {}


def now() -> datetime:
    return datetime.now(timezone.utc)


class Run:
    """One run's folder; `read()` is its journal, loaded once per change of the file."""

    def __init__(self, run_id: str, path: Path) -> None:
        self.id, self.dir = run_id, path

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and (self.id, self.dir) == (other.id, other.dir)

    def __hash__(self) -> int:
        return hash((self.id, self.dir))

    def __repr__(self) -> str:
        return f"Run({self.id!r})"

    @property
    def journal(self) -> Path:
        return self.dir / JOURNAL

    def read(self) -> Journal:
        try:
            stat = self.journal.stat()
        except FileNotFoundError:
            return Journal(self.id, ())
        key = (stat.st_size, stat.st_mtime_ns)
        cached = _cache.get(self.journal)
        if cached is None or cached[0] != key:
            try:
                journal = Journal.from_lines(self.id, self.journal.read_text(encoding="utf-8").splitlines())
            except JournalFormatError as exc:
                raise UsageError(f"run {self.id}: {exc}", changed="nothing was changed",
                                 next_step="read it with the pgrunbook version that wrote it") from None
            cached = _cache[self.journal] = (key, journal)
        return cached[1]

    def append(self, record: R) -> R:
        """Write one record (fsynced), or refuse: a closed run is read-only."""
        closed = self.read().closed
        if closed is not None:
            raise UsageError(f"run {self.id} is closed ({closed.status}): its journal is read-only",
                             changed="nothing was changed", next_step="run the task again without --run or --resume: a new run starts (`inv runs` lists them)")
        record = replace(record, ts=now().isoformat(timespec="milliseconds"))
        try:
            _append_whole(self.journal, encode(record, self.id))
        except OSError as exc:
            raise RuntimeFailure(
                f"cannot write the run journal {self.journal}: {exc.strerror or exc}",
                changed=f"nothing of this record was written (the journal ends at its last complete record); the {record.phase} step it "
                        "announces was not started",
                next_step=f"free space or fix permissions on {self.dir.parent}, then run the task again") from None
        faults.reached(f"{record.phase}:{record.event}")
        if record.status:
            faults.reached(f"{record.phase}:{record.event}:{record.status}")
        return record


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


def start_run(backup_dir: Path, target: str, *, kind: str, rolls_back: str | None = None) -> Run:
    """A new run of `kind` ("phases", "migrate-prod", "rollback") against `target` (user@host:port/db)."""
    runs = _runs_dir(backup_dir)
    run_id = f"{now():%Y%m%d_%H%M%S}_{secrets.token_hex(3)}"
    path = runs / run_id
    path.mkdir(mode=0o700)
    run = Run(run_id, path)
    try:
        run.append(RunOpened(target=target, kind=kind, pid=os.getpid(), operator=operator(), format=FORMAT, rolls_back=rolls_back))
    except RuntimeFailure:
        shutil.rmtree(path, ignore_errors=True)  # no empty journal.jsonl left behind: the run never started
        raise
    for older in list_runs(backup_dir):
        journal = older.read()
        if older != run and journal.target == target and not journal.is_closed and _changed_nothing(journal):
            close(older, "abandoned", f"superseded by run {run.id}")
    return run


def _changed_nothing(journal: Journal) -> bool:
    """Abandoning it loses nothing: no migration or rollback to resume or recover."""
    return journal.first(MigrationStarted) is None and journal.first(RollbackStarted) is None


def close(run: Run, outcome: str, reason: str = "") -> None:
    """Close the run (once): ok | warnings | failed | no-go | rolled-back | abandoned."""
    journal = run.read()
    if journal.is_closed:
        return
    started = journal.started_at
    seconds = round((now() - started).total_seconds(), 1) if started else None
    run.append(RunClosed(status=outcome, reason=reason, seconds=seconds))


def observed(run: Run, by: str, state: RunState) -> None:
    run.append(StateObserved(by=by, state=state))


def open_run(backup_dir: Path, run_id: str) -> Run:
    path = _runs_dir(backup_dir) / run_id
    if not (path / JOURNAL).exists():
        known = ", ".join(r.id for r in list_runs(backup_dir)[:5]) or "none"
        raise UsageError(f"no run {run_id!r} in {path.parent} (latest: {known})",
                         next_step="`inv runs` lists the runs; or omit --run for the current one")
    return Run(run_id, path)


def join(backup_dir: Path, target: str, state: RunState, *, phase: str, run_id: str | None = None,
         new_run: bool = False, tolerance: int = 0) -> Run:
    """The run a phase run alone journals into (see the module docstring): named, joined, or new."""
    if new_run:
        return start_run(backup_dir, target, kind="phases")
    if run_id:
        run = open_run(backup_dir, run_id)
        if run.read().is_closed:
            raise UsageError(f"run {run_id} is closed ({run.read().outcome}): a closed run is read-only",
                             changed="nothing was changed", next_step=f"`inv {phase} --new-run` starts a new run")
    else:
        run = next((r for r in list_runs(backup_dir, target) if not r.read().is_closed), None)
        if run is None:
            return start_run(backup_dir, target, kind="phases")
    recorded = run.read().state
    if recorded is None:  # a run from before states were recorded: joined only when named
        return run if run_id else start_run(backup_dir, target, kind="phases")
    changes = state_changes(recorded, state, tolerance=tolerance)
    if changes:
        raise CheckFailed(f"the database changed since run {run.id} observed it: " + "; ".join(changes),
                          changed="nothing was changed",
                          next_step=f"`inv {phase} --new-run` starts a new run (then back it up and gate it again: "
                                    f"`inv verify`, `inv backup`, `inv gate`)")
    return run


def list_runs(backup_dir: Path, target: str | None = None) -> list[Run]:
    """Every run (of `target`, if given), newest first."""
    runs = backup_dir / RUNS
    if not runs.is_dir():
        return []
    found = [Run(p.name, p) for p in runs.iterdir() if (p / JOURNAL).exists()]
    found.sort(key=_opened_at, reverse=True)  # ids share a second's prefix with a random tail: order by the first record
    return [r for r in found if target is None or r.read().target == target]


def migrated_runs(backup_dir: Path, target: str) -> list[Run]:
    """The runs of `target` that started a migration, newest first (what a rollback or a second validate undoes or checks)."""
    return [r for r in list_runs(backup_dir, target) if r.read().migration_start is not None]


def _opened_at(run: Run) -> tuple[str, str]:
    records = run.read().records
    return (records[0].ts if records else "", run.id)


def _runs_dir(backup_dir: Path) -> Path:
    from .folders import ensure_private

    ensure_private(backup_dir)  # journals hold facts about users' data: never in a shared folder
    runs = backup_dir / RUNS
    runs.mkdir(mode=0o700, exist_ok=True)
    runs.chmod(0o700)
    return runs


def writable(run: Run, target: str) -> Run:
    """`run` while it is open; once closed (read-only), a new run that names it (a rollback of a finished run)."""
    if not run.read().is_closed:
        return run
    return start_run(run.dir.parent.parent, target, kind="rollback", rolls_back=run.id)
