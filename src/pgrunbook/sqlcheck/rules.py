"""The rules: one small unit each, with a stable id, the consequence and the remedy.

A rule looks at operations of some kinds and, when it applies, says what would happen to
the database and its users (`message`) and what to do instead (`help`). Ids never change
once published: reports, allow comments and playbooks refer to them.

Two sorts of rules:

- *Kind rules* (`verdict=None`), exactly one per operation kind: their verdict is the
  policy's verdict for the kind (forbidden, review, or allowed, in which case they say
  nothing). Their id tells the default verdict: `ban-*` for the kinds the ops runbook
  forbids, `review-*` for those it wants a human to review, `policy-*` for the kinds it
  allows (they only speak if a custom policy stops allowing the kind).
- *Qualifier rules* (fixed verdict, which the policy's `rules` map may change): a closer
  look at allowed or reviewed kinds, e.g. `create-index-without-if-not-exists`.

Two rules are about `-- pgrunbook: allow` comments themselves (`unused-allow-comment`,
`allow-comment-missing-reason`); `analysis` applies them.

Executed code (see `classify`): a rule judges an operation the same way wherever it was
found, at the statement that makes it run; its message starts with `op.where`, the path
by which the code runs ("CREATE TRIGGER t ON public.users > call public.f() > DELETE FROM
public.user_actions"). For code created for later (`op.executed` False), `analysis` caps
the verdict at review and appends when it runs ("on every INSERT on public.users"),
unless the rule has `caps_later=False` (writes to the tracking table, code on it: those
are forbidden wherever they are).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .model import Operation, Verdict
from .triggers import changes_parsing, setting_of


@dataclass(frozen=True)
class RuleContext:
    """What a rule may need besides the operation: `new_tables` holds the (schema, table)
    created earlier in the same migration set; they are empty, so scanning or locking
    them costs nothing."""

    new_tables: frozenset[tuple[str, str]] = frozenset()
    journal: frozenset[tuple[str, int]] = frozenset()  # (hash, when) of the local journal entries
    new_indexes: frozenset[tuple[str, str]] = frozenset()  # (schema, index) the set built on one of `new_tables`

    def is_new(self, operation: Operation) -> bool:
        target = operation.target
        if target is None:
            return False
        if target.kind == "index" and target.table is None:  # DROP INDEX / ALTER INDEX name no table
            return (target.schema, target.name) in self.new_indexes
        return (target.schema, target.table or target.name) in self.new_tables


Check = Callable[[Operation, RuleContext], "str | None"]


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    kinds: frozenset[str]
    verdict: Verdict | None
    help: str
    check: Check = field(repr=False, compare=False)
    caps_later: bool = True  # findings of code created for later are capped at review

    @property
    def default_verdict(self) -> str:
        return str(self.verdict) if self.verdict is not None else "per policy"


RULES: dict[str, Rule] = {}


def register(new_rule: Rule) -> Rule:
    if new_rule.id in RULES:  # pragma: no cover - a programming error, caught by the tests
        raise ValueError(f"duplicate rule id {new_rule.id}")
    RULES[new_rule.id] = new_rule
    return new_rule


def rule(rule_id: str, *, kinds: set[str] | frozenset[str], help: str, verdict: Verdict | None = None,
         caps_later: bool = True):
    """Register the decorated check as rule `rule_id`; its docstring describes the rule."""

    def decorate(check: Check) -> Check:
        description = (check.__doc__ or "").strip().splitlines()[0]
        register(Rule(rule_id, description, frozenset(kinds), verdict, help, check, caps_later))
        return check

    return decorate


def rules_for(kind: str) -> tuple[Rule, ...]:
    return _BY_KIND.get(kind, ())


# =========================================================================== forbidden kinds

_DROP_CONSEQUENCES = {
    "table": "deletes the table and every row in it; real users' data would be lost",
    "column": "deletes the column and its value in every row; real users' data would be lost",
    "schema": "deletes the schema (with CASCADE, every table in it and all their rows)",
    "index": "removes the index: queries that use it slow down (and if it is a unique index, duplicates can then be "
             "written)",
    "constraint": (
        "removes the constraint: data breaking it can then be written, and foreign keys stop protecting references"
    ),
    "type": "removes the type (with CASCADE, every column of that type and its data)",
    "sequence": "removes the sequence: inserts that take ids from it start failing",
    "view": "removes the view: the application queries using it start failing",
    "function": "removes the function: whatever calls it (the application, triggers, defaults) starts failing",
    "database": "deletes a whole database",
    "role": "removes a database role: whoever logs in with it is locked out",
    "owned": "drops every object owned by a role, data included",
}


@rule(
    "ban-drop",
    kinds={"drop"},
    help=(
        "Migrations must not drop anything. Keep the object (stop using it in the code "
        "first); if it really must go, remove it by hand in a separate, reviewed "
        "operation after a verified backup."
    ),
)
def ban_drop(op: Operation, ctx: RuleContext) -> str | None:
    """DROP of any object (table, column, index, type, constraint, schema, function...)."""
    kind = op.target.kind if op.target else op.summary.removeprefix("DROP ").split(" ", 1)[0].lower()
    if kind in _PARTS_OF_A_TABLE and op.executed and not op.has("cascade") and _of_a_new_table(op, ctx):
        # a table this set created and nothing has written into: no row to lose, no running code using it
        # (CASCADE may reach objects of other tables: still banned)
        return None
    consequence = _DROP_CONSEQUENCES.get(kind, "removes the object and whatever depends on it")
    cascade = " CASCADE also drops every object depending on it." if op.has("cascade") else ""
    return f"{op.where} {consequence}.{cascade}"


@rule(
    "ban-truncate",
    kinds={"truncate"},
    help="Remove the TRUNCATE. Emptying a table is never part of a schema migration.",
)
def ban_truncate(op: Operation, ctx: RuleContext) -> str:
    """TRUNCATE: every row of the table is deleted at once."""
    return f"{op.where} deletes every row of the table at once; real users' data would be lost."


@rule(
    "ban-delete",
    kinds={"delete"},
    help=(
        "Remove the DELETE from the migration. Cleaning data up is an operation of its "
        "own: run it by hand, reviewed, after a verified backup."
    ),
)
def ban_delete(op: Operation, ctx: RuleContext) -> str:
    """DELETE (also in a CTE, MERGE, function body, DO block or EXECUTE)."""
    scope = "every row of" if op.has("no_where") else "rows of"
    return f"{op.where} deletes {scope} {_table(op)}; real users' data would be lost."


@rule(
    "ban-update",
    kinds={"update"},
    help=(
        "Remove the UPDATE from the migration. Data fixes (backfills) are an operation "
        "of their own: run them by hand, reviewed, in batches, after a verified backup."
    ),
)
def ban_update(op: Operation, ctx: RuleContext) -> str:
    """UPDATE (also ON CONFLICT DO UPDATE, MERGE ... UPDATE, and on drizzle's tracking table)."""
    scope = "every row of" if op.has("no_where") else "existing rows of"
    return f"{op.where} rewrites {scope} {_table(op)}; real users' data would be changed and the old values lost."


@rule(
    "ban-seed-insert",
    kinds={"insert-seed"},
    help=(
        "Remove the INSERT. Seed or reference data goes through the application or a "
        "separate, reviewed data operation, never through a schema migration."
    ),
)
def ban_seed_insert(op: Operation, ctx: RuleContext) -> str:
    """INSERT, COPY FROM or MERGE INSERT into a table other than drizzle's tracking table (seeding)."""
    return (
        f"{op.where} writes data into {_table(op)}, a table holding real users' data (seeding); "
        "migrations must only change the schema."
    )


def _table(op: Operation) -> str:
    return op.target.qualified if op.target is not None else "the table"


@rule(
    "ban-dynamic-sql",
    kinds={"dynamic-sql"},
    help=(
        "Write the statement out in the migration instead of building it at run time, "
        "so that it can be checked; EXECUTE of a constant string is checked like any statement."
    ),
)
def ban_dynamic_sql(op: Operation, ctx: RuleContext) -> str:
    """EXECUTE of SQL built at run time, or code in a language that cannot be analysed."""
    return (
        f"{op.where}: this runs SQL (or code) that is only known at run time; "
        "what it does to the data cannot be checked before it runs."
    )


_DANGEROUS_CONSEQUENCES = {
    "pg_terminate_backend": "ends other sessions: the application's requests in flight fail",
    "pg_cancel_backend": "cancels other sessions' queries: the application's requests in flight fail",
    "lo_unlink": "deletes a large object and its data",
    "dblink_exec": "runs SQL on another database, which cannot be checked",
    "dblink": "runs SQL on another database, which cannot be checked",
    "COPY": "acts on the database server's files or shell",
}


@rule(
    "ban-dangerous-function",
    kinds={"dangerous-call"},
    help="Remove the call: a migration must only change the schema of its own database.",
)
def ban_dangerous_function(op: Operation, ctx: RuleContext) -> str | None:
    """Built-ins with effects beyond the schema: pg_terminate_backend, lo_unlink, dblink_exec, COPY PROGRAM..."""
    if any(flag in _SPECIFIC_FUNCTION_FLAGS for flag in op.flags):
        return None  # a rule of its own says what this built-in does
    name = op.summary.split("(", 1)[0].split()[0]
    consequence = _DANGEROUS_CONSEQUENCES.get(
        name, "acts outside the migrated schema (sessions, files, replication or server settings)"
    )
    return f"{op.where} {consequence}."


# =========================================================================== allowed kinds


def _policy_kind(kind: str, what: str) -> None:
    def check(op: Operation, ctx: RuleContext) -> str:
        return f"{op.where}: {what}, which this policy does not allow without review."

    register(
        Rule(
            f"policy-{kind}",
            f"{what[0].upper()}{what[1:]} (allowed by the runbook's default policy).",
            frozenset({kind}),
            None,
            "The runbook allows this by default; the playbook's policy does not. Ask the policy's owner.",
            check,
        )
    )


_policy_kind("create-index", "creates an index")
_policy_kind("add-column", "adds a column")
_policy_kind("analyze", "refreshes planner statistics")
_policy_kind("insert-tracking", "records a migration in drizzle's tracking table")
_policy_kind("do-block", "runs a DO block without SQL statements")


# =========================================================================== reviewed kinds

# kind -> (rule id, consequence, remedy). One rule each; the same shape, so a table.
_REVIEWED = {
    "alter-column-type": (
        "review-alter-column-type",
        "changes a column's type: PostgreSQL usually rewrites the whole table under an ACCESS EXCLUSIVE lock "
        "(the application waits), and a narrowing conversion can fail or lose precision",
        "Prefer adding a new column, backfilling it outside the migration and switching the code over.",
    ),
    "set-not-null": (
        "review-set-not-null",
        "scans the whole table under an ACCESS EXCLUSIVE lock (the application waits) and fails if any row "
        "holds NULL",
        "Add a CHECK (col IS NOT NULL) NOT VALID constraint, VALIDATE it, then SET NOT NULL "
        "(PostgreSQL 12+ then skips the scan).",
    ),
    "drop-not-null": (
        "review-drop-not-null",
        "lets the column hold NULL: code that assumes a value may break",
        "Check that every reader of the column handles NULL.",
    ),
    "set-default": (
        "review-set-default",
        "changes the default for new rows (existing rows keep their values)",
        "Check that the application expects the new default.",
    ),
    "drop-default": (
        "review-drop-default",
        "removes the default: inserts that omit the column now store NULL or fail",
        "Check that every insert gives the column a value.",
    ),
    "rename": (
        "review-rename",
        "renames an object: the running application still uses the old name and fails until it is redeployed",
        "Rename in steps the running code survives (add the new object, switch the code, drop the old one later).",
    ),
    "add-constraint": (
        "review-add-constraint",
        "adds a constraint: future writes that break it fail",
        "Check that the application never writes data the constraint rejects.",
    ),
    "validate-constraint": (
        "review-validate-constraint",
        "scans the table to validate a constraint and fails if existing rows break it",
        "Check the existing data first (a SELECT for offending rows).",
    ),
    "create-table": (
        "review-create-table",
        "creates a table",
        "Review its columns, types and constraints, then allow it (policy or inline comment).",
    ),
    "create-type": (
        "review-create-type",
        "creates a type",
        "Review it, then allow it (policy or inline comment).",
    ),
    "alter-type": (
        "review-alter-type",
        "changes a type (ADD VALUE cannot run inside a transaction block before PostgreSQL 12, "
        "and the new value cannot be used in the same transaction)",
        "Review it, then allow it (policy or inline comment).",
    ),
    "create-sequence": (
        "review-create-sequence",
        "creates a sequence",
        "Review it, then allow it (policy or inline comment).",
    ),
    "create-schema": (
        "review-create-schema",
        "creates a schema",
        "Review it, then allow it (policy or inline comment).",
    ),
    "create-extension": (
        "review-create-extension",
        "installs an extension, which runs the extension's own scripts with broad privileges",
        "Check the extension is available and approved on the production server.",
    ),
    "create-function": (
        "review-create-function",
        "creates a function or procedure; its body runs whenever it is called",
        "Review the body (its operations are listed separately), then allow it.",
    ),
    "create-trigger": (
        "review-create-trigger",
        "adds a trigger: its function runs on every matching write by the application",
        "Review the trigger function, then allow it.",
    ),
    "create-view": (
        "review-create-view",
        "creates a view",
        "Review it, then allow it (policy or inline comment).",
    ),
    "grant": ("review-grant", "grants privileges", "Check who gets which rights."),
    "revoke": (
        "review-revoke",
        "revokes privileges: whoever relied on them (the application?) starts failing",
        "Check that the application's role keeps what it needs.",
    ),
    "transaction-control": (
        "review-transaction-control",
        "controls the transaction itself: the runbook manages transactions, and cannot roll back "
        "what a COMMIT inside the file already made permanent",
        "Remove BEGIN/COMMIT/ROLLBACK/SAVEPOINT: the runbook handles transactions.",
    ),
    "set": (
        "review-set",
        "changes a session setting; the runbook sets lock_timeout and statement_timeout itself",
        "Remove it unless the migration needs it (search_path changes what unqualified names mean).",
    ),
    "comment-on": (
        "review-comment-on",
        "changes an object's comment (documentation only)",
        "Allow it (policy or inline comment).",
    ),
    "select": (
        "review-select",
        "runs a query in a migration; it changes nothing unless it calls functions that do (listed separately)",
        "Remove it, or allow it if it is intended.",
    ),
    "call": (
        "review-function-call",
        "calls a function this migration set does not define, so what it does cannot be checked",
        "Define the function in the migration set (its body is then checked), or review it and allow the call.",
    ),
    "vacuum": (
        "review-vacuum",
        "runs VACUUM, which cannot run inside a transaction block and can take long on big tables",
        "Run it by hand outside the migration.",
    ),
    "other": (
        "review-unclassified",
        "is a statement this checker has no specific rule for",
        "Review it, then allow it (policy or inline comment).",
    ),
}


# Kinds that cost nothing on a table created earlier in the same pending set and still empty (no row to
# validate, no lock anyone waits on): drizzle-kit adds every foreign key of a new table as its own ALTER
# TABLE. Nor do the kinds whose consequence is for the running application (a default, a NULL, a name it
# uses): the running application does not know a table the run creates; the table's definition as a whole
# is reviewed (`review-create-table`).
_NOTHING_ON_A_NEW_TABLE = frozenset({"add-constraint", "validate-constraint", "alter-column-type", "set-not-null",
                                     "set-default", "drop-default", "drop-not-null", "rename"})


def _of_a_new_table(op: Operation, ctx: RuleContext) -> bool:
    """The operation acts on a table of the set's new (empty) tables, or on its column, index or constraint
    (a renamed function or type that shares a new table's name is not one); never the tracking table."""
    kind = op.target.kind if op.target is not None else None
    return kind in _PARTS_OF_A_TABLE and ctx.is_new(op) and not op.has("tracking_table")


_PARTS_OF_A_TABLE = frozenset({"table", "column", "index", "constraint"})


def _reviewed_kind(kind: str, rule_id: str, consequence: str, remedy: str) -> None:
    def check(op: Operation, ctx: RuleContext) -> str | None:
        if kind in _NOTHING_ON_A_NEW_TABLE and op.executed and _of_a_new_table(op, ctx):
            return None
        if op.has("no_rewrite"):  # varchar(n) -> text, a wider varchar: binary-coercible, no rewrite nor scan
            return None
        if op.has("value_unused"):  # ADD VALUE nothing of the set nor the database uses: no row, no table lock
            return None
        return f"{op.where} {consequence}."

    check.__doc__ = f"{kind}: {consequence}."
    rule(rule_id, kinds={kind}, help=remedy)(check)


for _kind, (_rule_id, _consequence, _remedy) in _REVIEWED.items():
    _reviewed_kind(_kind, _rule_id, _consequence, _remedy)


@rule(
    "review-unanalysable-body",
    kinds={"unanalysable-body"},
    help=(
        "Read the body: if it does nothing the runbook forbids, lift this with a reviewed exception (inline "
        "`-- pgrunbook: allow review-unanalysable-body <why>` before the statement, or a playbook exception pinned "
        "to the file's hash); or declare the variable as `record`, which this checker reads."
    ),
)
def review_unanalysable_body(op: Operation, ctx: RuleContext) -> str:
    """PL/pgSQL PostgreSQL accepts but this checker cannot read without the catalog (a `%ROWTYPE` variable's fields)."""
    return (
        f"{op.where}: PostgreSQL accepts such code, but this checker reads PL/pgSQL without the database's catalog "
        "(a `%ROWTYPE` variable's fields are unknown to it): what the body does when it runs cannot be checked."
    )


_ROW_SECURITY_CONSEQUENCES = {
    "enable": "turns row-level security on: with no policy for it, every role but the table's owner, superusers and "
              "BYPASSRLS roles sees no row of it and can write none (the application too, unless it connects as the "
              "owner)",
    "force": "applies row-level security to the table's owner too: an application connecting as the owner sees only "
             "the rows its policies allow (none without a policy)",
    "disable": "turns row-level security off: every role with privileges on the table sees and writes every row, "
               "whatever the policies say",
    "no_force": "exempts the table's owner from row-level security again: it sees and writes every row",
}


@rule(
    "review-row-level-security",
    kinds={"row-security"},
    help=(
        "Check that the policies the application needs exist (CREATE POLICY, in this migration or before it) and "
        "which role the application connects as; then allow it (policy or reviewed exception)."
    ),
)
def review_row_level_security(op: Operation, ctx: RuleContext) -> str:
    """ENABLE / DISABLE / FORCE ROW LEVEL SECURITY: who sees which rows changes at once."""
    flag = next((f for f in ("no_force", "enable", "disable", "force") if op.has(f)), "enable")
    return f"{op.where} {_ROW_SECURITY_CONSEQUENCES[flag]}."


@rule(
    "review-index-rebuild",
    kinds={"rebuild-index"},
    help=(
        "A rebuild loses no data. On a big table build the new index CONCURRENTLY under another name, then drop "
        "the old one and rename (or run `inv migrate --online`)."
    ),
)
def review_index_rebuild(op: Operation, ctx: RuleContext) -> str:
    """DROP INDEX x then CREATE INDEX x in one migration: drizzle-kit's way to change an index."""
    table = f" on {op.target.schema}.{op.target.table}" if op.target is not None and op.target.table else ""
    return (
        f"{op.where}, then creates it again in the same migration: a rebuild{table}. No row is touched; DROP INDEX "
        "takes an ACCESS EXCLUSIVE lock and the new index is built under a SHARE lock (writes wait for the whole "
        "build; the CREATE INDEX statement is judged on its own)."
    )


@rule(
    "review-constraint-replacement",
    kinds={"replace-constraint"},
    help=(
        "A replacement loses no data. To avoid the validating scan under lock, add the new constraint NOT VALID "
        "under another name, VALIDATE it, then drop the old one."
    ),
)
def review_constraint_replacement(op: Operation, ctx: RuleContext) -> str:
    """DROP CONSTRAINT x then ADD CONSTRAINT x in one migration: drizzle-kit's way to change ON DELETE and the like."""
    return (
        f"{op.where}, then adds it again in the same migration: a constraint replacement (drizzle-kit's way to change "
        "a foreign key's ON DELETE / ON UPDATE, or a CHECK). No row is touched; DROP CONSTRAINT takes an ACCESS "
        "EXCLUSIVE lock on the table until the migration commits, and the new constraint is judged on its own "
        "(a FOREIGN KEY or CHECK without NOT VALID scans every row under that lock)."
    )


# =========================================================================== qualifiers


@rule(
    "create-index-without-if-not-exists",
    kinds={"create-index"},
    verdict=Verdict.REVIEW,
    help="Write CREATE INDEX IF NOT EXISTS, as the runbook allows.",
)
def create_index_without_if_not_exists(op: Operation, ctx: RuleContext) -> str | None:
    """CREATE INDEX without IF NOT EXISTS: not what the runbook allows."""
    if op.has("if_not_exists") or (op.executed and ctx.is_new(op)):
        return None  # on a table this pending set creates, the index cannot exist before the migration
    return (
        f"{op.where} has no IF NOT EXISTS: if the index already exists "
        "(a migration re-run after a partial failure), the migration fails."
    )


@rule(
    "non-concurrent-index",
    kinds={"create-index"},
    verdict=Verdict.INFO,
    help=(
        "On a big table, prefer CREATE INDEX CONCURRENTLY (it cannot run inside a "
        "transaction block) or run the migration in a quiet period."
    ),
)
def non_concurrent_index(op: Operation, ctx: RuleContext) -> str | None:
    """CREATE INDEX without CONCURRENTLY on an existing table: writes wait while it builds."""
    if op.has("concurrently") or ctx.is_new(op):
        return None
    return (
        f"{op.where} blocks writes to the table (SHARE lock) while the index builds; "
        "the application's inserts and updates wait."
    )


@rule(
    "review-add-constraint-validating",
    kinds={"add-constraint"},
    verdict=Verdict.REVIEW,
    help=(
        "Add foreign keys and CHECKs with NOT VALID, then VALIDATE CONSTRAINT in a later "
        "migration (it does not block writes); for UNIQUE/PRIMARY KEY, build the index "
        "CONCURRENTLY first and add the constraint USING INDEX."
    ),
)
def add_constraint_validating(op: Operation, ctx: RuleContext) -> str | None:
    """ADD CONSTRAINT that checks every existing row while holding a lock."""
    if op.has("not_valid") or op.has("using_index") or ctx.is_new(op):
        return None
    if op.has("foreign_key"):
        return (
            f"{op.where} checks every existing row while it holds a lock that blocks writes, "
            "and fails if any row references a row that does not exist (an orphan)."
        )
    if op.has("check"):
        return (
            f"{op.where} checks every existing row while it holds a lock that blocks writes, "
            "and fails if any row breaks it."
        )
    return (
        f"{op.where} builds an index while holding an ACCESS EXCLUSIVE lock (reads and writes wait), "
        "and fails on duplicates."
    )


@rule(
    "review-add-column-volatile-default",
    kinds={"add-column"},
    verdict=Verdict.REVIEW,
    help=(
        "Add the column without a default (or with a constant one), then fill it "
        "outside the migration in batches; serial/identity: same, or a new table."
    ),
)
def add_column_volatile_default(op: Operation, ctx: RuleContext) -> str | None:
    """ADD COLUMN whose value is computed per row (volatile default, serial, identity, stored generated)."""
    if not op.has("volatile_default") or ctx.is_new(op):
        return None
    return (
        f"{op.where} computes a value for every existing row: PostgreSQL rewrites the whole table "
        "under an ACCESS EXCLUSIVE lock; the application waits."
    )


@rule(
    "review-add-column-not-null-without-default",
    kinds={"add-column"},
    verdict=Verdict.REVIEW,
    help="Give the column a DEFAULT, or add it nullable, backfill it, then SET NOT NULL.",
)
def add_column_not_null_without_default(op: Operation, ctx: RuleContext) -> str | None:
    """ADD COLUMN ... NOT NULL without DEFAULT: fails on a table that has rows."""
    if not op.has("not_null") or op.has("has_default") or op.has("primary_key") or ctx.is_new(op):
        return None
    return f"{op.where} is NOT NULL without a DEFAULT: the migration fails as soon as the table holds a row."


# =========================================================================== the tracking table


@rule(
    "ban-tracking-table-write",
    kinds={"insert-tracking", "update", "delete", "truncate"},
    verdict=Verdict.FORBIDDEN,
    caps_later=False,
    help=(
        "Remove the write: only pgrunbook's recorder writes drizzle's tracking table, one row per migration it "
        "applied. To mark migrations as already applied (a baseline), use `inv migrate --baseline-until TAG`."
    ),
)
def ban_tracking_table_write(op: Operation, ctx: RuleContext) -> str | None:
    """Any write to drizzle's tracking table from a migration, except the literal row of a journal entry.

    The tracking table is the ledger drizzle and pgrunbook read to decide what to run: a
    far-future `created_at` makes drizzle skip every later migration, an explicit id or
    several rows corrupt it, rows copied from another table leak data into it. Wherever
    the write is (a CTE, a function, a trigger, a DO block, EXECUTE), even in code that
    runs later, it is forbidden. The only exception is `INSERT INTO <tracking> (hash,
    created_at) VALUES ('<hash>', <when>)` where both equal a local journal entry's: see
    `review-tracking-row-from-journal`.
    """
    if not op.has("tracking_table") or op.has("recorder"):
        return None
    if op.kind == "insert-tracking":
        problem = _tracking_row_problem(op, ctx)
        if problem is None:
            return None
        return (
            f"{op.where} writes drizzle's tracking table itself ({problem}): drizzle and pgrunbook decide from it "
            "which migrations to run, so a forged row makes them skip or re-run migrations."
        )
    verbs = {"update": "rewrites", "delete": "deletes", "truncate": "empties"}
    return (
        f"{op.where} {verbs.get(op.kind, 'changes')} rows of drizzle's tracking table: the record of which "
        "migrations ran is lost, and drizzle would re-run or skip migrations."
    )


def _tracking_row_problem(op: Operation, ctx: RuleContext) -> str | None:
    if op.row is None:
        return "not a single literal row: rows computed by a query, copied, several rows, or ON CONFLICT"
    columns = dict(op.row)
    if set(columns) != {"hash", "created_at"}:
        extra = sorted(set(columns) - {"hash", "created_at"})
        return f"columns {', '.join(extra)} given" if extra else "hash and created_at not both given"
    hash_, when = columns["hash"], columns["created_at"]
    if not isinstance(when, int):
        return f"created_at {when!r} is not a number"
    if (hash_, when) in ctx.journal:
        return None
    if any(h == hash_ for h, _ in ctx.journal):
        return f"created_at {when} is not the `when` of the journal entry with that hash"
    return f"hash {str(hash_)[:16]!r} is not the hash of any local journal entry"


@rule(
    "review-tracking-row-from-journal",
    kinds={"insert-tracking"},
    verdict=Verdict.REVIEW,
    help=(
        "Prefer `inv migrate --baseline-until TAG` to mark migrations as applied. If the row is intended, "
        "allow it with a comment saying why."
    ),
)
def review_tracking_row_from_journal(op: Operation, ctx: RuleContext) -> str | None:
    """A literal tracking row equal to a journal entry's (hash, when): reported at review.

    Review, not info: a file cannot contain its own hash, so such a row always marks
    *another* migration as applied; drizzle will then never run that migration's SQL,
    and pgrunbook records this file's own row as well. It is only right for a deliberate
    baseline, which a human must confirm.
    """
    if not op.has("tracking_table") or op.has("recorder") or _tracking_row_problem(op, ctx) is not None:
        return None
    return (
        f"{op.where} marks a migration of the journal as applied: drizzle will never run its SQL. "
        "Right only for a deliberate baseline."
    )


@rule(
    "ban-tracking-table-code",
    kinds={"create-trigger", "other", "add-column", "set-default", "drop-default", "add-constraint",
           "validate-constraint", "alter-column-type", "set-not-null", "drop-not-null", "rename", "create-index",
           "row-security"},
    verdict=Verdict.FORBIDDEN,
    caps_later=False,
    help=(
        "Remove it: nothing but pgrunbook's recorder may act on drizzle's tracking table, and its shape is "
        "drizzle's."
    ),
)
def ban_tracking_table_code(op: Operation, ctx: RuleContext) -> str | None:
    """A trigger, rule or any schema change on drizzle's tracking table: it acts on pgrunbook's own tracking insert."""
    if not op.has("tracking_table"):
        return None
    if op.has("trigger") or op.has("rule"):
        return (
            f"{op.where} runs on the tracking insert pgrunbook makes for every migration, in the same run: it can "
            "rewrite or drop that record (migrations re-run or skipped) or do anything else its code does."
        )
    if op.has("tracking_ddl"):
        return (
            f"{op.where} changes drizzle's tracking table (or its schema): pgrunbook's tracking insert for this "
            "very migration then evaluates new defaults, checks or index expressions, or fails, and drizzle "
            "may no longer read the ledger."
        )
    return None


# =========================================================================== "harmless" built-ins

# fn:<name> flag -> (rule id, consequence, remedy)
_FUNCTION_RULES = {
    "ban-terminate-backend": (
        ("pg_terminate_backend",),
        "ends other sessions: the application's requests in flight fail, and its connections are dropped",
        "Remove the call. If sessions block the migration, pgrunbook's lock timeout stops it; handle them by hand.",
    ),
    "ban-cancel-backend": (
        ("pg_cancel_backend",),
        "cancels other sessions' queries: the application's requests in flight fail",
        "Remove the call. If sessions block the migration, pgrunbook's lock timeout stops it; handle them by hand.",
    ),
    "ban-dblink": (
        ("dblink_exec", "dblink", "dblink_send_query", "dblink_open"),
        "runs SQL on another database (or this one through a new session, outside the run's transaction): "
        "what it does cannot be checked nor rolled back",
        "Remove the call: a migration changes its own database's schema, in the run's transaction.",
    ),
    "ban-lo-unlink": (
        ("lo_unlink", "lo_truncate", "lo_truncate64"),
        "deletes or truncates a large object: the data it held is lost",
        "Remove the call: large objects are application data.",
    ),
    "ban-pg-sleep": (
        ("pg_sleep", "pg_sleep_for", "pg_sleep_until"),
        "sleeps while holding every lock the migration took so far: the application's queries on those tables "
        "wait for the whole sleep",
        "Remove the sleep: a migration has no reason to wait.",
    ),
    "ban-advisory-unlock": (
        ("pg_advisory_unlock", "pg_advisory_unlock_all", "pg_advisory_unlock_shared"),
        "releases advisory locks of pgrunbook's session, its run lock included: a second run could then start "
        "and apply the same migrations concurrently",
        "Remove the call; use pg_advisory_xact_lock if the migration needs a lock of its own.",
    ),
    "ban-setval": (
        ("setval",),
        "moves a sequence: set back, the application's next inserts get ids already used (duplicate key "
        "errors); set forward, ids jump",
        "Remove the call; fix a sequence by hand, reviewed, after a verified backup.",
    ),
    "ban-sequence-burn": (
        ("nextval",),
        "takes a sequence value for every row or loop iteration: millions of calls burn ids and can exhaust "
        "an integer sequence, after which the application's inserts fail",
        "Remove the loop: a migration has no reason to consume sequence values.",
    ),
}


def _function_rule(rule_id: str, names: tuple[str, ...], consequence: str, remedy: str) -> None:
    flags = frozenset(f"fn:{name}" for name in names)

    def check(op: Operation, ctx: RuleContext) -> str | None:
        if not flags & op.flags:
            return None
        return f"{op.where} {consequence}."

    check.__doc__ = f"{', '.join(names)}: {consequence}."
    rule(rule_id, kinds={"dangerous-call"}, verdict=Verdict.FORBIDDEN, help=remedy)(check)


for _rule_id, (_names, _consequence, _remedy) in _FUNCTION_RULES.items():
    _function_rule(_rule_id, _names, _consequence, _remedy)

_SPECIFIC_FUNCTION_FLAGS = frozenset(f"fn:{n}" for names, _, _ in _FUNCTION_RULES.values() for n in names)


# =========================================================================== settings


@rule(
    "ban-set-parsing-setting",
    kinds={"set"},
    verdict=Verdict.FORBIDDEN,
    help="Remove it: pgrunbook pins these settings for the whole run; SQL must parse the same everywhere.",
)
def ban_set_parsing_setting(op: Operation, ctx: RuleContext) -> str | None:
    """SET / set_config / RESET of a setting that changes how later SQL is parsed (standard_conforming_strings...)."""
    setting = setting_of(op)
    if not changes_parsing(setting):
        return None
    what = {"?": "a setting only known at run time", "*": "every setting (RESET ALL)"}.get(setting, setting)
    return (
        f"{op.where} changes {what}: the statements after it are parsed differently from what this analysis "
        "read, so a string can hide a statement (standard_conforming_strings = off turns a literal into a DELETE)."
    )


@rule(
    "ban-set-search-path",
    kinds={"set"},
    verdict=Verdict.FORBIDDEN,
    help="Remove it and schema-qualify the names instead.",
)
def ban_set_search_path(op: Operation, ctx: RuleContext) -> str | None:
    """SET search_path: unqualified names of the rest of the run resolve elsewhere than this analysis assumed."""
    if setting_of(op) != "search_path":
        return None
    return (
        f"{op.where} changes what unqualified names mean for the rest of the run: a table or function this "
        "analysis resolved in public can then be another one, with other code."
    )


@rule(
    "ban-set-session-role",
    kinds={"set"},
    verdict=Verdict.FORBIDDEN,
    help="Remove it: migrations run as the role pgrunbook connects with, with triggers and foreign keys on.",
)
def ban_set_session_role(op: Operation, ctx: RuleContext) -> str | None:
    """SET session_replication_role / ROLE / SESSION AUTHORIZATION."""
    setting = setting_of(op)
    if setting == "session_replication_role":
        return (
            f"{op.where} turns off triggers and foreign-key checks (replica mode): the run can then write "
            "rows that break references, and the app's audit triggers do not fire."
        )
    if setting in ("role", "session_authorization"):
        return f"{op.where} runs the rest of the migration as another role, with other privileges."
    return None


@rule(
    "ban-set-timeout-off",
    kinds={"set"},
    verdict=Verdict.FORBIDDEN,
    help="Remove it: pgrunbook bounds every statement of the run; set a shorter timeout if needed, never none.",
)
def ban_set_timeout_off(op: Operation, ctx: RuleContext) -> str | None:
    """SET statement_timeout / lock_timeout = 0 (or DEFAULT, RESET): removes the bound pgrunbook puts on statements."""
    if not op.has("timeout_off"):
        return None
    return (
        f"{op.where} removes the bound pgrunbook puts on every statement: a statement can then hold its locks "
        "(and the application) for as long as it runs."
    )


# =========================================================================== data-dependent danger


@rule(
    "review-unique-index-concurrently",
    kinds={"create-index"},
    verdict=Verdict.REVIEW,
    help=(
        "Check for duplicates first (the pre-flight checks count them); if the build fails, DROP INDEX "
        "CONCURRENTLY the invalid index before retrying."
    ),
)
def review_unique_index_concurrently(op: Operation, ctx: RuleContext) -> str | None:
    """CREATE UNIQUE INDEX CONCURRENTLY on an existing table: a failed build leaves an INVALID index."""
    if not (op.has("unique") and op.has("concurrently")) or ctx.is_new(op):
        return None
    return (
        f"{op.where} fails if existing rows hold duplicates, and a failed CONCURRENTLY build is not rolled back: "
        "it leaves an INVALID index that slows every write and still rejects new duplicates."
    )


@rule(
    "review-unique-index",
    kinds={"create-index"},
    verdict=Verdict.REVIEW,
    help=(
        "Check for duplicates first (the pre-flight checks count them); on a big table build it CONCURRENTLY "
        "in a migration of its own."
    ),
)
def review_unique_index(op: Operation, ctx: RuleContext) -> str | None:
    """CREATE UNIQUE INDEX on an existing table: fails on duplicates, after blocking writes for the whole build."""
    if not op.has("unique") or op.has("concurrently") or ctx.is_new(op):
        return None
    return (
        f"{op.where} blocks writes to the table (SHARE lock) for the whole build and then fails if existing "
        "rows hold duplicates: the migration stops and rolls back."
    )


@rule(
    "review-add-column-constraint",
    kinds={"add-column"},
    verdict=Verdict.REVIEW,
    help=(
        "Add the column plain, then add the constraint NOT VALID (CHECK, FOREIGN KEY) and VALIDATE it later, or "
        "build a UNIQUE index CONCURRENTLY and add the constraint USING INDEX."
    ),
)
def review_add_column_constraint(op: Operation, ctx: RuleContext) -> str | None:
    """ADD COLUMN with CHECK / UNIQUE / PRIMARY KEY / REFERENCES / EXCLUDE on an existing table."""
    found = [name for flag, name in _COLUMN_CONSTRAINTS if op.has(flag)]
    if not found or ctx.is_new(op):
        return None
    return (
        f"{op.where} with {', '.join(found)} checks every existing row (a full scan, an index build for UNIQUE) "
        "while holding an ACCESS EXCLUSIVE lock: the application waits, and the migration fails if a row breaks it."
    )


_COLUMN_CONSTRAINTS = (("check", "CHECK"), ("unique", "UNIQUE"), ("primary_key", "PRIMARY KEY"),
                       ("foreign_key", "REFERENCES"), ("exclusion", "EXCLUDE"))


@rule(
    "review-fk-on-delete-cascade",
    kinds={"add-column", "add-constraint"},
    verdict=Verdict.REVIEW,
    help="Check that deleting a referenced row must delete these rows too; otherwise use ON DELETE RESTRICT or SET NULL.",
)
def review_fk_on_delete_cascade(op: Operation, ctx: RuleContext) -> str | None:
    """A foreign key ON DELETE CASCADE added to an existing table: later deletes remove its rows too."""
    if not op.has("on_delete_cascade") or ctx.is_new(op):
        return None
    referenced = next((f.removeprefix("references:") for f in op.flags if f.startswith("references:")), "?")
    return (
        f"{op.where} makes every later delete of a row of {referenced} (by the application) also delete the "
        f"matching rows of {op.target.schema}.{op.target.table or op.target.name}, rows that exist today."
    )


@rule(
    "review-plpgsql-loop",
    kinds={"do-block"},
    verdict=Verdict.REVIEW,
    help="Remove the loop, or bound it (FOR i IN 1..n); a migration must finish quickly and predictably.",
)
def review_plpgsql_loop(op: Operation, ctx: RuleContext) -> str | None:
    """LOOP / WHILE in PL/pgSQL: runs until its own exit, holding every lock taken so far."""
    if not op.has("loop"):
        return None
    return (
        f"{op.where} runs until its own EXIT or condition, holding every lock the migration took so far: "
        "the application waits, possibly until the statement timeout."
    )


# =========================================================================== allow comments


def _never(op: Operation, ctx: RuleContext) -> None:  # comments are checked by `analysis`
    return None


register(
    Rule(
        "unused-allow-comment",
        "A `pgrunbook: allow` comment that excepts nothing: a stale or misplaced exception hides intent.",
        frozenset(),
        Verdict.REVIEW,
        "Remove the comment, or fix its rule id or its placement "
        "(it applies to the statement after it, or to the one on its line).",
        _never,
    )
)
register(
    Rule(
        "allow-comment-missing-reason",
        "A `pgrunbook: allow <rule-id>` comment without a reason: exceptions must say why.",
        frozenset(),
        Verdict.REVIEW,
        "Write the reason after the rule id: `-- pgrunbook: allow <rule-id> <why this is safe>`.",
        _never,
    )
)

register(
    Rule(
        "unparsable-file",
        "A migration file this checker cannot parse (only reported for files already applied: a file to apply "
        "that does not parse stops the analysis with its file:line:column).",
        frozenset(),
        Verdict.REVIEW,
        "Nothing to do for a file the database already ran; if it is to be applied, fix its SQL.",
        _never,
    )
)

register(
    Rule(
        "exception-file-changed",
        "A playbook exception pinned to another sha256 than the file's: the file changed since it was reviewed.",
        frozenset(),
        Verdict.REVIEW,
        "Review the file as it is now; if the exception still holds, pin its new sha256 in the playbook "
        "(`inv analyze --json` shows each migration's hash); otherwise remove the exception.",
        _never,
    )
)

COMMENT_RULES = frozenset({"unused-allow-comment", "allow-comment-missing-reason"})

_BY_KIND: dict[str, tuple[Rule, ...]] = {}
for _rule in RULES.values():
    for _kind in _rule.kinds:
        _BY_KIND[_kind] = _BY_KIND.get(_kind, ()) + (_rule,)
