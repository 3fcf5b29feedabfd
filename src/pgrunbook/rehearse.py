"""The rehearsal: the exact plan applied to a restored copy of the gate's backup, measured.

    CREATE DATABASE scratch (CREATEDB; the backup's restore test does the same) + the
    source database's settings → pg_restore -j N of the backup the gate relies on →
    every table's exact count + the protected fingerprints (READ ONLY) → the same
    `Executor`, the same compiled steps and tracking rows, on the copy, each statement
    observed on the executor's own connection (the locks it holds, the rows it and the
    triggers it fires inserted, updated, deleted) → counts + fingerprints again →
    `compare()` (pure) → DROP the scratch database through `owned.drop_owned`, also when
    the apply fails and on Ctrl-C.

Rows lost in any table, a table gone, a protected table's content changed, or a statement
failing on the copy is a NO-GO naming the statement (file:line) and the table(s). The
measured durations and locks are recorded in the run journal (phase "rehearse"); `inv
analyze` and the gate show them instead of estimates for the same plan.

Safety: the rehearsal runs the plan's SQL on the production server (in a copy). It runs
only on a plan every other gate criterion approves (refused SQL never runs anywhere), on
a connection checked to be the scratch database, under the playbook's timeouts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .events import Emit, Event, discard

if TYPE_CHECKING:
    import psycopg

    from .backup import Manifest
    from .config import Config
    from .drizzle.plan import MigrationPlan
    from .executor import Step
    from .owned import OwnedDatabase

PHASE = "rehearse"
TRACKING_FILE = "(pgrunbook tracking row)"
# Lock modes that block the app's writes (INSERT/UPDATE/DELETE take ROW EXCLUSIVE).
WRITE_BLOCKING = frozenset({"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"})
SAMPLE_SECONDS = 0.01


# --------------------------------------------------------------------------- results (frozen)


@dataclass(frozen=True)
class StatementMeasure:
    migration: str  # tag
    file: str  # "0012_x.sql", or TRACKING_FILE for pgrunbook's own tracking insert
    line: int
    sql: str  # first 100 characters, whitespace folded
    started: float  # seconds since the apply began
    seconds: float
    transactional: bool
    locks: tuple[str, ...]  # "ShareLock on public.users", taken by this statement
    lock_seconds: float  # how long they were held: to the end of the statement's transaction
    rows: tuple[tuple[str, int, int, int], ...] | None  # (table, inserted, updated, deleted), triggers included; None: not measurable
    sampled: bool = False  # an autocommit statement's locks, sampled every SAMPLE_SECONDS from another session

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else f"{self.file} of {self.migration}"

    def changed(self, table: str, *, updates: bool) -> bool:
        return any(t == table and (d > 0 or (updates and u > 0)) for t, _, u, d in self.rows or ())

    def locked(self, table: str, modes: Iterable[str] = ("AccessExclusiveLock",)) -> bool:
        return any(lock == f"{mode} on {table}" for mode in modes for lock in self.locks)

    def as_json(self) -> dict[str, Any]:
        return {"migration": self.migration, "file": self.file, "line": self.line, "sql": self.sql, "started": round(self.started, 4),
                "seconds": round(self.seconds, 4), "transactional": self.transactional, "locks": list(self.locks),
                "lock_seconds": round(self.lock_seconds, 4), "sampled": self.sampled,
                "rows": None if self.rows is None else [list(r) for r in self.rows]}


@dataclass(frozen=True)
class MigrationMeasure:
    tag: str
    seconds: float  # first statement's start to the end of its last transaction
    statements: int
    locks: tuple[str, ...]
    longest_lock_seconds: float

    def as_json(self) -> dict[str, Any]:
        return {"tag": self.tag, "seconds": round(self.seconds, 4), "statements": self.statements, "locks": list(self.locks),
                "longest_lock_seconds": round(self.longest_lock_seconds, 4)}


@dataclass(frozen=True)
class Drift:
    table: str
    kind: str  # "rows-lost", "table-gone", "content-changed", "columns-gone", "role-count"
    before: Any
    after: Any
    statements: tuple[str, ...]  # "file:line sql" of the statements measured changing it

    @property
    def summary(self) -> str:
        if self.kind == "rows-lost":
            what = f"{self.table} lost {self.before - self.after:,} row(s) ({self.before:,} → {self.after:,})"
        elif self.kind == "table-gone":
            what = f"{self.table} is gone (it had {self.before:,} row(s))"
        elif self.kind == "content-changed":
            what = f"rows of {self.table} changed (fingerprint {str(self.before)[:8]}… → {str(self.after)[:8]}…)"
        elif self.kind == "columns-gone":
            what = f"columns of {self.table} are gone: {', '.join(self.after)}"
        else:
            what = f"{self.table}: {self.before}"
        by = "; ".join(self.statements) if self.statements else "no single statement measured changing it"
        return f"{what} — by {by}"

    def as_json(self) -> dict[str, Any]:
        return {"table": self.table, "kind": self.kind, "before": self.before, "after": self.after,
                "statements": list(self.statements), "summary": self.summary}


@dataclass(frozen=True)
class RehearsalResult:
    outcome: str  # "ok", "drift", "failed" (a statement failed on the copy), "refused" (could not run), "skipped"
    reason: str  # one line: what happened, or why it did not run
    plan_fingerprint: str
    backup_id: str | None = None
    database: str | None = None  # the scratch database
    dropped: bool = True
    failed_at: str = ""  # "file:line sql" of the statement that failed on the copy
    drift: tuple[Drift, ...] = ()
    counts_before: dict[str, int] = field(default_factory=dict)
    counts_after: dict[str, int] = field(default_factory=dict)
    fingerprints_before: dict[str, dict] = field(default_factory=dict)
    fingerprints_after: dict[str, dict] = field(default_factory=dict)
    migrations: tuple[MigrationMeasure, ...] = ()
    statements: tuple[StatementMeasure, ...] = ()
    seconds: dict[str, float] = field(default_factory=dict)  # restore, count_before, apply, count_after, drop, total
    notes: tuple[str, ...] = ()
    online: bool = False  # rehearsed as `inv migrate --online` runs it

    @property
    def ran(self) -> bool:
        return self.outcome in ("ok", "drift", "failed")

    @property
    def ok(self) -> bool:
        return self.outcome in ("ok", "skipped")

    def longest_locks(self, n: int = 3) -> tuple[StatementMeasure, ...]:
        """The statements that blocked the app's writes longest (on the copy)."""
        blocking = [s for s in self.statements if any(lock.split(" on ")[0] in WRITE_BLOCKING for lock in s.locks)]
        return tuple(sorted(blocking, key=lambda s: -s.lock_seconds)[:n])

    def as_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "reason": self.reason, "plan_fingerprint": self.plan_fingerprint, "backup_id": self.backup_id,
                "database": self.database, "dropped": self.dropped, "failed_at": self.failed_at,
                "drift": [d.as_json() for d in self.drift], "counts_before": self.counts_before, "counts_after": self.counts_after,
                "fingerprints_before": self.fingerprints_before, "fingerprints_after": self.fingerprints_after,
                "migrations": [m.as_json() for m in self.migrations], "statements": [s.as_json() for s in self.statements],
                "seconds": self.seconds, "notes": list(self.notes), "online": self.online}


# --------------------------------------------------------------------------- decisions (pure)


def refusal(backup: Manifest | None, database: dict[str, Any], *, createdb: bool, failing: Iterable[str], empty: bool) -> tuple[str, str] | None:
    """(outcome, reason) when the rehearsal must not run, else None.

    `failing`: the ids of the other gate criteria that fail. The rehearsal runs last and only
    on a plan every other criterion approves: SQL the static analysis refuses never runs on
    the server, not even in a copy (it could reach beyond it: roles, other databases).
    """
    if backup is None:
        return "refused", "no backup to restore: the rehearsal restores the backup the gate relies on (run `inv backup`)"
    if not backup.ok:
        return "refused", f"backup {backup.id} is not restorable (status {backup.status}): run `inv backup`"
    if (backup.database.get("name"), backup.database.get("host"), backup.database.get("port")) != (database["name"], database["host"], database["port"]):
        return "refused", f"backup {backup.id} is not of this database"
    if not createdb:
        return "refused", "the user lacks CREATEDB: the rehearsal restores the backup into a scratch database (grant CREATEDB, or run as a superuser)"
    others = sorted(set(failing))
    if others:
        return "skipped", f"not run: the gate already says NO-GO on {', '.join(others)} (the rehearsal runs only a plan every other criterion approves)"
    if empty:
        return "skipped", "nothing to apply: no rehearsal needed"
    return None


def compare(counts_before: dict[str, int], counts_after: dict[str, int], fingerprints_before: dict[str, dict],
            fingerprints_after: dict[str, dict], statements: Iterable[StatementMeasure],
            roles_before: dict[str, int] | None = None, roles_after: dict[str, int] | None = None,
            allow_row_loss: tuple[str, ...] | list[str] = ()) -> tuple[Drift, ...]:
    """Every table that lost rows or disappeared, every protected table whose rows changed, each with its statements.

    A table that gained rows (the tracking table, a new table's rows) is not drift; a table
    the plan created is not in `counts_before` and is not compared. `allow_row_loss` is the
    playbook's `validate.allow_row_loss`: what validation waives, the rehearsal waives too
    (one truth), and nothing else.
    """
    statements = tuple(statements)
    drift: list[Drift] = []
    for table, before in sorted(counts_before.items()):
        after = counts_after.get(table)
        if after is None:
            drift.append(Drift(table, "table-gone", before, None, _culprits(statements, table, updates=True)))
        elif after < before and table not in set(allow_row_loss):
            drift.append(Drift(table, "rows-lost", before, after, _culprits(statements, table, updates=False)))
    gone = {d.table for d in drift}
    for name, before in sorted(fingerprints_before.items()):
        after = fingerprints_after.get(name)
        table = name if "." in name else f"public.{name}"  # fingerprints are of tables of schema public
        if table in gone or after is None or before.get("md5") is None:
            continue
        if after.get("missing_columns"):
            drift.append(Drift(table, "columns-gone", before["columns"], tuple(after["missing_columns"]), _culprits(statements, table, updates=True)))
        elif after.get("md5") != before["md5"] and not any(d.table == table and d.kind == "rows-lost" for d in drift):
            drift.append(Drift(table, "content-changed", before["md5"], after.get("md5"), _culprits(statements, table, updates=True)))
    if roles_before and roles_after is not None:
        fewer = {r: (n, roles_after.get(r, 0)) for r, n in roles_before.items() if roles_after.get(r, 0) < n}
        if fewer:
            listed = ", ".join(f"{r} {a} → {b}" for r, (a, b) in sorted(fewer.items()))
            name = next(iter(fingerprints_before), "users")
            table = name if "." in name else f"public.{name}"
            if not any(d.table == table for d in drift):
                drift.append(Drift(table, "role-count", f"fewer users in role(s): {listed}", None, _culprits(statements, table, updates=True)))
    return tuple(drift)


def _culprits(statements: tuple[StatementMeasure, ...], table: str, *, updates: bool) -> tuple[str, ...]:
    """The statements measured deleting (or updating) rows of `table`; else those that took an
    ACCESS EXCLUSIVE lock on it (TRUNCATE, DROP, a rewrite: they change rows without row counters)."""
    found = [s for s in statements if s.changed(table, updates=updates)] or [s for s in statements if s.locked(table)]
    return tuple(f"{s.where} {s.sql}" for s in found)


def per_migration(statements: Iterable[StatementMeasure]) -> tuple[MigrationMeasure, ...]:
    out: dict[str, list[StatementMeasure]] = {}
    for s in statements:
        out.setdefault(s.migration, []).append(s)
    return tuple(
        MigrationMeasure(tag, max(s.started + max(s.seconds, s.lock_seconds) for s in group) - group[0].started,
                         sum(1 for s in group if s.file != TRACKING_FILE),
                         tuple(dict.fromkeys(lock for s in group for lock in s.locks)), max(s.lock_seconds for s in group))
        for tag, group in out.items()
    )


def measured_by_statement(record: dict[str, Any] | None) -> dict[tuple[str, int], dict[str, Any]]:
    """From a journaled rehearsal: (file, line) -> {seconds, lock_seconds, locks} of each statement."""
    if not record:
        return {}
    return {(s["file"], s["line"]): s for s in record.get("statements", []) if s["file"] != TRACKING_FILE}


def latest_rehearsal(backup_dir: Any, target: str, fingerprint: str, *, online: bool = False) -> dict[str, Any] | None:
    """The newest journaled rehearsal of this plan (same fingerprint, same --online) on `target` that ran, or None."""
    from .runs import list_runs

    from .journal import RehearsalEnded

    for run in list_runs(backup_dir, target):
        for record in reversed(run.read().all(RehearsalEnded)):
            if record.status in ("ok", "drift", "failed") and record.plan_fingerprint == fingerprint and record.online == online:
                return record.data()
    return None


# --------------------------------------------------------------------------- observing the executor


class _Observer:
    """What each statement on the copy held and changed, read on the executor's own connection.

    In a transaction: `pg_locks` of our backend and `pg_stat_xact_user_tables` before and after
    the statement (exact, triggers included). In autocommit (CONCURRENTLY, VACUUM): the locks
    are sampled from another session while it runs, the row counters are the server's
    cumulative ones, flushed on purpose before and after (PostgreSQL 15+).
    """

    def __init__(self, conn: psycopg.Connection, sampler: _LockSampler, *, flushable: bool, files: dict[str, str],
                 tags: dict[tuple[str, int], str]) -> None:
        self.conn, self.sampler, self.flushable = conn, sampler, flushable
        self.files, self.tags = files, tags  # tag -> file name; (hash, when) -> tag
        self.origin = time.monotonic()
        self.done: list[StatementMeasure] = []
        self.current: tuple[str, str, int, str] | None = None  # (migration, file, line, sql) started, not finished
        self._open: list[int] = []  # indexes in `done` of the open transaction's statements
        self._xact: object = None  # now() of the open transaction
        self._last_end = 0.0
        self._locks0: set[str] = set()
        self._rows0: dict[str, tuple[int, int, int]] | None = None
        self._started = 0.0

    # -- the executor's hooks

    def before(self, step: Step) -> None:
        self.begin(step.migration, self.files.get(step.migration, f"{step.migration}.sql"), step.line, step.first_line, step.transactional)

    def after(self, step: Step, seconds: float) -> None:
        self.end(seconds, step.transactional)

    # -- shared with the tracking inserts

    def begin(self, migration: str, file: str, line: int, sql: str, transactional: bool) -> None:
        if transactional:
            xact, locks, rows = self._in_transaction()
            if xact != self._xact:
                self._close()
                self._xact = xact
            self._locks0, self._rows0 = locks, rows
        else:
            self._close()
            self._rows0 = self._flushed_rows()
            self.sampler.start()
        self.current = (migration, file, line, sql)
        self._started = time.monotonic()

    def end(self, seconds: float, transactional: bool) -> None:
        assert self.current is not None
        migration, file, line, sql = self.current
        if transactional:
            _, locks, rows = self._in_transaction()
            taken = tuple(sorted(locks - self._locks0))
            changed = _delta(self._rows0, rows)
            sampled = False
        else:
            taken = tuple(sorted(self.sampler.stop()))
            changed = _delta(self._rows0, self._flushed_rows()) if self.flushable else None
            sampled = True
        started = self._started - self.origin
        self.done.append(StatementMeasure(migration, file, line, sql, started, seconds, transactional, taken, seconds, changed, sampled))
        self._last_end = time.monotonic() - self.origin
        if transactional:
            self._open.append(len(self.done) - 1)
        self.current = None

    def _close(self) -> None:
        """The open transaction ended (COMMIT follows its last statement at once): its locks were held until then."""
        for i in self._open:
            s = self.done[i]
            self.done[i] = replace(s, lock_seconds=max(s.seconds, self._last_end - s.started))
        self._open, self._xact = [], None

    def finish(self) -> tuple[StatementMeasure, ...]:
        self._close()
        return tuple(self.done)

    # -- reading the server

    def _in_transaction(self) -> tuple[object, set[str], dict[str, tuple[int, int, int]]]:
        rows = self.conn.execute(
            """SELECT 'x', now()::text, NULL, 0, 0, 0 UNION ALL
               SELECT 'l', l.mode || ' on ' || n.nspname || '.' || c.relname, NULL, 0, 0, 0 FROM pg_locks l
                 JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted AND c.relkind IN ('r', 'p', 'm')
                  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%%'
               UNION ALL
               SELECT 'r', schemaname || '.' || relname, NULL, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_xact_user_tables"""
        ).fetchall()
        xact = next(r[1] for r in rows if r[0] == "x")
        return xact, {r[1] for r in rows if r[0] == "l"}, {r[1]: (int(r[3]), int(r[4]), int(r[5])) for r in rows if r[0] == "r"}

    def _flushed_rows(self) -> dict[str, tuple[int, int, int]] | None:
        if not self.flushable:
            return None
        self.conn.execute("SELECT pg_stat_force_next_flush()")  # our pending counters reach the shared stats when this ends
        return {t: (int(i), int(u), int(d)) for t, i, u, d in self.conn.execute(
            "SELECT schemaname || '.' || relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables")}


def _delta(before: dict[str, tuple[int, int, int]] | None, after: dict[str, tuple[int, int, int]] | None) -> tuple[tuple[str, int, int, int], ...] | None:
    if before is None or after is None:
        return None
    out = []
    for table, (i, u, d) in sorted(after.items()):
        i0, u0, d0 = before.get(table, (0, 0, 0))
        if (i - i0, u - u0, d - d0) != (0, 0, 0):
            out.append((table, i - i0, u - u0, d - d0))
    return tuple(out)


class _LockSampler:
    """Samples, from its own session, the table locks the executor's backend holds (autocommit statements)."""

    def __init__(self, connect, pid: int) -> None:  # noqa: ANN001
        self._connect, self.pid = connect, pid
        self._active = threading.Event()
        self._stop = threading.Event()
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def __enter__(self) -> _LockSampler:
        self._thread = threading.Thread(target=self._loop, daemon=True, name="rehearse-lock-sampler")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._active.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def start(self) -> None:
        with self._lock:
            self._seen = set()
        self._active.set()

    def stop(self) -> set[str]:
        self._active.clear()
        with self._lock:
            return set(self._seen)

    def _loop(self) -> None:
        try:
            with self._connect() as conn:
                while not self._stop.is_set():
                    self._active.wait()
                    while self._active.is_set() and not self._stop.is_set():
                        found = {r[0] for r in conn.execute(
                            """SELECT l.mode || ' on ' || n.nspname || '.' || c.relname FROM pg_locks l
                                 JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
                                WHERE l.pid = %s AND l.locktype = 'relation' AND l.granted AND c.relkind IN ('r', 'p', 'm')
                                  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%%'""",
                            [self.pid])}
                        with self._lock:
                            self._seen |= found
                        time.sleep(SAMPLE_SECONDS)
        except BaseException as exc:  # noqa: BLE001 - reported as a note: locks of autocommit statements unmeasured
            self.error = exc


def _observed_recorder(recorder_cls, observer: _Observer):  # noqa: ANN001, ANN202
    """A Recorder whose tracking inserts are observed like statements (a trigger on the ledger fires there)."""

    class ObservedRecorder(recorder_cls):  # type: ignore[misc, valid-type]
        def record(self, hash_: str, when: int, name: str | None = None) -> int:
            tag = observer.tags.get((hash_, when), "?")
            observer.begin(tag, TRACKING_FILE, 0, f"INSERT INTO the tracking table: row of {tag}", True)
            started = time.monotonic()
            row_id = super().record(hash_, when, name)
            observer.end(time.monotonic() - started, True)
            return row_id

    return ObservedRecorder


# --------------------------------------------------------------------------- the service


def rehearse(cfg: Config, plan: MigrationPlan, backup: Manifest | None, emit: Emit = discard, *, createdb: bool,
             failing: Iterable[str] = (), online: bool = False, single_transaction: bool = False,
             baseline_until: str | None = None, only: str | None = None) -> RehearsalResult:
    """Restore `backup` into a scratch database, apply `plan` there with the executor, compare, drop it."""
    from .gate import plan_fingerprint

    inv = cfg.inventory
    fingerprint = plan_fingerprint(plan)
    database = {"name": inv.database.dbname, "host": inv.database.url.host, "port": inv.database.url.port}
    refused = refusal(backup, database, createdb=createdb, failing=failing, empty=plan.empty)
    if refused is not None:
        return RehearsalResult(refused[0], refused[1], fingerprint, backup.id if backup else None)
    assert backup is not None
    return _Rehearsal(cfg, plan, backup, _relabel(emit), online=online, single_transaction=single_transaction,
                      baseline_until=baseline_until, only=only).run()


def _relabel(emit: Emit) -> Emit:
    """The executor speaks as phase "migrate": on the copy it is the rehearsal's."""
    def relay(event: Event) -> None:
        emit(event if event.phase == PHASE else replace(event, phase=PHASE, message=f"[copy] {event.message}"))

    return relay


class _Rehearsal:
    def __init__(self, cfg: Config, plan: MigrationPlan, backup: Manifest, emit: Emit, *, online: bool, single_transaction: bool,
                 baseline_until: str | None, only: str | None) -> None:
        from .gate import plan_fingerprint

        self.cfg, self.plan, self.backup, self.emit = cfg, plan, backup, emit
        self.online, self.single_transaction, self.baseline_until, self.only = online, single_transaction, baseline_until, only
        self.fingerprint = plan_fingerprint(plan)
        self.seconds: dict[str, float] = {}
        self.notes: list[str] = []

    def run(self) -> RehearsalResult:
        from .backup.restore import create_scratch, drop_scratch
        from .errors import PgRunbookError

        db = self.cfg.inventory.database
        started = time.monotonic()
        self.emit(Event(PHASE, "step", f"rehearsal: creating a scratch database on {db.url.host}:{db.url.port} for backup {self.backup.id}"))
        try:
            scratch = create_scratch(db)
        except PgRunbookError as exc:
            return RehearsalResult("refused", f"no scratch database: {exc.what}", self.fingerprint, self.backup.id)
        self._timed("create", started)
        result = RehearsalResult("failed", "interrupted before the end", self.fingerprint, self.backup.id, scratch.name, dropped=False)
        try:
            result = self._in_scratch(scratch)
        except PgRunbookError as exc:
            result = replace(result, outcome="refused", reason=f"the copy could not be prepared: {exc.what}")
        finally:
            drop_started = time.monotonic()
            dropped = True
            try:
                drop_scratch(db, scratch, force=True)
                self.emit(Event(PHASE, "done", f"rehearsal: scratch database {scratch.name} dropped"))
            except Exception as exc:  # noqa: BLE001 - a scratch database left behind is said, never hidden
                dropped = False
                self.notes.append(f"the scratch database {scratch.name} could not be dropped ({exc}): drop it by hand")
                self.emit(Event(PHASE, "warn", self.notes[-1]))
            self.seconds["drop"] = round(time.monotonic() - drop_started, 3)
        self.seconds["total"] = round(time.monotonic() - started, 3)
        return replace(result, dropped=dropped, seconds=dict(self.seconds), notes=tuple(self.notes) + result.notes, online=self.online)

    def _timed(self, name: str, since: float) -> None:
        self.seconds[name] = round(time.monotonic() - since, 3)

    def _in_scratch(self, scratch: OwnedDatabase) -> RehearsalResult:
        from .errors import RuntimeFailure
        from .pg import connect

        db, name = self.cfg.inventory.database, scratch.name
        self._prepare(scratch)
        url = db.url.with_dbname(name)
        with connect(db, url=url, autocommit=True) as conn:
            if conn.execute("SELECT current_database()").fetchone()[0] != name:  # never run the plan anywhere else
                raise RuntimeFailure(f"internal error: the rehearsal's connection is not on the scratch database {name}", changed=f"the plan was not run (on {name} or elsewhere)")
            seen = self._plan_on_copy(conn)
            from .gate import plan_fingerprint

            if plan_fingerprint(seen.plan) != self.fingerprint:
                return RehearsalResult("refused", "the plan on the restored copy is not the plan of the database (the backup is older than "
                                       "its tracking rows): take a new backup, then rehearse", self.fingerprint, self.backup.id, name)
            before = self._measure(conn, None, "before")
            failure, failed_at, statements = self._apply(conn, seen, lambda: connect(db, url=url, autocommit=True))
            after = self._measure(conn, {t: fp["columns"] for t, fp in before["fingerprints"].items() if fp.get("columns")}, "after")
        drift = compare(before["counts"], after["counts"], before["fingerprints"], after["fingerprints"], statements,
                        before["roles"], after["roles"], allow_row_loss=self.cfg.playbook.validate_.allow_row_loss)
        common = dict(plan_fingerprint=self.fingerprint, backup_id=self.backup.id, database=name, drift=drift,
                      counts_before=before["counts"], counts_after=after["counts"], fingerprints_before=before["fingerprints"],
                      fingerprints_after=after["fingerprints"], migrations=per_migration(statements), statements=statements)
        if failure:
            return RehearsalResult("failed", f"fails on the restored copy at {failed_at}: {failure}", failed_at=failed_at, **common)
        if drift:
            return RehearsalResult("drift", "drift on the restored copy: " + "; ".join(d.summary for d in drift), **common)
        return RehearsalResult("ok", f"every table's rows kept ({len(before['counts'])} tables), "
                               f"{len(before['fingerprints'])} protected fingerprint(s) unchanged", **common)

    def _prepare(self, scratch: OwnedDatabase) -> None:
        """Settings of the source database (pg_dump leaves them out: a setting changes how SQL runs), then the restore."""
        from .backup.restore import restore_into
        from .pg import locate_tool
        from .rollback.dbops import admin, copy_database_settings, database_profile

        inv = self.cfg.inventory
        with admin(inv.database) as conn:
            profile = database_profile(conn, inv.database.dbname)
            problems = copy_database_settings(conn, scratch.name, {**profile, "acl": None})
        self.notes += [f"setting not copied to the copy: {p}" for p in problems]
        fmt = self.backup.dump["format"]
        jobs = inv.backup.jobs
        tool = locate_tool("pg_restore", inv.tools.bin_dir)
        psql = locate_tool("psql", inv.tools.bin_dir) if fmt == "plain" else None
        self.emit(Event(PHASE, "step", f"rehearsal: restoring backup {self.backup.id} into {scratch.name} (pg_restore -j {jobs})"))
        started = time.monotonic()
        restore_into(inv.database, scratch, self.backup.dump_path, fmt, pg_restore=tool, psql=psql, jobs=jobs)
        self._timed("restore", started)
        self.emit(Event(PHASE, "done", f"rehearsal: restored in {self.seconds['restore']:.1f}s"))

    def _plan_on_copy(self, conn: psycopg.Connection) -> Any:
        """The plan made again from the copy's own tracking rows: it must be the gate's (no lint here: the gate's is the one)."""
        from types import SimpleNamespace

        from .drizzle import load_migrations, reconcile
        from .drizzle.plan import make_plan
        from .drizzle.recorder import Recorder
        from .pg import read_only

        inv = self.cfg.inventory
        local = load_migrations(inv.migrations.dir)
        with read_only(conn):
            rows = Recorder(conn, inv.migrations.tracking_schema, inv.migrations.tracking_table).rows()
            tables = frozenset(f"public.{name}" for (name,) in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"))
        state = reconcile(local, rows)
        baseline = self.plan.baseline[-1].tag if self.plan.baseline and not (state.tracking_present and state.rows) and not self.only else None
        plan = make_plan(local, state, baseline_until=baseline, only=self.only, fresh=self.plan.scenario == "B" and not self.plan.baseline,
                         tracking_schema=inv.migrations.tracking_schema, tracking_table=inv.migrations.tracking_table)
        return SimpleNamespace(plan=plan, local=local, existing_tables=tables)

    def _measure(self, conn: psycopg.Connection, columns: dict[str, list[str]] | None, when: str) -> dict[str, Any]:
        """Every table's exact count, users by role, the protected tables' fingerprints (READ ONLY)."""
        from .backup.snapshot import count_rows
        from .errors import RuntimeFailure
        from .facts import table_fingerprint
        from .names import qualified
        from .pg import read_only

        exp = self.cfg.playbook.expectations
        self.emit(Event(PHASE, "step", f"rehearsal: counting every table's rows on the copy ({when} the plan)"))
        started = time.monotonic()
        with read_only(conn):
            counted = count_rows(conn, exp.role_count)
            prints = {}
            for table in dict.fromkeys([exp.role_count.table, *exp.critical_tables]):
                if columns is not None and table not in columns:
                    continue
                if conn.execute("SELECT to_regclass(%s)", [qualified(table)]).fetchone()[0] is None:
                    if columns is not None:
                        prints[table] = {"table": table, "md5": None, "missing_columns": ["(table gone)"]}
                    continue
                try:
                    prints[table] = table_fingerprint(conn, table, None if columns is None else columns[table])
                except RuntimeFailure as exc:
                    if columns is None:
                        self.notes.append(f"{table} not fingerprinted: {exc.what}")
        self._timed(f"count_{when}", started)
        return {"counts": dict(counted["tables"]), "roles": (counted.get("users_by_role") or {}).get("by_role"), "fingerprints": prints}

    def _apply(self, conn: psycopg.Connection, seen, connect_again) -> tuple[str, str, tuple[StatementMeasure, ...]]:  # noqa: ANN001
        """The executor on the copy, observed. Returns (failure message, failing statement, measures)."""
        import psycopg

        from .drizzle.recorder import Recorder
        from .errors import MigrationFailed
        from .executor import Executor

        inv = self.cfg.inventory
        flushable = conn.info.server_version >= 150000
        if not flushable:
            self.notes.append("PostgreSQL < 15: rows changed by autocommit statements are not measured per statement")
        self.emit(Event(PHASE, "step", f"rehearsal: applying the plan on the copy ({len(seen.plan.apply)} migration(s), the same executor)"))
        started = time.monotonic()
        with _LockSampler(connect_again, conn.info.backend_pid) as sampler:
            observer = _Observer(conn, sampler, flushable=flushable, files={m.tag: m.filename for m in seen.local.entries},
                                 tags={(p.hash, p.when): p.tag for p in seen.plan.steps})
            recorder = _observed_recorder(Recorder, observer)(conn, inv.migrations.tracking_schema, inv.migrations.tracking_table)
            executor = Executor(conn, recorder, self.cfg.playbook.migrate, self.emit, observer)
            executor.acquire_lock()
            failure = failed_at = ""
            try:
                executor.run(seen.plan, seen.local, online=self.online, single_transaction=self.single_transaction,
                             existing_tables=seen.existing_tables)
            except MigrationFailed as exc:
                failure = exc.what
                if observer.current is not None:
                    migration, file, line, sql = observer.current
                    failed_at = f"{file}:{line} {sql}" if line else f"{file} of {migration}"
                else:
                    failed_at = "after the statements (observing the result)"
                self.emit(Event(PHASE, "warn", f"rehearsal: the plan fails on the copy at {failed_at}"))
            finally:
                if not conn.closed and not conn.broken and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                    executor.release_lock()
            if sampler.error is not None:
                self.notes.append(f"locks of autocommit statements not sampled: {sampler.error}")
        self._timed("apply", started)
        return failure, failed_at, observer.finish()
