"""Schema changes: CREATE TABLE, CREATE INDEX and the sub-commands of ALTER TABLE.

Each function here turns one parse-tree node into operations, with the objects the node
creates (including those PostgreSQL names itself: see `naming`) and the flags the rules
look at: `if_not_exists`, `concurrently`, `not_valid`, `volatile_default`...
"""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import AlterTableType, ConstrType

from . import naming
from .functions import NON_VOLATILE, is_builtin_schema
from .model import CreatedObject, Operation
from .names import display, function_name, object_kind, relation, strings
from .scope import Scope

SERIAL_TYPES = frozenset({"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"})

# ConstrType -> (words for a human, suffix PostgreSQL uses in the names it chooses)
CONSTRAINT_TYPES = {
    ConstrType.CONSTR_PRIMARY: ("primary key", "pkey"),
    ConstrType.CONSTR_UNIQUE: ("unique", "key"),
    ConstrType.CONSTR_FOREIGN: ("foreign key", "fkey"),
    ConstrType.CONSTR_CHECK: ("check", "check"),
    ConstrType.CONSTR_EXCLUSION: ("exclusion", "excl"),
}
# Constraints that are enforced by an index of the same name.
INDEX_BACKED = frozenset({ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_EXCLUSION})


# --------------------------------------------------------------------------- CREATE TABLE


def create_table(node: ast.CreateStmt, scope: Scope) -> Operation:
    schema, table = relation(node.relation)
    columns = [element for element in node.tableElts or () if isinstance(element, ast.ColumnDef)]
    creates = [CreatedObject("table", schema, None, table)]
    for column in columns:
        creates.extend(column_objects(column, schema, table))
    for element in node.tableElts or ():
        if isinstance(element, ast.Constraint):
            creates.extend(constraint_objects(element, schema, table, column=None))
    flags = {"if_not_exists"} if node.if_not_exists else set()
    return scope.op(
        "create-table",
        f"CREATE TABLE {display(schema, table)}",
        target=creates[0],
        flags=flags,
        columns=tuple(column.colname for column in columns),
        creates=tuple(creates),
    )


def column_objects(column: ast.ColumnDef, schema: str, table: str) -> list[CreatedObject]:
    """The column, its inline constraints and the sequence behind serial/identity."""
    objects = [CreatedObject("column", schema, table, column.colname)]
    for constraint in column.constraints or ():
        objects.extend(constraint_objects(constraint, schema, table, column=column.colname))
    if is_serial(column) or has_constraint(column, ConstrType.CONSTR_IDENTITY):
        name = naming.sequence_name(table, column.colname)
        objects.append(CreatedObject("sequence", schema, table, name, (column.colname,), implicit=True))
    return objects


def constraint_objects(
    constraint: ast.Constraint, schema: str, table: str, *, column: str | None
) -> list[CreatedObject]:
    """A table or column constraint, and the index enforcing it if it has one."""
    if constraint.contype not in CONSTRAINT_TYPES:
        return []  # NOT NULL, DEFAULT, GENERATED...: properties of the column, not objects
    columns = constraint_columns(constraint, column)
    name, implicit = constraint.conname, False
    if not name:
        name, implicit = implicit_constraint_name(constraint, table, columns), True
    objects = [CreatedObject("constraint", schema, table, name, columns, implicit)]
    if constraint.contype in INDEX_BACKED and not constraint.indexname:
        objects.append(CreatedObject("index", schema, table, name, columns, implicit))
    return objects


def constraint_columns(constraint: ast.Constraint, column: str | None) -> tuple[str, ...]:
    if constraint.contype == ConstrType.CONSTR_FOREIGN and constraint.fk_attrs:
        return tuple(strings(constraint.fk_attrs))
    if constraint.contype == ConstrType.CONSTR_EXCLUSION and constraint.exclusions:
        return tuple(index_column_name(pair[0]) for pair in constraint.exclusions)
    if constraint.contype == ConstrType.CONSTR_CHECK:
        return tuple(dict.fromkeys(column_refs(constraint.raw_expr))) or ((column,) if column else ())
    if constraint.keys:
        return tuple(strings(constraint.keys))
    return (column,) if column else ()


def implicit_constraint_name(constraint: ast.Constraint, table: str, columns: tuple[str, ...]) -> str:
    label = CONSTRAINT_TYPES[constraint.contype][1]
    if constraint.contype == ConstrType.CONSTR_CHECK:
        # PostgreSQL names a CHECK after its column only when it uses exactly one.
        columns = columns if len(columns) == 1 else ()
    return naming.constraint_name(table, columns, label)


def has_constraint(column: ast.ColumnDef, contype: ConstrType) -> bool:
    return any(c.contype == contype for c in column.constraints or ())


def is_serial(column: ast.ColumnDef) -> bool:
    names = strings(column.typeName.names) if column.typeName else []
    return bool(names) and names[-1] in SERIAL_TYPES


# --------------------------------------------------------------------------- CREATE INDEX


def create_index(node: ast.IndexStmt, scope: Scope) -> Operation:
    schema, table = relation(node.relation)
    columns = tuple(index_column_name(param) for param in node.indexParams or ())
    name, implicit = node.idxname, False
    if not name:
        label = "pkey" if node.primary else "idx"
        name, implicit = naming.index_name(table, columns, label=label), True
    flags = {
        flag
        for flag, present in (
            ("concurrently", node.concurrent),
            ("if_not_exists", node.if_not_exists),
            ("unique", node.unique),
            ("partial", node.whereClause is not None),
        )
        if present
    }
    index = CreatedObject("index", schema, table, name, columns, implicit)
    unique = "UNIQUE " if node.unique else ""
    return scope.op(
        "create-index",
        f"CREATE {unique}INDEX {display(None, name)} ON {display(schema, table)} ({', '.join(columns)})",
        target=index,
        flags=flags,
        columns=columns,
        creates=(index,),
    )


def index_column_name(param: object) -> str:
    """The name PostgreSQL uses for an index column: the column, the function called
    (`lower(email)` -> `lower`), or `expr`."""
    if isinstance(param, ast.IndexElem):
        if param.name:
            return param.name
        if isinstance(param.expr, ast.FuncCall):
            return function_name(param.expr.funcname)[1]
    return "expr"


# --------------------------------------------------------------------------- ALTER TABLE


def alter_table(node: ast.AlterTableStmt, scope: Scope) -> list[Operation]:
    if node.relation is None:
        return []
    schema, table = relation(node.relation)
    what = object_kind(node.objtype)
    return [op for cmd in node.cmds or () for op in alter_command(cmd, schema, table, what, scope)]


def alter_command(cmd: ast.AlterTableCmd, schema: str, table: str, what: str, scope: Scope) -> Iterator[Operation]:
    subject = f"ALTER {what.upper()} {display(schema, table)}"
    handler = _ALTER_HANDLERS.get(cmd.subtype)
    if handler is not None:
        yield from handler(cmd, schema, table, subject, scope)
    else:
        action = cmd.subtype.name.removeprefix("AT_")
        yield scope.op("other", f"{subject} {action}", target=CreatedObject("table", schema, None, table))


def _add_column(cmd, schema, table, subject, scope):
    column: ast.ColumnDef = cmd.def_
    default = column_default(column)
    flags = {"if_not_exists"} if cmd.missing_ok else set()
    if default is not None:
        flags.add("has_default")
    if column.is_not_null or has_constraint(column, ConstrType.CONSTR_NOTNULL):
        flags.add("not_null")
    if rewrites_table(column, default):
        flags.add("volatile_default")
    for constraint in column.constraints or ():
        if constraint.contype in CONSTRAINT_TYPES:
            flags.add(CONSTRAINT_TYPES[constraint.contype][0].replace(" ", "_"))
        flags |= cascade_flags(constraint)
    yield scope.op(
        "add-column",
        f"{subject} ADD COLUMN {display(None, column.colname)}",
        target=CreatedObject("column", schema, table, column.colname),
        flags=flags,
        columns=(column.colname,),
        creates=tuple(column_objects(column, schema, table)),
    )


def cascade_flags(constraint: ast.Constraint) -> set[str]:
    """`on_delete_cascade` (and `references:<schema.table>`) for a foreign key whose
    referenced rows' deletion deletes the referencing rows."""
    if constraint.contype != ConstrType.CONSTR_FOREIGN or constraint.fk_del_action != "c":
        return set()
    referenced = display(*relation(constraint.pktable)) if constraint.pktable is not None else "?"
    return {"on_delete_cascade", f"references:{referenced}"}


def _column_default(cmd, schema, table, subject, scope):
    target = CreatedObject("column", schema, table, cmd.name)
    column = display(None, cmd.name)
    if cmd.def_ is None:
        yield scope.op("drop-default", f"{subject} ALTER COLUMN {column} DROP DEFAULT", target=target)
    else:
        yield scope.op("set-default", f"{subject} ALTER COLUMN {column} SET DEFAULT", target=target)


def _column_op(kind: str, words: str):
    def handler(cmd, schema, table, subject, scope):
        target = CreatedObject("column", schema, table, cmd.name)
        yield scope.op(kind, f"{subject} ALTER COLUMN {display(None, cmd.name)} {words}", target=target)

    return handler


def _alter_column_type(cmd, schema, table, subject, scope):
    """ALTER COLUMN TYPE, with what decides whether PostgreSQL rewrites the table: the new type
    (`to:<type>` for the string types `simple_type` knows), a USING expression, a COLLATE."""
    definition = cmd.def_
    flags = set()
    if isinstance(definition, ast.ColumnDef):
        new = simple_type(definition.typeName)
        if new is not None:
            flags.add(f"to:{new}")
        if definition.raw_default is not None:
            flags.add("using")
        if definition.collClause is not None:
            flags.add("collate")
    target = CreatedObject("column", schema, table, cmd.name)
    yield scope.op("alter-column-type", f"{subject} ALTER COLUMN {display(None, cmd.name)} TYPE", target=target,
                   flags=flags)


_STRING_TYPES = {"varchar": "varchar", "text": "text", "character varying": "varchar"}


def simple_type(type_name: object) -> str | None:
    """`text`, `varchar` or `varchar(n)` for those built-in types (unqualified or pg_catalog: pg_catalog is
    searched first), None for anything else (arrays, other types, a %TYPE)."""
    if not isinstance(type_name, ast.TypeName) or type_name.arrayBounds or type_name.setof or type_name.pct_type:
        return None
    names = [n.sval for n in type_name.names or ()]
    if len(names) == 2 and names[0] == "pg_catalog":
        names = names[1:]
    if len(names) != 1 or names[0] not in _STRING_TYPES:
        return None
    base = _STRING_TYPES[names[0]]
    mods = list(type_name.typmods or ())
    if not mods:
        return base
    if base != "varchar" or len(mods) != 1 or not isinstance(mods[0], ast.A_Const) or not isinstance(mods[0].val, ast.Integer):
        return None
    return f"varchar({mods[0].val.ival})"


def catalog_type(formatted: str) -> str | None:
    """`format_type()`'s spelling (`character varying(255)`, `text`) as `simple_type` spells it, else None."""
    if formatted == "text":
        return "text"
    if formatted == "character varying":
        return "varchar"
    if formatted.startswith("character varying(") and formatted.endswith(")") and formatted[18:-1].isdigit():
        return f"varchar({formatted[18:-1]})"
    return None


def no_rewrite(old: str | None, new: str | None) -> bool:
    """Whether changing a column from `old` to `new` is binary-coercible with no check: PostgreSQL neither
    rewrites the table nor scans it (varchar(n) -> text / varchar / a wider varchar, varchar <-> text)."""
    if old is None or new is None:
        return False
    if new in ("text", "varchar"):
        return old in ("text", "varchar") or old.startswith("varchar(")
    if new.startswith("varchar(") and old.startswith("varchar("):
        return int(new[8:-1]) >= int(old[8:-1])
    return False


def _drop_column(cmd, schema, table, subject, scope):
    flags = _drop_flags(cmd)
    target = CreatedObject("column", schema, table, cmd.name)
    yield scope.op("drop", f"{subject} DROP COLUMN {display(None, cmd.name)}", target=target, flags=flags)


def _add_constraint(cmd, schema, table, subject, scope):
    constraint: ast.Constraint = cmd.def_
    if not isinstance(constraint, ast.Constraint) or constraint.contype not in CONSTRAINT_TYPES:
        yield scope.op("other", f"{subject} ADD CONSTRAINT", target=CreatedObject("table", schema, None, table))
        return
    creates = constraint_objects(constraint, schema, table, column=None)
    words, _ = CONSTRAINT_TYPES[constraint.contype]
    flags = {words.replace(" ", "_")}
    if constraint.skip_validation:
        flags.add("not_valid")
    if constraint.indexname:
        flags.add("using_index")
    flags |= cascade_flags(constraint)
    references = ""
    if constraint.pktable is not None:
        references = f" REFERENCES {display(*relation(constraint.pktable))}"
    yield scope.op(
        "add-constraint",
        f"{subject} ADD CONSTRAINT {display(None, creates[0].name)} {words.upper()}{references}",
        target=creates[0],
        flags=flags,
        columns=creates[0].columns,
        creates=tuple(creates),
    )


def _validate_constraint(cmd, schema, table, subject, scope):
    target = CreatedObject("constraint", schema, table, cmd.name)
    yield scope.op("validate-constraint", f"{subject} VALIDATE CONSTRAINT {display(None, cmd.name)}", target=target)


def _drop_constraint(cmd, schema, table, subject, scope):
    target = CreatedObject("constraint", schema, table, cmd.name)
    summary = f"{subject} DROP CONSTRAINT {display(None, cmd.name)}"
    yield scope.op("drop", summary, target=target, flags=_drop_flags(cmd))


def _drop_flags(cmd: ast.AlterTableCmd) -> set[str]:
    flags = {"if_exists"} if cmd.missing_ok else set()
    if cmd.behavior is not None and cmd.behavior.name == "DROP_CASCADE":
        flags.add("cascade")
    return flags


_ROW_SECURITY = {
    AlterTableType.AT_EnableRowSecurity: "ENABLE ROW LEVEL SECURITY",
    AlterTableType.AT_DisableRowSecurity: "DISABLE ROW LEVEL SECURITY",
    AlterTableType.AT_ForceRowSecurity: "FORCE ROW LEVEL SECURITY",
    AlterTableType.AT_NoForceRowSecurity: "NO FORCE ROW LEVEL SECURITY",
}


def _row_security(cmd, schema, table, subject, scope):
    action = _ROW_SECURITY[cmd.subtype]
    flag = action.lower().replace(" row level security", "").replace(" ", "_")  # enable, disable, force, no_force
    yield scope.op("row-security", f"{subject} {action}", target=CreatedObject("table", schema, None, table),
                   flags={flag})


_ALTER_HANDLERS = {
    **dict.fromkeys(_ROW_SECURITY, _row_security),
    AlterTableType.AT_AddColumn: _add_column,
    AlterTableType.AT_ColumnDefault: _column_default,
    AlterTableType.AT_SetNotNull: _column_op("set-not-null", "SET NOT NULL"),
    AlterTableType.AT_DropNotNull: _column_op("drop-not-null", "DROP NOT NULL"),
    AlterTableType.AT_AlterColumnType: _alter_column_type,
    AlterTableType.AT_DropColumn: _drop_column,
    AlterTableType.AT_AddConstraint: _add_constraint,
    AlterTableType.AT_ValidateConstraint: _validate_constraint,
    AlterTableType.AT_DropConstraint: _drop_constraint,
}


# --------------------------------------------------------------------------- row-evaluated expressions


def evaluated_per_row(cmd: ast.AlterTableCmd) -> list[tuple[str, object]]:
    """(what, expression) an ALTER TABLE sub-command computes on the existing rows: the
    default of an added column, a generated column's expression, a validated CHECK, and
    the USING of a type change. A function they call runs during the migration."""
    definition = cmd.def_
    if cmd.subtype == AlterTableType.AT_AddColumn and isinstance(definition, ast.ColumnDef):
        column = display(None, definition.colname)
        return [
            (f"{_PER_ROW_CONSTRAINTS[c.contype]} of added column {column}", c.raw_expr)
            for c in definition.constraints or ()
            if c.contype in _PER_ROW_CONSTRAINTS and c.raw_expr is not None
        ] + ([(f"DEFAULT of added column {column}", definition.raw_default)] if definition.raw_default else [])
    if cmd.subtype == AlterTableType.AT_AddConstraint and isinstance(definition, ast.Constraint):
        if definition.contype == ConstrType.CONSTR_EXCLUSION:  # its index is built on every row
            found = [("expression of the exclusion constraint", pair[0].expr) for pair in definition.exclusions or ()
                     if isinstance(pair[0], ast.IndexElem) and pair[0].expr is not None]
            if definition.where_clause is not None:
                found.append(("WHERE of the exclusion constraint", definition.where_clause))
            return found
        validated = definition.contype == ConstrType.CONSTR_CHECK and not definition.skip_validation
        return [("CHECK constraint", definition.raw_expr)] if validated and definition.raw_expr is not None else []
    if cmd.subtype == AlterTableType.AT_AlterColumnType and isinstance(definition, ast.ColumnDef):
        using = definition.raw_default
        return [(f"USING of the type change of column {display(None, cmd.name)}", using)] if using is not None else []
    return []


# Built-ins that convert a value to another type without changing what it says.
_CONVERSIONS = frozenset({"timezone", "to_timestamp", "to_date", "to_number", "int4", "int8", "int2", "text",
                          "numeric", "float8", "bool", "btrim", "trim", "nullif", "to_jsonb", "to_json",
                          "array_to_string", "string_to_array", "date", "varchar"})


def rewritten_values(cmd: ast.AlterTableCmd) -> tuple[str, str] | None:
    """(column, USING text) when an ALTER COLUMN TYPE's USING computes other values than
    the column's own, converted: `USING 'Doe'` or `USING md5(password)` is an UPDATE of
    every row in disguise. Casts of the column and conversion built-ins are not."""
    definition = cmd.def_
    if cmd.subtype != AlterTableType.AT_AlterColumnType or not isinstance(definition, ast.ColumnDef):
        return None
    using = definition.raw_default
    if using is None or _converts(using, cmd.name):
        return None
    from pglast.stream import RawStream

    try:
        text = RawStream()(using)
    except Exception:  # noqa: BLE001 - only for the summary
        text = "<expression>"
    return cmd.name, text


def _converts(node: object, column: str) -> bool:
    """Whether `node` is the column itself, through casts and conversion built-ins
    whose other arguments are constants."""
    if isinstance(node, ast.ColumnRef):
        parts = strings(node.fields)
        return bool(parts) and parts[-1] == column
    if isinstance(node, ast.TypeCast):
        return _converts(node.arg, column)
    if isinstance(node, ast.FuncCall):
        schema, name = function_name(node.funcname)
        args = list(node.args or ())
        if not (is_builtin_schema(schema) and name in _CONVERSIONS) or not args:
            return False
        return any(_converts(a, column) for a in args) and all(
            _converts(a, column) or isinstance(a, ast.A_Const) for a in args
        )
    return False


def evaluated_later(cmd: ast.AlterTableCmd) -> list[tuple[str, str, object]]:
    """(what, when, expression) an ALTER TABLE sub-command leaves for the table's future
    writes without evaluating it now: a new default, a NOT VALID CHECK."""
    definition = cmd.def_
    if cmd.subtype == AlterTableType.AT_ColumnDefault and definition is not None:
        return [(f"DEFAULT of column {display(None, cmd.name)}", "on every insert into", definition)]
    if cmd.subtype == AlterTableType.AT_AddConstraint and isinstance(definition, ast.Constraint):
        if definition.contype == ConstrType.CONSTR_CHECK and definition.skip_validation and definition.raw_expr:
            return [("NOT VALID CHECK constraint", "on every insert or update of", definition.raw_expr)]
    return []


def evaluated_on_writes(node: ast.CreateStmt) -> list[tuple[str, str, object]]:
    """(what, when, expression) of a new table that run on its future writes: column
    defaults, generated columns, CHECKs."""
    found = []
    for element in node.tableElts or ():
        if isinstance(element, ast.ColumnDef):
            column = display(None, element.colname)
            for c in element.constraints or ():
                if c.contype in _PER_ROW_CONSTRAINTS and c.raw_expr is not None:
                    when = "on every insert or update of" if c.contype != ConstrType.CONSTR_DEFAULT else "on every insert into"
                    found.append((f"{_PER_ROW_CONSTRAINTS[c.contype]} of column {column}", when, c.raw_expr))
        elif isinstance(element, ast.Constraint) and element.contype == ConstrType.CONSTR_CHECK and element.raw_expr:
            found.append(("CHECK constraint", "on every insert or update of", element.raw_expr))
    return found


def index_expressions(node: ast.IndexStmt) -> list[tuple[str, object]]:
    """(what, expression) an index computes for every row: its expressions and its
    partial-index predicate."""
    found = [("expression", param.expr) for param in node.indexParams or ()
             if isinstance(param, ast.IndexElem) and param.expr is not None]
    if node.whereClause is not None:
        found.append(("WHERE predicate", node.whereClause))
    return found


_PER_ROW_CONSTRAINTS = {
    ConstrType.CONSTR_DEFAULT: "DEFAULT",
    ConstrType.CONSTR_GENERATED: "generated expression",
    ConstrType.CONSTR_CHECK: "CHECK",
}


# --------------------------------------------------------------------------- defaults


def column_default(column: ast.ColumnDef) -> object | None:
    for constraint in column.constraints or ():
        if constraint.contype == ConstrType.CONSTR_DEFAULT:
            return constraint.raw_expr
    return column.raw_default


def rewrites_table(column: ast.ColumnDef, default: object | None) -> bool:
    """Whether adding this column makes PostgreSQL compute a value for every existing row
    (rewriting the table under an ACCESS EXCLUSIVE lock) instead of storing one default.

    That happens for serial and identity columns, stored generated columns, and defaults
    that are not known to be constant for the statement (`random()`, `gen_random_uuid()`,
    any function we do not know).
    """
    if is_serial(column) or has_constraint(column, ConstrType.CONSTR_IDENTITY):
        return True
    for constraint in column.constraints or ():
        if constraint.contype == ConstrType.CONSTR_GENERATED and constraint.generated_kind != "v":
            return True
    return default is not None and not is_non_volatile(default)


def is_non_volatile(expression: object) -> bool:
    for node in walk(expression):
        if isinstance(node, ast.FuncCall):
            schema, name = function_name(node.funcname)
            if not (is_builtin_schema(schema) and name in NON_VOLATILE):
                return False
        elif isinstance(node, ast.SubLink):
            return False  # a subquery is evaluated per row
    return True


def column_refs(expression: object) -> list[str]:
    references = (strings(node.fields) for node in walk(expression) if isinstance(node, ast.ColumnRef))
    return [parts[-1] for parts in references if parts]


def walk(node: object) -> Iterator[object]:
    """Every node of a subtree, depth first, the root included."""
    if isinstance(node, (list, tuple)):
        for item in node:
            yield from walk(item)
    elif isinstance(node, ast.Node):
        yield node
        for attribute in node:
            if attribute != "ancestors":
                yield from walk(getattr(node, attribute))
