"""The fixture's SQL on a real PostgreSQL 18: migrations apply, and legacy_schema.sql ≡ 0000..0010."""

from __future__ import annotations

import psycopg
import pytest

from pgrunbook.sandbox import apply_fixture_migrations
from pgrunbook.sandbox.data import (
    DRIZZLE_DIR,
    LEGACY_SCHEMA,
    TABLES,
    migration_statements,
)

CATALOG = {
    "tables": """
        SELECT c.relname FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY 1""",
    "columns": """
        SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY 1, 2""",
    "enums": """
        SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
        FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
        WHERE t.typnamespace = 'public'::regnamespace GROUP BY 1 ORDER BY 1""",
    "types": """
        SELECT t.typname, t.typtype FROM pg_type t
        WHERE t.typnamespace = 'public'::regnamespace AND t.typtype <> 'c' AND t.typname NOT LIKE '\\_%' ORDER BY 1""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid), condeferrable, convalidated
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2""",
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2""",
    "sequences": """
        SELECT s.relname, d.refobjid::regclass::text, a.attname, q.seqtypid::regtype::text, q.seqstart, q.seqincrement
        FROM pg_class s
        JOIN pg_sequence q ON q.seqrelid = s.oid
        LEFT JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
        LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE s.relnamespace = 'public'::regnamespace ORDER BY 1""",
    "schemas": """
        SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1""",
}


def catalog(conn: psycopg.Connection) -> dict[str, list[tuple]]:
    return {name: conn.execute(query).fetchall() for name, query in CATALOG.items()}


def idx_indexes(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE 'idx\\_%' ORDER BY 1")]


@pytest.fixture(scope="module")
def schemas(sandbox_cluster):
    """Two databases: migrations 0000-0010 applied statement by statement, and legacy_schema.sql."""
    names = {"migrated": "schema_migrated", "legacy": "schema_legacy"}
    with psycopg.connect(sandbox_cluster.url("postgres"), autocommit=True) as admin:
        for name in names.values():
            admin.execute(f"DROP DATABASE IF EXISTS {name}")
            admin.execute(f"CREATE DATABASE {name}")
    with psycopg.connect(sandbox_cluster.url(names["migrated"])) as conn:
        apply_fixture_migrations(conn)
    with psycopg.connect(sandbox_cluster.url(names["legacy"])) as conn:
        conn.execute(LEGACY_SCHEMA.read_text(encoding="utf-8"))
    return {k: sandbox_cluster.url(v) for k, v in names.items()}


def test_migrations_0000_0010_create_the_eleven_tables(schemas):
    with psycopg.connect(schemas["migrated"]) as conn:
        tables = [r[0] for r in conn.execute(CATALOG["tables"])]
        assert sorted(tables) == sorted(TABLES)
        assert idx_indexes(conn) == []
        users = [r[0] for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'users'::regclass AND attnum > 0 ORDER BY attnum")]
        assert users[:10] == ["id", "email", "password", "first_name", "last_name", "role", "manager_id", "is_active",
                              "created_at", "updated_at"]


def test_legacy_schema_is_identical_to_migrations_0000_0010(schemas):
    with psycopg.connect(schemas["migrated"]) as conn:
        migrated = catalog(conn)
    with psycopg.connect(schemas["legacy"]) as conn:
        legacy = catalog(conn)
    for part in CATALOG:
        assert legacy[part] == migrated[part], part
    assert len(migrated["tables"]) == 11
    assert len(migrated["enums"]) == 6
    assert {r[2] for r in migrated["constraints"]} >= {"p", "u", "f"}
    assert len([r for r in migrated["constraints"] if r[2] == "f"]) == 19
    assert len(migrated["sequences"]) == 11
    assert [r[0] for r in migrated["schemas"]] == ["public"]  # no drizzle schema either way here


def test_each_migration_applies_in_order_on_an_empty_database(sandbox_cluster, new_db):
    """As drizzle runs them: one statement at a time, all in one transaction."""
    url = sandbox_cluster.url(new_db("fresh"))
    with psycopg.connect(url) as conn:
        for path in sorted(DRIZZLE_DIR.glob("00*.sql"))[:11]:
            for statement in migration_statements(path):
                conn.execute(statement)
    with psycopg.connect(url) as conn:
        assert len(catalog(conn)["tables"]) == 11


@pytest.mark.parametrize("base", ["migrated", "legacy"])
def test_0011_creates_43_indexes_on_top(sandbox_cluster, new_db, base):
    url = sandbox_cluster.url(new_db(f"with0011_{base}"))
    with psycopg.connect(url) as conn:
        if base == "migrated":
            apply_fixture_migrations(conn)
        else:
            conn.execute(LEGACY_SCHEMA.read_text(encoding="utf-8"))
        conn.commit()
        for statement in migration_statements(DRIZZLE_DIR / "0011_add_performance_indexes.sql"):
            conn.execute(statement)
        conn.commit()
        names = idx_indexes(conn)
        assert len(names) == 43
        invalid = conn.execute(
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname LIKE 'idx\\_%' AND NOT (i.indisvalid AND i.indisready)").fetchone()[0]
        assert invalid == 0
        # IF NOT EXISTS: running it again changes nothing.
        for statement in migration_statements(DRIZZLE_DIR / "0011_add_performance_indexes.sql"):
            conn.execute(statement)
        assert idx_indexes(conn) == names
