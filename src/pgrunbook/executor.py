"""The executor: applying a migration plan the way drizzle would, but safely.

Compilation (pure) turns each planned migration into `Step`s — one statement each, split
by PostgreSQL's parser — and marks those that cannot run inside a transaction
(`CREATE INDEX CONCURRENTLY`, `VACUUM`, …). With `online`, a plain `CREATE INDEX` on a
table that already exists becomes `CREATE INDEX CONCURRENTLY` (the recorded hash stays the
file's: the file is unchanged, only how we run it).

Execution, on one autocommit connection holding the run's advisory lock:
- `SET lock_timeout` / `statement_timeout` for the session (never queue behind a long lock
  and block every writer queued behind us);
- scenario B: tracking table + baseline rows in one transaction;
- per migration (default): its transactional statements and its tracking row in one
  transaction, its non-transactional statements in autocommit, in file order;
  `single_transaction`: everything in one transaction (drizzle's own behaviour), which
  refuses plans with non-transactional statements up front;
- on `lock_timeout`: roll back, log who blocks (pid, query), back off, retry a bounded
  number of times;
- a failed concurrent build leaves an INVALID index: we drop it if, and only if, this run
  created it;
- afterwards, observe again: every planned migration must be recorded.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from .drizzle.journal import LocalMigrations, Migration
from .drizzle.plan import MigrationPlan, PlannedMigration
from .drizzle.recorder import TRACKING_DDL, Recorder
from .drizzle.state import reconcile
from . import faults
from .errors import LockHeld, MigrationFailed, UsageError
from .events import Emit, Event, discard
from .pg import PINNED_SETTINGS

if TYPE_CHECKING:
    import psycopg

    from .config import MigratePolicy

LOCK_NAMESPACE = "pgrunbook"
BOUNDS = ("lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout")  # checked after every statement too
LOCK_KEY_SQL = "hashtext(%s || current_database())::bigint"


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


def check_single_transaction(steps: list[Step]) -> None:
    outside = [s for s in steps if not s.transactional]
    if outside:
        listed = "; ".join(f"{s.migration}:{s.line} {s.first_line}" for s in outside[:5])
        raise UsageError(
            f"--single-transaction cannot run statements that refuse a transaction block: {listed}",
            next_step="run without --single-transaction (one transaction per migration; these run in autocommit)",
        )


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
    def __init__(self, conn: psycopg.Connection, recorder: Recorder, policy: MigratePolicy, emit: Emit = discard,
                 observer: StepObserver | None = None) -> None:
        if not conn.autocommit:
            raise ValueError("the executor needs an autocommit connection: it manages transactions itself")
        self.conn, self.recorder, self.policy, self.emit, self.observer = conn, recorder, policy, emit, observer
        self._results: list[StepResult] = []
        self._waits: list[str] = []
        self._dropped: list[str] = []
        self._committed: list[str] = []  # migrations committed and recorded so far in this run
        self._locked = False  # this executor took the run's advisory lock: every statement must leave it held

    # ---- locking

    def acquire_lock(self) -> None:
        """The run's session advisory lock: one pgrunbook run per database at a time."""
        if not self.conn.execute(f"SELECT pg_try_advisory_lock({LOCK_KEY_SQL})", [LOCK_NAMESPACE]).fetchone()[0]:
            raise LockHeld(f"another pgrunbook run holds this database's lock: {lock_holder(self.conn) or 'another session'}",
                           next_step="wait for it to finish (or end it), then run again")
        self._locked = True

    def release_lock(self) -> None:
        self._locked = False
        self.conn.execute(f"SELECT pg_advisory_unlock({LOCK_KEY_SQL})", [LOCK_NAMESPACE])

    def set_timeouts(self) -> None:
        """Pin the session (parse settings, then the bounds) and remember it as every statement must find it."""
        from .pg import pin_session, session_settings

        pin_session(self.conn)
        self.conn.execute("SELECT set_config('lock_timeout', %s, false), set_config('statement_timeout', %s, false), "
                          "set_config('idle_in_transaction_session_timeout', %s, false)",
                          [self.policy.lock_timeout, self.policy.statement_timeout, self.policy.idle_in_transaction_timeout])
        self._session = session_settings(self.conn, BOUNDS)

    def _bound_transaction(self) -> None:
        """At the start of every transaction: the bounds again, LOCAL (nothing before can have loosened them)."""
        self.conn.execute("SELECT set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)",
                          [self._session["lock_timeout"], self._session["statement_timeout"]])
        self._check_session(None)

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
        if single_transaction:
            check_single_transaction([s for steps in compiled.values() for s in steps])
        indexes_before = self._existing_indexes()
        self.set_timeouts()
        if single_transaction:
            baseline, applied = self._run_single_transaction(plan, compiled)
        else:
            baseline = self._record_baseline(plan) if plan.create_tracking or plan.baseline else ()
            applied = tuple(self._apply_one(p, compiled[p.tag]) for p in plan.apply)
        self._observe_recorded(plan, local)
        named = {s.creates_index for steps in compiled.values() for s in steps if s.creates_index}
        created = tuple(sorted((self._existing_indexes() - indexes_before) & named))
        return ApplyResult(plan.scenario, baseline, applied, created, tuple(self._dropped), tuple(self._results),
                           time.monotonic() - started, tuple(self._waits))

    def _record_baseline(self, plan: MigrationPlan) -> tuple[tuple[str, int], ...]:
        with self.conn.transaction():
            self.recorder.ensure_table()
            rows = tuple((p.tag, self.recorder.record(p.hash, p.when)) for p in plan.baseline)
        for tag, row_id in rows:
            self.emit(Event("migrate", "step", f"baseline {tag}: recorded (row {row_id}), not run"))
        return rows

    def _run_single_transaction(self, plan: MigrationPlan, compiled: dict[str, tuple[Step, ...]]):
        def body() -> tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]:
            with self.conn.transaction():  # the connection is autocommit: without this, each statement would commit alone
                self._bound_transaction()
                if plan.create_tracking:
                    self.recorder.ensure_table()
                baseline = tuple((p.tag, self.recorder.record(p.hash, p.when)) for p in plan.baseline)
                applied = []
                for p in plan.apply:
                    for step in compiled[p.tag]:
                        self._execute(step)
                    applied.append((p.tag, self.recorder.record(p.hash, p.when)))
                return baseline, tuple(applied)

        return self._with_retries("all migrations (one transaction)", body)

    def _apply_one(self, planned: PlannedMigration, steps: tuple[Step, ...]) -> tuple[str, int]:
        """Run one migration: transactional segments in transactions, the tracking row in the last one."""
        self.emit(Event("migrate", "step", f"{planned.tag}: {len(steps)} statements" + (" (stranded: applying it anyway)" if planned.stranded else "")))
        segments = _segments(steps)
        row_id = None
        for position, (transactional, segment) in enumerate(segments):
            last = position == len(segments) - 1
            if transactional:
                row_id = self._with_retries(planned.tag, lambda seg=segment, rec=last: self._transaction(seg, planned if rec else None))
            else:
                for step in segment:
                    self._autocommit(step)
        if row_id is None:  # the migration ended with autocommit statements
            row_id = self._with_retries(planned.tag, lambda: self._transaction((), planned))
        self._committed.append(planned.tag)
        self.emit(Event("migrate", "done", f"{planned.tag}: applied and recorded (row {row_id}, created_at {planned.when})"))
        return planned.tag, row_id

    def _transaction(self, steps: tuple[Step, ...], record: PlannedMigration | None) -> int | None:
        with self.conn.transaction():
            self._bound_transaction()
            for step in steps:
                self._execute(step)
            return self.recorder.record(record.hash, record.when) if record else None

    def _autocommit(self, step: Step) -> None:
        name = step.creates_index
        existed = name is not None and self._index_exists(name)
        try:
            with self._statement_timeout(self.policy.concurrent_statement_timeout if step.concurrent else None):
                self._with_retries(step.migration, lambda: self._execute(step))
        except MigrationFailed:
            if name and not existed and self._index_is_invalid(name):
                self._drop_invalid_index(name)
            raise

    @contextmanager
    def _statement_timeout(self, value: str | None):
        """A CONCURRENTLY build blocks no writer: it gets its own, longer bound, then the usual one again."""
        if value is None:
            yield
            return
        usual = self._session["statement_timeout"]
        self._session["statement_timeout"] = self.conn.execute("SELECT set_config('statement_timeout', %s, false)", [value]).fetchone()[0]
        try:
            yield
        finally:
            if not self.conn.closed and not self.conn.broken:
                self.conn.execute("SELECT set_config('statement_timeout', %s, false)", [usual])
            self._session["statement_timeout"] = usual

    def _run_statement(self, step: Step) -> None:
        """Exactly one statement, the one the analysis parsed: the extended protocol refuses a
        string the server would read as several (binary results force it; nothing is read)."""
        self.conn.cursor().execute(step.sql, binary=True)

    def _execute(self, step: Step) -> None:
        if self.observer is not None:
            self.observer.before(step)
        started = time.monotonic()
        self._run_statement(step)
        seconds = time.monotonic() - started
        self._check_session(step)
        if self.observer is not None:
            self.observer.after(step, seconds)
        self._results.append(StepResult(step.migration, step.line, step.first_line, seconds, step.transactional, step.online))
        faults.reached(f"statement:{len(self._results)}")
        mode = "autocommit, CONCURRENTLY" if step.online else ("" if step.transactional else "autocommit")
        self.emit(Event("migrate", "progress", f"{step.migration}:{step.line} {step.first_line} — {seconds * 1000:.0f} ms" + (f" ({mode})" if mode else "")))

    def _with_retries(self, what: str, action):
        import psycopg

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
                raise self._failure(what, _pg_message(exc),
                                    "fix the migration, then run `inv migrate` again (it resumes after the recorded ones), "
                                    "or `inv rollback`") from None
        raise AssertionError("unreachable")

    def _failure(self, what: str, message: str, next_step: str) -> MigrationFailed:
        committed = ", ".join(self._committed)
        changed = "the failing transaction was rolled back and nothing of it recorded; " + (
            f"committed and recorded before it: {committed}" if committed else "no migration of this plan was committed")
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


def _segments(steps: tuple[Step, ...]) -> list[tuple[bool, tuple[Step, ...]]]:
    """Consecutive steps grouped by whether they may run in a transaction, in order."""
    segments: list[tuple[bool, tuple[Step, ...]]] = []
    for step in steps:
        if segments and segments[-1][0] == step.transactional:
            segments[-1] = (step.transactional, segments[-1][1] + (step,))
        else:
            segments.append((step.transactional, (step,)))
    return segments


def _pg_message(exc: Exception) -> str:
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) or str(exc).strip()
    detail = getattr(diag, "message_detail", None)
    return primary + (f" ({detail})" if detail else "")


# --------------------------------------------------------------------------- the dry run (pure)


def plan_sql(plan: MigrationPlan, compiled: dict[str, tuple[Step, ...]], policy: MigratePolicy, *, single_transaction: bool = False) -> str:
    """The exact SQL `inv migrate` runs for `plan`, in order, tracking rows included."""
    schema, table = quote_ident(plan.tracking_schema), quote_ident(plan.tracking_table)

    def insert(hash_: str, when: int) -> str:
        return f'INSERT INTO {schema}.{table} ("hash", "created_at") VALUES ({quote_literal(hash_)}, {when});'

    def wrap(lines: list[str]) -> list[str]:
        return lines if single_transaction else ["BEGIN;", *lines, "COMMIT;"]

    out = [
        f"-- pgrunbook migrate plan: scenario {plan.scenario}; {len(plan.baseline)} baseline, {len(plan.apply)} to apply",
        "-- the session holds pgrunbook's advisory lock for the whole run",
        f"SET lock_timeout = {quote_literal(policy.lock_timeout)};",
        f"SET statement_timeout = {quote_literal(policy.statement_timeout)};",
        f"SET idle_in_transaction_session_timeout = {quote_literal(policy.idle_in_transaction_timeout)};",
        "-- every session pins " + ", ".join(f"{n} = {v}" for n, v in PINNED_SETTINGS) + "; a statement that changes one stops the run",
    ]
    if single_transaction:
        out.append("BEGIN;  -- --single-transaction: everything in one transaction, as drizzle does")
    if plan.create_tracking or plan.baseline:
        lines = [TRACKING_DDL.format(schema=schema, table=table) + ";"] if plan.create_tracking else []
        for step in plan.baseline:
            lines += [f"-- baseline {step.tag}: already in the database (evidence checked): recorded, not run", insert(step.hash, step.when)]
        out += ["", *wrap(lines)]
    for planned in plan.apply:
        out += ["", f"-- apply {planned.tag}: {planned.why}"]
        segments = _segments(compiled[planned.tag])
        record_in_last = bool(segments) and segments[-1][0]
        for position, (transactional, segment) in enumerate(segments):
            if not transactional:
                for step in segment:
                    note = "rewritten to CONCURRENTLY by --online" if step.online else "cannot run in a transaction"
                    out += [f"-- {step.migration}:{step.line}, autocommit ({note})", _terminated(step.sql)]
                    if step.concurrent:
                        out[-1:-1] = [f"SET statement_timeout = {quote_literal(policy.concurrent_statement_timeout)};"]
                        out.append(f"SET statement_timeout = {quote_literal(policy.statement_timeout)};")
                continue
            lines = [f"-- {s.migration}:{s.line}\n{_terminated(s.sql)}" for s in segment]
            if record_in_last and position == len(segments) - 1:
                lines.append(insert(planned.hash, planned.when))
            out += wrap(lines)
        if not record_in_last:
            out += wrap([insert(planned.hash, planned.when)])
    if single_transaction:
        out.append("COMMIT;")
    return "\n".join(out) + "\n"


def _terminated(sql: str) -> str:
    return sql.rstrip().rstrip(";") + ";"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
