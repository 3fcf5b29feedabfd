"""The code that fires on its own: triggers, rules and event triggers, and what settings do.

`CodeRegistry` is what one analysis knows of such code: what the database holds
(`CodeCatalog`) and what the migration set creates, in order. The classifier runs it
where it fires (see `classify.Classifier.fire` and `recording`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pglast import ast
from pglast.enums import CmdType

from .catalog_model import CatalogFunction, CatalogRule, CodeCatalog
from .functions import PARSING_SETTINGS, TIMEOUT_SETTINGS
from .model import Operation
from .names import strings

# CREATE TRIGGER's `events` bit mask (TRIGGER_TYPE_* in PostgreSQL's pg_trigger.h).
_TRIGGER_BITS = {4: "insert", 8: "delete", 16: "update", 32: "truncate"}
_RULE_EVENTS = {CmdType.CMD_INSERT: "insert", CmdType.CMD_UPDATE: "update", CmdType.CMD_DELETE: "delete",
                CmdType.CMD_SELECT: "select"}


@dataclass(frozen=True)
class TriggerDef:
    """A trigger: `function` (schema or None, name) runs on `events` of the table;
    `when` holds the operations of its WHEN condition (relative)."""

    schema: str
    table: str
    name: str
    events: frozenset[str]
    function: tuple[str | None, str]
    origin: str  # "in the database", "created at line 12"
    when: tuple[Operation, ...] = ()


@dataclass(frozen=True)
class RuleDef:
    """A rule: `operations` (relative) run in place of / besides each `event` on the table."""

    schema: str
    table: str
    name: str
    event: str
    operations: tuple[Operation, ...]
    origin: str


@dataclass(frozen=True)
class EventTriggerDef:
    name: str
    event: str
    function: tuple[str | None, str]
    origin: str
    file: str | None = None  # the file that creates it (None: in the database)


@dataclass
class CodeRegistry:
    """Triggers, rules and event triggers known so far, and the classified bodies of the
    database's functions (each classified once). Mutable on purpose: the files of one
    analysis share it, in order."""

    catalog: CodeCatalog
    triggers: list[TriggerDef] = field(default_factory=list)
    rules: list[RuleDef] = field(default_factory=list)
    event_triggers: list[EventTriggerDef] = field(default_factory=list)
    pending_rules: list[CatalogRule] = field(default_factory=list)
    # Code behind casts and operators the set creates: target type / operator name ->
    # the function (schema or None, name) that a cast or an operator expression calls.
    casts: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    operators: dict[str, list[tuple[str | None, str]]] = field(default_factory=dict)
    # Materialized views the set creates: (schema, name) -> their query's operations
    # (relative), run again by REFRESH.
    matviews: dict[tuple[str, str], tuple[Operation, ...]] = field(default_factory=dict)
    # Aggregates the set creates: name -> their support functions (sfunc, finalfunc...).
    aggregates: dict[str, list[tuple[str | None, str]]] = field(default_factory=dict)
    # Domains: (schema, name) -> (CHECK expressions, DEFAULT expression or None), parse-tree nodes.
    domains: dict[tuple[str, str], tuple[tuple[object, ...], object | None]] = field(default_factory=dict)
    # CHECKs added NOT VALID: (schema, table, name) -> expression, evaluated by VALIDATE.
    unvalidated: dict[tuple[str, str, str], object] = field(default_factory=dict)
    # Indexes with expressions or a predicate: (schema, table) -> [(index name, [(what, expression)])].
    indexes: dict[tuple[str, str], list[tuple[str, list]]] = field(default_factory=dict)
    bodies: dict[CatalogFunction, tuple[Operation, ...]] = field(default_factory=dict)
    in_progress: set[CatalogFunction] = field(default_factory=set)

    def __post_init__(self) -> None:
        origin = "in the database"
        for t in self.catalog.triggers:
            if t.enabled:
                function = (t.function_schema, t.function_name)
                self.triggers.append(TriggerDef(t.schema, t.table, t.name, frozenset(t.events), function, origin))
        for e in self.catalog.event_triggers:
            if e.enabled:
                self.event_triggers.append(EventTriggerDef(e.name, e.event, (e.function_schema, e.function_name), origin))
        self.pending_rules = list(self.catalog.rules)
        for c in self.catalog.casts:
            self.casts.setdefault(c.target.split(".")[-1], (c.function_schema, c.function_name))
        for o in self.catalog.operators:
            self.operators.setdefault(o.name, []).append((o.function_schema, o.function_name))
        for d in self.catalog.domains:
            texts = (c.removeprefix("CHECK").removesuffix("NOT VALID").strip() for c in d.checks)
            checks = tuple(e for e in (_expression(t) for t in texts) if e is not None)
            self.domains[(d.schema, d.name)] = (checks, _expression(d.default) if d.default else None)
        for c in self.catalog.unvalidated_checks:
            text = c.definition.removeprefix("CHECK").removesuffix("NOT VALID").strip()
            if (expression := _expression(text)) is not None:
                self.unvalidated[(c.schema, c.table, c.name)] = expression
        for i in self.catalog.indexes:
            node = _statement(i.definition)
            if isinstance(node, ast.IndexStmt):
                from .ddl import index_expressions

                self.indexes.setdefault((i.schema, i.table), []).append((i.name, index_expressions(node)))


def _expression(text: str) -> object | None:
    """The parse tree of an SQL expression (None if it does not parse)."""
    node = _statement(f"SELECT {text}")
    targets = getattr(node, "targetList", None) or ()
    return targets[0].val if len(targets) == 1 else None


def _statement(text: str) -> object | None:
    from pglast import parser

    try:
        (raw,) = parser.parse_sql(text)
    except (parser.ParseError, ValueError):
        return None
    return raw.stmt


def trigger_events(mask: int) -> frozenset[str]:
    return frozenset(event for bit, event in _TRIGGER_BITS.items() if mask & bit)


def rule_event(event: object) -> str:
    return _RULE_EVENTS.get(CmdType(event), "other")


# --------------------------------------------------------------------------- settings

_OFF_VALUES = frozenset({"0", "0s", "0ms", "0min", "0h", "0d", "off"})


def setting_flags(name: str | None, value: str | None, *, function: bool) -> set[str]:
    """Flags of a SET / set_config for the rules: `setting:<name>` (`setting:?` when the
    name is only known at run time, `setting:*` for RESET ALL) and, for the timeouts
    pgrunbook sets, `timeout_off` when the value disables it (0, DEFAULT, RESET)."""
    if name is None:
        return {"setting:?"}
    name = name.lower()
    flags = {f"setting:{name}"}
    if name == "*":
        return flags | {"timeout_off"}
    if name in TIMEOUT_SETTINGS and (value is None or value.strip().lower() in _OFF_VALUES):
        flags.add("timeout_off")
    return flags


def setting_of(operation: Operation) -> str | None:
    return next((f.removeprefix("setting:") for f in operation.flags if f.startswith("setting:")), None)


def changes_parsing(setting: str | None) -> bool:
    return setting in PARSING_SETTINGS or setting in ("?", "*")


# --------------------------------------------------------------------------- overloads

# Families of argument types that a literal of some kind can be passed to.
_NUMBERS = frozenset({"integer", "bigint", "smallint", "numeric", "real", "double precision", "int", "int4",
                      "int8", "int2", "float4", "float8", "decimal", "oid", "regclass"})
_BOOLEANS = frozenset({"boolean", "bool"})


def _family(type_name: str) -> str:
    type_name = type_name.lower().split("(")[0].strip()
    if type_name in _NUMBERS:
        return "number"
    if type_name in _BOOLEANS:
        return "boolean"
    return type_name


def _argument_family(arg: object) -> str | None:
    """The type family a call argument certainly has; None when unknown (a string
    literal is `unknown` to PostgreSQL and fits any type)."""
    if isinstance(arg, ast.A_Const) and not arg.isnull:
        if isinstance(arg.val, (ast.Integer, ast.Float)):
            return "number"
        if isinstance(arg.val, ast.Boolean):
            return "boolean"
    if isinstance(arg, ast.TypeCast) and arg.typeName is not None:
        names = strings(arg.typeName.names)
        return _family(names[-1]) if names else None
    return None


_ALIASES = {"int4": "integer", "int": "integer", "int8": "bigint", "int2": "smallint", "float8": "double precision",
            "float4": "real", "bool": "boolean", "varchar": "character varying", "decimal": "numeric"}


def _natural_type(arg: object) -> str | None:
    """The type PostgreSQL gives an argument before any cast (None: unknown)."""
    if isinstance(arg, ast.A_Const) and not arg.isnull:
        if isinstance(arg.val, ast.Integer):
            return "integer"
        if isinstance(arg.val, ast.Float):
            return "bigint" if arg.val.fval.isdigit() else "numeric"
        if isinstance(arg.val, ast.Boolean):
            return "boolean"
    if isinstance(arg, ast.TypeCast) and arg.typeName is not None:
        names = strings(arg.typeName.names)
        return _ALIASES.get(names[-1], names[-1]) if names else None
    return None


def best_overloads(candidates: tuple[CatalogFunction, ...], args: list) -> tuple[CatalogFunction, ...]:
    """The overloads a call may resolve to: those whose argument types match the
    arguments' exactly when there are (PostgreSQL picks an exact match), else every one
    the arguments can be passed to (the analysis then takes the worst)."""
    fitting = tuple(f for f in candidates if types_fit(f, args)) or candidates
    natural = [_natural_type(arg) for arg in args]
    if not any(natural):
        return fitting

    def exact(function: CatalogFunction) -> bool:
        declared = [_ALIASES.get(t.lower(), t.lower()) for t in function.argument_types]
        return all(n is None or n == d for n, d in zip(natural, declared))

    return tuple(f for f in fitting if exact(f)) or fitting


def types_fit(function: CatalogFunction, args: list) -> bool:
    for arg, declared in zip(args, function.argument_types):
        family = _argument_family(arg)
        if family is not None and family != _family(declared) and _family(declared) not in ("anyelement", "any"):
            return False
    return True
