"""The run journal's records, typed and versioned, and the read-only view of one journal (pure).

A journal is JSON lines (`runs` owns the file). Every line is one record:

    {"v": 2, "ts": "2026-11-25T16:10:00.123+00:00", "run": "<run-id>",
     "phase": "migrate", "event": "start", "status": "", "data": {...}}

`v` is the journal format: 2 since the records were typed; lines without `v` are format 1,
whose `data` keys are the same, so format-1 journals load into the same types (their run
has no `format` on its `RunOpened`). A line with a newer `v` is refused: its meaning is
unknown to this version. A torn last line (a crash mid-write) is skipped.

One record type per (phase, event); the `status` is the event's outcome (`ok`, `go`,
`failed`, the step name of a rollback step). A type's fields are its `data`; keys a type
does not know (written by another version) are kept in `extra`, never lost:

    run       start     RunOpened         target, kind, operator, pid, format, rolls_back
              resume    RunResumed        pid
              state     StateObserved     the database as a phase saw it (joining checks it)
              error     RunFailed         error, next_step                 (status failed | interrupted)
              end       RunClosed         outcome in status, reason, seconds: the run is read-only after it
    <phase>   start     PhaseStarted      (verify, backup, analyze, gate, post-backup, validate)
    verify    end       VerifyEnded       users, indexes, expected_tables, checks, tracking_rows, scenario
    analyze   end       AnalyzeEnded      scenario, baseline, apply, checks, verdict
    backup    end       BackupEnded       id, file, size, sha256, copies, counts, problems   (also post-backup)
    gate      decision  GateDecided       decision, plan_fingerprint, backup_id, steps, checks, protected
    rehearse  start/error/end             RehearsalStarted / RehearsalStopped / RehearsalEnded
    migrate   start     MigrationStarted  plan, scenario, before (the pre-state snapshot), indexes_before, api_before, …
              end       MigrationEnded    baseline / applied as [tag, row id], created_indexes, statements, seconds
              error     MigrationStopped  error, committed (tags), planned
              ledger    LedgerUpgraded    table, columns, rows [{id, hash, created_at, name, matched_by}]: drizzle 1.0's
                                          ledger upgrade committed (before any migration of the plan)
    break     fact      DriftInjected     note (inv demo --break)
    validate  end       Validated         ok, drift, checks, after, api_after, tracking_rows, of_run
    rollback  decision  RollbackDecided   why, policy                     (status auto | confirmed | declined)
              start     RollbackStarted   mode, backup, plan, restore_db, kept_db, …
              step      RollbackStep      the step's name in status; its facts in `extra`
              error     RollbackStopped   error, changed, next_step, recovered
              end       RollbackEnded     the rollback's result
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

FORMAT = 2
KIND = "pgrunbook.run-journal"

R = TypeVar("R", bound="Record")


class JournalFormatError(ValueError):
    """A journal line written by a newer pgrunbook (its format is unknown here)."""


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, kw_only=True)
class Record:
    """One journal line. Subclasses fix `phase`/`event` and type the `data`."""

    phase: str = ""
    event: str = ""
    status: str = ""
    ts: str = ""  # set when appended
    extra: Mapping[str, Any] = field(default_factory=dict)  # data keys this type does not know

    def data(self) -> dict[str, Any]:
        out = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name not in _ENVELOPE}
        return {**self.extra, **out}

    def line(self, run_id: str) -> dict[str, Any]:
        return {"v": FORMAT, "ts": self.ts, "run": run_id, "phase": self.phase, "event": self.event,
                "status": self.status, "data": self.data()}

    @property
    def when(self) -> datetime | None:
        return datetime.fromisoformat(self.ts) if self.ts else None


_ENVELOPE = frozenset({"phase", "event", "status", "ts", "extra"})


@dataclass(frozen=True)
class PlanStep:
    tag: str
    action: str  # "baseline" | "apply"
    when: int
    hash: str


@dataclass(frozen=True)
class RunState:
    """What a phase saw of the database: a later phase run alone joins the run only if it still holds.

    The content fingerprint is not part of it: every legitimate write of a live table
    changes it (the gate's backup-current criterion and validation compare contents).
    """

    database_oid: int | None = None
    tracking_rows: int | None = None  # None: no ledger
    last_tracking_id: int | None = None
    protected_total: int | None = None  # protected rows (users + critical tables)


# -- run


@dataclass(frozen=True, kw_only=True)
class RunOpened(Record):
    phase: str = "run"
    event: str = "start"
    target: str = ""
    kind: str = ""  # "phases" | "migrate-prod" | "rollback"
    operator: str = ""
    pid: int | None = None
    format: int | None = None  # None: a format-1 journal
    rolls_back: str | None = None  # a rollback run: the (closed) run whose migration it undoes


@dataclass(frozen=True, kw_only=True)
class RunResumed(Record):
    phase: str = "run"
    event: str = "resume"
    pid: int | None = None


@dataclass(frozen=True, kw_only=True)
class StateObserved(Record):
    phase: str = "run"
    event: str = "state"
    by: str = ""  # the phase that observed it
    state: RunState = field(default_factory=RunState)


@dataclass(frozen=True, kw_only=True)
class RunFailed(Record):
    phase: str = "run"
    event: str = "error"
    error: str = ""
    next_step: str = ""


@dataclass(frozen=True, kw_only=True)
class RunClosed(Record):
    """status: ok | warnings | failed | no-go | rolled-back | abandoned."""

    phase: str = "run"
    event: str = "end"
    reason: str = ""
    seconds: float | None = None


# -- phases


@dataclass(frozen=True, kw_only=True)
class PhaseStarted(Record):
    event: str = "start"


@dataclass(frozen=True, kw_only=True)
class VerifyEnded(Record):
    phase: str = "verify"
    event: str = "end"
    users: Mapping[str, Any] = field(default_factory=dict)
    indexes: Mapping[str, Any] = field(default_factory=dict)
    expected_tables: Any = None
    checks: tuple[Mapping[str, Any], ...] = ()
    tracking_rows: int | None = None
    scenario: str | None = None


@dataclass(frozen=True, kw_only=True)
class AnalyzeEnded(Record):
    phase: str = "analyze"
    event: str = "end"
    scenario: str | None = None
    baseline: Any = None
    apply: Any = None
    checks: tuple[Mapping[str, Any], ...] = ()
    verdict: str | None = None


@dataclass(frozen=True, kw_only=True)
class BackupEnded(Record):
    """phase: backup (before the migration) or post-backup."""

    phase: str = "backup"
    event: str = "end"
    id: str | None = None
    file: str | None = None
    size: int = 0
    sha256: str | None = None
    copies: tuple[Mapping[str, Any], ...] = ()
    counts: Mapping[str, Any] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class GateDecided(Record):
    """status: go | no-go."""

    phase: str = "gate"
    event: str = "decision"
    decision: str = ""
    plan_fingerprint: str | None = None
    backup_id: str | None = None
    steps: tuple[tuple[str, str, str], ...] = ()  # (tag, action, hash) approved
    checks: tuple[Mapping[str, Any], ...] = ()
    protected: Mapping[str, Any] = field(default_factory=dict)

    @property
    def go(self) -> bool:
        return self.status == "go"


@dataclass(frozen=True, kw_only=True)
class RehearsalStarted(Record):
    phase: str = "rehearse"
    event: str = "start"
    backup: str | None = None


@dataclass(frozen=True, kw_only=True)
class RehearsalStopped(Record):
    phase: str = "rehearse"
    event: str = "error"
    error: str = ""


@dataclass(frozen=True, kw_only=True)
class RehearsalEnded(Record):
    """status: the rehearsal's outcome (ok | drift | failed | refused | skipped); its result in `extra`."""

    phase: str = "rehearse"
    event: str = "end"
    plan_fingerprint: str | None = None
    online: bool = False


@dataclass(frozen=True, kw_only=True)
class MigrationStarted(Record):
    phase: str = "migrate"
    event: str = "start"
    plan: tuple[PlanStep, ...] = ()
    scenario: str | None = None
    online: bool = False
    single_transaction: bool = False
    before: Mapping[str, Any] = field(default_factory=dict)  # facts.snapshot_protected: counts, fingerprint, tables
    tracking_rows_before: int | None = None
    indexes_total_before: int | None = None
    indexes_before: tuple[str, ...] | None = None  # every index (schema.name); None in journals older than it
    api_before: Mapping[str, Any] | None = None
    # drizzle 1.0's ledger upgrade the plan does first, as planned ({id, hash, created_at, name, matched_by}); () when none.
    # Written before it runs: a crash between its commit and `LedgerUpgraded` still leaves what to undo.
    ledger_upgrade: tuple[Mapping[str, Any], ...] = ()

    @property
    def hashes(self) -> dict[str, str]:
        return {p.tag: p.hash for p in self.plan}

    def tags(self, action: str) -> list[str]:
        return [p.tag for p in self.plan if p.action == action]


@dataclass(frozen=True, kw_only=True)
class MigrationEnded(Record):
    phase: str = "migrate"
    event: str = "end"
    nothing_to_do: bool = False
    baseline: tuple[tuple[str, int], ...] = ()  # (tag, tracking row id)
    applied: tuple[tuple[str, int], ...] = ()
    created_indexes: tuple[str, ...] = ()
    dropped_invalid: tuple[str, ...] = ()
    seconds: float | None = None
    lock_waits: tuple[Any, ...] = ()
    statements: tuple[Mapping[str, Any], ...] = ()

    @property
    def tracking_rows(self) -> list[tuple[str, int]]:
        return [*self.baseline, *self.applied]


@dataclass(frozen=True, kw_only=True)
class MigrationStopped(Record):
    """status: failed (a statement failed; `committed` names the migrations that did commit) | interrupted."""

    phase: str = "migrate"
    event: str = "error"
    error: str = ""
    committed: tuple[str, ...] = ()
    planned: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class LedgerUpgraded(Record):
    """drizzle 1.0's ledger upgrade, committed by migrate: the columns it added and the name it gave each old row.

    What `rollback --indexes-only` needs to give the ledger 0.45's shape back (`Recorder.restore_v0_shape`).
    A journal without this record was written by a version without the upgrade step: nothing to undo.
    """

    phase: str = "migrate"
    event: str = "ledger"
    table: str = ""
    columns: tuple[str, ...] = ()
    rows: tuple[Mapping[str, Any], ...] = ()

    @property
    def named(self) -> dict[int, str]:
        return {int(r["id"]): str(r["name"]) for r in self.rows}


@dataclass(frozen=True, kw_only=True)
class DriftInjected(Record):
    phase: str = "break"
    event: str = "fact"
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class Validated(Record):
    phase: str = "validate"
    event: str = "end"
    ok: bool | None = None
    drift: bool | None = None
    checks: tuple[Mapping[str, Any], ...] = ()
    after: Mapping[str, Any] = field(default_factory=dict)
    api_after: Mapping[str, Any] | None = None
    tracking_rows: int | None = None
    of_run: str | None = None  # the run whose migration this validates (this one, or a closed one validated again)


@dataclass(frozen=True, kw_only=True)
class RollbackDecided(Record):
    """status: auto | confirmed | declined."""

    phase: str = "rollback"
    event: str = "decision"
    why: str = ""
    policy: str = ""


@dataclass(frozen=True, kw_only=True)
class RollbackStarted(Record):
    phase: str = "rollback"
    event: str = "start"
    mode: str = ""  # full | in-place | indexes-only
    backup: str | None = None
    backup_why: str | None = None
    dump: str | None = None
    restore_db: str | None = None
    kept_db: str | None = None
    plan: tuple[str, ...] = ()
    target: str | None = None
    resumed: str | None = None
    online: bool = False  # the app was stopped only for the swap (rollback.app_stop: at-swap)


@dataclass(frozen=True, kw_only=True)
class RollbackStep(Record):
    """status: the step (stop-app, created-restore-db, renamed, app-started, …); its facts in `extra`."""

    phase: str = "rollback"
    event: str = "step"

    def __getitem__(self, key: str) -> Any:
        return self.extra.get(key)


@dataclass(frozen=True, kw_only=True)
class RollbackStopped(Record):
    """status: failed | interrupted."""

    phase: str = "rollback"
    event: str = "error"
    mode: str = ""
    error: str = ""
    changed: str = ""
    next_step: str = ""
    recovered: str | None = None


@dataclass(frozen=True, kw_only=True)
class RollbackEnded(Record):
    """status: ok | failed; the rollback's result (`RollbackResult.as_json`) in `extra`."""

    phase: str = "rollback"
    event: str = "end"
    mode: str = ""
    kept_db: str | None = None
    removed_tracking_rows: tuple[int, ...] = ()


_TYPES: dict[tuple[str, str], type[Record]] = {
    (kind().phase, kind().event): kind for kind in (
        RunOpened, RunResumed, StateObserved, RunFailed, RunClosed, VerifyEnded, AnalyzeEnded, BackupEnded, GateDecided,
        RehearsalStarted, RehearsalStopped, RehearsalEnded, MigrationStarted, MigrationEnded, MigrationStopped,
        LedgerUpgraded, DriftInjected, Validated, RollbackDecided, RollbackStarted, RollbackStep, RollbackStopped, RollbackEnded)
} | {("post-backup", "end"): BackupEnded}


def _pairs(value: Any) -> Any:
    """[[tag, row id], …] as (tag, id) tuples."""
    return tuple((str(t), int(i)) for t, i in value)


# How nested JSON comes back as the typed values above; other lists become tuples.
_LOADERS: dict[tuple[type[Record], str], Callable[[Any], Any]] = {
    (MigrationStarted, "plan"): lambda v: tuple(PlanStep(**p) for p in v),
    (MigrationStarted, "indexes_before"): tuple,
    (StateObserved, "state"): lambda v: RunState(**v),
    (GateDecided, "steps"): lambda v: tuple(tuple(s) for s in v),
    (MigrationEnded, "baseline"): _pairs,
    (MigrationEnded, "applied"): _pairs,
}


def parse(entry: Mapping[str, Any]) -> Record:
    """One journal line (already JSON-decoded) as its typed record."""
    version = entry.get("v", 1)
    if not isinstance(version, int) or version > FORMAT:
        raise JournalFormatError(f"journal format {version!r} (this pgrunbook reads formats 1 to {FORMAT})")
    phase, event = entry.get("phase", ""), entry.get("event", "")
    kind = _TYPES.get((phase, event)) or (PhaseStarted if event == "start" else Record)
    names = {f.name for f in dataclasses.fields(kind)} - _ENVELOPE
    data = dict(entry.get("data") or {})
    known = {k: _load(kind, k, v) for k, v in data.items() if k in names}
    return kind(phase=phase, event=event, status=entry.get("status", ""), ts=entry.get("ts", ""),
                extra={k: v for k, v in data.items() if k not in names}, **known)


def _load(kind: type[Record], name: str, value: Any) -> Any:
    if value is None:
        return None
    loader = _LOADERS.get((kind, name))
    if loader is not None:
        return loader(value)
    return tuple(value) if isinstance(value, list) else value


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def encode(record: Record, run_id: str) -> bytes:
    return json_line(record.line(run_id))


def json_line(fields: dict[str, Any]) -> bytes:
    """One journal line (run and fleet journals): JSON keeping non-ASCII text, newline-terminated, UTF-8."""
    return (json.dumps(fields, default=str, ensure_ascii=False) + "\n").encode("utf-8")


def parse_lines(lines: Iterable[str], parse_entry: Callable[[dict], Any]) -> tuple:
    """The records of a journal's lines; a line torn by a crash mid-write is skipped (the records before it still stand)."""
    records = []
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        records.append(parse_entry(entry))
    return tuple(records)


# --------------------------------------------------------------------------- the view


@dataclass(frozen=True)
class Journal:
    """Every record of one run, in order, with the questions phases ask of it."""

    run_id: str
    records: tuple[Record, ...]

    @classmethod
    def from_lines(cls, run_id: str, lines: Iterable[str]) -> Journal:
        return cls(run_id, parse_lines(lines, parse))

    # -- generic queries

    def all(self, kind: type[R], *, phase: str | None = None, status: str | None = None) -> list[R]:
        return [r for r in self.records if isinstance(r, kind) and (phase is None or r.phase == phase)
                and (status is None or r.status == status)]

    def last(self, kind: type[R], *, phase: str | None = None, status: str | None = None) -> R | None:
        found = self.all(kind, phase=phase, status=status)
        return found[-1] if found else None

    def first(self, kind: type[R], *, phase: str | None = None) -> R | None:
        found = self.all(kind, phase=phase)
        return found[0] if found else None

    def index(self, record: Record | None) -> int:
        return -1 if record is None else self.records.index(record)

    # -- the run

    @property
    def opened(self) -> RunOpened | None:
        return self.first(RunOpened)

    @property
    def target(self) -> str:
        return self.opened.target if self.opened else ""

    @property
    def format(self) -> int:
        return (self.opened.format if self.opened else None) or 1

    @property
    def closed(self) -> RunClosed | None:
        return self.last(RunClosed)

    @property
    def is_closed(self) -> bool:
        return self.closed is not None

    @property
    def outcome(self) -> str:
        """ok | warnings | failed | no-go | rolled-back | abandoned when closed; else in progress / failed / interrupted."""
        if self.closed:
            return self.closed.status
        failure = self.last(RunFailed)
        if failure is not None and self.index(failure) > self.index(self.last(RunResumed)):
            return failure.status
        return "in progress"

    @property
    def started_at(self) -> datetime | None:
        return self.records[0].when if self.records else None

    @property
    def ended_at(self) -> datetime | None:
        """When the run closed; for a run still open, None (its duration is not known yet)."""
        return self.closed.when if self.closed else None

    @property
    def last_at(self) -> datetime | None:
        return self.records[-1].when if self.records else None

    def duration_seconds(self) -> float | None:
        """Closed: opened → closed. Open: None (a duration that still grows is not a duration)."""
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()

    @property
    def phases(self) -> list[str]:
        """The phases that ended (in order, once each)."""
        ended = [r.phase for r in self.records if r.event in ("end", "decision") and r.phase not in ("run", "rollback", "rehearse")]
        return list(dict.fromkeys(ended))

    def done(self, phase: str) -> bool:
        """Whether `phase` ended well in this run (what `--resume` skips)."""
        if phase == "gate":
            return self.last(GateDecided, status="go") is not None
        return any(r.phase == phase and r.event == "end" and r.status == "ok" for r in self.records)

    @property
    def state(self) -> RunState | None:
        """The database as this run last saw it."""
        seen = self.last(StateObserved)
        return seen.state if seen else None

    # -- phases' facts

    @property
    def go(self) -> GateDecided | None:
        return self.last(GateDecided, status="go")

    @property
    def migration_start(self) -> MigrationStarted | None:
        """The earliest: a resumed migrate must not move the baseline of the comparison."""
        return self.first(MigrationStarted)

    @property
    def migration_end(self) -> MigrationEnded | None:
        """The migration's successful end, unless a later stop supersedes it."""
        end, stop = self.last(MigrationEnded, status="ok"), self.last(MigrationStopped)
        return end if end is not None and self.index(end) > self.index(stop) else None

    @property
    def migration_stop(self) -> MigrationStopped | None:
        return self.last(MigrationStopped)

    @property
    def committed_tags(self) -> list[str]:
        """Migrations a failed migrate committed before it stopped (every stop of the run)."""
        return list(dict.fromkeys(t for s in self.all(MigrationStopped) for t in s.committed))

    @property
    def ledger_upgrade(self) -> LedgerUpgraded | None:
        """drizzle 1.0's ledger upgrade this run's migrate committed, if it did."""
        return self.last(LedgerUpgraded)

    @property
    def ledger_upgrade_names(self) -> dict[int, str] | None:
        """{row id: name} of the ledger upgrade this run committed, or planned (a crash may have kept it from journaling
        its commit); None: this run planned none."""
        if self.ledger_upgrade is not None:
            return self.ledger_upgrade.named
        planned = [r for s in self.all(MigrationStarted) for r in s.ledger_upgrade]
        return {int(r["id"]): str(r["name"]) for r in planned} if planned else None

    def backup(self, phase: str = "backup") -> BackupEnded | None:
        return self.last(BackupEnded, phase=phase)

    @property
    def safety_backups(self) -> set[str]:
        return {s.extra["safety_backup"] for s in self.all(RollbackStep) if s.extra.get("safety_backup")}


def state_changes(recorded: RunState, now: RunState, *, tolerance: int) -> list[str]:
    """Why the database is no longer the one a run observed (empty: it still is). Pure.

    Identity and ledger must be equal; protected rows may move by `tolerance` (a live
    database is written between two phases; the gate's backup-current criterion uses the
    same bound).
    """
    changes = []
    if recorded.database_oid != now.database_oid:
        changes.append(f"it is another database now (oid {recorded.database_oid} then, {now.database_oid} now: recreated or restored)")
    if (recorded.tracking_rows, recorded.last_tracking_id) != (now.tracking_rows, now.last_tracking_id):
        changes.append(f"its drizzle ledger changed ({_rows(recorded)} then, {_rows(now)} now)")
    if recorded.protected_total is not None and now.protected_total is not None \
            and abs(now.protected_total - recorded.protected_total) > tolerance:
        changes.append(f"its protected rows went from {recorded.protected_total} to {now.protected_total} "
                       f"(more than gate.max_rows_changed_since_backup = {tolerance})")
    return changes


def _rows(state: RunState) -> str:
    if state.tracking_rows is None:
        return "no ledger"
    return f"{state.tracking_rows} row(s), last id {state.last_tracking_id}"
