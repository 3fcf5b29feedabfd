"""Pre-flight data checks (issue 9.6): would a pending statement fail on the data as it is now?

Some statements are safe or fatal depending on the rows: `CREATE UNIQUE INDEX` fails on
duplicates (and a failed CONCURRENTLY build leaves an INVALID index behind), `SET NOT NULL`
on NULLs, a validating foreign key on orphans, a CHECK on rows that fail it, `ADD COLUMN …
NOT NULL` without a default on any row at all, `VALIDATE CONSTRAINT` on the rows its
NOT VALID constraint let in. Each is measured before anything runs, in
the caller's READ ONLY transaction, bounded by a statement timeout: a plan that would fail
is a NO-GO (gate criterion `data-preflight`), shown by `inv analyze`.

- `plan_checks()` (pure) reads the migration texts with pglast (on its own: it does not
  depend on sqlcheck's classification) and says what to measure, statement by statement.
  Tables the plan creates are empty: skipped. A table whose rows the plan changes first
  (INSERT, UPDATE, DELETE, MERGE, COPY, TRUNCATE, ALTER COLUMN TYPE) is "not checked", with why.
- Only expressions built from columns, constants, operators, casts to base or enum types
  and a list of side-effect-free built-ins are evaluated: a CHECK or index expression
  calling anything else is "not checked" (pre-flight must not run the migration's code).
- `run_checks()` (adapter) counts the violations and a few examples — primary-key values
  of offending rows (or their ctid), never the rows' contents, which may be personal data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .errors import NOTHING_CHANGED, RuntimeFailure
from .outcome import Check, Status

if TYPE_CHECKING:
    import psycopg

EXAMPLES = 5
WORK_MEM = "64MB"
CHECK_ID = "data-preflight"

# Built-ins without side effects that CHECKs, index expressions and defaults commonly use.
SAFE_FUNCTIONS = frozenset({
    "lower", "upper", "length", "char_length", "character_length", "octet_length", "bit_length", "btrim", "ltrim",
    "rtrim", "trim", "left", "right", "substr", "substring", "strpos", "position", "replace", "concat", "concat_ws",
    "lpad", "rpad", "starts_with", "md5", "abs", "round", "floor", "ceil", "ceiling", "trunc", "sign", "mod",
    "date_trunc", "date_part", "extract", "now", "timezone", "make_date", "age", "to_char", "nullif", "greatest",
    "least", "array_length", "cardinality", "jsonb_typeof", "json_typeof", "jsonb_array_length", "regexp_like",
    "gen_random_uuid", "uuidv4", "uuidv7", "statement_timestamp", "transaction_timestamp", "clock_timestamp",
    "num_nonnulls", "num_nulls", "unaccent",
})
_SAFE_NODES = frozenset({
    "ColumnRef", "A_Const", "String", "Integer", "Float", "Boolean", "BitString", "TypeCast", "TypeName", "A_Expr",
    "BoolExpr", "NullTest", "BooleanTest", "FuncCall", "CoalesceExpr", "MinMaxExpr", "CaseExpr", "CaseWhen",
    "SQLValueFunction", "A_ArrayExpr", "RowExpr", "CollateClause", "A_Indirection", "A_Indices", "List",
})
_SERIAL = frozenset({"serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"})


# --------------------------------------------------------------------------- what to measure (pure)


@dataclass(frozen=True)
class NewColumn:
    """A column the statement adds: existing rows get its default (NULL without one)."""

    name: str
    type_sql: str
    default_sql: str | None
    if_not_exists: bool = False  # ADD COLUMN IF NOT EXISTS: a no-op when the column exists


@dataclass(frozen=True)
class DataCheck:
    kind: str  # "unique" | "not-null" | "foreign-key" | "check"
    file: str
    line: int
    statement: str  # its first line, for messages
    table: str  # schema.table
    what: str  # "unique (role)", "role IS NOT NULL", ...
    keys: tuple[str, ...] = ()  # unique: the key expressions (SQL)
    where: str | None = None  # unique: a partial index's predicate; otherwise the violation condition
    nulls_distinct: bool = True
    new_column: NewColumn | None = None
    referenced: str | None = None  # foreign key: schema.table
    referenced_columns: tuple[str, ...] = ()  # empty: the referenced table's primary key
    columns: tuple[str, ...] = ()  # foreign key: the referencing columns
    match_full: bool = False
    types: tuple[str, ...] = ()  # type names the expressions cast to: resolved before anything runs
    index: str | None = None  # CREATE UNIQUE INDEX IF NOT EXISTS: a no-op when it exists
    referenced_created: bool = False  # the referenced table is created by the plan: empty
    skipped: str = ""  # "not checked" reason, decided without the database
    constraint: str | None = None  # validate: the constraint's name (its definition is read from the catalog)

    @property
    def where_in_file(self) -> str:
        return f"{self.file}:{self.line}"


def plan_checks(files: Sequence[tuple[str, str]], existing_tables: frozenset[str]) -> tuple[DataCheck, ...]:
    """The data checks of a plan's migrations (name, text), in order."""
    from pglast import ast

    from .sqlcheck.split import split_sql

    state = _PlanState(existing_tables)
    checks: list[DataCheck] = []
    for name, text in files:
        for statement in split_sql(text, file=name).statements:
            node = statement.node
            where = (name, statement.line, " ".join(statement.sql.split())[:100])
            if isinstance(node, ast.IndexStmt) and node.unique:
                checks += state.mark(_unique_index(node, where))
            elif isinstance(node, ast.AlterTableStmt) and node.relation is not None:
                checks += state.mark(_alter_table(node, where, state))
            state.observe(node, statement.line)
    return tuple(checks)


class _PlanState:
    """What earlier statements of the plan did: tables created, rows changed, columns added."""

    def __init__(self, existing: frozenset[str]) -> None:
        self.existing = existing
        self.created: set[str] = set()
        self.changed: dict[str, int] = {}  # table -> line of the first statement changing its rows
        self.added: set[tuple[str, str]] = set()
        # (table, quoted column) added by the plan without a default, identity or generation: NULL in every existing
        # row until something writes the table (then `changed`) or runs code we do not read (then forgotten)
        self.added_null: set[tuple[str, str]] = set()
        self.not_valid: dict[tuple[str, str], Any] = {}  # (table, constraint) added NOT VALID by the plan -> its node

    def mark(self, checks: list[DataCheck]) -> list[DataCheck]:
        out = []
        for c in checks:
            if c.skipped:
                out.append(c)
            elif c.table in self.created:
                continue  # created by this plan: empty, nothing can fail
            elif self._all_null(c):
                continue  # NULL in every existing row: no orphan, no duplicate (NULLS DISTINCT)
            elif c.table in self.changed:
                out.append(replace(c, skipped=f"the plan changes rows of {c.table} before it (line {self.changed[c.table]}): "
                                              "the data then is not the data now"))
            elif c.table not in self.existing:
                out.append(replace(c, skipped=f"{c.table} is not a table of the database (nor created by the plan)"))
            elif c.referenced and c.referenced in self.created:
                out.append(replace(c, referenced_created=True))
            elif c.referenced and c.referenced not in self.existing:
                out.append(replace(c, skipped=f"the referenced table {c.referenced} does not exist"))
            else:
                out.append(c)
        return out

    def _all_null(self, c: DataCheck) -> bool:
        """The check's columns are all columns this plan added without a value, and nothing wrote the table since."""
        if c.table in self.changed or c.skipped:
            return False
        if c.kind == "foreign-key":
            columns = tuple(quote_ident(col) for col in c.columns)
        elif c.kind == "unique" and c.nulls_distinct and c.where is None:
            columns = c.keys
        else:
            return False
        return bool(columns) and all((c.table, col) in self.added_null for col in columns)

    def observe(self, node: Any, line: int) -> None:
        from pglast import ast

        if isinstance(node, (ast.DoStmt, ast.CallStmt, ast.SelectStmt, ast.ExecuteStmt)):
            self.added_null.clear()  # code we do not follow here may write any table
        if isinstance(node, (ast.CreateStmt, ast.CreateTableAsStmt)):
            relation = node.relation if isinstance(node, ast.CreateStmt) else node.into.rel
            self.created.add(_qualified(relation))
        elif isinstance(node, (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)):
            self.changed.setdefault(_qualified(node.relation), line)
        elif isinstance(node, ast.CopyStmt) and node.is_from and node.relation is not None:
            self.changed.setdefault(_qualified(node.relation), line)
        elif isinstance(node, ast.TruncateStmt):
            for relation in node.relations or ():
                self.changed.setdefault(_qualified(relation), line)
        elif isinstance(node, ast.AlterTableStmt) and node.relation is not None:
            from pglast.enums import AlterTableType

            table = _qualified(node.relation)
            for cmd in node.cmds or ():
                if cmd.subtype == AlterTableType.AT_AlterColumnType:  # rewrites the values (USING, a new type's equality)
                    self.changed.setdefault(table, line)
                elif isinstance(cmd.def_, ast.ColumnDef):
                    self.added.add((table, cmd.def_.colname))
                    if _without_value(cmd.def_):
                        self.added_null.add((table, quote_ident(cmd.def_.colname)))


def _without_value(col: Any) -> bool:
    """A column definition that gives existing rows NULL: no DEFAULT, identity or generated expression, no serial type."""
    from pglast.enums import ConstrType

    valued = {ConstrType.CONSTR_DEFAULT, ConstrType.CONSTR_IDENTITY, ConstrType.CONSTR_GENERATED}
    type_name = col.typeName.names[-1].sval if col.typeName is not None and col.typeName.names else ""
    return type_name not in _SERIAL and not any(c.contype in valued for c in col.constraints or ())


def _unique_index(node: Any, where: tuple[str, int, str]) -> list[DataCheck]:
    table = _qualified(node.relation)
    keys, problems, types = [], [], []
    for elem in node.indexParams or ():
        if elem.expr is not None:
            problems += _unsafe(elem.expr)
            types += _cast_types(elem.expr)
            sql = f"({_deparse(elem.expr)})"
        else:
            sql = quote_ident(elem.name)
        if elem.collation:
            sql += " COLLATE " + ".".join(quote_ident(c.sval) for c in elem.collation)
        keys.append(sql)
    predicate = None
    if node.whereClause is not None:
        problems += _unsafe(node.whereClause)
        types += _cast_types(node.whereClause)
        predicate = _deparse(node.whereClause)
    index = f"{node.relation.schemaname or 'public'}.{node.idxname}" if node.if_not_exists and node.idxname else None
    what = f"unique index {node.idxname or ''} ({', '.join(keys)})".replace("index  (", "index (")
    check = DataCheck("unique", *where, table, what + (f" WHERE {predicate}" if predicate else ""), keys=tuple(keys),
                      where=predicate, nulls_distinct=not node.nulls_not_distinct, types=tuple(types), index=index)
    return [_skip_if(check, problems)]


def _alter_table(node: Any, where: tuple[str, int, str], state: _PlanState) -> list[DataCheck]:
    from pglast import ast
    from pglast.enums import AlterTableType

    from pglast.enums import ConstrType

    table = _qualified(node.relation)
    checks: list[DataCheck] = []
    for cmd in node.cmds or ():
        if cmd.subtype == AlterTableType.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
            if cmd.def_.skip_validation and cmd.def_.conname:
                state.not_valid[(table, cmd.def_.conname)] = cmd.def_
            checks += _constraint(cmd.def_, table, where, None)
            if cmd.def_.contype == ConstrType.CONSTR_EXCLUSION:
                checks.append(DataCheck("exclusion", *where, table, f"EXCLUDE constraint {cmd.def_.conname or ''}".strip(),
                                        skipped="overlapping rows are not measured (an exclusion constraint): check by hand"))
        elif cmd.subtype == AlterTableType.AT_ValidateConstraint and cmd.name:
            added = state.not_valid.get((table, cmd.name))
            if added is not None:  # added NOT VALID earlier in this plan: its definition is right there
                checks += _constraint(replace_node(added, skip_validation=False), table, where, None)
            else:
                checks.append(DataCheck("validate", *where, table, f"VALIDATE CONSTRAINT {cmd.name}", constraint=cmd.name))
        elif cmd.subtype == AlterTableType.AT_SetNotNull and cmd.name:
            check = DataCheck("not-null", *where, table, f"{cmd.name} NOT NULL", where=f"{quote_ident(cmd.name)} IS NULL")
            if (table, cmd.name) in state.added:
                check = replace(check, skipped=f"{cmd.name} is added by this plan: what fills it runs in between")
            checks.append(check)
        elif cmd.subtype == AlterTableType.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
            checks += _new_column(cmd.def_, table, where, if_not_exists=bool(cmd.missing_ok))
    return checks


def _new_column(col: Any, table: str, where: tuple[str, int, str], *, if_not_exists: bool) -> list[DataCheck]:
    from pglast.enums import ConstrType

    constraints = list(col.constraints or ())
    kinds = {c.contype for c in constraints}
    type_name = col.typeName.names[-1].sval if col.typeName is not None else ""
    if type_name in _SERIAL or ConstrType.CONSTR_IDENTITY in kinds:
        return []  # every row gets its own value from a sequence: unique and not null hold
    default = next((c.raw_expr for c in constraints if c.contype == ConstrType.CONSTR_DEFAULT), None)
    if col.raw_default is not None:
        default = col.raw_default
    relevant = kinds & {ConstrType.CONSTR_NOTNULL, ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE,
                        ConstrType.CONSTR_CHECK, ConstrType.CONSTR_FOREIGN}
    if not relevant:
        return []
    problems = _unsafe(default) if default is not None else []
    if ConstrType.CONSTR_GENERATED in kinds:
        problems.append("a generated column")
    new = NewColumn(col.colname, _deparse(col.typeName), _deparse(default) if default is not None else None, if_not_exists)
    types = (new.type_sql, *(_cast_types(default) if default is not None else ()))
    checks: list[DataCheck] = []
    constant = default is not None and _non_null_constant(default)
    if ConstrType.CONSTR_NOTNULL in kinds and ConstrType.CONSTR_PRIMARY not in kinds and not constant:
        checks.append(DataCheck("not-null", *where, table, f"new column {col.colname} NOT NULL",
                                where=f"{quote_ident(col.colname)} IS NULL", new_column=new, types=types))
    for constraint in constraints:
        checks += _constraint(constraint, table, where, new)
    return [_skip_if(c, problems) for c in checks]


def _constraint(c: Any, table: str, where: tuple[str, int, str], new: NewColumn | None) -> list[DataCheck]:
    from pglast.enums import ConstrType

    types = (new.type_sql,) if new else ()
    own = (new.name,) if new else ()
    if c.skip_validation or (c.contype in (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE) and c.indexname):
        return []  # NOT VALID, or USING INDEX (the index already holds): nothing is checked now
    if c.contype in (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE):
        columns = tuple(k.sval for k in c.keys) if c.keys else own
        keys = tuple(quote_ident(k) for k in columns)
        primary = c.contype == ConstrType.CONSTR_PRIMARY
        name = "primary key" if primary else "unique"
        out = [DataCheck("unique", *where, table, f"{name} ({', '.join(keys)})", keys=keys,
                         nulls_distinct=not c.nulls_not_distinct, new_column=new, types=types)]
        if primary:
            out.append(DataCheck("not-null", *where, table, f"primary key ({', '.join(keys)}) NOT NULL",
                                 where=" OR ".join(f"{k} IS NULL" for k in keys), new_column=new, types=types))
        return out
    if c.contype == ConstrType.CONSTR_CHECK:
        text = _deparse(c.raw_expr)
        check = DataCheck("check", *where, table, f"CHECK ({text})", where=f"NOT ({text})", new_column=new,
                          types=types + tuple(_cast_types(c.raw_expr)))
        return [_skip_if(check, _unsafe(c.raw_expr))]
    if c.contype == ConstrType.CONSTR_FOREIGN:
        columns = tuple(a.sval for a in c.fk_attrs) if c.fk_attrs else own
        referenced = tuple(a.sval for a in c.pk_attrs or ())
        return [DataCheck("foreign-key", *where, table,
                          f"foreign key ({', '.join(columns)}) REFERENCES {_qualified(c.pktable)}"
                          + (f" ({', '.join(referenced)})" if referenced else ""),
                          new_column=new, referenced=_qualified(c.pktable), referenced_columns=referenced,
                          columns=columns, match_full=c.fk_matchtype == "f", types=types)]
    return []


def _non_null_constant(node: Any) -> bool:
    """`0`, `'x'`, `'x'::text`, `true`: every row gets that value."""
    from pglast import ast

    while isinstance(node, ast.TypeCast):
        node = node.arg
    return isinstance(node, ast.A_Const) and not node.isnull


def replace_node(node: Any, **changes: Any) -> Any:
    """A copy of a pglast node with some attributes changed (nodes are mutable; the plan's stay as parsed)."""
    import copy

    clone = copy.deepcopy(node)
    for name, value in changes.items():
        setattr(clone, name, value)
    return clone


def _skip_if(check: DataCheck, problems: list[str]) -> DataCheck:
    if problems and not check.skipped:
        return replace(check, skipped="evaluating it would run " + ", ".join(dict.fromkeys(problems)))
    return check


def _unsafe(node: Any) -> list[str]:
    """What in an expression pre-flight will not evaluate (anything but the plainly side-effect-free)."""
    from pglast import ast

    problems: list[str] = []

    def walk(n: Any) -> None:
        if isinstance(n, tuple | list):
            for item in n:
                walk(item)
            return
        if not isinstance(n, ast.Node):
            return
        kind = type(n).__name__
        if kind not in _SAFE_NODES:
            problems.append(f"a {kind}")
            return
        if kind == "FuncCall":
            names = [s.sval for s in n.funcname]
            name = names[-1].lower()
            if (len(names) > 1 and names[0] != "pg_catalog") or name not in SAFE_FUNCTIONS or n.over or n.agg_star:
                problems.append(f"{'.'.join(names)}()")
                return
        for attr in n.__slots__:
            walk(getattr(n, attr))

    walk(node)
    return problems


def _cast_types(node: Any) -> list[str]:
    from pglast import ast

    found: list[str] = []

    def walk(n: Any) -> None:
        if isinstance(n, tuple | list):
            for item in n:
                walk(item)
        elif isinstance(n, ast.Node):
            if isinstance(n, ast.TypeCast) and n.typeName is not None:
                found.append(_deparse(n.typeName))
            for attr in n.__slots__:
                walk(getattr(n, attr))

    walk(node)
    return found


def _deparse(node: Any) -> str:
    from pglast.stream import RawStream

    return RawStream()(node)


def _qualified(relation: Any) -> str:
    return f"{relation.schemaname or 'public'}.{relation.relname}"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _relation(qualified: str) -> str:
    schema, name = qualified.split(".", 1)
    return f"{quote_ident(schema)}.{quote_ident(name)}"


# --------------------------------------------------------------------------- queries (pure)


def source_sql(check: DataCheck) -> str:
    """The rows as the statement will see them: with a new column, each existing row gets its default."""
    table = _relation(check.table)
    new = check.new_column
    if new is None:
        return f"{table} t"
    value = new.default_sql or "NULL"
    return f"(SELECT x.*, x.ctid AS pgrunbook_ctid, CAST({value} AS {new.type_sql}) AS {quote_ident(new.name)} FROM {table} x) t"


def key_sql(check: DataCheck, primary_key: tuple[str, ...]) -> str:
    """How an offending row is named in the report: its primary key, else its ctid (never its contents)."""
    if primary_key and not (check.new_column and check.new_column.name in primary_key):
        return "concat_ws(', ', " + ", ".join(f"t.{quote_ident(c)}::text" for c in primary_key) + ")"
    return "t.pgrunbook_ctid::text" if check.new_column else "t.ctid::text"


def key_order(check: DataCheck, primary_key: tuple[str, ...]) -> str:
    """The order examples come in: by primary key values (3 before 25), not by their text."""
    if primary_key and not (check.new_column and check.new_column.name in primary_key):
        return ", ".join(f"t.{quote_ident(c)}" for c in primary_key)
    return "t.pgrunbook_ctid" if check.new_column else "t.ctid"


def violation_condition(check: DataCheck, referenced_key: tuple[str, ...]) -> str:
    """not-null / check / foreign-key: the condition an offending row meets."""
    if check.kind != "foreign-key":
        assert check.where is not None
        return check.where
    columns = [f"t.{quote_ident(c)}" for c in check.columns]
    present = " AND ".join(f"{c} IS NOT NULL" for c in columns)
    if check.referenced_created:
        missing = "true"  # the referenced table is new: empty
    else:
        pairs = " AND ".join(f"r.{quote_ident(rc)} = {c}" for rc, c in zip(referenced_key, columns))
        missing = f"NOT EXISTS (SELECT FROM {_relation(check.referenced)} r WHERE {pairs})"  # type: ignore[arg-type]
    if check.match_full:
        any_null = " OR ".join(f"{c} IS NULL" for c in columns)
        return f"(NOT ({' AND '.join(f'{c} IS NULL' for c in columns)})) AND (({any_null}) OR {missing})"
    return f"{present} AND {missing}"


def count_sql(check: DataCheck, condition: str) -> str:
    if check.kind == "unique":
        return f"SELECT count(*), coalesce(sum(n), 0) FROM ({_groups(check, 'count(*) AS n')}) d"
    return f"SELECT count(*) FROM {source_sql(check)} WHERE {condition}"


def examples_sql(check: DataCheck, condition: str, key: str, order: str) -> str:
    if check.kind == "unique":
        # The 3 largest groups first, then a few keys of each (no sort of every row of the table).
        values = ", ".join(f"{k} AS g{i}" for i, k in enumerate(check.keys))
        same = " AND ".join(f"({k}) IS NOT DISTINCT FROM d.g{i}" for i, k in enumerate(check.keys))
        filters = " AND ".join([*_filters(check), same])
        keys = (f"(SELECT string_agg(x.k, ', ') FROM (SELECT {key} AS k FROM {source_sql(check)} WHERE {filters} "
                f"ORDER BY {order} LIMIT {EXAMPLES}) x)")
        return f"SELECT d.n, {keys} FROM ({_groups(check, f'{values}, count(*) AS n')} ORDER BY n DESC LIMIT 3) d ORDER BY d.n DESC"
    return f"SELECT {key} FROM {source_sql(check)} WHERE {condition} ORDER BY {order} LIMIT {EXAMPLES}"


def _filters(check: DataCheck) -> list[str]:
    filters = [f"({check.where})"] if check.where else []
    if check.nulls_distinct:  # NULLs never collide (NULLS NOT DISTINCT: they do)
        filters += [f"({k}) IS NOT NULL" for k in check.keys]
    return filters


def _groups(check: DataCheck, select: str) -> str:
    filters = _filters(check)
    where = f" WHERE {' AND '.join(filters)}" if filters else ""
    return f"SELECT {select} FROM {source_sql(check)}{where} GROUP BY {', '.join(check.keys)} HAVING count(*) > 1"


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class CheckResult:
    check: DataCheck
    status: str  # "ok" | "fail" | "not-checked"
    count: int | None = None  # offending rows (unique: rows in duplicate groups)
    groups: int | None = None  # unique: duplicate key groups
    examples: tuple[str, ...] = ()
    reason: str = ""

    @property
    def summary(self) -> str:
        c = self.check
        head = f"{c.where_in_file} {c.what} on {c.table}"
        if self.status == "not-checked":
            return f"{head}: not checked: {self.reason}"
        if self.status == "ok":
            return f"{head}: holds on the data now"
        if c.kind == "unique":
            return (f"{head}: {self.groups} duplicate key group(s), {self.count} rows (rows by primary key: "
                    + "; ".join(self.examples) + ")")
        what = {"not-null": "NULL", "check": "failing the CHECK", "foreign-key": "without a referenced row"}[c.kind]
        return f"{head}: {self.count} row(s) {what} (e.g. {', '.join(self.examples)})"

    def as_json(self) -> dict[str, Any]:
        c = self.check
        return {"file": c.file, "line": c.line, "kind": c.kind, "table": c.table, "what": c.what, "status": self.status,
                "count": self.count, "groups": self.groups, "examples": list(self.examples), "reason": self.reason}


@dataclass(frozen=True)
class PreflightReport:
    results: tuple[CheckResult, ...] = field(default=())
    timeout: str = ""

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.status == "fail")

    @property
    def not_checked(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.status == "not-checked")

    def as_json(self) -> dict[str, Any]:
        return {"timeout": self.timeout, "results": [r.as_json() for r in self.results]}

    def as_check(self) -> Check:
        """The `data-preflight` criterion, for the gate and analyze alike."""
        if self.failures:
            listed = "; ".join(r.summary for r in self.failures[:4]) + (f" (+{len(self.failures) - 4} more)" if len(self.failures) > 4 else "")
            return Check(CHECK_ID, Status.FAIL, f"would fail on the live data: {listed}",
                         "fix the data first (a separate, reviewed change), or change the migration (NOT VALID then VALIDATE "
                         "later, a partial index, a default); a failed CONCURRENTLY build would leave an INVALID index")
        checked = len(self.results) - len(self.not_checked)
        if self.not_checked:
            listed = "; ".join(r.summary for r in self.not_checked[:4])
            return Check(CHECK_ID, Status.WARN, f"{checked} data check(s) hold; {len(self.not_checked)} not checked: {listed}",
                         "check those by hand before migrating: the statement fails on data that breaks it")
        if not self.results:
            return Check(CHECK_ID, Status.OK, "no statement of the plan depends on the data (no unique index, NOT NULL, "
                         "foreign key or CHECK on an existing table)")
        return Check(CHECK_ID, Status.OK, f"{checked} data check(s) hold on the live data (duplicates, NULLs, orphans, CHECKs)")


# --------------------------------------------------------------------------- measuring (adapter)


def run_checks(conn: psycopg.Connection, checks: Sequence[DataCheck], *, timeout: str) -> PreflightReport:
    """Measure each check in the caller's READ ONLY transaction, each in a savepoint, bounded by `timeout`."""
    import psycopg

    from .pg import error_message

    if conn.execute("SHOW transaction_read_only").fetchone()[0] != "on":
        raise RuntimeFailure("internal error: pre-flight checks run in a READ ONLY transaction", changed=NOTHING_CHANGED)  # none ran
    previous, memory = conn.execute("SELECT current_setting('statement_timeout'), current_setting('work_mem')").fetchone()
    conn.execute("SELECT set_config('statement_timeout', %s, true)", [timeout])
    # Grouping a million keys in 4 MB spills to disk: a little more memory, for this transaction only.
    conn.execute(f"SELECT set_config('work_mem', '{WORK_MEM}', true) WHERE pg_size_bytes(current_setting('work_mem')) < pg_size_bytes('{WORK_MEM}')")
    results = []
    try:
        for check in checks:
            if check.skipped:
                results.append(CheckResult(check, "not-checked", reason=check.skipped))
                continue
            try:
                with conn.transaction():  # a savepoint: one failing check leaves the others and the caller's transaction
                    results.append(_measure(conn, check))
            except psycopg.errors.QueryCanceled:
                results.append(CheckResult(check, "not-checked", reason=f"the count took longer than {timeout} (gate.preflight_timeout)"))
            except psycopg.Error as exc:
                results.append(CheckResult(check, "not-checked", reason=f"the server refused the count: {error_message(exc)}"))
    finally:
        conn.execute("SELECT set_config('statement_timeout', %s, true), set_config('work_mem', %s, true)", [previous, memory])
    return PreflightReport(tuple(results), timeout)


def _measure(conn: psycopg.Connection, check: DataCheck) -> CheckResult:
    if check.kind == "validate":
        return _measure_validate(conn, check)
    bad_type = _refused_types(conn, check.types)
    if bad_type:
        return CheckResult(check, "not-checked", reason=bad_type)
    if check.index and conn.execute("SELECT to_regclass(%s) IS NOT NULL", [_relation(check.index)]).fetchone()[0]:
        return CheckResult(check, "ok", reason="the index exists already: IF NOT EXISTS makes the statement a no-op")
    new = check.new_column
    if new and conn.execute("SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attname = %s "
                            "AND attnum > 0 AND NOT attisdropped)", [_relation(check.table), new.name]).fetchone()[0]:
        if new.if_not_exists:
            return CheckResult(check, "ok", reason="the column exists already: IF NOT EXISTS makes the statement a no-op")
        return CheckResult(check, "not-checked", reason=f"column {new.name} exists already: the statement fails on that")
    referenced_key = check.referenced_columns
    if check.kind == "foreign-key" and not referenced_key and not check.referenced_created:
        referenced_key = _primary_key(conn, check.referenced)  # type: ignore[arg-type]
        if not referenced_key:
            return CheckResult(check, "not-checked", reason=f"{check.referenced} has no primary key to reference")
    condition = violation_condition(check, referenced_key) if check.kind != "unique" else ""
    counted = conn.execute(count_sql(check, condition)).fetchone()
    primary_key = _primary_key(conn, check.table)
    key, order = key_sql(check, primary_key), key_order(check, primary_key)
    if check.kind == "unique":
        groups, rows = int(counted[0]), int(counted[1])
        if not groups:
            return CheckResult(check, "ok", 0, 0)
        examples = tuple(f"{keys} ({n} rows)" for n, keys in conn.execute(examples_sql(check, "", key, order)))
        return CheckResult(check, "fail", rows, groups, examples)
    rows = int(counted[0])
    if not rows:
        return CheckResult(check, "ok", 0)
    return CheckResult(check, "fail", rows, None, tuple(r[0] for r in conn.execute(examples_sql(check, condition, key, order))))


def _measure_validate(conn: psycopg.Connection, check: DataCheck) -> CheckResult:
    """VALIDATE CONSTRAINT of one already there: its definition from the catalog, measured as if added now."""
    row = conn.execute("SELECT pg_get_constraintdef(oid), convalidated FROM pg_constraint WHERE conrelid = to_regclass(%s) AND conname = %s",
                       [_relation(check.table), check.constraint]).fetchone()
    if row is None:
        return CheckResult(check, "not-checked", reason=f"no constraint {check.constraint} on {check.table}: the statement fails on that")
    definition, valid = row
    if valid:
        return CheckResult(check, "ok", reason="already valid: the statement does nothing")
    definition = definition.removesuffix(" NOT VALID")
    sql = f"ALTER TABLE {_relation(check.table)} ADD CONSTRAINT {quote_ident(check.constraint or '')} {definition};"
    inner = plan_checks([(check.file, sql)], frozenset({check.table, *_referenced(definition)}))
    if not inner:
        return CheckResult(check, "not-checked", reason=f"a constraint pre-flight does not measure: {definition[:80]}")
    result = _measure(conn, replace(inner[0], file=check.file, line=check.line, statement=check.statement)) if not inner[0].skipped \
        else CheckResult(inner[0], "not-checked", reason=inner[0].skipped)
    return replace(result, check=replace(result.check, what=f"VALIDATE CONSTRAINT {check.constraint}: {result.check.what}"))


def _referenced(definition: str) -> tuple[str, ...]:
    """The table a foreign-key definition references (schema-qualified), so it counts as existing."""
    from pglast import ast, parse_sql

    statement = parse_sql(f"ALTER TABLE t ADD {definition}")[0].stmt
    constraint = statement.cmds[0].def_
    return (_qualified(constraint.pktable),) if isinstance(constraint, ast.Constraint) and constraint.pktable else ()


def _refused_types(conn: psycopg.Connection, types: Sequence[str]) -> str:
    """Casting to a domain runs its CHECKs (any code); to a composite or pseudo-type, who knows: refused."""
    for name in dict.fromkeys(types):
        row = conn.execute("SELECT typtype FROM pg_type WHERE oid = to_regtype(%s)", [name]).fetchone()
        if row is None:
            return f"type {name} does not exist yet (created by the plan?)"
        if row[0] not in ("b", "e", "r", "m"):
            return f"type {name} is a {'domain' if row[0] == 'd' else 'composite or pseudo-type'}: casting to it runs its own code"
    return ""


def _primary_key(conn: psycopg.Connection, table: str) -> tuple[str, ...]:
    rows = conn.execute(
        """SELECT a.attname FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
           WHERE i.indrelid = to_regclass(%s) AND i.indisprimary ORDER BY k.n""",
        [_relation(table)],
    ).fetchall()
    return tuple(r[0] for r in rows)


def preflight_plan(conn: psycopg.Connection, files: Sequence[tuple[str, str]], *, timeout: str) -> PreflightReport:
    """plan_checks + run_checks: what analyze and the gate call inside their READ ONLY transaction."""
    rows = conn.execute(
        """SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
             AND n.nspname NOT LIKE 'pg\\_%'"""
    ).fetchall()
    return run_checks(conn, plan_checks(files, frozenset(r[0] for r in rows)), timeout=timeout)
