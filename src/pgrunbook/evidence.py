"""Baseline evidence: do the objects some migrations create exist in the live database?

Scenario B records migrations as applied without running them. We only do that when the
database holds every object they create (schemas, tables, columns, types, indexes,
constraints, sequences, views, functions): otherwise the old hand-written schema differs
from what drizzle believes, and the next migration would fail or, worse, succeed on a
wrong premise. Read-only catalog queries, one per kind of object (a production database
is often far away: hundreds of round trips would cost seconds); call inside `pg.read_only()`.

Names PostgreSQL chooses itself (`users_pkey`, `users_id_seq`, …) are checked too, but a
missing one is reported apart: PostgreSQL adds a digit when such a name is taken.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from .models import Evidence  # the pure core imports it from `models`; re-exported for the adapters

if TYPE_CHECKING:
    import psycopg

    from .sqlcheck import CreatedObject

_RELKINDS = {"table": "{r,p}", "view": "{v,m}", "sequence": "{S}", "index": "{i,I}"}

# For each kind: the query returning the keys that exist among those asked, as
# (schema, table, name) with table '' where a kind has none. %s are three text arrays.
_ASK = "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]) AS w(s, t, n)"
_QUERIES = {
    "schema": f"SELECT w.s, w.t, w.n FROM ({_ASK}) w JOIN pg_namespace ns ON ns.nspname = w.n",
    "column": f"""SELECT w.s, w.t, w.n FROM ({_ASK}) w JOIN pg_namespace ns ON ns.nspname = w.s
                  JOIN pg_class c ON c.relnamespace = ns.oid AND c.relname = w.t
                  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = w.n AND a.attnum > 0 AND NOT a.attisdropped""",
    "constraint": f"""SELECT w.s, w.t, w.n FROM ({_ASK}) w JOIN pg_namespace ns ON ns.nspname = w.s
                      JOIN pg_constraint k ON k.connamespace = ns.oid AND k.conname = w.n""",
    "type": f"""SELECT w.s, w.t, w.n FROM ({_ASK}) w JOIN pg_namespace ns ON ns.nspname = w.s
                JOIN pg_type ty ON ty.typnamespace = ns.oid AND ty.typname = w.n""",
    "function": f"""SELECT DISTINCT w.s, w.t, w.n FROM ({_ASK}) w JOIN pg_namespace ns ON ns.nspname = w.s
                    JOIN pg_proc p ON p.pronamespace = ns.oid AND p.proname = w.n""",
    "trigger": f"""SELECT w.s, w.t, w.n FROM ({_ASK}) w JOIN pg_namespace ns ON ns.nspname = w.s
                   JOIN pg_class c ON c.relnamespace = ns.oid AND c.relname = w.t
                   JOIN pg_trigger tg ON tg.tgrelid = c.oid AND tg.tgname = w.n""",
    **{kind: f"""SELECT w.s, w.t, w.n FROM ({_ASK}) w JOIN pg_namespace ns ON ns.nspname = w.s
                 JOIN pg_class c ON c.relnamespace = ns.oid AND c.relname = w.n AND c.relkind = ANY('{kinds}'::"char"[])"""
       for kind, kinds in _RELKINDS.items()},
}


def check_objects(conn: psycopg.Connection, objects: tuple[CreatedObject, ...] | list[CreatedObject]) -> Evidence:
    by_kind: dict[str, list[CreatedObject]] = defaultdict(list)
    for obj in objects:
        by_kind[obj.kind].append(obj)
    missing, implicit, unverifiable = [], [], []
    for kind, group in by_kind.items():
        if kind not in _QUERIES:
            unverifiable += group
            continue
        found = _existing(conn, kind, group)
        for obj in group:
            if _key(obj) not in found:
                (implicit if obj.implicit else missing).append(obj)
    return Evidence(tuple(objects), tuple(missing), tuple(implicit), tuple(unverifiable))


def _key(obj: CreatedObject) -> tuple[str, str, str]:
    return (obj.schema, obj.table or "", obj.name)


def _existing(conn: psycopg.Connection, kind: str, group: list[CreatedObject]) -> set[tuple[str, str, str]]:
    keys = [_key(o) for o in group]
    rows = conn.execute(_QUERIES[kind], [[k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]]).fetchall()
    return {tuple(row) for row in rows}
