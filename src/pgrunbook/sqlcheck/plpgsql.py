"""Code inside SQL: DO blocks, function bodies, and EXECUTE.

PL/pgSQL is parsed with `pglast.parse_plpgsql` (PostgreSQL's own PL/pgSQL parser). Its
tree holds every embedded SQL text (`PLpgSQL_expr.query`) with the line it is on; each is
re-parsed with the SQL parser and classified like any statement, so a DELETE inside an
IF inside an exception handler inside a DO block is still a DELETE.

`parseMode` tells what the text is: 0 a whole statement, 2 an expression
(`IF cond`, `RAISE ... , expr`), 3-5 an assignment `target := expr`. Expressions are
classified as `SELECT expr`, which finds the functions they call.

EXECUTE runs text built at run time. When that text is a constant (`EXECUTE 'TRUNCATE
users'`), it is classified like the statement it holds. Otherwise the statement is
`dynamic-sql`; we also rebuild what we can of it (constant parts of `||` chains and of
`format()` templates, with a placeholder name for the rest) and classify that, so the
report can say "EXECUTE ... probably DROP TABLE" instead of only "dynamic".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pglast
from pglast import ast, parser

from pgrunbook.errors import SqlParseError

from .model import Operation
from .names import strings
from .scope import Scope
from .split import Source

PLACEHOLDER = "pgrunbook_dynamic"
_NEAR = re.compile(r'at or near "(.*)"')
_UNKNOWN_VARIABLE = re.compile(r'"(.+)" is not a known variable')
DYNAMIC_FIELDS = frozenset({("PLpgSQL_stmt_dynexecute", "query"), ("PLpgSQL_stmt_dynfors", "query")})
TRANSACTION_STATEMENTS = {"PLpgSQL_stmt_commit": "COMMIT", "PLpgSQL_stmt_rollback": "ROLLBACK"}
# PLpgSQL_expr.parseMode (PostgreSQL's RawParseMode)
STATEMENT_MODE = 0
TYPE_NAME_MODE = 1
ASSIGNMENT_MODES = frozenset({3, 4, 5})
# Languages whose functions are compiled code shipped with PostgreSQL or an extension.
COMPILED_LANGUAGES = frozenset({"internal", "c"})
# Loops that run until their own EXIT / condition (FOR loops are bounded by their range).
UNBOUNDED_LOOPS = {"PLpgSQL_stmt_loop": "LOOP", "PLpgSQL_stmt_while": "WHILE"}
# PL/pgSQL statements whose body runs once per iteration.
LOOP_STATEMENTS = frozenset({
    "PLpgSQL_stmt_loop", "PLpgSQL_stmt_while", "PLpgSQL_stmt_fori", "PLpgSQL_stmt_fors", "PLpgSQL_stmt_forc",
    "PLpgSQL_stmt_foreach_a", "PLpgSQL_stmt_dynfors",
})


# --------------------------------------------------------------------------- entry points


def do_block(classifier, node: ast.DoStmt, scope: Scope) -> Iterator[Operation]:
    language, body, location = "plpgsql", "", None
    for arg in node.args or ():
        if arg.defname == "language":
            language = arg.arg.sval
        elif arg.defname == "as":
            body, location = arg.arg.sval, arg.arg_location
    if language != "plpgsql":
        yield scope.op("dynamic-sql", f"DO block in language {language}: its code cannot be analysed")
        return
    source = body_source(scope, location, body)
    wrapper = f"CREATE FUNCTION pgrunbook_do_block() RETURNS void LANGUAGE plpgsql AS {dollar_quote(body)}"
    try:
        tree = parse_plpgsql(wrapper, classifier.file, source, "DO block")
    except SqlParseError as error:
        yield unanalysable(scope, error)
        return
    yield from _visit(classifier, tree, source, scope, statement=None, field=None, lineno=1)


def function_body(classifier, node: ast.CreateFunctionStmt, scope: Scope) -> Iterator[Operation]:
    """What the body of a CREATE FUNCTION / PROCEDURE does when it runs."""
    language, body, location = _function_options(node)
    if node.sql_body is not None:  # BEGIN ATOMIC ... END: already parsed with the statement
        for statement in _statements(node.sql_body):
            yield from classifier.node(statement, scope)
    elif language == "sql":
        yield from classifier.sql_text(body_source(scope, location, body), scope)
    elif language == "plpgsql":
        source = body_source(scope, location, body)
        try:
            tree = parse_plpgsql(scope.sql, classifier.file, source, "function body")
        except SqlParseError as error:
            yield unanalysable(scope, error)
            return
        yield from _visit(classifier, tree, source, scope, statement=None, field=None, lineno=1)
    elif language not in COMPILED_LANGUAGES:
        yield scope.op("dynamic-sql", f"function body in language {language}: its code cannot be analysed")
    # internal/c: the classifier treats the function as the built-in it is (`compiled_symbol`).


def compiled_symbol(node: ast.CreateFunctionStmt) -> str | None:
    """The C symbol of a LANGUAGE internal/c function (`AS 'symbol'`, `AS 'file', 'symbol'`;
    the function's own name when not given); None for other languages."""
    language, _, _ = _function_options(node)
    if language.lower() not in COMPILED_LANGUAGES:
        return None
    for option in node.options or ():
        if option.defname == "as":
            parts = strings(option.arg) if isinstance(option.arg, (list, tuple)) else [option.arg.sval]
            if language.lower() == "c":
                return parts[1] if len(parts) > 1 else strings(node.funcname)[-1]
            return parts[0] if parts else strings(node.funcname)[-1]
    return strings(node.funcname)[-1]


def dynamic_sql(classifier, expression: str, scope: Scope) -> Iterator[Operation]:
    """EXECUTE <expression>."""
    value = _expression_node(expression)
    constant = constant_string(value)
    if constant is not None:
        operations = try_sql(classifier, constant, scope.inner(via=("EXECUTE",)))
        if operations is None:
            yield scope.op("dynamic-sql", f"EXECUTE of a constant that does not parse: {shorten(constant)}")
        yield from operations or ()
        return
    yield scope.op("dynamic-sql", f"EXECUTE {shorten(expression)}")
    if value is None:
        return
    rebuilt = rebuild(value)
    if rebuilt != PLACEHOLDER:
        guessed = try_sql(classifier, rebuilt, scope.inner(via=("EXECUTE (rebuilt from its constant parts)",)))
        yield from (_unplaced(operation) for operation in guessed or ())
    yield from classifier.descend(value, scope)  # functions called to build the text


def _unplaced(operation: Operation) -> Operation:
    """A guessed operation: names only known at run time are shown as `<dynamic>`, and
    it creates nothing we could check in the database afterwards."""
    target = operation.target
    if target is not None and PLACEHOLDER in (target.name, target.table, target.schema):
        target = None
    summary = operation.summary.replace(PLACEHOLDER, "<dynamic>")
    return replace(operation, summary=summary, target=target, creates=())


# --------------------------------------------------------------------------- PL/pgSQL tree


def parse_plpgsql(text: str, file: str, source: Source, what: str) -> object:
    try:
        return pglast.parse_plpgsql(text)
    except parser.ParseError as error:
        message = str(error.args[0]) if error.args else str(error)
        line, column = source.position(_error_offset(message, source.text))
        raise SqlParseError(f"{what}: {message}", file=file, line=line, column=column) from None


def unanalysable(scope: Scope, error: SqlParseError) -> Operation:
    """A PL/pgSQL body PostgreSQL accepts but our parser cannot read: libpg_query parses
    PL/pgSQL without the catalog (a `%ROWTYPE` variable's fields, for one, are unknown to
    it). Never a crash and never silently allowed: one operation of its own kind, whose
    rule (`review-unanalysable-body`) names the construct and its line for a human.

    A syntax error is not that: PostgreSQL rejects it too (a DO block when it runs), so it
    stays a parse error naming file:line:column."""
    located = error.what.removeprefix(f"{error.file}:{error.line}:{error.column}: ")
    reason = located.split(": ", 1)[-1]  # past "function body: " / "DO block: "
    if reason.startswith("syntax error"):
        raise error
    return scope.op("unanalysable-body", f"PL/pgSQL cannot be read at line {error.line} ({reason})")


def _error_offset(message: str, body: str) -> int:
    """Where in the body a PL/pgSQL error is. The PL/pgSQL parser gives no position, only
    `at or near "token"` (or `"r.id" is not a known variable`): point at the first token
    of the body with that text, else at the start of the body."""
    near = _NEAR.search(message) or _UNKNOWN_VARIABLE.search(message)
    if near is None:
        return 0
    if near.re is _UNKNOWN_VARIABLE:
        return max(body.find(near.group(1)), 0)
    try:
        tokens = parser.scan(body)
    except parser.ParseError:
        return 0
    wanted = near.group(1)
    return next((t.start for t in tokens if body[t.start : t.end + 1] == wanted), 0)


def _visit(classifier, value, source, scope, *, statement, field, lineno) -> Iterator[Operation]:
    """Walk a parse_plpgsql tree: `{"Type": {fields}}` nodes, lists, plain values."""
    if isinstance(value, list):
        for item in value:
            yield from _visit(classifier, item, source, scope, statement=statement, field=field, lineno=lineno)
    elif isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith("PLpgSQL_"):
        (node_type, content), = value.items()
        yield from _node(classifier, node_type, content, source, scope, statement, field, lineno)


def _node(classifier, node_type, content, source, scope, statement, field, lineno) -> Iterator[Operation]:
    if not isinstance(content, dict):
        return
    lineno = content.get("lineno", lineno)
    if node_type == "PLpgSQL_expr":
        line_scope = scope.inner(line=source.first_line + lineno - 1, top_level=False)
        dynamic = (statement, field) in DYNAMIC_FIELDS or field == "dynquery"
        yield from _expression(classifier, content, line_scope, dynamic=dynamic)
        return
    if node_type.startswith("PLpgSQL_stmt_"):
        statement = node_type
        if node_type in LOOP_STATEMENTS:
            scope = scope.inner(repeated=True)
        if node_type in UNBOUNDED_LOOPS:  # runs until its own EXIT: maybe until the statement timeout
            line_scope = scope.inner(line=source.first_line + lineno - 1)
            yield line_scope.op("do-block", f"{UNBOUNDED_LOOPS[node_type]} loop in PL/pgSQL", flags={"loop"})
        if node_type in TRANSACTION_STATEMENTS:
            line_scope = scope.inner(line=source.first_line + lineno - 1)
            yield line_scope.op("transaction-control", TRANSACTION_STATEMENTS[node_type])
    for key, inner in content.items():
        yield from _visit(classifier, inner, source, scope, statement=statement, field=key, lineno=lineno)


def _expression(classifier, expr: dict, scope: Scope, *, dynamic: bool) -> Iterator[Operation]:
    query, mode = expr.get("query", ""), expr.get("parseMode", STATEMENT_MODE)
    if dynamic:
        yield from dynamic_sql(classifier, query, scope)
        return
    if mode == TYPE_NAME_MODE:
        return  # a type name: nothing runs
    if mode == STATEMENT_MODE:
        text = query
    elif mode in ASSIGNMENT_MODES:
        text = "SELECT " + assigned_value(query)
    else:
        text = "SELECT " + query
    operations = try_sql(classifier, text, scope)
    if operations is None:
        yield scope.op("other", f"PL/pgSQL code that could not be analysed: {shorten(query)}")
    yield from operations or ()


def assigned_value(assignment: str) -> str:
    """`target := value` -> `value` (the target may be `n`, `rec.field`, `arr[i]`)."""
    try:
        tokens = parser.scan(assignment)
    except parser.ParseError:
        return assignment
    for token in tokens:
        if token.name in ("COLON_EQUALS", "ASCII_61"):
            return assignment[token.end + 1 :]
    return assignment


# --------------------------------------------------------------------------- helpers


def try_sql(classifier, text: str, scope: Scope) -> list[Operation] | None:
    """Classify SQL text PostgreSQL will parse at run time; None when it does not parse
    (then it would fail when run, which the runbook's rollback handles)."""
    try:
        return classifier.sql_text(Source(text, scope.line), scope)
    except SqlParseError:
        return None


def body_source(scope: Scope, location: int | None, body: str) -> Source:
    """Where a function or DO body sits in the file: just after its opening quote."""
    if location is None:
        return Source(body, scope.line)
    text, start = scope.source.text, location
    if text.startswith("$", start):
        start = text.index("$", start + 1) + 1  # past the `$tag$`
    elif text[start : start + 1] in ("e", "E"):
        start += 2  # past `E'`
    else:
        start += 1  # past `'`
    line, column = scope.source.position(start)
    return Source(body, line, column)


def dollar_quote(body: str) -> str:
    tag, n = "$pgrunbook$", 0
    while tag in body:
        n += 1
        tag = f"$pgrunbook{n}$"
    return f"{tag}{body}{tag}"


def constant_string(node: object) -> str | None:
    """The value of a string constant, a cast of one, or a `||` of constants."""
    if isinstance(node, ast.A_Const) and isinstance(node.val, ast.String):
        return node.val.sval
    if isinstance(node, ast.TypeCast):
        return constant_string(node.arg)
    if _is_concat(node):
        left, right = constant_string(node.lexpr), constant_string(node.rexpr)
        return None if left is None or right is None else left + right
    return None


def rebuild(node: object) -> str:
    """The SQL text an expression builds, with PLACEHOLDER for the parts only known at
    run time (a variable, a parameter, a function result)."""
    constant = constant_string(node)
    if constant is not None:
        return constant
    if isinstance(node, ast.TypeCast):
        return rebuild(node.arg)
    if _is_concat(node):
        return rebuild(node.lexpr) + rebuild(node.rexpr)
    if isinstance(node, ast.FuncCall):
        name = strings(node.funcname)[-1:]
        args = list(node.args or ())
        if name == ["format"] and args and constant_string(args[0]) is not None:
            return re.sub(r"%(?:\d+\$)?-?\d*([sIL%])", _format_placeholder, constant_string(args[0]))
        if name == ["concat"]:
            return "".join(rebuild(arg) for arg in args)
    return PLACEHOLDER


def _format_placeholder(match: re.Match) -> str:
    """What a format() conversion becomes: `%%` a percent sign, `%L` a literal,
    `%I` and `%s` a name (the usual case for DDL built at run time)."""
    return {"%": "%", "L": f"'{PLACEHOLDER}'"}.get(match.group(1), PLACEHOLDER)


def _is_concat(node: object) -> bool:
    return isinstance(node, ast.A_Expr) and strings(node.name) == ["||"]


def _expression_node(expression: str) -> object | None:
    try:
        (raw,) = parser.parse_sql("SELECT " + expression)
    except (parser.ParseError, ValueError):
        return None
    targets = getattr(raw.stmt, "targetList", None) or ()
    return targets[0].val if len(targets) == 1 else None


def _function_options(node: ast.CreateFunctionStmt) -> tuple[str, str, int | None]:
    language, body, location = "sql", "", None
    for option in node.options or ():
        if option.defname == "language":
            language = option.arg.sval
        elif option.defname == "as":
            parts = strings(option.arg) if isinstance(option.arg, (list, tuple)) else [option.arg.sval]
            body, location = (parts[0] if parts else ""), option.arg_location
    return language, body, location


def _statements(sql_body: object) -> list[ast.Node]:
    """The statements of a BEGIN ATOMIC body (a list of lists in the parse tree)."""
    if isinstance(sql_body, (list, tuple)):
        return [statement for item in sql_body for statement in _statements(item)]
    return [sql_body] if isinstance(sql_body, ast.Node) else []


def shorten(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

