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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .model import Operation, Verdict


@dataclass(frozen=True)
class RuleContext:
    """What a rule may need besides the operation: `new_tables` holds the (schema, table)
    created earlier in the same migration set; they are empty, so scanning or locking
    them costs nothing."""

    new_tables: frozenset[tuple[str, str]] = frozenset()

    def is_new(self, operation: Operation) -> bool:
        target = operation.target
        if target is None:
            return False
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

    @property
    def default_verdict(self) -> str:
        return str(self.verdict) if self.verdict is not None else "per policy"


RULES: dict[str, Rule] = {}


def register(new_rule: Rule) -> Rule:
    if new_rule.id in RULES:  # pragma: no cover - a programming error, caught by the tests
        raise ValueError(f"duplicate rule id {new_rule.id}")
    RULES[new_rule.id] = new_rule
    return new_rule


def rule(rule_id: str, *, kinds: set[str] | frozenset[str], help: str, verdict: Verdict | None = None):
    """Register the decorated check as rule `rule_id`; its docstring describes the rule."""

    def decorate(check: Check) -> Check:
        description = (check.__doc__ or "").strip().splitlines()[0]
        register(Rule(rule_id, description, frozenset(kinds), verdict, help, check))
        return check

    return decorate


def rules_for(kind: str) -> tuple[Rule, ...]:
    return _BY_KIND.get(kind, ())


# =========================================================================== forbidden kinds

_DROP_CONSEQUENCES = {
    "table": "deletes the table and every row in it; real users' data would be lost",
    "column": "deletes the column and its value in every row; real users' data would be lost",
    "schema": "deletes the schema (with CASCADE, every table in it and all their rows)",
    "index": "removes the index: queries that use it slow down, and a unique index stops preventing duplicates",
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
def ban_drop(op: Operation, ctx: RuleContext) -> str:
    """DROP of any object (table, column, index, type, constraint, schema, function...)."""
    kind = op.target.kind if op.target else op.summary.removeprefix("DROP ").split(" ", 1)[0].lower()
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
    scope = "every row of the table" if op.has("no_where") else "rows"
    return f"{op.where} deletes {scope}; real users' data would be lost."


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
    scope = "every row of the table" if op.has("no_where") else "existing rows"
    return f"{op.where} rewrites {scope}; real users' data would be changed and the old values lost."


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
        f"{op.where} writes data into a table holding real users' data (seeding); "
        "migrations must only change the schema."
    )


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
def ban_dangerous_function(op: Operation, ctx: RuleContext) -> str:
    """Built-ins with effects beyond the schema: pg_terminate_backend, lo_unlink, dblink_exec, COPY PROGRAM..."""
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
        "scans the whole table under an ACCESS EXCLUSIVE lock and fails if any row holds NULL",
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


def _reviewed_kind(kind: str, rule_id: str, consequence: str, remedy: str) -> None:
    def check(op: Operation, ctx: RuleContext) -> str:
        return f"{op.where} {consequence}."

    check.__doc__ = f"{kind}: {consequence}."
    rule(rule_id, kinds={kind}, help=remedy)(check)


for _kind, (_rule_id, _consequence, _remedy) in _REVIEWED.items():
    _reviewed_kind(_kind, _rule_id, _consequence, _remedy)


# =========================================================================== qualifiers


@rule(
    "create-index-without-if-not-exists",
    kinds={"create-index"},
    verdict=Verdict.REVIEW,
    help="Write CREATE INDEX IF NOT EXISTS, as the runbook allows.",
)
def create_index_without_if_not_exists(op: Operation, ctx: RuleContext) -> str | None:
    """CREATE INDEX without IF NOT EXISTS: not what the runbook allows."""
    if op.has("if_not_exists"):
        return None
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
    if op.has("foreign_key") or op.has("check"):
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

COMMENT_RULES = frozenset({"unused-allow-comment", "allow-comment-missing-reason"})

_BY_KIND: dict[str, tuple[Rule, ...]] = {}
for _rule in RULES.values():
    for _kind in _rule.kinds:
        _BY_KIND[_kind] = _BY_KIND.get(_kind, ()) + (_rule,)
