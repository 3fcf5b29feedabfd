"""One consistent view of the database for the dump and its counts.

`exported_snapshot()` opens a REPEATABLE READ, READ ONLY transaction, exports its snapshot
(`pg_export_snapshot()`), and keeps it open while pg_dump runs with `--snapshot`: pg_dump
sees exactly what this transaction sees. `count_rows()` counts every table's rows inside the
same transaction, so the manifest's counts are exactly what the dump holds, however busy the
application is meanwhile. Nothing here can write: the server refuses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ConnectionFailure, RuntimeFailure

if TYPE_CHECKING:
    import psycopg

    from ..config import DatabaseSettings, RoleCount


@dataclass(frozen=True)
class Snapshot:
    id: str  # "00000003-0000001B-1"
    server_version: str
    server_version_num: int
    conn: psycopg.Connection


@contextmanager
def exported_snapshot(db: DatabaseSettings) -> Iterator[Snapshot]:
    import psycopg

    from ..pg import connect, read_only

    with connect(db) as conn, read_only(conn, repeatable_read=True):
        try:
            snap_id, version, version_num, ro = conn.execute(
                "SELECT pg_export_snapshot(), current_setting('server_version'), current_setting('server_version_num')::int, "
                "current_setting('transaction_read_only')"
            ).fetchone()
        except psycopg.Error as exc:
            raise ConnectionFailure(f"cannot export a snapshot from {db.url.dbname!r} on {db.url.host}: {exc}".strip(),
                                    next_step="check that the user may connect and read; then run `inv backup` again") from None
        if ro != "on":
            raise RuntimeFailure("internal error: the snapshot transaction is not READ ONLY")
        yield Snapshot(snap_id, version.split()[0], int(version_num), conn)


def count_rows(conn: psycopg.Connection, role_count: RoleCount, only: list[str] | None = None) -> dict[str, object]:
    """Exact row counts, and users by role, in the current transaction.

    Every ordinary table by default; with `only` (qualified `schema.table` names), just those
    that exist. The role table's total comes from the grouped count: one scan, not two.
    """
    from psycopg import sql

    tables = conn.execute(
        """
        SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND c.relpersistence <> 't'
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
        ORDER BY 1, 2
        """
    ).fetchall()
    role_label = f"public.{role_count.table}"
    by_role = _by_role(conn, role_count) if any(f"{a}.{b}" == role_label for a, b in tables) else None
    if only is not None:
        wanted = set(only)
        tables = [(a, b) for a, b in tables if f"{a}.{b}" in wanted]
    if by_role is not None:
        tables = [(a, b) for a, b in tables if f"{a}.{b}" != role_label]
    counts: dict[str, int] = {}
    if by_role is not None and (only is None or role_label in set(only)):
        counts[role_label] = sum(by_role.values())
    if tables:
        parts = [
            sql.SQL("SELECT {label}, count(*) FROM {table}").format(label=sql.Literal(f"{schema}.{name}"), table=sql.Identifier(schema, name))
            for schema, name in tables
        ]
        for label, n in conn.execute(sql.SQL(" UNION ALL ").join(parts)):
            counts[label] = int(n)
    return {
        "scope": "all" if only is None else "critical",
        "tables": dict(sorted(counts.items())),
        "users_by_role": {"table": role_count.table, "column": role_count.column, "by_role": by_role,
                          "total": None if by_role is None else sum(by_role.values())},
    }


def _by_role(conn: psycopg.Connection, role_count: RoleCount) -> dict[str, int] | None:
    from psycopg import sql

    query = sql.SQL("SELECT {col}::text, count(*) FROM {tbl} GROUP BY 1 ORDER BY 1").format(
        col=sql.Identifier(role_count.column), tbl=sql.Identifier("public", role_count.table))
    try:
        with conn.transaction():  # a savepoint: a missing column must not abort the snapshot
            return {str(role): int(n) for role, n in conn.execute(query)}
    except Exception:  # noqa: BLE001 - the column may not exist; verify reports that
        return None
