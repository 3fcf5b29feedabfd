"""Reading names out of parse-tree nodes, and showing them back to a human.

The parser has already done the SQL part: unquoted identifiers are folded to lower case
and quoted ones kept as written, so `USERS`, `users` and `"users"` all arrive as `users`,
and `"Users"` as `Users`. Unqualified names are put in `public`, the schema drizzle-kit
and a default `search_path` use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pglast import ast

DEFAULT_SCHEMA = "public"

_PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_$]*")

# ObjectType enum member -> the word used in summaries and in CreatedObject.kind.
_OBJECT_KINDS = {
    "OBJECT_TABCONSTRAINT": "constraint",
    "OBJECT_DOMCONSTRAINT": "constraint",
    "OBJECT_MATVIEW": "materialized view",
    "OBJECT_FOREIGN_TABLE": "foreign table",
    "OBJECT_EVENT_TRIGGER": "event trigger",
    "OBJECT_FOREIGN_SERVER": "server",
    "OBJECT_LARGEOBJECT": "large object",
    "OBJECT_STATISTIC_EXT": "statistics",
    "OBJECT_ACCESS_METHOD": "access method",
}


def quote(name: str) -> str:
    """The identifier as one would write it in SQL (quoted only when it needs to be)."""
    if _PLAIN_IDENTIFIER.fullmatch(name):
        return name
    return '"' + name.replace('"', '""') + '"'


def display(schema: str | None, name: str, *more: str) -> str:
    parts = ([schema] if schema else []) + [name, *more]
    return ".".join(quote(part) for part in parts)


def strings(nodes: Iterable[object] | None) -> list[str]:
    """The text of the `String` nodes of a name list (`("public", "users")`)."""
    return [node.sval for node in nodes or () if isinstance(node, ast.String)]


def relation(node: ast.RangeVar) -> tuple[str, str]:
    """(schema, table) of a RangeVar, with the default schema filled in."""
    return node.schemaname or DEFAULT_SCHEMA, node.relname


def split_qualified(parts: list[str]) -> tuple[str, str]:
    """(schema, name) from `[name]`, `[schema, name]` or `[catalog, schema, name]`."""
    if not parts:
        return DEFAULT_SCHEMA, "?"
    return (parts[-2] if len(parts) >= 2 else DEFAULT_SCHEMA), parts[-1]


def function_name(funcname: Iterable[object] | None) -> tuple[str | None, str]:
    """(schema or None, name) of a function: None means "found through search_path"."""
    parts = strings(funcname)
    if not parts:
        return None, "?"
    return (parts[-2] if len(parts) >= 2 else None), parts[-1]


def object_parts(obj: object) -> list[str]:
    """The name parts of an object of a DROP, RENAME or COMMENT statement, whatever node
    the grammar used for it (a String, a list of Strings, a TypeName, an ObjectWithArgs)."""
    if isinstance(obj, ast.String):
        return [obj.sval]
    if isinstance(obj, ast.TypeName):
        return [part for part in strings(obj.names) if part != "pg_catalog"]
    if isinstance(obj, ast.ObjectWithArgs):
        return strings(obj.objname)
    if isinstance(obj, ast.RangeVar):
        return [part for part in (obj.schemaname, obj.relname) if part]
    if isinstance(obj, (list, tuple)):
        return [part for item in obj for part in object_parts(item)]
    return []


def object_kind(objtype: object) -> str:
    """`table`, `index`, `constraint`, `materialized view`... from an ObjectType value."""
    name = getattr(objtype, "name", str(objtype))
    return _OBJECT_KINDS.get(name, name.removeprefix("OBJECT_").lower().replace("_", " "))


def words(node: object) -> str:
    """A node class name as SQL words: `CreatePolicyStmt` -> `CREATE POLICY`."""
    name = type(node).__name__.removesuffix("Stmt")
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).upper()
