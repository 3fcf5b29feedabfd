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
  set) is followed: calling it counts as running its body, at the call site. The body of
  a function that nothing calls is still classified, with `executed=False`: it runs
  later, when the application or a trigger calls it, and the rules cap such findings at
  `review` (see `rules`). Built-ins are judged from `functions`; any other function is an
  unknown `call`.

Function calls are only looked for where they run now: in queries and DML, not in
defaults, CHECK constraints or index expressions, which the server evaluates on rows (an
added column's default is judged by `ddl.rewrites_table`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace

from pglast import ast
from pglast.enums import CmdType, OnConflictAction, TransactionStmtKind

from . import ddl, plpgsql
from .functions import DANGEROUS, HARMLESS, SESSION_SETTERS, is_builtin_schema
from .model import CreatedObject, Operation
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

# Every operation kind, from harmless to destructive. `Policy` maps each to a verdict.
KINDS = frozenset(
    {
        "create-index", "analyze", "vacuum", "add-column", "create-table", "create-type",
        "alter-type", "create-sequence", "create-schema", "create-extension", "add-constraint",
        "validate-constraint", "alter-column-type", "set-not-null", "drop-not-null",
        "set-default", "drop-default", "rename", "drop", "truncate", "delete", "update",
        "insert-tracking", "insert-seed", "select", "grant", "revoke", "transaction-control",
        "do-block", "create-function", "create-trigger", "call", "dangerous-call",
        "dynamic-sql", "set", "comment-on", "create-view", "other",
    }
)  # fmt: skip

DML_NODES = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)


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
    ) -> None:
        self.file = file
        self.tracking_tables = frozenset(tracking_tables)
        self.functions: dict[tuple[str, str], FunctionDef] = dict(functions or {})
        self.prepared: dict[str, tuple[Operation, ...]] = {}

    # ----------------------------------------------------------------- entry points

    def statement(self, statement: SqlStatement) -> tuple[Operation, ...]:
        scope = Scope(source=statement.source, sql=statement.sql, line=statement.line)
        return tuple(self.node(statement.node, scope))

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
        yield self._insert(schema, table, scope, "INSERT INTO")
        conflict = node.onConflictClause
        if conflict is not None and conflict.action == OnConflictAction.ONCONFLICT_UPDATE:
            target = CreatedObject("table", schema, None, table)
            yield scope.op("update", f"INSERT ... ON CONFLICT DO UPDATE {display(schema, table)}", target=target)
        yield from self.inside(node, scope)

    def _insert(self, schema: str, table: str, scope: Scope, verb: str) -> Operation:
        kind = "insert-tracking" if (schema, table) in self.tracking_tables else "insert-seed"
        target = CreatedObject("table", schema, None, table)
        return scope.op(kind, f"{verb} {display(schema, table)}", target=target)

    def _UpdateStmt(self, node: ast.UpdateStmt, scope: Scope) -> Iterator[Operation]:
        schema, table = relation(node.relation)
        flags = {"no_where"} if node.whereClause is None else set()
        target = CreatedObject("table", schema, None, table)
        yield scope.op("update", f"UPDATE {display(schema, table)}", target=target, flags=flags)
        yield from self.inside(node, scope)

    def _DeleteStmt(self, node: ast.DeleteStmt, scope: Scope) -> Iterator[Operation]:
        schema, table = relation(node.relation)
        flags = {"no_where"} if node.whereClause is None else set()
        target = CreatedObject("table", schema, None, table)
        yield scope.op("delete", f"DELETE FROM {display(schema, table)}", target=target, flags=flags)
        yield from self.inside(node, scope)

    def _MergeStmt(self, node: ast.MergeStmt, scope: Scope) -> Iterator[Operation]:
        schema, table = relation(node.relation)
        target = CreatedObject("table", schema, None, table)
        for clause in node.mergeWhenClauses or ():
            if clause.commandType == CmdType.CMD_UPDATE:
                yield scope.op("update", f"MERGE INTO {display(schema, table)} ... UPDATE", target=target)
            elif clause.commandType == CmdType.CMD_DELETE:
                yield scope.op("delete", f"MERGE INTO {display(schema, table)} ... DELETE", target=target)
            elif clause.commandType == CmdType.CMD_INSERT:
                yield self._insert(schema, table, scope, "MERGE ... INSERT INTO")
        yield from self.inside(node, scope)

    def _TruncateStmt(self, node: ast.TruncateStmt, scope: Scope) -> Iterator[Operation]:
        for rangevar in node.relations or ():
            schema, table = relation(rangevar)
            target = CreatedObject("table", schema, None, table)
            yield scope.op("truncate", f"TRUNCATE {display(schema, table)}", target=target)

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
        yield from self.inside(node, scope)

    def _CreateTableAsStmt(self, node: ast.CreateTableAsStmt, scope: Scope) -> Iterator[Operation]:
        if object_kind(node.objtype) == "materialized view":
            schema, name = relation(node.into.rel)
            view = CreatedObject("view", schema, None, name)
            summary = f"CREATE MATERIALIZED VIEW {display(schema, name)}"
            yield scope.op("create-view", summary, target=view, creates=(view,))
        else:
            yield self._table_as(node.into, "CREATE TABLE ... AS", scope)
        if not node.into.skipData:  # WITH NO DATA does not run the query
            yield from self.node(node.query, scope.inner(top_level=False))

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
            yield from self.inside(value, scope)

    # ----------------------------------------------------------------- calls

    def call(self, node: ast.FuncCall, scope: Scope) -> Iterator[Operation]:
        schema, name = function_name(node.funcname)
        defined = self.find_function(schema, name)
        if defined is not None:
            yield from self.run_function(defined, scope)
        elif is_builtin_schema(schema) and name in SESSION_SETTERS:
            yield scope.op("set", f"{name}()")
        elif is_builtin_schema(schema) and name in DANGEROUS:
            yield scope.op("dangerous-call", f"{name}()")
        elif not (is_builtin_schema(schema) and name in HARMLESS):
            yield scope.op("call", f"{display(schema, name)}()")

    def find_function(self, schema: str | None, name: str) -> FunctionDef | None:
        if schema is not None:
            return self.functions.get((schema, name))
        # Unqualified: found through search_path; prefer public, else any schema.
        found = self.functions.get((DEFAULT_SCHEMA, name))
        return found or next((f for (_, n), f in self.functions.items() if n == name), None)

    def run_function(self, function: FunctionDef, scope: Scope) -> Iterator[Operation]:
        """The body's operations, as run from this call site."""
        via = scope.via + (f"call {function.signature} (defined at line {function.line})",)
        for operation in function.operations:
            yield replace(operation, line=scope.line, via=via + operation.via, executed=scope.executed)

    def _CallStmt(self, node: ast.CallStmt, scope: Scope) -> Iterator[Operation]:
        yield from self.call(node.funccall, scope)
        yield from self.inside(node.funccall, scope)

    def _PrepareStmt(self, node: ast.PrepareStmt, scope: Scope) -> Iterator[Operation]:
        # The query runs at EXECUTE time: remember what it does, report it there (and
        # here as not executed, like a function body, in case nothing executes it).
        query = tuple(self.node(node.query, replace(scope, via=(), executed=True, top_level=False)))
        self.prepared[node.name] = query
        yield scope.op("other", f"PREPARE {node.name}")
        for operation in query:
            yield replace(operation, via=scope.via + (f"PREPARE {node.name}",) + operation.via, executed=False)

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
        body_scope = replace(scope, via=(), executed=True, top_level=False)
        body = tuple(plpgsql.function_body(self, node, body_scope))
        defined = FunctionDef(schema, name, scope.line, body, node.is_procedure)
        self.functions[(schema, name)] = defined
        # Reported here as not executed: it runs when something calls it.
        where = (f"body of {defined.signature}",)
        for operation in body:
            yield replace(operation, via=scope.via + where + operation.via, executed=False)

    # ----------------------------------------------------------------- schema changes

    def _CreateStmt(self, node: ast.CreateStmt, scope: Scope) -> Iterator[Operation]:
        yield ddl.create_table(node, scope)

    def _IndexStmt(self, node: ast.IndexStmt, scope: Scope) -> Iterator[Operation]:
        yield ddl.create_index(node, scope)

    def _AlterTableStmt(self, node: ast.AlterTableStmt, scope: Scope) -> Iterator[Operation]:
        yield from ddl.alter_table(node, scope)
        for cmd in node.cmds or ():
            for expression in ddl.evaluated_per_row(cmd):
                yield from self.descend(expression, scope.inner(top_level=False))

    def _RuleStmt(self, node: ast.RuleStmt, scope: Scope) -> Iterator[Operation]:
        schema, table = relation(node.relation)
        yield scope.op("other", f"CREATE RULE {display(None, node.rulename)} ON {display(schema, table)}")
        # The rule's actions run later, on the application's writes: like a function body.
        later = scope.inner(via=(f"rule {node.rulename}",), executed=False, top_level=False)
        for action in node.actions or ():
            yield from self.node(action, later)

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
            flags = {"if_not_exists"} if node.skipIfNewValExists else set()
            target = CreatedObject("type", schema, None, name)
            summary = f"ALTER TYPE {display(schema, name)} ADD VALUE '{node.newVal}'"
            yield scope.op("alter-type", summary, target=target, flags=flags)

    def _CreateEnumStmt(self, node: ast.CreateEnumStmt, scope: Scope) -> Iterator[Operation]:
        yield self._create_type(strings(node.typeName), "ENUM", scope)

    def _CompositeTypeStmt(self, node: ast.CompositeTypeStmt, scope: Scope) -> Iterator[Operation]:
        yield self._create_type(object_parts(node.typevar), "composite", scope)

    def _CreateRangeStmt(self, node: ast.CreateRangeStmt, scope: Scope) -> Iterator[Operation]:
        yield self._create_type(strings(node.typeName), "RANGE", scope)

    def _CreateDomainStmt(self, node: ast.CreateDomainStmt, scope: Scope) -> Iterator[Operation]:
        yield self._create_type(strings(node.domainname), "DOMAIN", scope)

    def _DefineStmt(self, node: ast.DefineStmt, scope: Scope) -> Iterator[Operation]:
        kind = object_kind(node.kind)
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

    def _CreateTrigStmt(self, node: ast.CreateTrigStmt, scope: Scope) -> Iterator[Operation]:
        schema, table = relation(node.relation)
        yield scope.op("create-trigger", f"CREATE TRIGGER {display(None, node.trigname)} ON {display(schema, table)}")

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

    def _VariableSetStmt(self, node: ast.VariableSetStmt, scope: Scope) -> Iterator[Operation]:
        verb = "RESET" if node.kind.name.startswith("VAR_RESET") else "SET"
        yield scope.op("set", f"{verb} {node.name or 'ALL'}", flags={"local"} if node.is_local else ())

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
