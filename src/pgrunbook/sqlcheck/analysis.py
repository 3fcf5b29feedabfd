"""The public entry points: a migration file's text in, its analysis out.

    analysis = analyze_sql(text, file="0011_add_performance_indexes.sql")
    analysis.verdict      # Verdict.ALLOWED / REVIEW / FORBIDDEN
    analysis.findings     # what the rules say, excepted findings included
    analysis.created      # the objects the migration creates

A file is judged by its worst finding: forbidden > review > allowed (`info` findings do
not count). Findings excepted by an allow comment stay in `findings`, with verdict
ALLOWED and the comment's reason in `excepted`, so that a report shows every exception.

Executed code: operations of code the run executes (a called function, a trigger fired
by a write of the run or by pgrunbook's own tracking insert, an event trigger, an index
expression, a default evaluated on existing rows...) are judged like the statements of
the file, and their forbidden findings are never lifted by an inline comment, whatever
the policy's `inline_allow`. Operations of code created for later are capped at review,
with when it runs in the message; a comment lifts them only if the policy lets comments
lift the verdict they would have if they ran now.

Two optional inputs make the analysis see what the files do not hold: `catalog` (a
`CodeCatalog` of the database's functions, triggers, rules and event triggers) and
`journal` ((hash, when) of the local journal entries, for the tracking-table rules).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import pglast
import pglast.parser
from pglast import ast

from pgrunbook.errors import SqlParseError

from .catalog_model import EMPTY_CATALOG, CodeCatalog
from .classify import Classifier, FunctionDef
from .comments import AllowComment, allow_comments
from .ddl import no_rewrite, walk
from .model import CreatedObject, Finding, Operation, Verdict
from .objects import created_objects
from .policy import DEFAULT_POLICY, Policy
from .rules import RULES, RuleContext, rules_for
from .split import split_sql
from .triggers import CodeRegistry

# (hash, when) pairs; drizzle Migrations or a LocalMigrations are accepted too.
Journal = Iterable[tuple[str, int]] | object
# Kinds that are not DDL: a file made only of these does not fire event triggers.
_NOT_DDL = frozenset({"select", "insert-tracking", "insert-seed", "update", "delete", "set", "transaction-control",
                      "call", "dangerous-call", "analyze", "vacuum", "do-block"})
RECORDING = "(pgrunbook's tracking insert after this file, and the event triggers its DDL fires)"

SQUAWK_PREFIX = "squawk:"
NOT_EXECUTED_NOTE = (
    " (Not run by this migration itself: it runs whenever the function, rule or prepared statement holding it is used.)"
)


@dataclass(frozen=True)
class AnalyzedStatement:
    index: int
    line: int
    end_line: int
    sql: str
    operations: tuple[Operation, ...]
    # Every operation it runs acts on a table this migration set creates (in this statement or before): no
    # row to scan or validate, no lock anyone waits on. squawk, which reads one file alone, cannot know it.
    on_new_tables: bool = False


@dataclass(frozen=True)
class FileAnalysis:
    """Everything `sqlcheck` knows about one migration file."""

    file: str
    statements: tuple[AnalyzedStatement, ...]
    findings: tuple[Finding, ...]
    allow_comments: tuple[AllowComment, ...]
    verdict: Verdict
    created: tuple[CreatedObject, ...]
    functions: tuple[FunctionDef, ...] = field(default=(), repr=False)
    # What pgrunbook's run makes happen for this file besides its statements (see
    # `Classifier.recording`): operations of the tracking table's triggers and rules,
    # and of event triggers.
    run_operations: tuple[Operation, ...] = ()
    # Set (with `analyze_files(strict=False)`) when the file does not parse: nothing else is known.
    parse_error: SqlParseError | None = field(default=None, compare=False, repr=False)

    @property
    def operations(self) -> tuple[Operation, ...]:
        return tuple(op for statement in self.statements for op in statement.operations)

    @property
    def exceptions(self) -> tuple[Finding, ...]:
        """The findings an allow comment excepted."""
        return tuple(f for f in self.findings if f.excepted is not None)

    @property
    def blocking(self) -> tuple[Finding, ...]:
        """The findings that stop the migration (forbidden) or need a human (review)."""
        return tuple(f for f in self.findings if f.verdict in (Verdict.REVIEW, Verdict.FORBIDDEN))

    def rule_ids(self, *verdicts: Verdict) -> tuple[str, ...]:
        """Sorted ids of the rules with findings of these verdicts (default: blocking ones)."""
        wanted = verdicts or (Verdict.REVIEW, Verdict.FORBIDDEN)
        return tuple(sorted({f.rule_id for f in self.findings if f.verdict in wanted}))


def analyze_sql(
    text: str, *, file: str, policy: Policy = DEFAULT_POLICY, catalog: CodeCatalog | None = None, journal: Journal = ()
) -> FileAnalysis:
    """Analyse one migration file. Raises SqlParseError (file:line:col) if it does not parse."""
    return _Analyzer(policy, catalog, journal).analyze(text, file)


def analyze_files(
    migrations: Iterable[str | os.PathLike[str] | tuple[str, str]],
    policy: Policy = DEFAULT_POLICY,
    *,
    catalog: CodeCatalog | None = None,
    journal: Journal = (),
    strict: bool = True,
    absent_tables: Iterable[tuple[str, str]] = (),
    column_types: Mapping[tuple[str, str, str], str] | None = None,
) -> tuple[FileAnalysis, ...]:
    """Analyse a migration set in order: paths (read as UTF-8) or (name, text) pairs.

    Files are analysed as one sequence: a function created by one file and called by a
    later one is followed into its body, a trigger created by one file fires on a later
    file's writes, and a table created by an earlier file counts as new (empty) for the
    rules about locks and scans. `catalog` is the code already in the database,
    `journal` the (hash, when) pairs of the local journal entries.

    `strict` (the default) raises SqlParseError on the first file that does not parse.
    `strict=False` keeps going: such a file gets an analysis holding only the error
    (`parse_error`, one `unparsable-file` finding, nothing created). Planning reads the
    files already applied that way: PostgreSQL ran them, so one our parser rejects must
    not block the migrations still to apply (those are always analysed strictly).

    `absent_tables`: (schema, table) the live database does not hold; a CREATE TABLE IF NOT
    EXISTS of one of them creates a new, empty table (else it may meet one with rows).
    `column_types`: (schema, table, column) -> `text` / `varchar` / `varchar(n)`, the live
    database's types of the columns the set changes (`ddl.catalog_type`): a change PostgreSQL
    makes without a rewrite (varchar(n) -> text, a wider varchar) is then not reviewed.
    """
    analyzer = _Analyzer(policy, catalog, journal, absent_tables, column_types)
    items = [_read(item) for item in migrations]
    analyzer.code_text = _code_text(items, catalog)
    analyses = []
    for name, text in items:
        try:
            analyses.append(analyzer.analyze(text, name))
        except SqlParseError as error:
            if strict:
                raise
            analyses.append(unparsed(name, error))
    return tuple(analyses)


def unparsed(file: str, error: SqlParseError) -> FileAnalysis:
    """The analysis of a file that does not parse: its error, and nothing else known."""
    rule = RULES["unparsable-file"]
    finding = Finding(rule.id, rule.verdict, f"{error}: this file was not analysed.", rule.help, file, error.line, "")
    return FileAnalysis(file, (), (finding,), (), finding.verdict, (), parse_error=error)


def with_findings(analysis: FileAnalysis, extra: Iterable[Finding], policy: Policy = DEFAULT_POLICY) -> FileAnalysis:
    """The analysis with findings from another tool (squawk) merged in: `squawk:` allow
    comments are applied to them, and the verdict is recomputed."""
    located = []
    for finding in extra:
        if finding.rule_id.startswith(SQUAWK_PREFIX):  # the playbook's `rules` set squawk's verdicts like ours
            verdict = policy.tool_verdict(finding.rule_id, finding.verdict)
            if verdict is Verdict.ALLOWED:
                continue
            finding = replace(finding, verdict=verdict)
        index = _statement_of(analysis, finding)
        if finding.rule_id in SQUAWK_MOOT_ON_NEW_TABLES and finding.verdict.rank > Verdict.INFO.rank and _on_new(analysis, index):
            finding = replace(finding, verdict=Verdict.INFO, message=finding.message + " (pgrunbook: on a table this migration "
                              "set creates, still empty: no row to scan or validate, no lock anyone waits on, no "
                              "running code using it)")
        if finding.rule_id == SQUAWK_TYPE_CHANGE and finding.verdict.rank > Verdict.INFO.rank and _no_rewrite(analysis, index):
            # squawk cannot know the column's type before; we do: no rewrite, no scan, only a brief lock.
            finding = replace(finding, verdict=Verdict.INFO, message=finding.message + " (pgrunbook: binary-coercible "
                              "from the column's current type: no table rewrite nor scan)")
        same = _same_as_ours(analysis, index, finding)
        if same is not None:
            finding = replace(finding, verdict=Verdict.INFO, message=finding.message + f" (pgrunbook: the same hazard "
                              f"as [{same}] on this statement)")
        located.append((index, finding))
    located = _apply_allow_comments(located, analysis.allow_comments, policy, analysis.file, squawk=True)
    findings = analysis.findings + tuple(finding for _, finding in located)
    return replace(analysis, findings=findings, verdict=Verdict.worst(f.verdict for f in findings))


# --------------------------------------------------------------------------- analysis


class _Analyzer:
    """Analyses the files of one migration set in order, sharing what earlier files created."""

    def __init__(self, policy: Policy, catalog: CodeCatalog | None = None, journal: Journal = (),
                 absent_tables: Iterable[tuple[str, str]] = (),
                 column_types: Mapping[tuple[str, str, str], str] | None = None) -> None:
        self.policy = policy
        self.absent_tables = frozenset(absent_tables)
        self.column_types = dict(column_types or {})
        self.functions: dict[tuple[str, str], FunctionDef] = {}
        self.new_tables: set[tuple[str, str]] = set()
        self.index_tables: dict[tuple[str, str], tuple[str, str]] = {}  # (schema, index) -> (schema, table)
        self.code = CodeRegistry(catalog if catalog is not None else EMPTY_CATALOG)
        self.catalog = catalog
        self.journal = journal_pairs(journal)
        self.code_text: _Constants | None = None  # where an enum value added could be used; None: the file's

    def analyze(self, text: str, file: str) -> FileAnalysis:
        split = split_sql(text, file=file)
        classifier = Classifier(
            file=file, tracking_tables=self.policy.tracking_tables, functions=self.functions, code=self.code
        )
        statements, located = [], []
        classified = _replacements([classifier.statement(statement) for statement in split.statements],
                                   self.policy.tracking_tables)
        classified = [self._type_changes(operations) for operations in classified]
        code_text = self.code_text if self.code_text is not None else _code_text([(file, text)], self.catalog)
        classified = [_unused_enum_values(operations, code_text) for operations in classified]
        for statement, operations in zip(split.statements, classified):
            before = self._context()
            for op in operations:  # in order: a DO block's INSERT makes its table non-empty for what follows
                context = self._context()
                located += [(statement.index, f) for f in self._findings(op, statement.sql, file, context)]
                self._track_new_tables(op)
            # on new tables: after the statement (it may create them); a rename, before (it moves the name)
            renames = bool(operations) and all(op.kind == "rename" for op in operations)
            on_new = _on_new_tables(operations, self._context()) or (renames and _on_new_tables(operations, before))
            statements.append(AnalyzedStatement(statement.index, statement.line, statement.end_line, statement.sql, operations,
                                                on_new))
        ddl_ran = any(op.kind not in _NOT_DDL for s in statements for op in s.operations if op.executed)
        last_line = split.statements[-1].end_line if split.statements else 1
        run_operations = classifier.recording(last_line, ddl_ran=ddl_ran)
        context = self._context()
        located += [(None, f) for op in run_operations for f in self._findings(op, RECORDING, file, context)]
        for op in run_operations:  # what fires on pgrunbook's tracking row may write into the set's new tables
            self._track_new_tables(op)
        comments = tuple(allow_comments(split.comments, split.statements))
        located = _apply_allow_comments(located, comments, self.policy, file, squawk=False)
        findings = tuple(finding for _, finding in located)
        new_functions = tuple(f for k, f in classifier.functions.items() if self.functions.get(k) is not f)
        self.functions = classifier.functions
        all_operations = [op for statement in statements for op in statement.operations]
        return FileAnalysis(
            file=file,
            statements=tuple(statements),
            findings=findings,
            allow_comments=comments,
            verdict=Verdict.worst(f.verdict for f in findings),
            created=created_objects(all_operations),
            functions=new_functions,
            run_operations=run_operations,
        )

    def _findings(self, op: Operation, statement: str, file: str, context: RuleContext) -> Iterable[Finding]:
        for rule in rules_for(op.kind):
            message = rule.check(op, context)
            if message is None:
                continue
            verdict = self.policy.rule_verdict(rule, op)
            if verdict is Verdict.ALLOWED:
                continue
            uncapped = None
            if not op.executed and rule.caps_later:
                # Code created for later (a trigger on an app table, a function nobody
                # calls): a human must look at it, but creating it destroys nothing now.
                if verdict.rank > Verdict.REVIEW.rank:
                    uncapped, verdict = verdict, Verdict.REVIEW
                message += f" It runs later, {op.runs}, not during this migration." if op.runs else NOT_EXECUTED_NOTE
            waivable = not (op.implicit and op.executed and verdict is Verdict.FORBIDDEN)
            objects = (op.target.qualified,) if op.target is not None else ()
            yield Finding(rule.id, verdict, message, rule.help, file, op.line, statement, waivable=waivable,
                          uncapped=uncapped, objects=objects)

    def _type_changes(self, operations: tuple[Operation, ...]) -> tuple[Operation, ...]:
        """Mark `no_rewrite` the type changes PostgreSQL makes without rewriting or scanning the table
        (varchar(n) -> text, a wider varchar...), from the column's type before: the live database's
        (`column_types`) or an earlier change of the set; and remember each new type."""
        result = []
        for op in operations:
            if op.kind == "alter-column-type" and op.executed and op.target is not None:
                key = (op.target.schema, op.target.table or "", op.target.name)
                new = next((f[3:] for f in op.flags if f.startswith("to:")), None)
                if not (op.has("using") or op.has("collate")) and no_rewrite(self.column_types.get(key), new):
                    op = replace(op, flags=op.flags | {"no_rewrite"})
                if new is None or op.has("using") or op.has("collate"):
                    self.column_types.pop(key, None)
                else:
                    self.column_types[key] = new
            result.append(op)
        return tuple(result)

    def _context(self) -> RuleContext:
        new_indexes = frozenset(index for index, table in self.index_tables.items() if table in self.new_tables)
        return RuleContext(frozenset(self.new_tables), self.journal, new_indexes)

    def _track_new_tables(self, op: Operation) -> None:
        """Keep `new_tables` = the tables this set created that are still provably empty, as the operations run.

        CREATE TABLE IF NOT EXISTS may meet a table that exists, with rows: not new, unless the live database
        said it is absent (`absent_tables`). A table written into (INSERT, COPY, MERGE, ATTACH...) stops being
        empty; a dropped one is gone; a rename moves the name (a table with rows may take a new table's name);
        code we cannot read (dynamic SQL, an unanalysable body; without a catalog, a call) may have written anywhere.
        """
        if not op.executed:
            return
        target = op.target
        # The indexes the set builds for sure, and their table (DROP INDEX names none). Not those built IF NOT
        # EXISTS or inside code (dittofeed's `IF NOT EXISTS (SELECT ... FROM pg_indexes ...)`): an index of that
        # name may already exist, on another table with rows, and a later DROP INDEX drops that one.
        for created in op.creates if not (op.via or op.has("if_not_exists")) else ():
            if created.kind == "index" and created.table is not None:
                self.index_tables[(created.schema, created.name)] = (created.schema, created.table)
        if op.kind == "drop" and target is not None and target.kind == "index":
            self.index_tables.pop((target.schema, target.name), None)
        if op.kind in _UNKNOWN_CODE or (op.kind == "call" and self.catalog is None):
            self.new_tables.clear()
        elif target is None:
            return
        elif op.kind == "create-table":
            key = (target.schema, target.name)
            if not op.has("if_not_exists") or key in self.absent_tables:
                self.new_tables.add(key)
        elif target.kind == "table" and op.kind in _FILLS_A_TABLE | {"drop", "rename"}:
            key = (target.schema, target.name)
            was_new = key in self.new_tables
            self.new_tables.discard(key)
            if op.kind == "rename" and op.new_name:
                moved = (op.new_name, target.name) if op.has("set_schema") else (target.schema, op.new_name)
                (self.new_tables.add if was_new else self.new_tables.discard)(moved)


UNREADABLE = "\x00unreadable\x00"  # in `_Constants.loose`: a constant we could not decode (mentions every value)


@dataclass(frozen=True)
class _Constants:
    """Where an enum value a file adds could be used in the run's transaction: the string constants of the set
    (`exact`, decoded) and texts we could not split into constants (`loose`, searched as a whole)."""

    exact: frozenset[str]
    loose: str

    def mention(self, value: str) -> bool:
        """A constant equal to the value, an array or record literal holding it, or any text holding it."""
        return (UNREADABLE in self.loose or value in self.exact or value in self.loose or value.replace("'", "''") in self.loose
                or any(c[:1] in "{(" and value in c for c in self.exact))


def _code_text(items: Iterable[tuple[str, str]], catalog: CodeCatalog | None) -> _Constants:
    """The string constants of the set's statements (PostgreSQL's parser decodes E'' and dollar quotes), of
    function and DO bodies (PostgreSQL's scanner), other options, trigger arguments; not identifiers (a table
    named like the value uses nothing), nor the plain `ALTER TYPE ... ADD VALUE`s themselves. The database's
    function bodies (PL/pgSQL binds its constants when it runs) and a file that does not parse: whole."""
    exact: set[str] = set()
    loose: list[str] = []
    for name, text in items:
        try:
            statements = split_sql(text, file=name).statements
        except SqlParseError:
            loose.append(text)
            continue
        for statement in statements:
            if not (isinstance(statement.node, ast.AlterEnumStmt) and statement.node.oldVal is None):
                _strings_of(statement.node, exact, loose)
    for function in catalog.functions if catalog is not None else ():
        loose += [function.source, function.definition or ""]
    return _Constants(frozenset(exact), "\n".join(loose))


def _strings_of(node: object, exact: set[str], loose: list[str]) -> None:
    for child in walk(node):
        if isinstance(child, ast.A_Const) and isinstance(child.val, ast.String):
            exact.add(child.val.sval)
        elif isinstance(child, (ast.DefElem, ast.CreateTrigStmt)):
            values = child.arg if isinstance(child, ast.DefElem) else child.args
            for value in values if isinstance(values, (list, tuple)) else (values,):
                if isinstance(value, ast.String):
                    if isinstance(child, ast.DefElem) and child.defname == "as":
                        _body_strings(value.sval, exact, loose)
                    else:
                        exact.add(value.sval)


def _body_strings(body: str, exact: set[str], loose: list[str]) -> None:
    """The string constants of a function or DO body (PostgreSQL's scanner), decoded (E'' and U&'' by its
    parser), a dollar-quoted one scanned in turn (a body inside a body); the whole body when it does not scan."""
    try:
        tokens = [body[t.start:t.end + 1] for t in pglast.parser.scan(body) if t.name in ("SCONST", "USCONST")]
    except Exception:  # noqa: BLE001 - any scanner error: the whole text, which is safer
        loose.append(body)
        return
    for token in tokens:
        if token.startswith("'") and token.endswith("'") and len(token) >= 2:
            exact.add(token[1:-1].replace("''", "'"))
        elif token.startswith("$") and token.count("$") >= 4:
            tag = token[:token.index("$", 1) + 1]
            inner = token[len(tag):-len(tag)]
            exact.add(inner)
            _body_strings(inner, exact, loose)
        else:  # E'' / U&'': PostgreSQL's parser decodes it
            try:
                exact.add(pglast.parse_sql(f"SELECT {token}")[0].stmt.targetList[0].val.val.sval)
            except Exception:  # noqa: BLE001 - a constant we cannot read may hold any value
                loose.append(UNREADABLE)


def _unused_enum_values(operations: tuple[Operation, ...], constants: _Constants) -> tuple[Operation, ...]:
    """Mark `value_unused` an `ALTER TYPE ... ADD VALUE 'v'` of the file itself whose value no statement of the
    set nor any function of the database mentions: PostgreSQL (12+) adds it without touching a row nor locking a
    table, and nothing can use it in the same transaction (which fails with "unsafe use of new value")."""
    result = []
    for op in operations:
        value = op.new_name
        if (op.kind == "alter-type" and op.has("add_value") and op.executed and not op.via and value
                and not constants.mention(value)):
            op = replace(op, flags=op.flags | {"value_unused"})
        result.append(op)
    return tuple(result)


# Operations after which a table the set created may hold rows, or any table may (code we cannot follow).
# Not `call` when the database's code is known (`catalog`): a function neither the set nor the database
# defines is then a built-in (none writes an app's table; those that reach outside are `dangerous-call`) or
# missing (the statement fails); the code of the set's and the database's functions is followed, its writes
# are operations of their own. Without a catalog, a `call` may be any function of the database: unknown code.
_FILLS_A_TABLE = frozenset({"insert-seed", "other"})
_UNKNOWN_CODE = frozenset({"dynamic-sql", "unanalysable-body"})


def _replacements(classified: list[tuple[Operation, ...]], tracking_tables: Iterable[tuple[str, str]] = ()
                  ) -> list[tuple[Operation, ...]]:
    """drizzle-kit changes an index or a constraint by dropping it and creating it again under the same name,
    in one file: such a DROP is a rebuild (`rebuild-index`) or a replacement (`replace-constraint`), not a loss.

    Only the file's own statements (executed, not found inside code), a DROP without CASCADE (CASCADE also
    drops what depends on the object: still `drop`), and a re-creation later in the same file on the same
    table; never on the tracking table (nothing but pgrunbook's recorder may act on it)."""
    tracking = frozenset(tracking_tables)

    def own(op: Operation) -> bool:
        return op.executed and not op.via and not op.implicit and op.target is not None

    def key(op: Operation) -> tuple[str, str, str | None, str]:
        return (op.target.kind, op.target.schema, op.target.table if op.target.kind == "constraint" else None,
                op.target.name)

    result = [list(ops) for ops in classified]
    for i, ops in enumerate(result):
        for j, op in enumerate(ops):
            if op.kind != "drop" or not own(op) or op.has("cascade") or op.target.kind not in ("index", "constraint"):
                continue
            wanted = "create-index" if op.target.kind == "index" else "add-constraint"
            later = [o for ops_after in result[i:] for o in ops_after if o is not op]
            again = next((o for o in later if o.kind == wanted and own(o) and key(o) == key(op)), None)
            if again is None or (again.target.schema, again.target.table) in tracking:
                continue
            kind = "rebuild-index" if op.target.kind == "index" else "replace-constraint"
            target = again.target if op.target.kind == "index" else op.target  # the index's table is on the CREATE
            ops[j] = replace(op, kind=kind, target=target, flags=op.flags | {"replaced"})
    return [tuple(ops) for ops in result]


# --------------------------------------------------------------------------- allow comments

Located = list[tuple[int | None, Finding]]  # (statement index, finding)


def _apply_allow_comments(
    located: Located, comments: Iterable[AllowComment], policy: Policy, file: str, *, squawk: bool
) -> Located:
    """Except the findings that allow comments name; report comments that except nothing.

    `squawk` selects the comments handled: those naming `squawk:` rules (applied when
    squawk's findings are merged) or the others.
    """
    located = list(located)
    for comment in comments:
        if comment.rule_id.startswith(SQUAWK_PREFIX) != squawk:
            continue
        problem = _comment_problem(comment)
        if problem is None:
            problem = _lift(located, comment, policy)
        if problem is not None:
            rule_id, message = problem
            rule = RULES[rule_id]
            located.append((None, Finding(rule_id, rule.verdict, message, rule.help, file, comment.line, comment.text)))
    return located


def _comment_problem(comment: AllowComment) -> tuple[str, str] | None:
    if not comment.rule_id:
        return "allow-comment-missing-reason", "`pgrunbook: allow` names no rule and no reason; it excepts nothing."
    if not comment.reason:
        return "allow-comment-missing-reason", (
            f"`pgrunbook: allow {comment.rule_id}` gives no reason; it excepts nothing until it says why."
        )
    if comment.statement is None:
        return "unused-allow-comment", f"`pgrunbook: allow {comment.rule_id}` is not followed by any statement."
    return None


def _lift(located: Located, comment: AllowComment, policy: Policy) -> tuple[str, str] | None:
    """Except the comment's findings in place; say why not when nothing was excepted."""
    matching = [
        i for i, (statement, f) in enumerate(located)
        if statement == comment.statement and f.rule_id == comment.rule_id and f.excepted is None
    ]  # fmt: skip
    liftable = [i for i in matching if _may_lift(located[i][1], policy)]
    for i in liftable:
        statement, finding = located[i]
        lifted = replace(finding, verdict=Verdict.ALLOWED, excepted=comment.reason, lifted_from=finding.verdict)
        located[i] = (statement, lifted)
    if liftable:
        return None
    if matching:
        finding = located[matching[0]][1]
        verdict = finding.verdict
        if not finding.waivable:
            return "unused-allow-comment", (
                f"`pgrunbook: allow {comment.rule_id}` cannot lift a forbidden finding of code the run executes "
                "(a called function, a trigger, a rule, an index expression, a default...): no inline comment "
                "waives that, whatever the policy."
            )
        if finding.uncapped is not None:
            return "unused-allow-comment", (
                f"`pgrunbook: allow {comment.rule_id}` cannot lift this finding: the code runs later, and would be "
                f"{finding.uncapped} if it ran now; this policy only lets inline comments lift {policy.inline_allow} "
                "findings (playbook policy `inline_allow`)."
            )
        return "unused-allow-comment", (
            f"`pgrunbook: allow {comment.rule_id}` cannot lift a {verdict} finding: this policy only lets "
            f"inline comments lift {policy.inline_allow} findings (playbook policy `inline_allow`)."
        )
    if comment.rule_id not in RULES and not comment.rule_id.startswith(SQUAWK_PREFIX):
        return "unused-allow-comment", f"`pgrunbook: allow {comment.rule_id}`: there is no rule {comment.rule_id!r}."
    return "unused-allow-comment", (
        f"`pgrunbook: allow {comment.rule_id}` excepts nothing: the statement it applies to "
        f"has no {comment.rule_id} finding."
    )


def journal_pairs(journal: object) -> frozenset[tuple[str, int]]:
    """(hash, when) pairs from what callers have at hand: pairs, drizzle `Migration`s
    (every hash drizzle may have recorded for them: as on disk, LF and CRLF variants)
    or a `LocalMigrations`."""
    entries = getattr(journal, "entries", journal)
    pairs = set()
    for entry in entries or ():
        if isinstance(entry, tuple):
            hash_, when = entry
            pairs.add((str(hash_), int(when)))
        else:
            for hash_ in {entry.hash, *getattr(entry, "line_ending_hashes", ())}:
                pairs.add((hash_, int(entry.when)))
    return frozenset(pairs)


def _may_lift(finding: Finding, policy: Policy) -> bool:
    return finding.waivable and policy.may_lift(finding.uncapped or finding.verdict)


# --------------------------------------------------------------------------- helpers

SQUAWK_TYPE_CHANGE = "squawk:changing-column-type"


def _no_rewrite(analysis: FileAnalysis, index: int | None) -> bool:
    """Every type change of that statement is one PostgreSQL makes without a rewrite (and there is one)."""
    changes = [op for s in analysis.statements if s.index == index for op in s.operations if op.kind == "alter-column-type"]
    return bool(changes) and all(op.has("no_rewrite") for op in changes)



# squawk's rules about a lock held while existing rows are scanned, validated or rewritten: moot on a table
# the migration set creates (the same reasoning as our own rules' `RuleContext.is_new`).
SQUAWK_MOOT_ON_NEW_TABLES = frozenset(SQUAWK_PREFIX + r for r in (
    "constraint-missing-not-valid", "adding-foreign-key-constraint", "disallowed-unique-constraint",
    "require-concurrent-index-creation", "adding-not-nullable-field", "adding-required-field", "adding-field-with-default",
    "changing-column-type", "adding-serial-primary-key-field", "adding-primary-key-constraint",
    "renaming-column", "renaming-table"))  # and the running application does not know a table the run creates
# squawk's rules that say what one of ours says on the same statement: when ours is there, at least as
# strict, squawk's is shown as info (one hazard, one blocking finding; an exception lists our rule).
SQUAWK_SAME_AS = {SQUAWK_PREFIX + squawk: frozenset(ours) for squawk, ours in {
    "renaming-column": {"review-rename"},
    "renaming-table": {"review-rename"},
    "transaction-nesting": {"review-transaction-control"},
    "constraint-missing-not-valid": {"review-add-constraint-validating"},
    "adding-foreign-key-constraint": {"review-add-constraint-validating"},
    "disallowed-unique-constraint": {"review-add-constraint-validating"},
    "adding-not-nullable-field": {"review-set-not-null", "review-add-column-not-null-without-default"},
    "changing-column-type": {"review-alter-column-type"},
}.items()}
_NO_TARGET_NEEDED = frozenset({"do-block", "transaction-control", "set", "select"})


def _on_new_tables(operations: tuple[Operation, ...], context: RuleContext) -> bool:
    """Every operation the statement runs acts on a table of `context.new_tables` (and there is one)."""
    acting = [op for op in operations if op.executed and op.kind not in _NO_TARGET_NEEDED]
    return bool(acting) and all(op.target is not None and context.is_new(op) for op in acting)


def _same_as_ours(analysis: FileAnalysis, index: int | None, finding: Finding) -> str | None:
    """The id of our blocking finding on the same statement that says what squawk's `finding` says, if any."""
    ours = SQUAWK_SAME_AS.get(finding.rule_id)
    if not ours or index is None or finding.verdict.rank <= Verdict.INFO.rank:
        return None
    return next((f.rule_id for f in analysis.findings if f.rule_id in ours and f.verdict.rank >= finding.verdict.rank
                 and _statement_of(analysis, f) == index), None)


def _on_new(analysis: FileAnalysis, index: int | None) -> bool:
    return any(s.index == index and s.on_new_tables for s in analysis.statements)


def _statement_of(analysis: FileAnalysis, finding: Finding) -> int | None:
    for statement in analysis.statements:
        if statement.line <= finding.line <= statement.end_line:
            return statement.index
    return None


def _read(item: str | os.PathLike[str] | tuple[str, str]) -> tuple[str, str]:
    """(name, text) of a migration given as a path or as a (name, text) pair."""
    if isinstance(item, tuple):
        return item
    path = Path(item)
    data = path.read_bytes()
    try:
        return str(path), data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise SqlParseError("not valid UTF-8 text", file=str(path), line=line, column=column) from None

