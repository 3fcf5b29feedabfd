"""The fleet journal: typed, versioned records of one fleet run, one JSON line each, fsynced.

    <fleet dir>/fleets/<fleet-run-id>/journal.jsonl     (folder 0700, file 0600)

    {"v": 1, "kind": "pgrunbook.fleet-journal", "ts": "...", "fleet": "<id>", "phase": "target",
     "event": "end", "status": "rolled-back", "data": {...}}

    fleet   start   FleetOpened    name, inventory, targets, waves (the plan, fixed for the fleet run), policy, pid, operator
            resume  FleetResumed   pid
            stop    FleetStopped   reason (no new target starts; the running ones finished)
            end     FleetClosed    outcome in status (ok | failed | stopped), reason, seconds
    target  start   TargetStarted  target, wave, run (the run it resumes, if any)
            end     TargetEnded    outcome in status; target, wave, run, seconds, users_before/after, backup, rollback, reason, report
    wave    end     WaveEnded      wave, outcomes {outcome: count}

Each target's own run journal (`runs`) holds its runbook; this one holds only the fleet's
view: which target ran in which wave and how it ended. `--resume` reads it: a target with a
`TargetEnded` is never run again; one started without an end has its run resumed.
Writes go through `runs._append_whole` (a whole line or nothing), under a lock: targets end
in parallel threads.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from .. import faults
from ..errors import RuntimeFailure, UsageError
from ..journal import _ENVELOPE, Record, json_line, parse_lines
from ..runs import _append_whole, now, operator

FORMAT = 1
KIND = "pgrunbook.fleet-journal"
FLEETS = "fleets"
JOURNAL = "journal.jsonl"
R = TypeVar("R", bound="FleetRecord")


@dataclass(frozen=True, kw_only=True)
class FleetRecord(Record):
    def line(self, run_id: str) -> dict[str, Any]:
        return {"v": FORMAT, "kind": KIND, "ts": self.ts, "fleet": run_id, "phase": self.phase, "event": self.event,
                "status": self.status, "data": self.data()}


@dataclass(frozen=True, kw_only=True)
class FleetOpened(FleetRecord):
    phase: str = "fleet"
    event: str = "start"
    name: str = ""
    inventory: str = ""
    targets: tuple[str, ...] = ()
    waves: tuple[tuple[str, ...], ...] = ()  # waves[0] is the canary when the policy has one
    canary: bool = False
    policy: Mapping[str, Any] = field(default_factory=dict)
    pid: int | None = None
    operator: str = ""
    format: int = FORMAT


@dataclass(frozen=True, kw_only=True)
class FleetResumed(FleetRecord):
    phase: str = "fleet"
    event: str = "resume"
    pid: int | None = None


@dataclass(frozen=True, kw_only=True)
class FleetStopped(FleetRecord):
    phase: str = "fleet"
    event: str = "stop"
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class FleetClosed(FleetRecord):
    phase: str = "fleet"
    event: str = "end"
    reason: str = ""
    seconds: float | None = None


@dataclass(frozen=True, kw_only=True)
class TargetStarted(FleetRecord):
    phase: str = "target"
    event: str = "start"
    target: str = ""
    wave: int = 0
    run: str | None = None  # the target's run it resumes


@dataclass(frozen=True, kw_only=True)
class TargetEnded(FleetRecord):
    phase: str = "target"
    event: str = "end"
    target: str = ""
    wave: int = 0
    run: str | None = None
    seconds: float | None = None  # the target's runbook, as the fleet timed it
    users_before: int | None = None
    users_after: int | None = None
    backup: str | None = None
    rollback: str | None = None  # the rollback's mode when the run rolled back
    reason: str = ""
    report: str | None = None  # the target's report (Markdown, in its run's folder)


@dataclass(frozen=True, kw_only=True)
class WaveEnded(FleetRecord):
    phase: str = "wave"
    event: str = "end"
    wave: int = 0
    outcomes: Mapping[str, int] = field(default_factory=dict)


_TYPES: dict[tuple[str, str], type[FleetRecord]] = {
    (kind().phase, kind().event): kind
    for kind in (FleetOpened, FleetResumed, FleetStopped, FleetClosed, TargetStarted, TargetEnded, WaveEnded)}


class FleetJournalError(ValueError):
    """A line of a newer fleet journal format, or not a fleet journal at all."""


def parse(entry: Mapping[str, Any]) -> FleetRecord:
    version = entry.get("v")
    if entry.get("kind") != KIND or not isinstance(version, int):
        raise FleetJournalError(f"not a fleet journal line (kind {entry.get('kind')!r})")
    if version > FORMAT:
        raise FleetJournalError(f"fleet journal format {version} (this pgrunbook reads format {FORMAT})")
    kind = _TYPES.get((entry.get("phase", ""), entry.get("event", "")), FleetRecord)
    names = {f.name for f in dataclasses.fields(kind)} - _ENVELOPE
    data = dict(entry.get("data") or {})
    known = {k: _load(k, v) for k, v in data.items() if k in names}
    return kind(phase=entry.get("phase", ""), event=entry.get("event", ""), status=entry.get("status", ""), ts=entry.get("ts", ""),
                extra={k: v for k, v in data.items() if k not in names}, **known)


def _load(name: str, value: Any) -> Any:
    if name == "waves" and isinstance(value, list):
        return tuple(tuple(w) for w in value)
    return tuple(value) if isinstance(value, list) else value


def encode(record: FleetRecord, fleet_id: str) -> bytes:
    return json_line(record.line(fleet_id))


@dataclass(frozen=True)
class FleetJournal:
    """Every record of one fleet run, and what `--resume` and `status` ask of it."""

    fleet_id: str
    records: tuple[FleetRecord, ...]

    @classmethod
    def from_lines(cls, fleet_id: str, lines: Iterable[str]) -> FleetJournal:
        return cls(fleet_id, parse_lines(lines, parse))

    def all(self, kind: type[R]) -> list[R]:
        return [r for r in self.records if isinstance(r, kind)]

    @property
    def opened(self) -> FleetOpened | None:
        found = self.all(FleetOpened)
        return found[0] if found else None

    @property
    def closed(self) -> FleetClosed | None:
        found = self.all(FleetClosed)
        return found[-1] if found else None

    @property
    def ended(self) -> dict[str, TargetEnded]:
        """Targets that ended, by name (the first end counts: a target never ends twice)."""
        out: dict[str, TargetEnded] = {}
        for record in self.all(TargetEnded):
            out.setdefault(record.target, record)
        return out

    @property
    def started(self) -> dict[str, list[TargetStarted]]:
        out: dict[str, list[TargetStarted]] = {}
        for record in self.all(TargetStarted):
            out.setdefault(record.target, []).append(record)
        return out

    @property
    def in_flight(self) -> list[str]:
        """Targets started and never ended (a crash or a kill mid-run)."""
        ended = self.ended
        return [name for name in self.started if name not in ended]

    @property
    def outcome(self) -> str:
        if self.closed:
            return self.closed.status
        return "in progress"


class FleetRun:
    """One fleet run's folder; appends are serialised (targets end in parallel threads)."""

    def __init__(self, fleet_id: str, path: Path) -> None:
        self.id, self.dir = fleet_id, path
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FleetRun({self.id!r})"

    @property
    def journal(self) -> Path:
        return self.dir / JOURNAL

    def read(self) -> FleetJournal:
        try:
            text = self.journal.read_text(encoding="utf-8")
        except FileNotFoundError:
            return FleetJournal(self.id, ())
        try:
            return FleetJournal.from_lines(self.id, text.splitlines())
        except FleetJournalError as exc:
            raise UsageError(f"fleet run {self.id}: {exc}", changed="nothing was changed",
                             next_step="read it with the pgrunbook version that wrote it") from None

    def append(self, record: R) -> R:
        """Write one record (fsynced). Fault points: `fleet:<phase>:<event>`, and `fleet:ended:<n>` after the n-th target end."""
        point = None
        with self._lock:
            if self.read().closed is not None:
                raise UsageError(f"fleet run {self.id} is closed: its journal is read-only", changed="nothing was changed",
                                 next_step="start a new fleet run (without --resume)")
            record = replace(record, ts=now().isoformat(timespec="milliseconds"))
            try:
                _append_whole(self.journal, encode(record, self.id))
            except OSError as exc:
                raise RuntimeFailure(f"cannot write the fleet journal {self.journal}: {exc.strerror or exc}",
                                     changed=f"nothing of this record was written; the {record.phase} {record.event} it announces "
                                             "was not recorded",
                                     next_step=f"free space or fix permissions on {self.dir.parent}, then resume the fleet run") from None
            if isinstance(record, TargetEnded):
                point = f"fleet:ended:{len(self.read().all(TargetEnded))}"
        faults.reached(f"fleet:{record.phase}:{record.event}")
        if point:
            faults.reached(point)
        return record


def _fleets_dir(fleet_dir: Path) -> Path:
    from ..folders import ensure_private

    ensure_private(fleet_dir)
    path = fleet_dir / FLEETS
    path.mkdir(mode=0o700, exist_ok=True)
    path.chmod(0o700)
    return path


def start_fleet_run(fleet_dir: Path, opened: FleetOpened) -> FleetRun:
    run_id = f"{now():%Y%m%d_%H%M%S}_{secrets.token_hex(3)}"
    path = _fleets_dir(fleet_dir) / run_id
    path.mkdir(mode=0o700)
    run = FleetRun(run_id, path)
    run.append(replace(opened, pid=os.getpid(), operator=operator()))
    return run


def open_fleet_run(fleet_dir: Path, fleet_id: str) -> FleetRun:
    path = fleet_dir / FLEETS / fleet_id
    if not (path / JOURNAL).exists():
        known = ", ".join(r.id for r in list_fleet_runs(fleet_dir)[:5]) or "none"
        raise UsageError(f"no fleet run {fleet_id!r} in {path.parent} (latest: {known})",
                         next_step="`inv fleet.status` lists the fleet runs")
    return FleetRun(fleet_id, path)


def list_fleet_runs(fleet_dir: Path) -> list[FleetRun]:
    """Every fleet run, newest first (by the first record's time)."""
    root = fleet_dir / FLEETS
    if not root.is_dir():
        return []
    found = [FleetRun(p.name, p) for p in root.iterdir() if (p / JOURNAL).exists()]

    def opened_at(run: FleetRun) -> tuple[str, str]:
        records = run.read().records
        return (records[0].ts if records else "", run.id)

    return sorted(found, key=opened_at, reverse=True)

