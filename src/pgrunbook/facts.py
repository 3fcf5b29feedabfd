"""Phase 1 facts: what the database is, read in one READ ONLY transaction.

Every query here reads catalogs, except the grouped role count (the seed's step 1.2),
which is the only scan. `gather()` must be called inside `pg.read_only()`; it checks
that it is, so a careless caller cannot turn the observing phase into a writing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .drizzle.recorder import Recorder, SequenceState
from .drizzle.state import TrackingRow
from .errors import RuntimeFailure

if TYPE_CHECKING:
    import psycopg

    from .config import Expectations, MigrationsSettings


@dataclass(frozen=True)
class ServerFacts:
    version: str  # "PostgreSQL 18.6 on x86_64..."
    version_num: int  # 180006
    database: str
    user: str
    superuser: bool
    createdb: bool
    can_create_in_public: bool


@dataclass(frozen=True)
class TableFacts:
    name: str
    columns: int
    rows_estimate: int  # pg_class.reltuples (-1 = never analyzed)
    total_bytes: int


@dataclass(frozen=True)
class IndexFacts:
    name: str
    table: str
    valid: bool


@dataclass(frozen=True)
class RoleCounts:
    table: str
    column: str
    by_role: dict[str, int] | None  # None: the table or column does not exist
    problem: str = ""

    @property
    def total(self) -> int | None:
        return None if self.by_role is None else sum(self.by_role.values())


@dataclass(frozen=True)
class Facts:
    server: ServerFacts
    roles: RoleCounts
    tables: tuple[TableFacts, ...]
    indexes_total: int
    performance_indexes: tuple[IndexFacts, ...]
    drizzle_schema: bool
    tracking_rows: tuple[TrackingRow, ...] | None  # None: no tracking table
    sequence: SequenceState | None

    def table(self, name: str) -> TableFacts | None:
        return next((t for t in self.tables if t.name == name), None)


def gather(conn: psycopg.Connection, expectations: Expectations, migrations: MigrationsSettings) -> Facts:
    _require_read_only(conn)
    recorder = Recorder(conn, migrations.tracking_schema, migrations.tracking_table)
    rows = recorder.rows()
    total, performance = _indexes(conn, expectations.index_prefix)
    return Facts(
        server=_server(conn),
        roles=_role_counts(conn, expectations.role_count.table, expectations.role_count.column),
        tables=_tables(conn),
        indexes_total=total,
        performance_indexes=performance,
        drizzle_schema=recorder.schema_exists(),
        tracking_rows=None if rows is None else tuple(rows),
        sequence=recorder.sequence_state(),
    )


def _require_read_only(conn: psycopg.Connection) -> None:
    if conn.execute("SHOW transaction_read_only").fetchone()[0] != "on":
        raise RuntimeFailure("internal error: facts must be gathered in a READ ONLY transaction")


def _server(conn: psycopg.Connection) -> ServerFacts:
    row = conn.execute(
        """
        SELECT version(), current_setting('server_version_num')::int, current_database(), current_user,
               r.rolsuper, r.rolcreatedb, has_schema_privilege('public', 'CREATE')
        FROM pg_roles r WHERE r.rolname = current_user
        """
    ).fetchone()
    return ServerFacts(*row)


def _role_counts(conn: psycopg.Connection, table: str, column: str) -> RoleCounts:
    from psycopg import sql

    exists = conn.execute(
        """
        SELECT EXISTS (SELECT FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                       JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE n.nspname = 'public' AND c.relname = %s AND a.attname = %s AND NOT a.attisdropped)
        """,
        [table, column],
    ).fetchone()[0]
    if not exists:
        return RoleCounts(table, column, None, f"public.{table}.{column} does not exist")
    query = sql.SQL("SELECT {col}::text, count(*) FROM {tbl} GROUP BY 1 ORDER BY 1").format(
        col=sql.Identifier(column), tbl=sql.Identifier("public", table)
    )
    return RoleCounts(table, column, {str(role): int(n) for role, n in conn.execute(query)})


def _tables(conn: psycopg.Connection) -> tuple[TableFacts, ...]:
    rows = conn.execute(
        """
        SELECT c.relname,
               (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
               c.reltuples::bigint, pg_total_relation_size(c.oid)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
        ORDER BY c.relname
        """
    ).fetchall()
    return tuple(TableFacts(name, int(cols), int(est), int(size)) for name, cols, est, size in rows)


def _indexes(conn: psycopg.Connection, prefix: str) -> tuple[int, tuple[IndexFacts, ...]]:
    # The seed's `LIKE 'idx_%'` treats `_` as a wildcard; compare the prefix exactly.
    rows = conn.execute(
        """
        SELECT i.relname, t.relname, x.indisvalid
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_namespace n ON n.oid = i.relnamespace
        WHERE n.nspname = 'public'
        ORDER BY i.relname
        """
    ).fetchall()
    performance = tuple(IndexFacts(name, table, bool(valid)) for name, table, valid in rows if name.startswith(prefix))
    return len(rows), performance
