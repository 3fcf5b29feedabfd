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

from ..errors import ConnectionFailure, NOTHING_CHANGED, RuntimeFailure
from ..names import qualified, split_table

ALL_ROWS = "(all rows)"  # role_count.column: null: the table's rows as one group
NULL_ROLE = "(no role: NULL)"  # the group of rows whose role is NULL (facts.NULL_ROLE: the same label)

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
    from ..pg import connect, map_errors, read_only

    with connect(db) as conn, read_only(conn, repeatable_read=True):
        with map_errors(f"cannot export a snapshot from {db.url.dbname!r} on {db.url.host}", error=ConnectionFailure, changed=NOTHING_CHANGED,
                        next_step="check that the user may connect and read; then run `inv backup` again"):
            snap_id, version, version_num, ro = conn.execute(
                "SELECT pg_export_snapshot(), current_setting('server_version'), current_setting('server_version_num')::int, "
                "current_setting('transaction_read_only')"
            ).fetchone()
        if ro != "on":
            raise RuntimeFailure("internal error: the snapshot transaction is not READ ONLY", changed=NOTHING_CHANGED)
        yield Snapshot(snap_id, version.split()[0], int(version_num), conn)


# Tables whose rows pg_dump dumps: ordinary tables (leaf partitions included; a partitioned
# parent has no storage of its own, so each row is counted once, in its partition), unlogged
# ones too, in every schema but the system ones, not temporary, not owned by an extension.
_TABLES = """
    SELECT n.nspname, c.relname, pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND c.relpersistence <> 't'
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
    ORDER BY 1, 2
"""


def count_rows(conn: psycopg.Connection, role_count: RoleCount, only: list[str] | None = None) -> dict[str, object]:
    """Exact row counts, and users by role, in the current transaction.

    Every ordinary table by default; with `only` (qualified `schema.table` names), just those
    that exist. The role table's total comes from the grouped count: one scan, not two.
    """
    tables = _tables(conn, only)
    counts, by_role = _count(conn, [(a, b) for a, b, _ in tables], role_count)
    return _result(counts, by_role, role_count, only)


def count_rows_shared(snap: Snapshot, db: DatabaseSettings, role_count: RoleCount, *, connections: int = 1,
                      only: list[str] | None = None, serial: bool = True) -> dict[str, object]:
    """`count_rows` spread over `connections` sessions that all see `snap` (SET TRANSACTION SNAPSHOT).

    The snapshot's own connection takes one share; each other session imports the exported
    snapshot in a REPEATABLE READ, READ ONLY transaction, so every count is exactly what the
    dump holds. Tables are dealt largest first to the least loaded session.

    `serial` (beside a running pg_dump): no parallel workers. Counting a table costs far less
    than dumping it (no COPY output, no compression), so the counts end before the dump either
    way; parallel workers would only take CPU from pg_dump and its backend.
    """
    import threading
    import time

    started = time.monotonic()
    tables = _tables(snap.conn, only)
    shares = _deal(tables, max(1, connections), qualified(role_count.table))
    results: list[tuple[dict[str, int], dict[str, int] | None]] = [({}, None)] * len(shares)
    failures: list[BaseException] = []

    def imported(i: int) -> None:
        try:
            with _importing(db, snap.id) as conn:
                if serial:
                    conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
                results[i] = _count(conn, shares[i], role_count)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            failures.append(exc)

    threads = [threading.Thread(target=imported, args=(i,), daemon=True) for i in range(1, len(shares))]
    for thread in threads:
        thread.start()
    try:
        if serial:
            snap.conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        results[0] = _count(snap.conn, shares[0], role_count)
    finally:
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]
    counts = {k: v for part, _ in results for k, v in part.items()}
    by_role = next((roles for _, roles in results if roles is not None), None)
    return {**_result(counts, by_role, role_count, only), "connections": len(shares), "seconds": round(time.monotonic() - started, 3)}


def _tables(conn: psycopg.Connection, only: list[str] | None) -> list[tuple[str, str, int]]:
    tables = [(a, b, int(size)) for a, b, size in conn.execute(_TABLES).fetchall()]
    if only is not None:
        wanted = set(only)
        tables = [t for t in tables if f"{t[0]}.{t[1]}" in wanted]
    return tables


def _deal(tables: list[tuple[str, str, int]], n: int, role_label: str) -> list[list[tuple[str, str]]]:
    """Tables in `n` shares of about equal size (the role table, scanned by a GROUP BY, weighs double)."""
    def weight(t: tuple[str, str, int]) -> int:
        return t[2] * (2 if f"{t[0]}.{t[1]}" == role_label else 1) + 1

    shares: list[list[tuple[str, str]]] = [[] for _ in range(min(n, max(1, len(tables))))]
    loads = [0] * len(shares)
    for t in sorted(tables, key=weight, reverse=True):
        i = loads.index(min(loads))
        shares[i].append((t[0], t[1]))
        loads[i] += weight(t)
    return shares


@contextmanager
def _importing(db: DatabaseSettings, snapshot_id: str) -> Iterator[psycopg.Connection]:
    """A REPEATABLE READ, READ ONLY transaction that sees the exported snapshot `snapshot_id`."""
    from psycopg import sql

    from ..pg import connect, read_only

    with connect(db) as conn, read_only(conn, repeatable_read=True):
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot_id)))
        if conn.execute("SELECT current_setting('transaction_read_only')").fetchone()[0] != "on":
            raise RuntimeFailure("internal error: a counting transaction is not READ ONLY", changed=NOTHING_CHANGED)
        yield conn


def _count(conn: psycopg.Connection, tables: list[tuple[str, str]], role_count: RoleCount) -> tuple[dict[str, int], dict[str, int] | None]:
    """Exact counts of `tables` in one statement; the role table by role (its total is their sum)."""
    from psycopg import sql

    role_label = qualified(role_count.table)
    by_role = _by_role(conn, role_count) if any(f"{a}.{b}" == role_label for a, b in tables) else None
    counts: dict[str, int] = {}
    if by_role is not None:
        counts[role_label] = sum(by_role.values())
        tables = [(a, b) for a, b in tables if f"{a}.{b}" != role_label]
    if tables:
        parts = [
            sql.SQL("SELECT {label}, count(*) FROM {table}").format(label=sql.Literal(f"{schema}.{name}"), table=sql.Identifier(schema, name))
            for schema, name in tables
        ]
        for label, n in conn.execute(sql.SQL(" UNION ALL ").join(parts)):
            counts[label] = int(n)
    return counts, by_role


def _result(counts: dict[str, int], by_role: dict[str, int] | None, role_count: RoleCount, only: list[str] | None) -> dict[str, object]:
    return {
        "scope": "all" if only is None else "critical",
        "tables": dict(sorted(counts.items())),
        "users_by_role": {"table": role_count.table, "column": role_count.column, "by_role": by_role,
                          "total": None if by_role is None else sum(by_role.values())},
    }


def role_query(table: str, column: str | None):  # noqa: ANN201
    """Rows of `table` by `column` (its text; NULL its own group); `column` None: one group, ALL_ROWS."""
    from psycopg import sql

    tbl = sql.Identifier(*split_table(table))
    if column is None:
        return sql.SQL("SELECT {label}, count(*) FROM {tbl}").format(label=sql.Literal(ALL_ROWS), tbl=tbl)
    return sql.SQL("SELECT {col}::text, count(*) FROM {tbl} GROUP BY 1 ORDER BY 1").format(col=sql.Identifier(column), tbl=tbl)


def _by_role(conn: psycopg.Connection, role_count: RoleCount) -> dict[str, int] | None:
    from psycopg import sql

    query = role_query(role_count.table, role_count.column)
    try:
        with conn.transaction():  # a savepoint: a missing column must not abort the snapshot
            return {NULL_ROLE if role is None else str(role): int(n) for role, n in conn.execute(query)}
    except Exception:  # noqa: BLE001 - the column may not exist; verify reports that
        return None
