"""Parse tree -> operations: what each statement does to the database.

Everything here reads pglast's parse tree, never the SQL text: a keyword inside a comment,
a string, a dollar-quoted body or a quoted identifier is data to the parser, so it cannot
trigger anything. Text is only re-parsed where PostgreSQL itself parses it later: the body
of a DO block or a function, and the constant string given to EXECUTE.

What hides statements is looked into:

- data-modifying CTEs (`WITH d AS (DELETE ...) SELECT ...`), INSERT ... SELECT,
  INSERT ... ON CONFLICT DO UPDATE, MERGE (one operation per WHEN action),
  `EXPLAIN ANALYZE` (which runs its statement), `CREATE TABLE AS`, `SELECT INTO`,
  `COPY ... FROM` (an insert), `PREPARE` + `EXECUTE`, `CREATE SCHEMA ... CREATE TABLE`;
- DO blocks and function bodies (PL/pgSQL via `pglast.parse_plpgsql`, SQL-language bodies
  via the SQL parser; see `plpgsql`). EXECUTE of a constant string is classified like
  the statement it holds; any other EXECUTE is `dynamic-sql`, which cannot be verified
  (what we can rebuild of it is classified too, to say what it probably does).
- function calls. A function created by the migration (or an earlier one of the same
  set) or existing in the database (`CodeCatalog`, the right overload for the argument
  count and literal types, all of them when ambiguous) is followed: calling it counts as
  running its body, at the call site. `LANGUAGE internal`/`c` functions are the built-in
  their symbol names. Built-ins are judged from `functions` (only in pg_catalog or
  unqualified: `public.now()` is not `now()`); any other function is an unknown `call`.

The executed-code model (see `Operation`): code the run causes to execute is classified
as executed (`implicit=True`), at the statement that makes it run:

- triggers and rules on the tables a statement writes fire there (`fire`), those on the
  tracking table on pgrunbook's own tracking insert after each file (`recording`);
- event triggers fire on the run's DDL (at their creation, and for every later file);
- functions called from index expressions and partial-index predicates, added columns'
  defaults and generated expressions, validated CHECKs, ALTER TYPE ... USING and
  domains' CHECKs are evaluated on existing rows: executed.

Code created for later (a trigger or rule on a table the run does not write, a default
or CHECK of a new table, a NOT VALID CHECK, a function nobody calls) is classified with
`executed=False` and `runs` saying when it will run; the rules cap such findings at
`review` (see `analysis`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace

import pglast
from pglast import ast
from pglast.enums import AlterTableType, CmdType, ConstrType, OnConflictAction, TransactionStmtKind

from pgrunbook.errors import SqlParseError

from . import ddl, plpgsql
from .catalog_model import EMPTY_CATALOG, CatalogFunction
from .functions import (
    BURNS_SEQUENCE,
    DANGEROUS,
    HARMLESS,
    RISKY,
    SESSION_SETTERS,
    SYSTEM_SCHEMAS,
    builtin_name,
    is_builtin_schema,
)
from .model import CreatedObject, Operation

# Built-ins with their own meaning here, whatever the catalog says of their volatility: never lifted as "read-only".
SPECIAL_BUILTINS = DANGEROUS | RISKY | SESSION_SETTERS | BURNS_SEQUENCE
from .names import (
    DEFAULT_SCHEMA,
    display,
    function_name,
    object_kind,
    object_parts,
    relation,
    split_qualified,
    strings,
    words,
)
from .scope import Scope
from .split import Source, SqlStatement, parse_chunk
from .triggers import (
    CodeRegistry,
    EventTriggerDef,
    RuleDef,
    TriggerDef,
    rule_event,
    best_overloads,
    setting_flags,
    trigger_events,
)

# Every operation kind, from harmless to destructive. `Policy` maps each to a verdict.
KINDS = frozenset(
    {
        "create-index", "analyze", "vacuum", "add-column", "create-table", "create-type",
        "alter-type", "create-sequence", "create-schema", "create-extension", "add-constraint",
        "validate-constraint", "alter-column-type", "set-not-null", "drop-not-null",
        "set-default", "drop-default", "rename", "drop", "truncate", "delete", "update",
        "insert-tracking", "insert-seed", "select", "grant", "revoke", "transaction-control",
        "do-block", "create-function", "create-trigger", "call", "dangerous-call",
        "dynamic-sql", "set", "comment-on", "create-view", "unanalysable-body", "row-security",
        "rebuild-index", "replace-constraint", "other",
    }
)  # fmt: skip

DML_NODES = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)
# Operation kind -> the trigger/rule event a write of that kind fires.
WRITE_EVENTS = {"insert-seed": "insert", "insert-tracking": "insert", "update": "update", "delete": "delete",
                "truncate": "truncate"}
# Kinds of schema change that may touch the tracking table (see `_mark_tracking_ddl`).
TRACKING_DDL_KINDS = frozenset({
    "add-column", "set-default", "drop-default", "add-constraint", "validate-constraint", "alter-column-type",
    "set-not-null", "drop-not-null", "rename", "create-index", "row-security", "other",
})
MAX_FIRE_DEPTH = 4  # triggers firing triggers: enough to see a chain, bounded for cycles


@dataclass(frozen=True)
class FunctionDef:
    """A function or procedure a migration creates, with what its body does.

    `operations` are those of the body as if it ran (`executed=True`, `via` relative to
    the body); a call site copies them to itself.
    """

    schema: str
    name: str
    line: int
    operations: tuple[Operation, ...]
    is_procedure: bool = False
    alias: str | None = None  # LANGUAGE internal/c: the built-in its symbol names

    @property
    def signature(self) -> str:
        return f"{display(self.schema, self.name)}()"


class Classifier:
    """Classifies the statements of one migration set, in order.

    It is stateful on purpose: functions and prepared statements created by a statement
    are known to the statements after it (and, through `functions`, to later files).
    """

    def __init__(
        self,
        *,
        file: str,
        tracking_tables: Iterable[tuple[str, str]],
        functions: Mapping[tuple[str, str], FunctionDef] | None = None,
        code: CodeRegistry | None = None,
    ) -> None:
        self.file = file
        self.tracking_tables = frozenset(tracking_tables)
        self.functions: dict[tuple[str, str], FunctionDef] = dict(functions or {})
        self.prepared: dict[str, tuple[Operation, ...]] = {}
        self.code = code if code is not None else CodeRegistry(EMPTY_CATALOG)
        self._load_catalog_rules()

    # ----------------------------------------------------------------- entry points

    def statement(self, statement: SqlStatement) -> tuple[Operation, ...]:
        scope = Scope(source=statement.source, sql=statement.sql, line=statement.line)
        return tuple(self.fire(self._mark_tracking_ddl(op) for op in self.node(statement.node, scope)))

    def _mark_tracking_ddl(self, operation: Operation) -> Operation:
        """Flag schema changes of the tracking table (or its schema): they change what
        pgrunbook's own tracking insert does."""
        if operation.kind not in TRACKING_DDL_KINDS or operation.target is None:
            return operation
        target = operation.target
        table = (target.schema, target.table or target.name)
        touches = table in self.tracking_tables or (
            target.kind == "schema" and target.name in {schema for schema, _ in self.tracking_tables}
        )
        if not touches or (target.kind == "table" and operation.kind == "create-table"):
            return operation
        return replace(operation, flags=operation.flags | {"tracking_table", "tracking_ddl"})

    def recording(self, line: int, *, ddl_ran: bool) -> tuple[Operation, ...]:
        """What pgrunbook's own run makes happen for this file besides its statements:
        the triggers and rules of the tracking table fire on the tracking row pgrunbook
        inserts after the file, and event triggers created before this file (or existing
        in the database) fire on its DDL."""
        scope = Scope(source=Source("", line), sql="", line=line, top_level=False)
        operations: list[Operation] = []
        for schema, table in sorted(self.tracking_tables):
            target = CreatedObject("table", schema, None, table)
            summary = f"pgrunbook's tracking insert into {display(schema, table)} after this file"
            at = scope.inner(via=(summary,))
            write = at.op("insert-tracking", summary, target=target, flags={"recorder"})
            operations += self.fire(self.fired_by(write, "insert"))
        if ddl_ran:
            for event_trigger in self.code.event_triggers:
                if event_trigger.file != self.file:
                    operations += self.fire(self.run_event_trigger(event_trigger, scope))
        return tuple(operations)

    def node(self, node: object, scope: Scope) -> list[Operation]:
        handler = getattr(self, f"_{type(node).__name__}", None)
        if handler is not None:
            return list(handler(node, scope))
        if type(node).__name__.startswith("Drop"):  # DROP DATABASE, ROLE, OWNED, ...
            return [scope.op("drop", words(node), flags={"cascade"} if _cascade(node) else ())]
        return [scope.op("other", words(node))]

    def sql_text(self, source: Source, scope: Scope) -> list[Operation]:
        """Classify SQL text found inside a statement (a function body, an EXECUTE
        string). Raises SqlParseError, located in the file, if it does not parse."""
        operations: list[Operation] = []
        for raw in parse_chunk(source, file=self.file):
            start = raw.stmt_location or 0
            end = start + raw.stmt_len if raw.stmt_len else len(source.text)
            inner = scope.inner(source=source, sql=source.text[start:end].strip(), line=source.line(start))
            operations.extend(self.node(raw.stmt, inner))
        return operations

    # ----------------------------------------------------------------- data changes

    def _InsertStmt(self, node: ast.InsertStmt, scope: Scope) -> Iterator[Operation]:
        schema, table = relation(node.relation)
        conflict = node.onConflictClause
        # Only a statement of the file itself can be a literal row (not a CTE, a body...).
        plain = scope.top_level and not scope.via and conflict is None and node.withClause is None
        row = _literal_row(node) if plain else None
        yield self._insert(schema, table, scope, "INSERT INTO", row=row)
        if conflict is not None and conflict.action == OnConflictAction.ONCONFLICT_UPDATE:
            target = CreatedObject("table", schema, None, table)
            summary = f"INSERT ... ON CONFLICT DO UPDATE {display(schema, table)}"
            yield scope.op("update", summary, target=target, flags=self._tracking_flag(schema, table))
        yield from self.inside(node, scope)

    def _insert(self, schema: str, table: str, scope: Scope, verb: str, row=None) -> Operation:
        tracking = (schema, table) in self.tracking_tables
        kind = "insert-tracking" if tracking else "insert-seed"
        target = CreatedObject("table", schema, None, table)
        flags = {"tracking_table"} if tracking else set()
        return scope.op(kind, f"{verb} {display(schema, table)}", target=target, flags=flags, row=row)

    def _tracking_flag(self, schema: str, table: str) -> set[str]:
        return {"tracking_table"} if (schema, table) in self.tracking_tables else set()

    def _UpdateStmt(self, node: ast.UpdateStmt, scope: Scope) -> Iterator[Operation]:
        schema, table = relation(node.relation)
        flags = ({"no_where"} if node.whereClause is None else set()) | self._tracking_flag(schema, table)
        target = CreatedObject("table", schema, None, table)
        yield scope.op("update", f"UPDATE {display(schema, table)}", target=target, flags=flags)
        yield from self.inside(node, scope.inner(repeated=True))  # SET and WHERE run per row

    def _DeleteStmt(self, node: ast.DeleteStmt, scope: Scope) -> Iterator[Operation]:
        schema, table = relation(node.relation)
        flags = ({"no_where"} if node.whereClause is None else set()) | self._tracking_flag(schema, table)
        target = CreatedObject("table", schema, None, table)
        yield scope.op("delete", f"DELETE FROM {display(schema, table)}", target=target, flags=flags)
        yield from self.inside(node, scope.inner(repeated=True))

    def _MergeStmt(self, node: ast.MergeStmt, scope: Scope) -> Iterator[Operation]:
        schema, table = relation(node.relation)
        target = CreatedObject("table", schema, None, table)
        flags = self._tracking_flag(schema, table)
        for clause in node.mergeWhenClauses or ():
            if clause.commandType == CmdType.CMD_UPDATE:
                yield scope.op("update", f"MERGE INTO {display(schema, table)} ... UPDATE", target=target, flags=flags)
            elif clause.commandType == CmdType.CMD_DELETE:
                yield scope.op("delete", f"MERGE INTO {display(schema, table)} ... DELETE", target=target, flags=flags)
            elif clause.commandType == CmdType.CMD_INSERT:
                yield self._insert(schema, table, scope, "MERGE ... INSERT INTO")
        yield from self.inside(node, scope)

    def _TruncateStmt(self, node: ast.TruncateStmt, scope: Scope) -> Iterator[Operation]:
        for rangevar in node.relations or ():
            schema, table = relation(rangevar)
            target = CreatedObject("table", schema, None, table)
            flags = self._tracking_flag(schema, table)
            yield scope.op("truncate", f"TRUNCATE {display(schema, table)}", target=target, flags=flags)

    def _CopyStmt(self, node: ast.CopyStmt, scope: Scope) -> Iterator[Operation]:
        if node.is_program:
            yield scope.op("dangerous-call", "COPY ... PROGRAM (runs a shell command on the database server)")
        if node.is_from and node.relation is not None:
            yield self._insert(*relation(node.relation), scope, "COPY ... FROM into")
        elif not node.is_from:
            if node.filename and not node.is_program:
                yield scope.op("dangerous-call", "COPY ... TO a file (writes a file on the database server)")
            yield scope.op("select", "COPY ... TO")
            if node.query is not None:
                yield from self.node(node.query, scope.inner(top_level=False))

    def _ExplainStmt(self, node: ast.ExplainStmt, scope: Scope) -> Iterator[Operation]:
        analyze = any(option.defname == "analyze" and _true(option) for option in node.options or ())
        yield scope.op("select", "EXPLAIN ANALYZE" if analyze else "EXPLAIN")
        if analyze:  # EXPLAIN ANALYZE runs the statement for real
            yield from self.node(node.query, scope.inner(via=("EXPLAIN ANALYZE",), top_level=False))

    # ----------------------------------------------------------------- queries

    def _SelectStmt(self, node: ast.SelectStmt, scope: Scope) -> Iterator[Operation]:
        if node.intoClause is not None:  # SELECT ... INTO new_table: CREATE TABLE AS
            yield self._table_as(node.intoClause, "SELECT ... INTO", scope)
        elif scope.top_level:
            yield scope.op("select", "SELECT")
        # With a FROM clause, what the query calls runs once per row.
        yield from self.inside(node, scope.inner(repeated=True) if node.fromClause else scope)

    def _CreateTableAsStmt(self, node: ast.CreateTableAsStmt, scope: Scope) -> Iterator[Operation]:
        if object_kind(node.objtype) == "materialized view":
            schema, name = relation(node.into.rel)
            view = CreatedObject("view", schema, None, name)
            summary = f"CREATE MATERIALIZED VIEW {display(schema, name)}"
            yield scope.op("create-view", summary, target=view, creates=(view,))
        else:
            yield self._table_as(node.into, "CREATE TABLE ... AS", scope)
        if object_kind(node.objtype) == "materialized view":  # REFRESH runs the query again
            self.code.matviews[relation(node.into.rel)] = tuple(self.node(node.query, _relative(scope)))
        if not node.into.skipData:  # WITH NO DATA does not run the query
            yield from self.node(node.query, scope.inner(top_level=False))
        else:
            shown = display(*relation(node.into.rel))
            yield from self.node(node.query, scope.later(f"on every REFRESH of {shown}", f"query of {shown}"))

    def _RefreshMatViewStmt(self, node: ast.RefreshMatViewStmt, scope: Scope) -> Iterator[Operation]:
        schema, name = relation(node.relation)
        yield scope.op("other", f"REFRESH MATERIALIZED VIEW {display(schema, name)}",
                       target=CreatedObject("view", schema, None, name))
        query = self.code.matviews.get((schema, name))
        if query is None:
            # Its query is in the database: what it calls cannot be checked here.
            yield scope.op("call", f"query of materialized view {display(schema, name)} (not defined by this set)")
        elif not node.skipData:
            yield from self.run_code(query, scope.implied(f"query of {display(schema, name)}"))

    def _table_as(self, into: ast.IntoClause, words_: str, scope: Scope) -> Operation:
        schema, table = relation(into.rel)
        columns = tuple(strings(into.colNames))
        creates = [CreatedObject("table", schema, None, table)]
        creates += [CreatedObject("column", schema, table, column) for column in columns]
        return scope.op(
            "create-table",
            f"{words_} {display(schema, table)}",
            target=creates[0],
            flags={"as_select"},
            columns=columns,
            creates=tuple(creates),
        )

    def inside(self, node: ast.Node, scope: Scope) -> Iterator[Operation]:
        """What runs inside a query: nested data-modifying statements (CTEs) and
        function calls. The node itself is left to its handler."""
        inner = scope.inner(top_level=False)
        for attribute in node:
            yield from self.descend(getattr(node, attribute), inner)

    def descend(self, value: object, scope: Scope) -> Iterator[Operation]:
        if isinstance(value, (list, tuple)):
            for item in value:
                yield from self.descend(item, scope)
        elif isinstance(value, DML_NODES):
            yield from self.node(value, scope)
        elif isinstance(value, ast.FuncCall):
            yield from self.call(value, scope)
            yield from self.inside(value, scope)
        elif isinstance(value, ast.Node):
            yield from self.hidden_call(value, scope)
            yield from self.inside(value, scope)

    def hidden_call(self, node: ast.Node, scope: Scope) -> Iterator[Operation]:
        """A function the set made a cast or an operator call (`'x'::label`, `a =~= b`)."""
        functions: list[tuple[str | None, str]] = []
        label = ""
        if isinstance(node, ast.TypeCast) and node.typeName is not None and self.code.casts:
            names = strings(node.typeName.names)
            functions = [self.code.casts[names[-1]]] if names and names[-1] in self.code.casts else []
            label = f"cast to {names[-1] if names else '?'}"
        elif isinstance(node, ast.A_Expr) and self.code.operators:
            names = strings(node.name)
            qualified_builtin = len(names) > 1 and names[0] in SYSTEM_SCHEMAS
            if names and not qualified_builtin:
                # Operand types are not known here: any operator of that name may be the one.
                functions = self.code.operators.get(names[-1], [])
            label = f"operator {names[-1] if names else '?'}"
        for function in functions:
            yield from self.call_function(*function, [], scope.inner(via=(label,), implicit=True))

    # ----------------------------------------------------------------- calls

    def call(self, node: ast.FuncCall, scope: Scope) -> Iterator[Operation]:
        schema, name = function_name(node.funcname)
        yield from self.call_function(schema, name, list(node.args or ()), scope)

    def call_function(self, schema: str | None, name: str, args: list, scope: Scope) -> Iterator[Operation]:
        """What calling schema.name(args) runs: the bodies it may resolve to (in the set,
        in the database: every candidate overload), and what a built-in of that name does."""
        bodies = list(self.function_bodies(schema, name, args))
        for label, operations, alias in bodies:
            inner = scope.inner(via=(label,), implicit=True)
            if alias is not None:
                yield from self.compiled(alias, args, inner)
            else:
                yield from self.run_code(operations, inner)
        if is_builtin_schema(schema):
            builtin = self.builtin(name, args, scope)
            if builtin is not None:
                yield builtin
                return
            if name in HARMLESS or name in BURNS_SEQUENCE:
                return
        if not bodies and name not in SPECIAL_BUILTINS and self.code.catalog.is_read_only_builtin(schema, name):
            return  # PostgreSQL's or an extension's IMMUTABLE / STABLE function, per the live catalog: it cannot write
        if not bodies:
            yield scope.op("call", f"{display(schema, name)}()")

    def builtin(self, name: str, args: list, scope: Scope) -> Operation | None:
        """The operation a built-in with effects stands for; None for the others."""
        if name in SESSION_SETTERS:
            setting, value = (plpgsql.constant_string(arg) for arg in (args + [None, None])[:2])
            return scope.op("set", f"{name}({setting or '?'})", flags=setting_flags(setting, value, function=True))
        if name in DANGEROUS or name in RISKY:
            return scope.op("dangerous-call", f"{name}()", flags={f"fn:{name}"})
        if name in BURNS_SEQUENCE and scope.repeated:
            return scope.op("dangerous-call", f"{name}() once per row or loop iteration", flags={f"fn:{name}"})
        return None

    def compiled(self, alias: str, args: list, scope: Scope) -> Iterator[Operation]:
        """A LANGUAGE internal/c function: the built-in its symbol names."""
        builtin = self.builtin(alias, args, scope)
        if builtin is not None:
            yield replace(builtin, summary=f"{builtin.summary} (the built-in this compiled function is)")
        elif alias not in HARMLESS and alias not in BURNS_SEQUENCE:
            yield scope.op("call", f"compiled code (C symbol {alias}) that cannot be analysed")

    def function_bodies(self, schema: str | None, name: str, args: list) -> Iterator[tuple[str, tuple, str | None]]:
        """(label, relative operations, built-in alias) of each function the call may run."""
        defined = self.find_function(schema, name)
        if defined is not None:  # even in pg_catalog: the set may have created it there
            yield f"call {defined.signature} (defined at line {defined.line})", defined.operations, defined.alias
            return
        if schema in SYSTEM_SCHEMAS:
            return
        if name in self.code.aggregates:  # an aggregate runs its support functions per row
            for support in self.code.aggregates[name]:
                for label, operations, alias in self.function_bodies(*support, []):
                    yield f"aggregate {display(schema, name)} > {label}", operations, alias
            return
        for function in self.catalog_candidates(schema, name, args):
            operations, alias = self.catalog_body(function)
            yield f"call {function.signature} (in the database)", operations, alias

    def find_function(self, schema: str | None, name: str) -> FunctionDef | None:
        if schema is not None:
            return self.functions.get((schema, name))
        # Unqualified: found through search_path; prefer public, else any schema.
        found = self.functions.get((DEFAULT_SCHEMA, name))
        return found or next((f for (_, n), f in self.functions.items() if n == name), None)

    def catalog_candidates(self, schema: str | None, name: str, args: list) -> tuple[CatalogFunction, ...]:
        catalog = self.code.catalog
        found = catalog.overloads(schema or DEFAULT_SCHEMA, name) or (catalog.overloads(None, name) if schema is None else ())
        by_count = tuple(f for f in found if f.accepts(len(args))) or found
        return best_overloads(by_count, args)

    def catalog_body(self, function: CatalogFunction) -> tuple[tuple[Operation, ...], str | None]:
        """A database function's body, classified once (relative operations), or its alias."""
        if function.language.lower() in plpgsql.COMPILED_LANGUAGES:
            return (), builtin_name(function.source or function.name)
        cached = self.code.bodies.get(function)
        if cached is not None:
            return cached, None
        if function in self.code.in_progress:  # recursion: the body is being classified
            return (), None
        self.code.in_progress.add(function)
        try:
            operations = self._database_body(function)
        finally:
            self.code.in_progress.discard(function)
        self.code.bodies[function] = operations
        return operations, None

    def _database_body(self, function: CatalogFunction) -> tuple[Operation, ...]:
        scope = Scope(source=Source(function.definition or "", 1), sql=function.definition or "", line=1,
                      top_level=False)
        unreadable = (scope.op("call", f"{function.signature} (in the database): its body could not be read or analysed"),)
        if not function.definition:
            return unreadable
        try:
            (raw,) = pglast.parser.parse_sql(function.definition)
            if not isinstance(raw.stmt, ast.CreateFunctionStmt):
                return unreadable
            return tuple(plpgsql.function_body(self, raw.stmt, scope))
        except (pglast.parser.ParseError, SqlParseError, ValueError):
            return unreadable

    def run_code(self, operations: Iterable[Operation], scope: Scope) -> Iterator[Operation]:
        """Relative operations (a body, a rule's actions) as run from `scope`."""
        for operation in operations:
            executed = scope.executed and operation.executed
            runs = operation.runs if not operation.executed else scope.runs
            yield replace(operation, line=scope.line, via=scope.via + operation.via, executed=executed,
                          runs=None if executed else runs, implicit=operation.implicit or scope.implicit)

    def run_function(self, function: FunctionDef, scope: Scope) -> Iterator[Operation]:
        """The body's operations, as run from this call site."""
        via = (f"call {function.signature} (defined at line {function.line})",)
        yield from self.run_code(function.operations, scope.inner(via=via, implicit=True))

    # ----------------------------------------------------------------- what writes fire

    def fire(self, operations: Iterable[Operation], depth: int = 0) -> Iterator[Operation]:
        """The operations, each write followed by the triggers and rules it fires."""
        for operation in operations:
            yield operation
            event = WRITE_EVENTS.get(operation.kind)
            if event is not None and operation.target is not None and depth < MAX_FIRE_DEPTH:
                yield from self.fire(self.fired_by(operation, event), depth + 1)

    def fired_by(self, write: Operation, event: str) -> Iterator[Operation]:
        table = (write.target.schema, write.target.name)
        shown = display(*table)
        at = Scope(source=Source("", write.line), sql="", line=write.line, via=write.via, executed=write.executed,
                   runs=write.runs, implicit=True, top_level=False)
        for trigger in self.code.triggers:
            if (trigger.schema, trigger.table) == table and event in trigger.events:
                label = f"trigger {display(None, trigger.name)} on {shown} fires on {event.upper()} ({trigger.origin})"
                yield from self.run_trigger(trigger, at.inner(via=(label,)))
        for rule in self.code.rules:
            if (rule.schema, rule.table) == table and rule.event == event:
                label = f"rule {display(None, rule.name)} on {shown} rewrites the {event.upper()} ({rule.origin})"
                yield from self.run_code(rule.operations, at.inner(via=(label,)))

    def run_trigger(self, trigger: TriggerDef, scope: Scope) -> Iterator[Operation]:
        yield from self.run_code(trigger.when, scope)
        yield from self.call_function(trigger.function[0], trigger.function[1], [], scope)

    def run_event_trigger(self, event_trigger: EventTriggerDef, scope: Scope) -> Iterator[Operation]:
        label = (f"event trigger {display(None, event_trigger.name)} fires on {event_trigger.event} "
                 f"of this migration's DDL ({event_trigger.origin})")
        yield from self.call_function(*event_trigger.function, [], scope.inner(via=(label,), implicit=True))

    def _CallStmt(self, node: ast.CallStmt, scope: Scope) -> Iterator[Operation]:
        yield from self.call(node.funccall, scope)
        yield from self.inside(node.funccall, scope)

    def _PrepareStmt(self, node: ast.PrepareStmt, scope: Scope) -> Iterator[Operation]:
        # The query runs at EXECUTE time: remember what it does, report it there (and
        # here as not executed, like a function body, in case nothing executes it).
        query = tuple(self.node(node.query, replace(scope, via=(), executed=True, top_level=False)))
        self.prepared[node.name] = query
        yield scope.op("other", f"PREPARE {node.name}")
        runs = f"when EXECUTE {node.name} runs"
        for operation in query:
            yield replace(operation, via=scope.via + (f"PREPARE {node.name}",) + operation.via, executed=False,
                          runs=runs)

    def _ExecuteStmt(self, node: ast.ExecuteStmt, scope: Scope) -> Iterator[Operation]:
        prepared = self.prepared.get(node.name)
        if prepared is None:
            yield scope.op("call", f"EXECUTE {node.name} (a prepared statement this migration does not define)")
            return
        for operation in prepared:
            yield replace(operation, line=scope.line, via=scope.via + (f"EXECUTE {node.name}",) + operation.via)

    # ----------------------------------------------------------------- code

    def _DoStmt(self, node: ast.DoStmt, scope: Scope) -> Iterator[Operation]:
        operations = list(plpgsql.do_block(self, node, scope.inner(via=("DO block",))))
        yield from operations or [scope.op("do-block", "DO block without SQL statements")]

    def _CreateFunctionStmt(self, node: ast.CreateFunctionStmt, scope: Scope) -> Iterator[Operation]:
        schema, name = split_qualified(strings(node.funcname))
        what = "PROCEDURE" if node.is_procedure else "FUNCTION"
        function = CreatedObject("function", schema, None, name)
        summary = f"CREATE {what} {display(schema, name)}()"
        yield scope.op("create-function", summary, target=function, creates=(function,))
        # The body is classified as if it ran, with `via` relative to the body: each call
        # site (and the definition, below) puts it in context.
        body_scope = _relative(scope)
        symbol = plpgsql.compiled_symbol(node)
        alias = builtin_name(symbol) if symbol is not None else None
        body = () if alias is not None else tuple(plpgsql.function_body(self, node, body_scope))
        defined = FunctionDef(schema, name, scope.line, body, node.is_procedure, alias)
        self.functions[(schema, name)] = defined
        # Reported here as not executed: it runs when something calls it.
        later = scope.later(f"whenever {defined.signature} is called", f"body of {defined.signature}")
        if alias is not None:
            yield from self.compiled(alias, [], later)
        yield from self.run_code(body, later)

    # ----------------------------------------------------------------- schema changes

    def _CreateStmt(self, node: ast.CreateStmt, scope: Scope) -> Iterator[Operation]:
        yield ddl.create_table(node, scope)
        # Defaults, generated columns and CHECKs of a new table run on its future writes.
        schema, table = relation(node.relation)
        for what, runs, expression in ddl.evaluated_on_writes(node):
            yield from self.descend(expression, scope.later(f"{runs} {display(schema, table)}", what))

    def _IndexStmt(self, node: ast.IndexStmt, scope: Scope) -> Iterator[Operation]:
        index = ddl.create_index(node, scope)
        yield index
        expressions = ddl.index_expressions(node)
        if expressions:  # ANALYZE, VACUUM, REINDEX and CLUSTER evaluate them again
            key = (index.target.schema, index.target.table)
            self.code.indexes.setdefault(key, []).append((index.target.name, expressions))
        for what, expression in expressions:
            where = f"{what} of index {display(None, index.target.name)}, evaluated on every existing row"
            yield from self.descend(expression, scope.implied(where))

    def _AlterTableStmt(self, node: ast.AlterTableStmt, scope: Scope) -> Iterator[Operation]:
        operations = ddl.alter_table(node, scope)
        yield from operations
        # A table rewrite (a type change, a column computed per row) rebuilds its indexes,
        # evaluating their expressions again.
        if node.relation is not None and any(
            op.kind == "alter-column-type" or op.has("volatile_default") for op in operations
        ):
            yield from self.index_code([relation(node.relation)], "the table rewrite", scope)
        table = relation(node.relation) if node.relation is not None else ("?", "?")
        shown = display(*table)
        for cmd in node.cmds or ():
            yield from self._domain_values(cmd, scope)
            yield from self._validated_check(cmd, table, scope)
            if (rewrite := ddl.rewritten_values(cmd)) is not None:
                column, using = rewrite
                summary = f"ALTER TABLE {shown} ALTER COLUMN {display(None, column)} TYPE ... USING {using}"
                target = CreatedObject("table", table[0], None, table[1])
                yield scope.op("update", summary, target=target, flags={"no_where"})
            for what, expression in ddl.evaluated_per_row(cmd):
                yield from self.descend(expression, scope.implied(f"{what}, evaluated on every existing row"))
            for what, runs, expression in ddl.evaluated_later(cmd):
                if table in self.tracking_tables:  # pgrunbook's tracking insert evaluates it in this run
                    later = scope.implied(f"{what}, evaluated by pgrunbook's tracking insert")
                else:
                    later = scope.later(f"{runs} {shown}", what)
                yield from self.descend(expression, later)

    def _RuleStmt(self, node: ast.RuleStmt, scope: Scope) -> Iterator[Operation]:
        schema, table = relation(node.relation)
        flags = {"rule"} | self._tracking_flag(schema, table)
        target = CreatedObject("table", schema, None, table)
        yield scope.op("other", f"CREATE RULE {display(None, node.rulename)} ON {display(schema, table)}",
                       target=target, flags=flags)
        rule = self._rule_def(node, scope, f"created at line {scope.line}")
        self.code.rules.append(rule)
        if (schema, table) in self.tracking_tables:
            return  # fires on pgrunbook's tracking insert: see `recording`
        # Otherwise its actions run later, on the application's writes.
        runs = f"on every {rule.event.upper()} on {display(schema, table)}"
        yield from self.run_code(rule.operations, scope.later(runs, f"rule {display(None, node.rulename)}"))

    def _rule_def(self, node: ast.RuleStmt, scope: Scope, origin: str) -> RuleDef:
        schema, table = relation(node.relation)
        relative = _relative(scope)
        operations = list(self.descend(node.whereClause, relative)) if node.whereClause is not None else []
        for action in node.actions or ():
            operations += self.node(action, relative)
        return RuleDef(schema, table, node.rulename, rule_event(node.event), tuple(operations), origin)

    def _load_catalog_rules(self) -> None:
        while self.code.pending_rules:
            rule = self.code.pending_rules.pop()
            origin = "in the database"
            try:
                (raw,) = pglast.parser.parse_sql(rule.definition)
                node = raw.stmt
                if not isinstance(node, ast.RuleStmt):
                    raise ValueError(rule.definition)
                scope = Scope(source=Source(rule.definition, 1), sql=rule.definition, line=1)
                self.code.rules.append(self._rule_def(node, scope, origin))
            except (pglast.parser.ParseError, SqlParseError, ValueError):
                scope = Scope(source=Source("", 1), sql="", line=1, top_level=False)
                unreadable = scope.op("call", f"rule {rule.name} (in the database): its definition could not be analysed")
                for event in ("insert", "update", "delete"):
                    self.code.rules.append(RuleDef(rule.schema, rule.table, rule.name, event, (unreadable,), origin))

    def _DropStmt(self, node: ast.DropStmt, scope: Scope) -> Iterator[Operation]:
        kind = object_kind(node.removeType)
        options = (("if_exists", node.missing_ok), ("cascade", _cascade(node)), ("concurrently", node.concurrent))
        flags = {flag for flag, present in options if present}
        for obj in node.objects or ():
            target = _dropped_object(kind, object_parts(obj))
            name = display(target.schema if kind != "schema" else None, target.name)
            yield scope.op("drop", f"DROP {kind.upper()} {name}", target=target, flags=flags)

    def _RenameStmt(self, node: ast.RenameStmt, scope: Scope) -> Iterator[Operation]:
        kind = object_kind(node.renameType)
        target = _renamed_object(node, kind)
        shown = display(target.schema, *([target.table] if target.table else []), target.name)
        summary = f"RENAME {kind.upper()} {shown} TO {display(None, node.newname)}"
        yield scope.op("rename", summary, target=target, new_name=node.newname)

    def _AlterObjectSchemaStmt(self, node: ast.AlterObjectSchemaStmt, scope: Scope) -> Iterator[Operation]:
        kind = object_kind(node.objectType)
        parts = object_parts(node.relation if node.relation is not None else node.object)
        schema, name = split_qualified(parts)
        target = CreatedObject(_object_class(kind), schema, None, name)
        summary = f"ALTER {kind.upper()} {display(schema, name)} SET SCHEMA {display(None, node.newschema)}"
        yield scope.op("rename", summary, target=target, flags={"set_schema"}, new_name=node.newschema)

    def _AlterEnumStmt(self, node: ast.AlterEnumStmt, scope: Scope) -> Iterator[Operation]:
        schema, name = split_qualified(strings(node.typeName))
        if node.oldVal:
            target = CreatedObject("enum value", schema, name, node.oldVal)
            summary = f"ALTER TYPE {display(schema, name)} RENAME VALUE '{node.oldVal}' TO '{node.newVal}'"
            yield scope.op("rename", summary, target=target, new_name=node.newVal)
        else:
            flags = {"if_not_exists", "add_value"} if node.skipIfNewValExists else {"add_value"}
            target = CreatedObject("type", schema, None, name)
            summary = f"ALTER TYPE {display(schema, name)} ADD VALUE '{node.newVal}'"
            yield scope.op("alter-type", summary, target=target, flags=flags, new_name=node.newVal)

    def _CreateEnumStmt(self, node: ast.CreateEnumStmt, scope: Scope) -> Iterator[Operation]:
        yield self._create_type(strings(node.typeName), "ENUM", scope)

    def _CompositeTypeStmt(self, node: ast.CompositeTypeStmt, scope: Scope) -> Iterator[Operation]:
        yield self._create_type(object_parts(node.typevar), "composite", scope)

    def _CreateRangeStmt(self, node: ast.CreateRangeStmt, scope: Scope) -> Iterator[Operation]:
        yield self._create_type(strings(node.typeName), "RANGE", scope)

    def _CreateDomainStmt(self, node: ast.CreateDomainStmt, scope: Scope) -> Iterator[Operation]:
        yield self._create_type(strings(node.domainname), "DOMAIN", scope)
        yield from self._domain_checks(strings(node.domainname), node.constraints or (), scope)
        constraints = node.constraints or ()
        checks = tuple(c.raw_expr for c in constraints if c.contype == ConstrType.CONSTR_CHECK and c.raw_expr is not None)
        default = next((c.raw_expr for c in constraints if c.contype == ConstrType.CONSTR_DEFAULT), None)
        schema, name = split_qualified(strings(node.domainname))
        self.code.domains[(schema, name)] = (checks, default)
        if default is not None:
            shown = display(schema, name)
            yield from self.descend(default, scope.later(f"on every insert into a column of domain {shown}",
                                                         f"DEFAULT of domain {shown}"))

    def domain_of(self, type_name: ast.TypeName | None) -> tuple[str, tuple, object | None] | None:
        """(name, CHECKs, DEFAULT) of the domain a column type names, if it is one we know."""
        names = strings(type_name.names) if type_name is not None else []
        if not names:
            return None
        if len(names) > 1:
            found = self.code.domains.get((names[-2], names[-1]))
        else:
            found = self.code.domains.get((DEFAULT_SCHEMA, names[-1])) or next(
                (d for (_, n), d in self.code.domains.items() if n == names[-1]), None)
        shown = display(names[-2] if len(names) > 1 else None, names[-1])
        return (shown, *found) if found is not None else None

    def _validated_check(self, cmd: ast.AlterTableCmd, table: tuple[str, str], scope: Scope) -> Iterator[Operation]:
        """Remember NOT VALID CHECKs; VALIDATE CONSTRAINT evaluates them on every row."""
        definition = cmd.def_
        if cmd.subtype == AlterTableType.AT_AddConstraint and isinstance(definition, ast.Constraint):
            if definition.contype == ConstrType.CONSTR_CHECK and definition.skip_validation and definition.conname:
                self.code.unvalidated[(*table, definition.conname)] = definition.raw_expr
        elif cmd.subtype == AlterTableType.AT_ValidateConstraint:
            expression = self.code.unvalidated.get((*table, cmd.name))
            if expression is not None:
                where = f"CHECK {display(None, cmd.name)}, evaluated on every existing row by VALIDATE"
                yield from self.descend(expression, scope.implied(where))

    def _assignment_cast(self, column: ast.ColumnDef, scope: Scope) -> Iterator[Operation]:
        """A value stored in a column of a type some cast function converts to may go
        through it (an assignment cast): the new column's default, a type change's USING."""
        names = strings(column.typeName.names) if column.typeName is not None else []
        function = self.code.casts.get(names[-1]) if names else None
        has_value = ddl.column_default(column) is not None or column.raw_default is not None
        if function is not None and has_value:
            where = scope.implied(f"cast to {names[-1]}, evaluated on every existing row")
            yield from self.call_function(*function, [], where)

    def _domain_values(self, cmd: ast.AlterTableCmd, scope: Scope) -> Iterator[Operation]:
        """ADD COLUMN / ALTER COLUMN TYPE of a domain: its CHECKs (and, for a new column
        without a default of its own, its DEFAULT) are evaluated on every existing row."""
        definition = cmd.def_
        if not isinstance(definition, ast.ColumnDef):
            return
        if cmd.subtype == AlterTableType.AT_AddColumn:
            domain = self.domain_of(definition.typeName)
        elif cmd.subtype == AlterTableType.AT_AlterColumnType:
            domain = self.domain_of(definition.typeName)
        else:
            return
        yield from self._assignment_cast(definition, scope)
        if domain is None:
            return
        name, checks, default = domain
        where = scope.implied(f"domain {name} of the column, evaluated on every existing row")
        own_default = ddl.column_default(definition) is not None
        for expression in (*checks, *([default] if default is not None and not own_default else [])):
            yield from self.descend(expression, where)

    def _AlterDomainStmt(self, node: ast.AlterDomainStmt, scope: Scope) -> Iterator[Operation]:
        schema, name = split_qualified(strings(node.typeName))
        yield scope.op("other", f"ALTER DOMAIN {display(schema, name)}", target=CreatedObject("type", schema, None, name))
        if node.subtype == "C" and isinstance(node.def_, ast.Constraint):
            yield from self._domain_checks(strings(node.typeName), [node.def_], scope)
        elif node.subtype == "T" and node.def_ is not None:
            yield from self.descend(node.def_, scope.later(f"on every insert into a column of domain {display(schema, name)}",
                                                           f"DEFAULT of domain {display(schema, name)}"))

    def _domain_checks(self, parts: list[str], constraints, scope: Scope) -> Iterator[Operation]:
        # A domain's CHECK runs on every value cast to it: existing columns of the domain
        # (ALTER DOMAIN ADD CONSTRAINT validates them) and whatever the run writes. Executed.
        shown = display(*split_qualified(parts))
        for constraint in constraints:
            if constraint.contype == ConstrType.CONSTR_CHECK and constraint.raw_expr is not None:
                where = f"CHECK of domain {shown}, evaluated on every value of the domain"
                yield from self.descend(constraint.raw_expr, scope.implied(where))

    def _AlterSeqStmt(self, node: ast.AlterSeqStmt, scope: Scope) -> Iterator[Operation]:
        schema, name = relation(node.sequence)
        moves = [o.defname for o in node.options or () if o.defname in ("restart", "start", "increment", "maxvalue",
                                                                          "minvalue", "cycle")]
        target = CreatedObject("sequence", schema, None, name)
        yield scope.op("other", f"ALTER SEQUENCE {display(schema, name)}", target=target)
        if "restart" in moves:  # setval in another form: the next ids may already be used
            yield scope.op("dangerous-call", f"ALTER SEQUENCE {display(schema, name)} RESTART", flags={"fn:setval"})

    def _CreatePolicyStmt(self, node: ast.CreatePolicyStmt, scope: Scope) -> Iterator[Operation]:
        schema, table = relation(node.table)
        shown = display(schema, table)
        target = CreatedObject("table", schema, None, table)
        flags = {"rule"} | self._tracking_flag(schema, table)  # like a rule: it acts on every access
        yield scope.op("other", f"CREATE POLICY {display(None, node.policy_name)} ON {shown}", target=target,
                       flags=flags)
        for what, expression in (("USING", node.qual), ("WITH CHECK", node.with_check)):
            if expression is None:
                continue
            if (schema, table) in self.tracking_tables:  # pgrunbook's tracking insert evaluates it
                where = scope.implied(f"{what} of policy {display(None, node.policy_name)} on {shown}")
            else:
                where = scope.later(f"on every read or write of {shown} under row-level security",
                                    f"{what} of policy {display(None, node.policy_name)}")
            yield from self.descend(expression, where)

    def _CreateStatsStmt(self, node: ast.CreateStatsStmt, scope: Scope) -> Iterator[Operation]:
        yield scope.op("other", f"CREATE STATISTICS {'.'.join(strings(node.defnames))}")
        expressions = [("expression of statistics", e.expr) for e in node.exprs or ()
                       if isinstance(e, ast.StatsElem) and e.expr is not None]
        for rangevar in node.relations or ():
            if expressions and isinstance(rangevar, ast.RangeVar):  # ANALYZE evaluates them
                name = ".".join(strings(node.defnames))
                self.code.indexes.setdefault(relation(rangevar), []).append((name, expressions))
                for what, expression in expressions:
                    where = scope.later(f"on every ANALYZE of {display(*relation(rangevar))}", what)
                    yield from self.descend(expression, where)

    def _CreateCastStmt(self, node: ast.CreateCastStmt, scope: Scope) -> Iterator[Operation]:
        target = strings(node.targettype.names)[-1]
        yield scope.op("other", f"CREATE CAST (... AS {target})")
        if node.func is not None:
            function = function_name(node.func.objname)
            self.code.casts[target] = function
            runs = f"on every cast to {target}"
            yield from self.call_function(*function, [], scope.later(runs, f"cast to {target}"))

    def _DefineStmt(self, node: ast.DefineStmt, scope: Scope) -> Iterator[Operation]:
        kind = object_kind(node.kind)
        if kind == "operator":
            name = strings(node.defnames)[-1]
            yield scope.op("other", f"CREATE OPERATOR {'.'.join(strings(node.defnames))}")
            for option in node.definition or ():
                if option.defname in ("function", "procedure") and isinstance(option.arg, ast.TypeName):
                    function = function_name(option.arg.names)
                    self.code.operators.setdefault(name, []).append(function)
                    yield from self.call_function(*function, [], scope.later(f"on every use of operator {name}",
                                                                             f"operator {name}"))
            return
        if kind == "aggregate":
            name = strings(node.defnames)[-1]
            yield scope.op("other", f"CREATE AGGREGATE {'.'.join(strings(node.defnames))}")
            supports = [function_name(o.arg.names) for o in node.definition or ()
                        if o.defname.endswith("func") and isinstance(o.arg, ast.TypeName)]
            self.code.aggregates[name] = supports
            for support in supports:
                yield from self.call_function(*support, [], scope.later(f"on every use of aggregate {name}",
                                                                        f"aggregate {name}"))
            return
        if kind == "type":
            yield self._create_type(strings(node.defnames), "base", scope)
        else:
            yield scope.op("other", f"CREATE {kind.upper()} {'.'.join(strings(node.defnames))}")

    def _create_type(self, parts: list[str], what: str, scope: Scope) -> Operation:
        schema, name = split_qualified(parts)
        created = CreatedObject("type", schema, None, name)
        summary = f"CREATE TYPE {display(schema, name)} ({what})"
        return scope.op("create-type", summary, target=created, creates=(created,))

    def _CreateSeqStmt(self, node: ast.CreateSeqStmt, scope: Scope) -> Iterator[Operation]:
        schema, name = relation(node.sequence)
        created = CreatedObject("sequence", schema, None, name)
        flags = {"if_not_exists"} if node.if_not_exists else set()
        summary = f"CREATE SEQUENCE {display(schema, name)}"
        yield scope.op("create-sequence", summary, target=created, flags=flags, creates=(created,))

    def _CreateSchemaStmt(self, node: ast.CreateSchemaStmt, scope: Scope) -> Iterator[Operation]:
        name = node.schemaname or (node.authrole.rolename if node.authrole else "?")
        created = CreatedObject("schema", name, None, name)
        flags = {"if_not_exists"} if node.if_not_exists else set()
        summary = f"CREATE SCHEMA {display(None, name)}"
        yield scope.op("create-schema", summary, target=created, flags=flags, creates=(created,))
        for element in node.schemaElts or ():  # CREATE SCHEMA s CREATE TABLE t (...) ...
            yield from self.node(element, scope)

    def _CreateExtensionStmt(self, node: ast.CreateExtensionStmt, scope: Scope) -> Iterator[Operation]:
        flags = {"if_not_exists"} if node.if_not_exists else set()
        yield scope.op("create-extension", f"CREATE EXTENSION {display(None, node.extname)}", flags=flags)

    def _ViewStmt(self, node: ast.ViewStmt, scope: Scope) -> Iterator[Operation]:
        schema, name = relation(node.view)
        view = CreatedObject("view", schema, None, name)
        yield scope.op("create-view", f"CREATE VIEW {display(schema, name)}", target=view, creates=(view,))
        shown = display(schema, name)
        yield from self.node(node.query, scope.later(f"whenever {shown} is read", f"query of view {shown}"))

    def _CreateTrigStmt(self, node: ast.CreateTrigStmt, scope: Scope) -> Iterator[Operation]:
        schema, table = relation(node.relation)
        shown = display(schema, table)
        target = CreatedObject("table", schema, None, table)
        flags = {"trigger"} | self._tracking_flag(schema, table)
        yield scope.op("create-trigger", f"CREATE TRIGGER {display(None, node.trigname)} ON {shown}",
                       target=target, flags=flags)
        relative = _relative(scope)
        when = tuple(self.descend(node.whenClause, relative)) if node.whenClause is not None else ()
        trigger = TriggerDef(schema, table, node.trigname, trigger_events(node.events),
                             function_name(node.funcname), f"created at line {scope.line}", when)
        self.code.triggers.append(trigger)
        if (schema, table) in self.tracking_tables:
            return  # fires on pgrunbook's tracking insert: see `recording`
        # It fires on the later writes of the table (those of this run too: see `fire`).
        runs = f"on every {' or '.join(e.upper() for e in sorted(trigger.events))} on {shown}"
        yield from self.run_trigger(trigger, scope.later(runs, f"trigger {display(None, node.trigname)} on {shown}"))

    def _CreateEventTrigStmt(self, node: ast.CreateEventTrigStmt, scope: Scope) -> Iterator[Operation]:
        yield scope.op("other", f"CREATE EVENT TRIGGER {display(None, node.trigname)} ON {node.eventname}")
        event_trigger = EventTriggerDef(node.trigname, node.eventname, function_name(node.funcname),
                                        f"created at line {scope.line}", self.file)
        self.code.event_triggers.append(event_trigger)
        # It fires on the run's next DDL statement: executed.
        yield from self.run_event_trigger(event_trigger, scope.inner(top_level=False))

    def _CommentStmt(self, node: ast.CommentStmt, scope: Scope) -> Iterator[Operation]:
        yield scope.op("comment-on", f"COMMENT ON {object_kind(node.objtype).upper()}")

    # ----------------------------------------------------------------- maintenance and session

    def _VacuumStmt(self, node: ast.VacuumStmt, scope: Scope) -> Iterator[Operation]:
        kind, verb = ("vacuum", "VACUUM") if node.is_vacuumcmd else ("analyze", "ANALYZE")
        relations = [relation(r.relation) for r in node.rels or () if getattr(r, "relation", None)]
        if not relations:
            yield scope.op(kind, f"{verb} (whole database)")
        for schema, table in relations:
            yield scope.op(kind, f"{verb} {display(schema, table)}", target=CreatedObject("table", schema, None, table))
        yield from self.index_code(relations or None, verb, scope)

    def index_code(self, tables: list[tuple[str, str]] | None, verb: str, scope: Scope) -> Iterator[Operation]:
        """The expressions and predicates of the indexes of `tables` (None: all), which
        `verb` evaluates again on the rows."""
        for key, indexes in self.code.indexes.items():
            if tables is not None and key not in tables:
                continue
            for name, expressions in indexes:
                for what, expression in expressions:
                    where = f"{what} of index {display(None, name)} on {display(*key)}, evaluated again by {verb}"
                    yield from self.descend(expression, scope.implied(where))

    def _ReindexStmt(self, node: ast.ReindexStmt, scope: Scope) -> Iterator[Operation]:
        yield scope.op("other", "REINDEX")
        tables = [relation(node.relation)] if node.relation is not None else None
        yield from self.index_code(tables, "REINDEX", scope)

    def _ClusterStmt(self, node: ast.ClusterStmt, scope: Scope) -> Iterator[Operation]:
        yield scope.op("other", "CLUSTER")
        tables = [relation(node.relation)] if node.relation is not None else None
        yield from self.index_code(tables, "CLUSTER", scope)

    def _VariableSetStmt(self, node: ast.VariableSetStmt, scope: Scope) -> Iterator[Operation]:
        kind = node.kind.name
        verb = "RESET" if kind.startswith("VAR_RESET") else "SET"
        name = "*" if kind == "VAR_RESET_ALL" else (node.name or "")
        values = [plpgsql.constant_string(arg) if not isinstance(getattr(arg, "val", None), ast.Integer)
                  else str(arg.val.ival) for arg in node.args or ()]
        value = None if kind in ("VAR_SET_DEFAULT", "VAR_RESET", "VAR_RESET_ALL") else (values[0] if values else "")
        flags = setting_flags(name, value, function=False) | ({"local"} if node.is_local else set())
        if kind == "VAR_SET_MULTI":  # SET TRANSACTION ...: not a setting of the session
            flags = {"local"} if node.is_local else set()
        yield scope.op("set", f"{verb} {node.name or 'ALL'}", flags=flags)

    def _TransactionStmt(self, node: ast.TransactionStmt, scope: Scope) -> Iterator[Operation]:
        verb = TransactionStmtKind(node.kind).name.removeprefix("TRANS_STMT_").replace("_", " ")
        yield scope.op("transaction-control", verb)

    def _GrantStmt(self, node: ast.GrantStmt, scope: Scope) -> Iterator[Operation]:
        kind = "grant" if node.is_grant else "revoke"
        yield scope.op(kind, f"{kind.upper()} ON {object_kind(node.objtype).upper()}")

    def _GrantRoleStmt(self, node: ast.GrantRoleStmt, scope: Scope) -> Iterator[Operation]:
        kind = "grant" if node.is_grant else "revoke"
        yield scope.op(kind, f"{kind.upper()} role")

    def _AlterDefaultPrivilegesStmt(self, node: ast.AlterDefaultPrivilegesStmt, scope: Scope) -> Iterator[Operation]:
        kind = "grant" if node.action.is_grant else "revoke"
        yield scope.op(kind, f"ALTER DEFAULT PRIVILEGES {kind.upper()}")


# --------------------------------------------------------------------------- helpers


def _relative(scope: Scope) -> Scope:
    """A scope for a body classified as if it ran, with `via` relative to the body: each
    place that runs it (a call, a firing trigger) puts it in context."""
    return replace(scope, via=(), executed=True, top_level=False, runs=None, implicit=False, repeated=False)


def _literal_row(node: ast.InsertStmt) -> tuple[tuple[str, object], ...] | None:
    """(column, value) of `INSERT INTO t (a, b) VALUES (<literal>, <literal>)`, one row
    of plain constants; None for anything else (several rows, a SELECT, an expression)."""
    select = node.selectStmt
    columns = [target.name for target in node.cols or ()]
    if not isinstance(select, ast.SelectStmt) or not columns or not select.valuesLists:
        return None
    if len(select.valuesLists) != 1 or len(select.valuesLists[0]) != len(columns):
        return None
    row = []
    for column, value in zip(columns, select.valuesLists[0]):
        if not isinstance(value, ast.A_Const) or value.isnull:
            return None
        constant = value.val
        if isinstance(constant, ast.Integer):
            row.append((column, constant.ival))
        elif isinstance(constant, ast.Float) and constant.fval.isdigit():
            row.append((column, int(constant.fval)))
        elif isinstance(constant, ast.String):
            row.append((column, constant.sval))
        else:
            return None
    return tuple(row)


def _cascade(node: object) -> bool:
    behavior = getattr(node, "behavior", None)
    return behavior is not None and getattr(behavior, "name", "") == "DROP_CASCADE"


def _true(option: ast.DefElem) -> bool:
    """EXPLAIN (ANALYZE) and (ANALYZE true) run the statement; (ANALYZE false) does not."""
    arg = option.arg
    if arg is None:
        return True
    if isinstance(arg, ast.Boolean):
        return bool(arg.boolval)
    if isinstance(arg, ast.Integer):
        return arg.ival != 0
    return str(getattr(arg, "sval", arg)).lower() not in ("false", "off", "0", "no")


# Kinds of CreatedObject that objects.py tracks; other kinds pass through unchanged.
_CLASS = {"materialized view": "view", "foreign table": "table", "domain": "type", "procedure": "function"}


def _object_class(kind: str) -> str:
    return _CLASS.get(kind, kind)


def _dropped_object(kind: str, parts: list[str]) -> CreatedObject:
    if kind == "schema":
        name = parts[-1] if parts else "?"
        return CreatedObject("schema", name, None, name)
    if kind in ("trigger", "policy", "rule") and len(parts) >= 2:
        schema, table = split_qualified(parts[:-1])
        return CreatedObject(kind, schema, table, parts[-1])
    schema, name = split_qualified(parts)
    return CreatedObject(_object_class(kind), schema, None, name)


def _renamed_object(node: ast.RenameStmt, kind: str) -> CreatedObject:
    if node.relation is not None:
        schema, table = relation(node.relation)
        if kind in ("column", "attribute", "constraint", "trigger", "policy", "rule"):
            return CreatedObject("column" if kind == "attribute" else kind, schema, table, node.subname)
        return CreatedObject(_object_class(kind), schema, None, table)
    if kind == "schema":
        return CreatedObject("schema", node.subname, None, node.subname)
    parts = object_parts(node.object)
    if kind == "constraint" and len(parts) >= 1:  # ALTER DOMAIN d RENAME CONSTRAINT c
        schema, domain = split_qualified(parts)
        return CreatedObject("constraint", schema, domain, node.subname)
    schema, name = split_qualified(parts)
    return CreatedObject(_object_class(kind), schema, None, name)
