"""rollback.extras: what an in-place restore leaves that the backup does not hold (pure parts)."""

from __future__ import annotations

from pgrunbook.rollback.extras import DbObject, created_by_run, drop_statements, extra_objects, toc_objects

LISTING = """;
; Archive created at 2026-12-01 23:40:00 UTC
3; 2615 2200 SCHEMA - public pg_database_owner
4; 2615 16390 SCHEMA - ops postgres
215; 1259 16386 TABLE public users postgres
216; 1259 16385 SEQUENCE public users_id_seq postgres
217; 1259 16400 VIEW public active_users postgres
218; 1259 16401 MATERIALIZED VIEW ops "Stats" postgres
3400; 0 16386 TABLE DATA public users postgres
3300; 2606 16392 CONSTRAINT public users users_pkey postgres
"""


def test_toc_objects_reads_schemas_tables_views_sequences():
    assert toc_objects(LISTING + "3401; 0 16385 SEQUENCE SET public users_id_seq postgres\n") == {
        DbObject("schema", "public", "public"), DbObject("schema", "ops", "ops"), DbObject("table", "public", "users"),
        DbObject("sequence", "public", "users_id_seq"), DbObject("view", "public", "active_users"),
        DbObject("view", "ops", '"Stats"'),
    }


def test_extras_are_what_the_backup_lacks_and_public_always_exists():
    backup = toc_objects(LISTING) - {DbObject("schema", "public", "public")}
    live = backup | {DbObject("schema", "public", "public"), DbObject("schema", "drizzle", "drizzle"),
                     DbObject("table", "drizzle", "__drizzle_migrations"), DbObject("table", "public", "late")}
    assert extra_objects(live, backup) == (DbObject("schema", "drizzle", "drizzle"),
                                           DbObject("table", "drizzle", "__drizzle_migrations"), DbObject("table", "public", "late"))


def test_only_what_the_run_created_is_dropped_dependants_first_never_cascade():
    extras = (DbObject("schema", "drizzle", "drizzle"), DbObject("sequence", "drizzle", "__drizzle_migrations_id_seq"),
              DbObject("table", "drizzle", "__drizzle_migrations"), DbObject("table", "public", "by_someone_else"),
              DbObject("table", "public", "made_by_0012"))
    mine = created_by_run(extras, [DbObject("table", "public", "made_by_0012")], "drizzle")
    assert DbObject("table", "public", "by_someone_else") not in mine and len(mine) == 4
    statements = drop_statements(mine)
    assert statements == ['DROP TABLE IF EXISTS "drizzle"."__drizzle_migrations"', 'DROP TABLE IF EXISTS "public"."made_by_0012"',
                          'DROP SEQUENCE IF EXISTS "drizzle"."__drizzle_migrations_id_seq"', 'DROP SCHEMA IF EXISTS "drizzle"']
    assert not any("CASCADE" in s for s in statements)
    assert created_by_run(extras, [], None) == ()  # a run that created nothing: nothing is dropped
