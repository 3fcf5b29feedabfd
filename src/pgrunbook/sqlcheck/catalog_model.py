"""The code that already exists in the database, as a pure input to the analysis.

A pending migration can run code it does not contain: a function created by an earlier
migration or by hand, a trigger or a rule that fires on a write of the run (pgrunbook's
own tracking insert first), an event trigger that fires on its DDL. `CodeCatalog` holds
what the live catalog says about that code; `pgrunbook.catalog.read_code_catalog` reads
it (read-only), and `analyze_files(..., catalog=...)` follows it like code created by the
migration set itself. Without a catalog, a call to a function the set does not define is
an unknown `call` (review).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

TRIGGER_EVENTS = ("insert", "update", "delete", "truncate")


@dataclass(frozen=True)
class CatalogFunction:
    """A function or procedure of the database (one overload).

    `argument_types` are the input argument types as `format_type` shows them
    (`integer`, `text`); `defaults` is how many trailing arguments have a default.
    `source` is `prosrc`: the body for SQL and PL/pgSQL, the C symbol for `internal`
    and `c` functions. `definition` is `pg_get_functiondef`'s CREATE statement, or None
    when it could not be read.
    """

    schema: str
    name: str
    argument_types: tuple[str, ...]
    language: str
    source: str
    definition: str | None
    defaults: int = 0
    is_procedure: bool = False

    @property
    def signature(self) -> str:
        return f"{self.schema}.{self.name}({', '.join(self.argument_types)})"

    def accepts(self, count: int) -> bool:
        return len(self.argument_types) - self.defaults <= count <= len(self.argument_types)


@dataclass(frozen=True)
class CatalogTrigger:
    """A trigger of the database: fires `function` on `events` of `schema.table`."""

    schema: str
    table: str
    name: str
    function_schema: str
    function_name: str
    events: frozenset[str]
    enabled: bool = True


@dataclass(frozen=True)
class CatalogRule:
    """A rewrite rule of the database (views' `_RETURN` rules excluded); `definition`
    is `pg_get_ruledef`'s CREATE RULE statement."""

    schema: str
    table: str
    name: str
    definition: str


@dataclass(frozen=True)
class CatalogEventTrigger:
    """An event trigger: fires `function` on `event` (ddl_command_start...) of any DDL."""

    name: str
    event: str
    function_schema: str
    function_name: str
    enabled: bool = True


@dataclass(frozen=True)
class CatalogOperator:
    """A user-defined operator: an expression using it calls `function`."""

    schema: str
    name: str
    left: str | None
    right: str | None
    function_schema: str
    function_name: str


@dataclass(frozen=True)
class CatalogDomain:
    """A domain: `checks` (pg_get_constraintdef: `CHECK (...)`) run on every value cast
    to it, `default` (text) fills a new column of the domain."""

    schema: str
    name: str
    checks: tuple[str, ...] = ()
    default: str | None = None


@dataclass(frozen=True)
class CatalogIndex:
    """An index with expressions or a predicate (pg_get_indexdef's CREATE INDEX): ANALYZE,
    VACUUM, REINDEX and CLUSTER of its table evaluate them again."""

    schema: str
    table: str
    name: str
    definition: str


@dataclass(frozen=True)
class CatalogCast:
    """A cast implemented by a user function: converting to `target` calls it."""

    source: str
    target: str
    function_schema: str
    function_name: str


@dataclass(frozen=True)
class CatalogCheck:
    """A CHECK constraint not validated yet (NOT VALID): VALIDATE CONSTRAINT evaluates
    `definition` (pg_get_constraintdef: `CHECK (...) NOT VALID`) on every row."""

    schema: str
    table: str
    name: str
    definition: str


@dataclass(frozen=True)
class CodeCatalog:
    functions: tuple[CatalogFunction, ...] = ()
    triggers: tuple[CatalogTrigger, ...] = ()
    rules: tuple[CatalogRule, ...] = ()
    event_triggers: tuple[CatalogEventTrigger, ...] = ()
    operators: tuple[CatalogOperator, ...] = ()
    domains: tuple[CatalogDomain, ...] = ()
    indexes: tuple[CatalogIndex, ...] = ()
    casts: tuple[CatalogCast, ...] = ()
    unvalidated_checks: tuple[CatalogCheck, ...] = ()
    # (schema, name) of PostgreSQL's own functions (pg_catalog) and of extensions' functions whose every overload
    # is IMMUTABLE or STABLE: they cannot change the database (`sha256`, `jsonb_build_object`, `uuid_nil`). Not
    # the application's code: a call to one is not "a function the set does not define" (issue 12 item 7).
    read_only_builtins: frozenset[tuple[str, str]] = frozenset()

    def is_read_only_builtin(self, schema: str | None, name: str) -> bool:
        """Whether `schema.name` (None: unqualified, pg_catalog first, then public) is one of `read_only_builtins`."""
        schemas = ("pg_catalog", "public") if schema is None else (schema,)
        return any((s, name) in self.read_only_builtins for s in schemas)

    def overloads(self, schema: str | None, name: str) -> tuple[CatalogFunction, ...]:
        """The functions named `name` (in `schema`, or in any schema when None)."""
        return tuple(f for f in self.functions if f.name == name and (schema is None or f.schema == schema))

    def triggers_on(self, schema: str, table: str) -> tuple[CatalogTrigger, ...]:
        return tuple(t for t in self.triggers if (t.schema, t.table) == (schema, table) and t.enabled)

    @classmethod
    def of(cls, functions: Iterable[CatalogFunction] = (), triggers: Iterable[CatalogTrigger] = (),
           rules: Iterable[CatalogRule] = (), event_triggers: Iterable[CatalogEventTrigger] = (),
           operators: Iterable[CatalogOperator] = (), domains: Iterable[CatalogDomain] = (),
           indexes: Iterable[CatalogIndex] = (), casts: Iterable[CatalogCast] = (),
           unvalidated_checks: Iterable[CatalogCheck] = (),
           read_only_builtins: Iterable[tuple[str, str]] = ()) -> CodeCatalog:
        return cls(tuple(functions), tuple(triggers), tuple(rules), tuple(event_triggers), tuple(operators),
                   tuple(domains), tuple(indexes), tuple(casts), tuple(unvalidated_checks), frozenset(read_only_builtins))


EMPTY_CATALOG = CodeCatalog()
