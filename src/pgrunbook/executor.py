"""The executor: applying a migration plan the way drizzle would, but safely.

Compilation (pure) turns each planned migration into `Step`s — one statement each, split
by PostgreSQL's parser — and marks those that cannot run inside a transaction
(`CREATE INDEX CONCURRENTLY`, `VACUUM`, …). With `online`, a plain `CREATE INDEX` on a
table that already exists becomes `CREATE INDEX CONCURRENTLY` (the recorded hash stays the
file's: the file is unchanged, only how we run it).

Execution runs the plan's schedule (`schedule.schedule`: the units the dry run prints,
statement for statement) on one autocommit connection holding the run's advisory lock:
- the session pinned as analysed, then `lock_timeout` / `statement_timeout` (never queue
  behind a long lock and block every writer queued behind us); each transaction sets the
  bounds again, LOCAL;
- scenario B: tracking table + baseline rows in one transaction;
- per migration (default): its transactional statements and its tracking row in one
  transaction, its non-transactional statements in autocommit, in file order;
  `single_transaction`: everything in one transaction (drizzle's own behaviour), which
  refuses plans with non-transactional statements up front;
- after every statement, the session is checked: a changed setting or a released run lock
  stops the run;
- on `lock_timeout`: roll back, log who blocks (pid, query), back off, retry the unit a
  bounded number of times;
- a failed concurrent build leaves an INVALID index: we drop it if, and only if, this run
  created it;
- afterwards, observe again: every planned migration must be recorded.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from .drizzle.journal import LocalMigrations, Migration
from .drizzle.plan import MigrationPlan, PlannedMigration
from .drizzle.recorder import Recorder
from .drizzle.state import UpgradeMatch, reconcile
from . import faults
from .errors import LockHeld, MigrationFailed
from .events import DETAIL, SUMMARY, Emit, Event, discard
from .schedule import Statement, Unit, plan_sql, schedule, session  # noqa: F401  (plan_sql: the dry run, imported from here)

if TYPE_CHECKING:
    import psycopg

    from .config import MigratePolicy

LOCK_NAMESPACE = "pgrunbook"
BOUNDS = ("lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout")  # checked after every statement too
LOCK_KEY_SQL = "hashtext(%s || current_database())::bigint"
WAIT_FOR_IT = "wait for it to finish (or end it), then run again"


def lock_holder(conn: psycopg.Connection) -> str | None:
    """Who holds pgrunbook's advisory lock on this database (another run), if anyone."""
    row = conn.execute(
        f"""SELECT a.pid, a.application_name, a.client_addr, a.backend_start FROM pg_locks l
            JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.pid <> pg_backend_pid()
              AND ((l.classid::bigint << 32) | l.objid::bigint) = {LOCK_KEY_SQL}""",
        [LOCK_NAMESPACE],
    ).fetchone()
    if row is None:
        return None
    pid, app, addr, since = row
    return f"pid {pid} ({app or 'unnamed'}, from {addr or 'local socket'}, since {since:%Y-%m-%d %H:%M:%S})"


@contextmanager
def advisory_lock(conn: psycopg.Connection, *, next_step: str = WAIT_FOR_IT) -> Iterator[None]:
    """pgrunbook's advisory lock on this database for the block: one run at a time (`take_lock`, `drop_lock`)."""
    take_lock(conn, next_step=next_step)
    try:
        yield
    finally:
        drop_lock(conn)


def take_lock(conn: psycopg.Connection, *, next_step: str = WAIT_FOR_IT) -> None:
    """Take the session advisory lock, or raise LockHeld naming the session that has it.

    A session lock: COMMIT and ROLLBACK keep it; `drop_lock` or the session's end releases it.
    """
    if not conn.execute(f"SELECT pg_try_advisory_lock({LOCK_KEY_SQL})", [LOCK_NAMESPACE]).fetchone()[0]:
        raise LockHeld(f"another pgrunbook run holds this database's lock: {lock_holder(conn) or 'another session'}",
                       next_step=next_step)


def drop_lock(conn: psycopg.Connection) -> None:
    """Release it, unless the connection cannot say anything any more (lost, or in a failed
    transaction that refuses every statement): then the session's end releases it."""
    import psycopg

    if not conn.closed and not conn.broken and conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR:
        conn.execute(f"SELECT pg_advisory_unlock({LOCK_KEY_SQL})", [LOCK_NAMESPACE])


# --------------------------------------------------------------------------- compilation (pure)


@dataclass(frozen=True)
class Step:
    migration: str
    sql: str
    line: int
    transactional: bool
    creates_index: str | None = None  # index name (schema-qualified when the SQL qualifies it)
    on_table: str | None = None
    online: bool = False  # rewritten to CONCURRENTLY by --online
    concurrent: bool = False  # a CONCURRENTLY form: bounded by migrate.concurrent_statement_timeout

    @property
    def first_line(self) -> str:
        return " ".join(self.sql.split())[:100]


def compile_migration(m: Migration, *, online: bool = False, existing_tables: frozenset[str] = frozenset()) -> tuple[Step, ...]:
    """Statements of `m` in order, each marked transactional or not."""
    from pglast import ast

    from .sqlcheck.split import split_sql

    steps = []
    for statement in split_sql(m.text, file=m.filename).statements:
        node = statement.node
        step = Step(m.tag, statement.sql, statement.line, _transactional(node), concurrent=not _transactional(node) and _concurrent(node))
        if isinstance(node, ast.IndexStmt):
            table = _qualified(node.relation)
            name = _index_name(node)
            step = replace(step, creates_index=name, on_table=table)
            if online and not node.concurrent and table in existing_tables:
                step = replace(step, sql=add_concurrently(statement.sql), transactional=False, online=True, concurrent=True)
        steps.append(step)
    return tuple(steps)


def _transactional(node: object) -> bool:
    from pglast import ast

    if isinstance(node, ast.IndexStmt):
        return not node.concurrent
    if isinstance(node, ast.VacuumStmt):
        return not node.is_vacuumcmd  # ANALYZE may run in a transaction; VACUUM may not
    if isinstance(node, ast.ReindexStmt):
        return not any(getattr(p, "defname", "") == "concurrently" for p in (node.params or ()))
    if isinstance(node, ast.DropStmt):
        return not node.concurrent
    return not isinstance(node, (ast.CreatedbStmt, ast.DropdbStmt, ast.AlterSystemStmt, ast.CreateTableSpaceStmt))


def _concurrent(node: object) -> bool:
    from pglast import ast

    if isinstance(node, (ast.IndexStmt, ast.DropStmt)):
        return bool(node.concurrent)
    if isinstance(node, ast.ReindexStmt):
        return any(getattr(p, "defname", "") == "concurrently" for p in (node.params or ()))
    return False


def _qualified(relation: object) -> str:
    schema = getattr(relation, "schemaname", None) or "public"
    return f"{schema}.{relation.relname}"  # type: ignore[attr-defined]


def _index_name(node: object) -> str | None:
    name = getattr(node, "idxname", None)
    if not name:
        return None
    schema = getattr(node.relation, "schemaname", None) or "public"  # type: ignore[attr-defined]
    return f"{schema}.{name}"


def add_concurrently(sql: str) -> str:
    """Insert CONCURRENTLY after the first INDEX keyword token (comments and strings untouched)."""
    from pglast import parser

    for token in parser.scan(sql):
        if token.name == "INDEX":
            return f"{sql[: token.end + 1]} CONCURRENTLY{sql[token.end + 1 :]}"
    raise ValueError("not a CREATE INDEX statement")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class StepResult:
    migration: str
    line: int
    sql: str
    seconds: float
    transactional: bool
    online: bool = False
    attempts: int = 1


@dataclass(frozen=True)
class ApplyResult:
    scenario: str
    baseline: tuple[tuple[str, int], ...]  # (tag, tracking row id)
    applied: tuple[tuple[str, int], ...]
    created_indexes: tuple[str, ...]  # indexes the migrations name, absent before this run, present now
    dropped_invalid_indexes: tuple[str, ...]
    steps: tuple[StepResult, ...]
    seconds: float
    lock_waits: tuple[str, ...] = field(default=())

    @property
    def row_ids(self) -> tuple[int, ...]:
        return tuple(i for _, i in self.baseline + self.applied)


# --------------------------------------------------------------------------- execution


class StepObserver(Protocol):
    """Watches each statement on the executor's own connection (the rehearsal measures locks and rows).

    `before` and `after` run on that connection, inside the statement's transaction when it
    has one: what they read is what the statement holds and changed. `after` is not called
    when the statement fails.
    """

    def before(self, step: Step) -> None: ...

    def after(self, step: Step, seconds: float) -> None: ...


class Executor:
    """Runs a plan's schedule (`schedule.schedule`) on one autocommit connection.

    The units say what is sent and in which order; the executor adds what only running can
    decide: the probes between statements (the session as analysed, the run lock), retries
    after a lock timeout, the cleanup of an INVALID index its own failed build left.
    """

    def __init__(self, conn: psycopg.Connection, recorder: Recorder, policy: MigratePolicy, emit: Emit = discard,
                 observer: StepObserver | None = None, on_ledger_upgraded: Callable[[tuple[UpgradeMatch, ...]], None] | None = None) -> None:
        if not conn.autocommit:
            raise ValueError("the executor needs an autocommit connection: it manages transactions itself")
        self.conn, self.recorder, self.policy, self.emit, self.observer = conn, recorder, policy, emit, observer
        self._results: list[StepResult] = []
        self._waits: list[str] = []
        self._dropped: list[str] = []
        self._baseline: list[tuple[str, int]] = []
        self._applied: list[tuple[str, int]] = []
        self._committed: list[str] = []  # migrations committed and recorded so far in this run
        self._announced: set[str] = set()
        self._statements: Counter[str] = Counter()  # steps per migration, for the progress line
        self._ran: dict[str, set[int]] = {}  # the lines run per migration (a retried transaction runs them again)
        self._began: dict[str, float] = {}  # when each migration's first statement was sent
        self._session: dict[str, str | None] = {}
        self._locked = False  # this executor took the run's advisory lock: every statement must leave it held
        # drizzle 1.0's ledger upgrade committed (its rows): told to `on_ledger_upgraded` (the run journal) before anything else runs
        self.upgraded: tuple[UpgradeMatch, ...] = ()
        self._on_ledger_upgraded = on_ledger_upgraded

    # ---- locking

    def acquire_lock(self) -> None:
        """The run's session advisory lock, held until `release_lock` (not tied to this object's life)."""
        take_lock(self.conn)
        self._locked = True

    def release_lock(self) -> None:
        self._locked = False
        drop_lock(self.conn)

    def set_timeouts(self) -> None:
        """The session unit alone (every run starts with it): parse settings pinned, then the bounds."""
        self._run_unit(session(self.policy))

    def _check_session(self, after: Step | None) -> None:
        """Every statement runs in the session the analysis assumed: a statement that changed a
        pinned setting or a bound (SET, set_config, a DO block) stops the run before the next one,
        inside its transaction, so the change is rolled back with it."""
        from .pg import session_settings, setting_differs

        now = session_settings(self.conn, BOUNDS)
        changed = [f"{name} {self._session[name]!r} -> {now[name]!r}" for name in self._session
                   if setting_differs(name, self._session[name] or "", now[name])]
        if self._locked and not self._holds_lock():  # advisory unlocks are not transactional: gone for good
            changed.append("pgrunbook's run lock released (another run could start now)")
        if changed:
            where = f"{after.migration}:{after.line} ({after.first_line}) changed" if after else "the session changed before a transaction:"
            raise self._failure(after.migration if after else "session", f"{where} {', '.join(changed)}; pgrunbook runs every "
                                "statement with the settings its analysis assumed",
                                "remove the SET / set_config of that setting from the migration (the executor sets the "
                                "timeouts itself: migrate.statement_timeout in the playbook), then run `inv migrate` again")

    def _holds_lock(self) -> bool:
        return self.conn.execute(
            f"""SELECT EXISTS (SELECT FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                  AND l.pid = pg_backend_pid() AND ((l.classid::bigint << 32) | l.objid::bigint) = {LOCK_KEY_SQL})""",
            [LOCK_NAMESPACE]).fetchone()[0]

    # ---- the run

    def run(self, plan: MigrationPlan, local: LocalMigrations, *, online: bool = False, single_transaction: bool = False,
            existing_tables: frozenset[str] = frozenset()) -> ApplyResult:
        started = time.monotonic()
        compiled = {p.tag: compile_migration(local.by_tag(p.tag), online=online, existing_tables=existing_tables) for p in plan.apply}
        units = schedule(plan, compiled, self.policy, single_transaction=single_transaction)  # refuses before any statement
        self._statements = Counter(s.step.migration for unit in units for s in unit.statements if s.step is not None)
        indexes_before = self._existing_indexes()
        for unit in units:
            self._run_unit(unit)
        self._observe_recorded(plan, local)
        named = {s.creates_index for steps in compiled.values() for s in steps if s.creates_index}
        created = tuple(sorted((self._existing_indexes() - indexes_before) & named))
        return ApplyResult(plan.scenario, tuple(self._baseline), tuple(self._applied), created, tuple(self._dropped),
                           tuple(self._results), time.monotonic() - started, tuple(self._waits))

    def _run_unit(self, unit: Unit) -> None:
        if unit.transactional:
            self._recorded(self._with_retries(unit.label, lambda: self._transaction(unit)), unit)
        else:
            self._autocommit(unit)

    def _transaction(self, unit: Unit) -> tuple[tuple[Statement, int], ...]:
        """One attempt at a transactional unit (BEGIN … COMMIT are its own statements); rolled back if it fails.
        Returns its tracking rows with their ids."""
        rows = []
        try:
            for statement in unit.statements:
                row_id = self._send(statement)
                if row_id is not None:
                    rows.append((statement, row_id))
        except BaseException:
            self._roll_back()
            raise
        return tuple(rows)

    def _roll_back(self) -> None:
        """After a failure inside BEGIN: end the transaction (a failed COMMIT already did; a lost connection did too)."""
        import psycopg

        if self._usable() and self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.conn.rollback()

    def _autocommit(self, unit: Unit) -> None:
        """The statements before the step once, the step with retries, those after it even when it fails."""
        before, statement, after = unit.around_step()
        step = statement.step if statement is not None else None
        name = step.creates_index if step is not None else None
        existed = name is not None and self._index_exists(name)
        try:
            for each in before:
                self._send(each)
            if statement is None:
                return
            try:
                self._with_retries(unit.label, lambda: self._send(statement))
            finally:
                if self._usable():
                    for each in after:
                        self._send(each)
        except MigrationFailed:
            if name and not existed and self._index_is_invalid(name):
                self._drop_invalid_index(name)
            raise

    def _send(self, statement: Statement) -> int | None:
        """One statement of a unit, then what its kind requires; a tracking row returns its id."""
        if statement.kind == "step":
            self._announce(statement.migration)
            self._execute(statement.step)
        elif statement.kind in ("baseline", "record"):
            self._announce(statement.migration)
            return self.recorder.record(statement.migration.hash, statement.migration.when, statement.migration.name)
        elif statement.kind == "ledger-alter":
            self.recorder.add_v1_column(statement.column)
        elif statement.kind == "ledger-name":
            if not self.recorder.name_row(statement.match):
                raise self._failure("ledger upgrade", f"tracking row {statement.match.row.id} changed since it was observed "
                                    "(another tool wrote the ledger)", "run `inv verify`, then `inv gate` again")
        elif statement.kind == "tracking-table":
            self.recorder.ensure_table(v1="applied_at" in statement.sql)  # the shape the schedule planned (plan.ledger_v1)
        else:
            self._run_sql(statement.sql)
            self._after_session_statement(statement.kind)
        return None

    def _after_session_statement(self, kind: str) -> None:
        from .pg import require_pinned, session_settings

        if kind == "pin":
            require_pinned(self.conn)
        elif kind == "set":  # the session every later statement must find
            self._session = session_settings(self.conn, BOUNDS)
        elif kind == "bound":
            self._check_session(None)

    def _announce(self, planned: PlannedMigration | None) -> None:
        if planned is None or planned.action != "apply" or planned.tag in self._announced:
            return
        self._announced.add(planned.tag)
        self._began[planned.tag] = time.monotonic()
        stranded = " (stranded: applying it anyway)" if planned.stranded else ""
        self.emit(Event("migrate", "warn" if stranded else "step", f"{planned.tag}: {self._statements[planned.tag]} statements{stranded}",
                        {"level": "" if stranded else DETAIL, "migration": planned.tag, "total": self._statements[planned.tag]}))

    def _recorded(self, rows: tuple[tuple[Statement, int], ...], unit: Unit | None = None) -> None:
        """A unit committed: its tracking rows (and the ledger upgrade it held) now hold."""
        named = tuple(s.match for s in (unit.statements if unit else ()) if s.kind == "ledger-name")
        if named:
            self.upgraded = named
            self.emit(Event("migrate", "done", f"ledger upgraded to drizzle 1.0's shape: {len(named)} row(s) named", {"level": SUMMARY}))
            if self._on_ledger_upgraded is not None:
                self._on_ledger_upgraded(named)
        baselined = []  # one line for the whole baseline; each row is a detail (`-v`)
        for statement, row_id in rows:
            planned = statement.migration
            if statement.kind == "baseline":
                self._baseline.append((planned.tag, row_id))
                baselined.append(planned.tag)
                self.emit(Event("migrate", "step", f"baseline {planned.tag}: recorded (row {row_id}), not run", {"level": DETAIL}))
            else:  # one line per migration applied: its statements, its time
                self._applied.append((planned.tag, row_id))
                self._committed.append(planned.tag)
                tag = planned.tag
                elapsed = time.monotonic() - self._began.get(tag, time.monotonic())
                self.emit(Event("migrate", "done", f"{tag}: {len(self._ran.get(tag, ()))}/{self._statements[tag]} statements in {elapsed:.1f}s, "
                                f"applied and recorded (row {row_id})",
                                {"level": SUMMARY, "migration": tag, "done": len(self._ran.get(tag, ())), "total": self._statements[tag],
                                 "elapsed": round(elapsed, 3), "row": row_id}))
        if baselined:
            span = baselined[0] if len(baselined) == 1 else f"{baselined[0]} … {baselined[-1]} ({len(baselined)} migrations)"
            self.emit(Event("migrate", "done", f"baseline {span}: recorded, not run (the schema already holds them)",
                            {"level": SUMMARY, "baseline": baselined}))

    def _run_sql(self, sql: str) -> None:
        """Exactly one statement, as the schedule wrote it: the extended protocol refuses a string
        the server would read as several (binary results force it; nothing is read); never
        prepared, so the server receives this text every time."""
        self.conn.cursor().execute(sql, binary=True, prepare=False)

    def _usable(self) -> bool:
        return not self.conn.closed and not self.conn.broken

    def _execute(self, step: Step) -> None:
        if self.observer is not None:
            self.observer.before(step)
        self._progress(step, running=True)  # a long statement (an index build) is named while it runs
        started = time.monotonic()
        self._run_sql(step.sql)  # the step's Statement holds this very text
        seconds = time.monotonic() - started
        self._check_session(step)
        if self.observer is not None:
            self.observer.after(step, seconds)
        self._results.append(StepResult(step.migration, step.line, step.first_line, seconds, step.transactional, step.online))
        faults.reached(f"statement:{len(self._results)}")
        self._ran.setdefault(step.migration, set()).add(step.line)
        mode = "autocommit, CONCURRENTLY" if step.online else ("" if step.transactional else "autocommit")
        self._progress(step, running=False, message=f"{step.migration}:{step.line} {step.first_line} — {seconds * 1000:.0f} ms"
                       + (f" ({mode})" if mode else ""), ms=round(seconds * 1000, 1))

    def _progress(self, step: Step, *, running: bool, message: str = "", **data: object) -> None:
        """The migration's progress (a detail): statements done / total, the current one, elapsed since its first."""
        tag = step.migration
        began = self._began.setdefault(tag, time.monotonic())
        self.emit(Event("migrate", "progress", message or f"{tag}:{step.line} {step.first_line} — running",
                        {"level": DETAIL, "migration": tag, "done": len(self._ran.get(tag, ())), "total": self._statements[tag] or None,
                         "statement": step.first_line, "line": step.line, "running": running,
                         "elapsed": round(time.monotonic() - began, 3), **data}))

    def _with_retries(self, what: str, action):
        import psycopg

        from .pg import error_message

        attempts = self.policy.lock_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return action()
            except psycopg.errors.LockNotAvailable:
                blockers = self._blockers()
                self._waits.append(f"{what}: {blockers}")
                if attempt == attempts:
                    raise self._failure(what, f"could not get a lock within lock_timeout={self.policy.lock_timeout} "
                                        f"after {attempts} attempts; blocked by {blockers}",
                                        "end or wait for the blocking session, then run `inv migrate` again "
                                        "(applied migrations are recorded; the plan resumes after them)") from None
                delay = self.policy.retry_backoff_seconds * 2 ** (attempt - 1)
                self.emit(Event("migrate", "warn", f"{what}: lock_timeout, blocked by {blockers}; retry {attempt}/{attempts - 1} in {delay:.1f}s"))
                time.sleep(delay)
            except psycopg.Error as exc:
                raise self._failure(what, error_message(exc, detail=True),
                                    "fix the migration, then run `inv migrate` again (it resumes after the recorded ones), "
                                    "or `inv rollback`") from None
        raise AssertionError("unreachable")

    def _failure(self, what: str, message: str, next_step: str) -> MigrationFailed:
        committed = ", ".join(self._committed)
        changed = "the failing transaction was rolled back and nothing of it recorded; " + (
            f"committed and recorded before it: {committed}" if committed else "no migration of this plan was committed") + (
            f"; the ledger was upgraded to drizzle 1.0's shape ({len(self.upgraded)} row(s) named, committed)" if self.upgraded else "")
        return MigrationFailed(f"{what}: {message}", applied=tuple(self._committed), changed=changed, next_step=next_step)

    def _blockers(self) -> str:
        """Sessions in an open transaction holding locks on the app's tables (who made us wait)."""
        from .facts import lock_holders

        return ", ".join(lock_holders(self.conn)) or "a session that has since released its lock"

    # ---- indexes

    def _existing_indexes(self) -> frozenset[str]:
        from .facts import index_names

        return index_names(self.conn)

    def _index_exists(self, name: str) -> bool:
        return self.conn.execute("SELECT to_regclass(%s) IS NOT NULL", [name]).fetchone()[0]

    def _index_is_invalid(self, name: str) -> bool:
        row = self.conn.execute("SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [name]).fetchone()
        return bool(row and row[0])

    def _drop_invalid_index(self, name: str) -> None:
        """A failed CONCURRENTLY build left this INVALID index, created by this very run: remove it."""
        from psycopg import sql

        schema, index = name.split(".", 1)
        self.conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(schema, index)))
        self._dropped.append(name)
        self.emit(Event("migrate", "warn", f"dropped INVALID index {name} left by the failed concurrent build (created by this run)"))

    # ---- observe again

    def _observe_recorded(self, plan: MigrationPlan, local: LocalMigrations) -> None:
        state = reconcile(local, self.recorder.rows())
        missing = [p.tag for p in plan.steps if p.tag not in state.applied_tags]
        if missing:
            raise MigrationFailed(f"after the run, these planned migrations are not recorded: {', '.join(missing)}",
                                  changed="see the progress above for what ran",
                                  next_step="run `inv verify` to see the tracking table, then `inv migrate` again")
