"""Phase 1 facts: what the database is, read in one READ ONLY transaction.

Every query here reads catalogs, except the grouped role count (the seed's step 1.2),
which is the only scan. `gather()` must be called inside `pg.read_only()`; it checks
that it is, so a careless caller cannot turn the observing phase into a writing one.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

from .drizzle.recorder import Recorder
from .errors import NOTHING_CHANGED, RuntimeFailure
# The values gathered here live in `models` (the pure core imports them from there); re-exported.
from .models import Facts, IndexFacts, Privileges, RoleCounts, ServerFacts, SettingOverride, TableFacts
from .backup.snapshot import NULL_ROLE, role_query
from .names import qualified, split_table
from .session_settings import WATCHED_SETTINGS

if TYPE_CHECKING:
    import psycopg

    from .config import Expectations, MigrationsSettings


def gather(conn: psycopg.Connection, expectations: Expectations, migrations: MigrationsSettings) -> Facts:
    _require_read_only(conn)
    recorder = Recorder(conn, migrations.tracking_schema, migrations.tracking_table)
    rows = recorder.rows()
    total, performance = _indexes(conn, expectations.index_prefix)
    return Facts(
        server=_server(conn),
        roles=_role_counts(conn, expectations.role_count.table, expectations.role_count.column),
        tables=_tables(conn, _named_schemas(expectations)),
        indexes_total=total,
        performance_indexes=performance,
        drizzle_schema=recorder.schema_exists(),
        tracking_rows=None if rows is None else tuple(rows),
        sequence=recorder.sequence_state(),
        setting_overrides=setting_overrides(conn),
    )


def setting_overrides(conn: psycopg.Connection) -> tuple[SettingOverride, ...]:
    """Database- and role-level values of the settings pgrunbook pins or checks, for this database.

    Our sessions override the pinned ones, but drizzle's migrator, psql and the app run with
    them: a `standard_conforming_strings = off` there makes the same file mean other SQL.
    """
    rows = conn.execute(
        """SELECT split_part(cfg, '=', 1), substr(cfg, strpos(cfg, '=') + 1), d.datname, r.rolname,
                  s.setrole = 0 OR s.setrole = (SELECT oid FROM pg_roles WHERE rolname = session_user)
           FROM pg_db_role_setting s CROSS JOIN LATERAL unnest(s.setconfig) AS cfg
           LEFT JOIN pg_database d ON d.oid = s.setdatabase LEFT JOIN pg_roles r ON r.oid = s.setrole
           WHERE s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
             AND lower(split_part(cfg, '=', 1)) = ANY(%s)
           ORDER BY 3 NULLS FIRST, 4 NULLS FIRST, 1""",
        [[name.lower() for name, _ in WATCHED_SETTINGS]],
    ).fetchall()
    return tuple(SettingOverride(name, value, db, role, bool(ours)) for name, value, db, role, ours in rows)


def _require_read_only(conn: psycopg.Connection) -> None:
    if conn.execute("SHOW transaction_read_only").fetchone()[0] != "on":
        raise RuntimeFailure("internal error: facts must be gathered in a READ ONLY transaction", changed=NOTHING_CHANGED)


def _server(conn: psycopg.Connection) -> ServerFacts:
    row = conn.execute(
        """
        SELECT version(), current_setting('server_version_num')::int, current_database(), current_user,
               r.rolsuper, r.rolcreatedb, has_schema_privilege('public', 'CREATE'),
               has_database_privilege(current_database(), 'CREATE')
        FROM pg_roles r WHERE r.rolname = current_user
        """
    ).fetchone()
    return ServerFacts(*row)


def _role_counts(conn: psycopg.Connection, table: str, column: str | None) -> RoleCounts:
    """Rows of `table` by role (`column`); `column` None: the app has no roles, one group (ALL_ROWS)."""
    schema, name = split_table(table)
    if not _role_table_present(conn, table, column):
        return RoleCounts(table, column, None, f"{schema}.{name}{'' if column is None else '.' + column} does not exist")
    query = role_query(table, column)
    # A NULL role is a group of its own: keyed by a label that cannot be a role's text (not "None").
    return RoleCounts(table, column, {NULL_ROLE if role is None else str(role): int(n) for role, n in conn.execute(query)})


def _role_table_present(conn: psycopg.Connection, table: str, column: str | None) -> bool:
    """Whether `table` exists with its role `column` (any column when None)."""
    schema, name = split_table(table)
    return conn.execute(
        """
        SELECT EXISTS (SELECT FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                       JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE n.nspname = %s AND c.relname = %s AND (a.attname = %s OR %s::text IS NULL) AND NOT a.attisdropped)
        """,
        [schema, name, column, column],
    ).fetchone()[0]


def _tables(conn: psycopg.Connection, schemas: tuple[str, ...] = ()) -> tuple[TableFacts, ...]:
    """The tables of `public` and of the other schemas the playbook names (`auth.users`)."""
    rows = conn.execute(
        """
        SELECT c.relname,
               (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
               c.reltuples::bigint, pg_total_relation_size(c.oid), n.nspname
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p')
        ORDER BY n.nspname <> 'public', n.nspname, c.relname
        """,
        [["public", *schemas]],
    ).fetchall()
    return tuple(TableFacts(name, int(cols), int(est), int(size), schema) for name, cols, est, size, schema in rows)


def _named_schemas(expectations: Expectations) -> tuple[str, ...]:
    """Schemas other than public that the playbook's table names point to."""
    spec = expectations.fingerprinted
    names = [*expectations.tables, *expectations.critical_tables, expectations.role_count.table, *([spec.table] if spec else [])]
    return tuple(sorted({split_table(n)[0] for n in names} - {"public"}))


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


# --------------------------------------------------------------------------- for the gate and validation


def protected_counts(conn: psycopg.Connection, expectations: Expectations, created_by_plan: frozenset[str] = frozenset()) -> dict:
    """Exact counts the runbook protects: users by role (and total) and each critical table (keyed as the playbook names it).

    `created_by_plan` (`schema.table`): tables the plan to apply creates; the role table absent now for that
    reason holds no rows to protect (counted as none), not a table that cannot be counted."""
    from psycopg import sql

    roles = _role_counts(conn, expectations.role_count.table, expectations.role_count.column)
    table = qualified(expectations.role_count.table)
    if roles.by_role is None and table in created_by_plan and conn.execute("SELECT to_regclass(%s) IS NULL", [
            sql.Identifier(*split_table(table)).as_string(conn)]).fetchone()[0]:
        roles = RoleCounts(roles.table, roles.column, {})
    tables = {}
    for table in expectations.critical_tables:
        rel = sql.Identifier(*split_table(table))
        if conn.execute("SELECT to_regclass(%s) IS NOT NULL", [rel.as_string(conn)]).fetchone()[0]:
            tables[table] = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(rel)).fetchone()[0]
    return {"users_by_role": {"by_role": roles.by_role, "total": roles.total, "table": table}, "tables": tables}


# The fingerprint's method, recorded with it: validation recomputes "after" the way "before" was computed.
ROW_HASH = "row-hash"  # any table: count + sum of a 64-bit hash of each row's text (order-independent)
KEY_ORDER_MD5 = "key-order-md5"  # journals of earlier versions: md5 of every row's md5, in key order


def table_fingerprint(conn: psycopg.Connection, table: str, columns: list[str] | None = None, *, method: str = ROW_HASH) -> dict:
    """The content of `table` (`users` or `schema.table`) as one digest, with its row count; any table.

    The row hash (the default): each row's text (`ROW(columns)::text`, NULL and '' distinct) is
    hashed to 64 bits by `hashtextextended` (PostgreSQL's own, the one hash partitioning relies
    on: stable across platforms and versions), and the hashes are summed exactly. A sum does not
    depend on row order, so no sort and no key are needed: a uuid, composite or missing key is
    fingerprinted like any other, in one sequential scan whose chunks PostgreSQL's parallel
    workers hash apart and add up (constant memory: no 1 GB string ceiling at tens of millions
    of rows). A change of one row goes unseen with probability 2^-64; a key-less table's
    duplicate rows each count. `md5` is md5("count:sum").

    Only `columns` count (default: every column now). Validation passes the columns of the
    snapshot taken before the migration, so a migration that adds a column (allowed by the
    runbook) does not look like a change of every row. `max_pk` is the largest key only when
    the key is one sequence-backed column (serial, identity): such keys only grow, so a no-loss
    check can count the rows that existed before; any other key gets None (see `rows_up_to`).
    """
    from psycopg import sql

    schema, name = split_table(table)
    rel = sql.Identifier(schema, name)
    regclass = rel.as_string(conn)
    if conn.execute("SELECT to_regclass(%s)", [regclass]).fetchone()[0] is None:
        return {"table": table, "method": method, "key": [], "columns": columns or [], "count": None, "max_pk": None, "md5": None,
                "missing_columns": ["(table gone)"]}
    key = [k for (k,) in conn.execute(
        """SELECT a.attname FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, pos)
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
           WHERE i.indrelid = to_regclass(%s) AND i.indisprimary ORDER BY k.pos""", [regclass])]
    present = [c for (c,) in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped ORDER BY attnum", [regclass])]
    wanted = columns or present
    base = {"table": table, "method": method, "key": key, "columns": wanted}
    missing = [c for c in wanted if c not in present]
    if missing:
        return {**base, "count": None, "max_pk": None, "md5": None, "missing_columns": missing}
    row = sql.SQL("ROW({})::text").format(sql.SQL(", ").join(sql.Identifier("t", c) for c in wanted))
    if method == KEY_ORDER_MD5 and key:
        order = sql.SQL(", ").join(sql.Identifier("t", k) for k in key)
        query = sql.SQL("SELECT count(*), md5(coalesce(string_agg(md5({row}), '' ORDER BY {order}), '')) FROM {rel} t").format(
            row=row, order=order, rel=rel)
        count, digest = conn.execute(query).fetchone()
    else:
        query = sql.SQL("SELECT count(*), coalesce(sum(hashtextextended({row}, 0)), 0) FROM {rel} t").format(row=row, rel=rel)
        count, total = conn.execute(query).fetchone()
        digest = hashlib.md5(f"{count}:{total}".encode()).hexdigest()  # noqa: S324 - a label of the exact sum, not a secret
        base["method"] = ROW_HASH
    return {**base, "count": count, "max_pk": _high_water_mark(conn, rel, regclass, key), "md5": digest}


def _columns(conn: psycopg.Connection, table: str) -> list[str]:
    from psycopg import sql

    regclass = sql.Identifier(*split_table(table)).as_string(conn)
    return [c for (c,) in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped ORDER BY attnum", [regclass])]


def _high_water_mark(conn: psycopg.Connection, rel, regclass: str, key: list[str]) -> object:  # noqa: ANN001
    """max(key) for a single sequence-backed key (serial, identity), else None: other keys do not only grow."""
    from psycopg import sql

    if len(key) != 1 or conn.execute("SELECT pg_get_serial_sequence(%s, %s)", [regclass, key[0]]).fetchone()[0] is None:
        return None
    return conn.execute(sql.SQL("SELECT max({}) FROM {}").format(sql.Identifier(key[0]), rel)).fetchone()[0]


def rows_up_to(conn: psycopg.Connection, table: str, key: str | list[str], max_pk: object) -> int:
    """Rows whose sequence-backed key is at most `max_pk`: the rows that existed when it was the largest."""
    from psycopg import sql

    column = key[0] if isinstance(key, list) else key
    query = sql.SQL("SELECT count(*) FROM {} WHERE {} <= %s").format(sql.Identifier(*split_table(table)), sql.Identifier(column))
    return conn.execute(query, [max_pk]).fetchone()[0]


def privileges(conn: psycopg.Connection, tables: list[str]) -> Privileges:
    """What the migration needs of the role: its attributes (the phase-1 query) and the tables among
    `tables` (schema-qualified) it does not own."""
    server = _server(conn)
    unowned = [
        t for (t,) in conn.execute(
            """SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname || '.' || c.relname = ANY(%s) AND NOT pg_has_role(c.relowner, 'USAGE')""",
            [tables],
        )
    ]
    return Privileges(user=server.user, superuser=server.superuser, createdb=server.createdb,
                      create_on_database=server.can_create_in_database, create_on_public=server.can_create_in_public,
                      unowned_tables=tuple(sorted(unowned)))


_DESCRIBE = ("a.pid, a.state, extract(epoch FROM now() - a.xact_start)::int, "
             "left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 100)")


_PASSWORD_AND_AFTER = re.compile(r"\b(password)\b.*", re.IGNORECASE | re.DOTALL)


def redact_query(text: str) -> str:
    """Another session's query text, safe to print and journal: everything after PASSWORD is cut
    (`ALTER ROLE app PASSWORD 'x'`, `CREATE USER ... ENCRYPTED PASSWORD $$x$$`), whatever the quoting."""
    return _PASSWORD_AND_AFTER.sub(lambda m: f"{m.group(1)} ***", text)


def _describe(rows: list[tuple]) -> tuple[str, ...]:
    return tuple(f"pid {pid} ({state}, transaction open {age}s: {redact_query(query)!r})" for pid, state, age, query in rows)


def lock_holders(conn: psycopg.Connection, tables: list[str] | None = None, *, min_seconds: float = 0) -> tuple[str, ...]:
    """Other sessions whose open transaction (older than `min_seconds`) holds a lock on `tables`
    (schema-qualified), or on any non-catalog relation when `tables` is None."""
    rows = conn.execute(
        f"""SELECT DISTINCT {_DESCRIBE} FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE l.granted AND a.pid <> pg_backend_pid() AND a.datname = current_database()
              AND a.xact_start < now() - make_interval(secs => %s)
              AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
              AND (%s::text[] IS NULL OR n.nspname || '.' || c.relname = ANY(%s::text[]))
            LIMIT 5""",
        [min_seconds, tables, tables],
    ).fetchall()
    return _describe(rows)


def blocking_sessions(conn: psycopg.Connection, tables: list[str], max_xact_seconds: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(long-open transactions, sessions holding locks on `tables` for more than 5 s), other than ours.

    A long transaction anywhere in the database also stalls CREATE INDEX CONCURRENTLY, which
    waits for every older snapshot to end; a statement of a few ms is not a blocker.
    """
    long_open = conn.execute(
        f"""SELECT {_DESCRIBE} FROM pg_stat_activity a
            WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
              AND a.xact_start < now() - make_interval(secs => %s)""",
        [max_xact_seconds],
    ).fetchall()
    return _describe(long_open), lock_holders(conn, tables, min_seconds=5)


def explain(conn: psycopg.Connection, query: str) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) of a configured hot query: its time and the indexes it uses.

    ANALYZE executes the query: callers run this inside a READ ONLY transaction, so a
    hot query that writes fails instead of writing.
    """
    (plan,) = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {query}").fetchone()
    root = plan[0]
    return {"query": query, "ms": root.get("Execution Time"), "root": root["Plan"]["Node Type"],
            "indexes": sorted(set(_index_names(root["Plan"])))}


def _index_names(node: dict) -> list[str]:
    names = [node["Index Name"]] if "Index Name" in node else []
    for child in node.get("Plans", ()):
        names += _index_names(child)
    return names


def snapshot_protected(conn: psycopg.Connection, expectations: Expectations, hot_queries: list[str], *,
                       like: dict | None = None, expected=None) -> dict:  # noqa: ANN001
    """What validation compares before and after: counts, the protected table's fingerprint, indexes, hot queries.

    `all_tables` holds the exact rows of every table of every non-system schema (the backup's
    `count_rows`, leaf partitions rather than their parents, the tracking table included), all
    in this one READ ONLY snapshot: validation says which tables lost rows. `fingerprint` is
    None when the playbook turned it off (`expectations.fingerprint: false`). `like`: the snapshot
    taken before the migration; the fingerprint is then taken exactly as it was (same table,
    columns and method, whatever the playbook says now), so the two compare. `expected` (a
    `validate.ExpectedChanges`, before the migration): the fingerprint leaves out the columns the
    approved plan drops, so that validation can compare the columns it keeps.
    """
    from .backup.snapshot import count_rows

    _require_read_only(conn)
    _, performance = _indexes(conn, expectations.index_prefix)
    return {
        **protected_counts(conn, expectations),
        "all_tables": count_rows(conn, expectations.role_count)["tables"],
        "fingerprint": _fingerprint_as(conn, expectations, like, expected),
        "performance_indexes": [i.name for i in performance],
        "hot_queries": [explain(conn, q) for q in hot_queries],
    }


def _fingerprint_as(conn: psycopg.Connection, expectations: Expectations, like: dict | None, expected=None) -> dict | None:  # noqa: ANN001
    if like is None:
        spec = expectations.fingerprinted
        if spec is None:
            return None
        columns = spec.columns
        if expected is not None and expected.dropped_of(qualified(spec.table)):
            columns = expected.kept(qualified(spec.table), columns or _columns(conn, spec.table))
        return table_fingerprint(conn, spec.table, columns)
    before = like.get("fingerprint")
    if not before:
        return None
    # A journal of an earlier version has no method: its digest was the key-ordered md5.
    return table_fingerprint(conn, before["table"], before.get("columns"), method=before.get("method", KEY_ORDER_MD5))


def index_names(conn: psycopg.Connection) -> frozenset[str]:
    """Every index of the database outside the system schemas, as `schema.name` (any name, any schema)."""
    rows = conn.execute(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('i', 'I') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
    ).fetchall()
    return frozenset(r[0] for r in rows)


def index_details(conn: psycopg.Connection, names: list[str]) -> dict[str, dict]:
    """For schema-qualified index names: the table each is on and whether it is valid."""
    rows = conn.execute(
        """SELECT n.nspname || '.' || i.relname, tn.nspname || '.' || t.relname, x.indisvalid
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
           JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace
           WHERE n.nspname || '.' || i.relname = ANY(%s)""",
        [names],
    ).fetchall()
    return {name: {"table": table, "valid": valid} for name, table, valid in rows}


def run_state(conn: psycopg.Connection, expectations: Expectations, migrations: MigrationsSettings):  # noqa: ANN201
    """The database as a run observes it (a `journal.RunState`): identity, ledger, protected rows."""
    from .journal import RunState

    oid = conn.execute("SELECT oid FROM pg_database WHERE datname = current_database()").fetchone()[0]
    rows = Recorder(conn, migrations.tracking_schema, migrations.tracking_table).rows()
    return RunState(database_oid=int(oid), tracking_rows=None if rows is None else len(rows),
                    last_tracking_id=rows[-1].id if rows else None, protected_total=protected_total(conn, expectations))


def protected_total(conn: psycopg.Connection, expectations: Expectations) -> int:
    """`protected_counts`' total (the role table's rows + each critical table's) in one statement:
    totals only, no GROUP BY role. A phase run alone pays it before its work (a backup, before pg_dump)."""
    from collections import Counter

    from psycopg import sql

    role = expectations.role_count
    schema, name = split_table(role.table)
    role_ok = _role_table_present(conn, role.table, role.column)  # counted only where `_role_counts` counts it
    named = [sql.Identifier(*split_table(t)) for t in expectations.critical_tables]
    present = conn.execute(sql.SQL("SELECT ARRAY[{}]::regclass[]").format(
        sql.SQL(", ").join(sql.SQL("to_regclass({})").format(sql.Literal(n.as_string(conn))) for n in named))).fetchone()[0] if named else []
    counted = [n for n, rel in zip(named, present) if rel is not None] + ([sql.Identifier(schema, name)] if role_ok else [])
    if not counted:
        return 0
    times = Counter(t.as_string(conn) for t in counted)  # the role table is usually critical too: scanned once, counted twice
    total = sql.SQL(" + ").join(sql.SQL("{} * (SELECT count(*) FROM {})").format(sql.Literal(n), sql.SQL(t)) for t, n in times.items())
    return int(conn.execute(sql.SQL("SELECT {}").format(total)).fetchone()[0])
