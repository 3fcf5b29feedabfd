"""The schedule: the one order in which a plan's statements reach the server (pure).

`schedule()` turns a plan and its compiled steps into `Unit`s: a transaction, or a group
of autocommit statements. Each unit holds, in order, the exact text of every statement
the executor sends to carry out the plan: the session's pinned settings and bounds, BEGIN,
the bounds again (LOCAL), the migrations' statements, the tracking rows, COMMIT, the
longer bound around a CONCURRENTLY build. `Executor.run` runs these units and
`plan_sql` (`inv analyze --sql`, `inv migrate --dry-run`) prints them: one derivation, so
the printed SQL is the SQL that runs. tests/test_schedule.py checks it against what the
server receives.

What a unit does not hold: the executor's read-only probes between statements (session
settings, the run lock, index validity, ids), and what only a failure sends (ROLLBACK, the
retry of a unit after a lock timeout, the DROP of an INVALID index this run created).

Facts relied on:
- The executor sends every statement here as written (one statement, extended protocol,
  not prepared), except two that `Recorder` sends, the only code writing the tracking
  table (the rehearsal observes its inserts): drizzle's DDL (`TRACKING_DDL`, one query of
  two statements) and each tracking row, sent as `INSERT … VALUES ($1, $2) RETURNING id`
  with (hash, when) as parameters. Here the row is that statement with its parameters
  written as literals and without `RETURNING id`, which reads the new id back and writes
  nothing.
- The pinned values hold no backslash: their literals read the same whatever
  `standard_conforming_strings` the session had before they are pinned.
- The 0.45 → 1.0 ledger upgrade (`plan.upgrade`) is sent by `Recorder` too: its two ALTERs as
  written here, and one `UPDATE … SET "name" = $1, "applied_at" = NULL WHERE "id" = $2 AND
  "hash" = $3 AND "created_at" IS NOT DISTINCT FROM $4` per row (`Recorder.NAME_ROW`), here with
  its parameters written as literals. It is a transaction of its own, after the session and
  before any migration (with --single-transaction: the start of the one transaction).
- Consecutive steps that may run in a transaction share one; the tracking row goes in the
  migration's last transaction, or a transaction of its own when the migration ends with
  autocommit statements: a migration is recorded only once all its statements succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from .drizzle.plan import MigrationPlan, PlannedMigration
from .drizzle.state import UpgradeMatch
from .drizzle.recorder import TRACKING_DDL, TRACKING_DDL_V1, Recorder
from .errors import UsageError
from .pg import PINNED_SETTINGS  # a pure constant; pg imports psycopg only when a function needs it

if TYPE_CHECKING:
    from .config import MigratePolicy
    from .executor import Step

# pin: the parse settings (then checked); set: a session bound (then adopted as the session
# every statement must find); begin / commit; bound: a bound again, LOCAL to the transaction
# (then the session is checked); tracking-table: drizzle's DDL; baseline / record: a tracking
# row (of a migration recorded, not run / of one just run); step: a migration's statement.
# ledger-alter / ledger-name: drizzle 1.0's ledger upgrade (a column added / one old row named).
Kind = Literal["pin", "set", "begin", "bound", "tracking-table", "ledger-alter", "ledger-name", "baseline", "step", "record", "commit"]
SINGLE = "all migrations (one transaction)"
UPGRADE = "ledger upgrade"
UPGRADE_COMMENT = ("drizzle 1.0's ledger upgrade, as its migrator would do it on its first run: two columns, then each old row "
                   "named\n(done by pgrunbook's recorder, checked against the row as observed; one transaction)")
# READ WRITE: what `inv migrate` and the rehearsal always sent (psycopg's BEGIN on the connection
# the plan was observed on READ ONLY); a database's default_transaction_read_only cannot turn
# a migration's transaction read-only.
BEGIN = "BEGIN READ WRITE"


@dataclass(frozen=True)
class Statement:
    kind: Kind
    sql: str  # exactly the text the server receives, without a final `;`
    note: str = ""  # the comment the dry run prints above it
    migration: PlannedMigration | None = None  # whose statement or tracking row it is
    step: Step | None = None  # kind "step": the compiled statement (its sql is `sql`)
    column: str = ""  # kind "ledger-alter": the column added
    match: UpgradeMatch | None = None  # kind "ledger-name": the row and the name it gets


@dataclass(frozen=True)
class Unit:
    """A transaction (BEGIN … COMMIT, retried whole after a lock timeout) or autocommit statements.

    An autocommit unit holds at most one step: the statements before it set the session for
    it, those after it restore the session and are sent even when the step fails.
    """

    label: str  # what a failure or a lock wait names: a migration tag, "session", "baseline", SINGLE
    transactional: bool
    statements: tuple[Statement, ...]
    comment: str = ""  # printed above the unit, after a blank line

    def around_step(self) -> tuple[tuple[Statement, ...], Statement | None, tuple[Statement, ...]]:
        """(before, the step, after) of an autocommit unit; (all, None, ()) without a step."""
        at = next((i for i, s in enumerate(self.statements) if s.kind == "step"), None)
        if at is None:
            return self.statements, None, ()
        return self.statements[:at], self.statements[at], self.statements[at + 1 :]

    @property
    def rows(self) -> tuple[Statement, ...]:
        """Its tracking rows (baseline or record), in order."""
        return tuple(s for s in self.statements if s.kind in ("baseline", "record"))


def schedule(plan: MigrationPlan, compiled: dict[str, tuple[Step, ...]], policy: MigratePolicy, *,
             single_transaction: bool = False) -> tuple[Unit, ...]:
    """Every unit the executor runs for `plan`, in order; raises UsageError for a single
    transaction that would hold a statement refusing one."""
    if single_transaction:
        check_single_transaction([s for p in plan.apply for s in compiled[p.tag]])
        return session(policy), _single(plan, compiled, policy)
    units = [session(policy)]
    if plan.upgrade:
        units.append(_transaction(UPGRADE, _ledger_upgrade(plan), policy, comment=UPGRADE_COMMENT))
    if plan.create_tracking or plan.baseline:
        units.append(_transaction("baseline", _tracking_table(plan) + tuple(_row(plan, p) for p in plan.baseline), policy,
                                  comment="baseline: the migrations already in the database, recorded, not run"))
    for planned in plan.apply:
        units += _migration(plan, planned, compiled[planned.tag], policy)
    return tuple(units)


def session(policy: MigratePolicy) -> Unit:
    """The session the whole run keeps: parse settings pinned, then the bounds."""
    pin = "SELECT " + ",\n       ".join(f"set_config({quote_literal(n)}, {quote_literal(v)}, false)" for n, v in PINNED_SETTINGS)
    bounds = (("lock_timeout", policy.lock_timeout), ("statement_timeout", policy.statement_timeout),
              ("idle_in_transaction_session_timeout", policy.idle_in_transaction_timeout))
    return Unit("session", False, (
        Statement("pin", pin, "the settings that change how SQL parses, as the analysis assumed; a statement that changes one, "
                              "or a bound, stops the run"),
        *(Statement("set", f"SET {name} = {quote_literal(value)}") for name, value in bounds),
    ), comment="the session (it holds pgrunbook's advisory lock for the whole run)")


def check_single_transaction(steps: list[Step]) -> None:
    outside = [s for s in steps if not s.transactional]
    if outside:
        listed = "; ".join(f"{s.migration}:{s.line} {s.first_line}" for s in outside[:5])
        raise UsageError(
            f"--single-transaction cannot run statements that refuse a transaction block: {listed}",
            next_step="run without --single-transaction (one transaction per migration; these run in autocommit)",
        )


def segments(steps: tuple[Step, ...]) -> list[tuple[bool, tuple[Step, ...]]]:
    """Consecutive steps grouped by whether they may run in a transaction, in order."""
    grouped: list[tuple[bool, tuple[Step, ...]]] = []
    for step in steps:
        if grouped and grouped[-1][0] == step.transactional:
            grouped[-1] = (step.transactional, grouped[-1][1] + (step,))
        else:
            grouped.append((step.transactional, (step,)))
    return grouped


def _migration(plan: MigrationPlan, planned: PlannedMigration, steps: tuple[Step, ...], policy: MigratePolicy) -> list[Unit]:
    """One migration: its transactional segments in transactions, the tracking row in the last one."""
    units: list[Unit] = []
    grouped = segments(steps)
    for position, (transactional, segment) in enumerate(grouped):
        if transactional:
            row = (_row(plan, planned),) if position == len(grouped) - 1 else ()
            units.append(_transaction(planned.tag, tuple(_step(s, planned) for s in segment) + row, policy))
        else:
            units += [_autocommit(s, planned, policy) for s in segment]
    if not grouped or not grouped[-1][0]:  # it ends with autocommit statements (or has none): the row alone
        units.append(_transaction(planned.tag, (_row(plan, planned),), policy))
    units[0] = replace(units[0], comment=f"apply {planned.tag}: {planned.why}")
    return units


def _single(plan: MigrationPlan, compiled: dict[str, tuple[Step, ...]], policy: MigratePolicy) -> Unit:
    body = _ledger_upgrade(plan) + _tracking_table(plan) + tuple(_row(plan, p) for p in plan.baseline)
    for planned in plan.apply:
        body += tuple(_step(s, planned) for s in compiled[planned.tag]) + (_row(plan, planned),)
    return _transaction(SINGLE, body, policy, comment="--single-transaction: everything in one transaction, as drizzle does")


def _transaction(label: str, body: tuple[Statement, ...], policy: MigratePolicy, *, comment: str = "") -> Unit:
    """BEGIN, the bounds again (LOCAL: nothing before can have loosened them), the body, COMMIT."""
    bounds = (Statement("bound", f"SET LOCAL lock_timeout = {quote_literal(policy.lock_timeout)}"),
              Statement("bound", f"SET LOCAL statement_timeout = {quote_literal(policy.statement_timeout)}"))
    return Unit(label, True, (Statement("begin", BEGIN), *bounds, *body, Statement("commit", "COMMIT")), comment)


def _autocommit(step: Step, planned: PlannedMigration, policy: MigratePolicy) -> Unit:
    """A statement that refuses a transaction; a CONCURRENTLY form gets its own, longer bound (it blocks no writer)."""
    why = "rewritten to CONCURRENTLY by --online" if step.online else "cannot run in a transaction"
    statement = Statement("step", step.sql, f"{step.migration}:{step.line}, autocommit ({why})", planned, step)
    if not step.concurrent:
        return Unit(step.migration, False, (statement,))
    return Unit(step.migration, False, (
        Statement("set", f"SET statement_timeout = {quote_literal(policy.concurrent_statement_timeout)}",
                  "a CONCURRENTLY build blocks no writer: its own bound (migrate.concurrent_statement_timeout)"),
        statement,
        Statement("set", f"SET statement_timeout = {quote_literal(policy.statement_timeout)}", "the usual bound again"),
    ))


def _step(step: Step, planned: PlannedMigration) -> Statement:
    return Statement("step", step.sql, f"{step.migration}:{step.line}", planned, step)


def _tracking_table(plan: MigrationPlan) -> tuple[Statement, ...]:
    if not plan.create_tracking:
        return ()
    ddl = (TRACKING_DDL_V1 if plan.ledger_v1 else TRACKING_DDL).format(schema=quote_ident(plan.tracking_schema),
                                                                       table=quote_ident(plan.tracking_table))
    return (Statement("tracking-table", ddl, "drizzle's tracking table, as drizzle-orm's migrator creates it"),)


def _ledger_upgrade(plan: MigrationPlan) -> tuple[Statement, ...]:
    """drizzle 1.0's two ALTERs, then one UPDATE per old row with the name drizzle 1.0's rule gives it (and why)."""
    if not plan.upgrade:
        return ()
    table = f"{quote_ident(plan.tracking_schema)}.{quote_ident(plan.tracking_table)}"
    out = [Statement("ledger-alter", f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {quote_ident(column)} {kind}",
                     f"drizzle 1.0's column {column}" if position else
                     "the ledger holds 0.45's columns and drizzle 1.0 runs next: its upgrade, planned and approved", column=column)
           for position, (column, kind) in enumerate(Recorder.V1_COLUMNS)]
    for m in plan.upgrade:
        literals = (quote_literal(m.name or ""), str(int(m.row.id)), quote_literal(m.row.hash),
                    "NULL" if m.row.created_at is None else str(int(m.row.created_at)))
        sql = Recorder.NAME_ROW.format(table) % literals
        out.append(Statement("ledger-name", sql, f"row {m.row.id} is {m.name}: {m.explained} (matched by {m.why}); "
                             "it must still hold the hash and created_at observed", match=m))
    return tuple(out)


def _row(plan: MigrationPlan, planned: PlannedMigration) -> Statement:
    """The tracking row as drizzle writes it: (hash, created_at = the journal's when), the id from the sequence."""
    table = f"{quote_ident(plan.tracking_schema)}.{quote_ident(plan.tracking_table)}"
    sql = f'INSERT INTO {table} ("hash", "created_at") VALUES ({quote_literal(planned.hash)}, {int(planned.when)})'
    if plan.ledger_v1:  # drizzle 1.0's ledger: the name is what 1.0 looks for
        sql = (f'INSERT INTO {table} ("hash", "created_at", "name") '
               f'VALUES ({quote_literal(planned.hash)}, {int(planned.when)}, {quote_literal(planned.name)})')
    if planned.action == "baseline":
        return Statement("baseline", sql, f"baseline {planned.tag}: already in the database (evidence checked): recorded, not run", planned)
    return Statement("record", sql, f"{planned.tag}: its tracking row", planned)


# --------------------------------------------------------------------------- the dry run


def plan_sql(plan: MigrationPlan, compiled: dict[str, tuple[Step, ...]], policy: MigratePolicy, *, single_transaction: bool = False) -> str:
    """The exact SQL `inv migrate` runs for `plan`, in order, tracking rows included: its schedule, rendered."""
    units = schedule(plan, compiled, policy, single_transaction=single_transaction)
    header = f"-- pgrunbook migrate plan: scenario {plan.scenario}; {len(plan.baseline)} baseline, {len(plan.apply)} to apply"
    if plan.upgrade:
        header += f"; drizzle 1.0's ledger upgrade first ({len(plan.upgrade)} row(s) named)"
    return "\n".join([header, *render(units)]) + "\n"


def render(units: tuple[Unit, ...]) -> list[str]:
    """Each statement as sent, `;`-terminated, under its comment (a statement ends with a code token, never a comment)."""
    out: list[str] = []
    for unit in units:
        if unit.comment:
            out += ["", *_comment(unit.comment)]
        for statement in unit.statements:
            out += [*_comment(statement.note), statement.sql + ";"]
    return out


def _comment(text: str) -> list[str]:
    return [f"-- {line}" for line in text.splitlines()]


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
