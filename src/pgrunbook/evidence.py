"""Baseline evidence: do the objects some migrations create exist in the live database?

Scenario B records migrations as applied without running them. We only do that when the
database holds every object they create (schemas, tables, columns, types, indexes,
constraints, sequences, views, functions): otherwise the old hand-written schema differs
from what drizzle believes, and the next migration would fail or, worse, succeed on a
wrong premise. Read-only catalog queries; call inside `pg.read_only()`.

Names PostgreSQL chooses itself (`users_pkey`, `users_id_seq`, …) are checked too, but a
missing one is reported apart: PostgreSQL adds a digit when such a name is taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .sqlcheck import CreatedObject

if TYPE_CHECKING:
    import psycopg

_RELKINDS = {"table": ("r", "p"), "view": ("v", "m"), "sequence": ("S",), "index": ("i", "I")}


@dataclass(frozen=True)
class Evidence:
    checked: tuple[CreatedObject, ...]
    missing: tuple[CreatedObject, ...]  # named in the SQL: the baseline is refused
    missing_implicit: tuple[CreatedObject, ...]  # names PostgreSQL chose: a warning
    unverifiable: tuple[CreatedObject, ...]  # kinds we cannot look up

    @property
    def ok(self) -> bool:
        return not self.missing


def check_objects(conn: psycopg.Connection, objects: tuple[CreatedObject, ...]) -> Evidence:
    missing, implicit, unverifiable = [], [], []
    for obj in objects:
        exists = object_exists(conn, obj)
        if exists is None:
            unverifiable.append(obj)
        elif not exists:
            (implicit if obj.implicit else missing).append(obj)
    return Evidence(objects, tuple(missing), tuple(implicit), tuple(unverifiable))


def object_exists(conn: psycopg.Connection, obj: CreatedObject) -> bool | None:
    """True / False, or None for a kind we cannot check."""
    if obj.kind == "schema":
        return _one(conn, "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = %s)", obj.name)
    if obj.kind in _RELKINDS:
        return _one(conn, "SELECT EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                          "WHERE n.nspname = %s AND c.relname = %s AND c.relkind = ANY(%s))", obj.schema, obj.name, list(_RELKINDS[obj.kind]))
    if obj.kind == "column":
        return _one(conn, "SELECT EXISTS (SELECT FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                          "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s "
                          "AND a.attname = %s AND a.attnum > 0 AND NOT a.attisdropped)", obj.schema, obj.table, obj.name)
    if obj.kind == "constraint":
        return _one(conn, "SELECT EXISTS (SELECT FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace "
                          "WHERE n.nspname = %s AND k.conname = %s)", obj.schema, obj.name)
    if obj.kind == "type":
        return _one(conn, "SELECT EXISTS (SELECT FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                          "WHERE n.nspname = %s AND t.typname = %s)", obj.schema, obj.name)
    if obj.kind == "function":
        return _one(conn, "SELECT EXISTS (SELECT FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                          "WHERE n.nspname = %s AND p.proname = %s)", obj.schema, obj.name)
    if obj.kind == "trigger":
        return _one(conn, "SELECT EXISTS (SELECT FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                          "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s AND t.tgname = %s)",
                    obj.schema, obj.table, obj.name)
    return None


def _one(conn: psycopg.Connection, query: str, *params: object) -> bool:
    return bool(conn.execute(query, list(params)).fetchone()[0])
