from __future__ import annotations

from pgrunbook.sqlcheck import CreatedObject, analyze_files, analyze_sql, objects_after
from pgrunbook.sqlcheck.naming import index_name, make_object_name, sequence_name

DRIZZLE = '''CREATE TYPE "public"."user_role" AS ENUM('manager', 'fbo');--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "users" (
\t"id" serial PRIMARY KEY NOT NULL,
\t"email" varchar(255) NOT NULL,
\t"role" "user_role" NOT NULL,
\t"manager_id" integer,
\tCONSTRAINT "users_email_unique" UNIQUE("email")
);
--> statement-breakpoint
DO $$ BEGIN
 ALTER TABLE "users" ADD CONSTRAINT "users_manager_id_users_id_fk" FOREIGN KEY ("manager_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;
EXCEPTION
 WHEN duplicate_object THEN null;
END $$;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "idx_users_role" ON "users" USING btree ("role");
'''


def names(objects) -> set[tuple[str, str | None, str]]:
    return {(o.kind, o.table, o.name) for o in objects}


def test_drizzle_kit_output_creates_table_columns_constraints_type_and_indexes():
    created = analyze_sql(DRIZZLE, file="0000.sql").created
    assert names(created) == {
        ("type", None, "user_role"),
        ("table", None, "users"),
        ("column", "users", "id"),
        ("column", "users", "email"),
        ("column", "users", "role"),
        ("column", "users", "manager_id"),
        ("constraint", "users", "users_pkey"),
        ("index", "users", "users_pkey"),
        ("sequence", "users", "users_id_seq"),
        ("constraint", "users", "users_email_unique"),
        ("index", "users", "users_email_unique"),
        ("constraint", "users", "users_manager_id_users_id_fk"),  # from inside the DO block
        ("index", "users", "idx_users_role"),
    }
    assert all(o.schema == "public" for o in created)
    index = next(o for o in created if o.name == "idx_users_role")
    assert index.columns == ("role",) and not index.implicit
    assert next(o for o in created if o.name == "users_pkey").implicit


def test_implicit_names_follow_postgresql():
    sql = "CREATE TABLE s.orders (id bigint GENERATED ALWAYS AS IDENTITY, a int UNIQUE, b int CHECK (b > 0), CHECK (a < b), FOREIGN KEY (a, b) REFERENCES x);"
    created = analyze_sql(sql, file="f.sql").created
    assert {o.name for o in created if o.kind in ("constraint", "sequence")} == {
        "orders_id_seq",
        "orders_a_key",
        "orders_b_check",
        "orders_check",
        "orders_a_b_fkey",
    }
    assert {o.schema for o in created} == {"s"}
    unnamed = analyze_sql("CREATE INDEX ON users (lower(email), created_at);", file="f.sql").created
    assert [o.name for o in unnamed] == ["users_lower_created_at_idx"]


def test_long_names_are_cut_like_postgresql_does():
    table, column = "t" * 40, "c" * 40
    assert make_object_name(table, column, "seq") == "t" * 29 + "_" + "c" * 29 + "_seq"
    assert len(sequence_name(table, column)) == 63
    assert index_name("users", ["a", "b"]) == "users_a_b_idx"
    assert index_name("users", [], label="pkey") == "users_pkey"


def test_added_columns_and_constraints():
    sql = 'ALTER TABLE "users" ADD COLUMN "nickname" text, ADD COLUMN "n" bigserial; ALTER TABLE users ADD FOREIGN KEY (manager_id) REFERENCES users (id);'
    assert names(analyze_sql(sql, file="f.sql").created) == {
        ("column", "users", "nickname"),
        ("column", "users", "n"),
        ("sequence", "users", "users_n_seq"),
        ("constraint", "users", "users_manager_id_fkey"),
    }


def test_functions_not_called_create_nothing_and_called_ones_do():
    body = "CREATE FUNCTION mk() RETURNS void LANGUAGE sql AS $$ CREATE TABLE made_by_f (id int) $$;"
    assert names(analyze_sql(body, file="f.sql").created) == {("function", None, "mk")}
    assert ("table", None, "made_by_f") in names(analyze_sql(body + " SELECT mk();", file="f.sql").created)


def test_guessed_dynamic_operations_create_nothing():
    sql = "DO $$ DECLARE t text := 'x'; BEGIN EXECUTE format('CREATE TABLE %I (id int)', t); END $$;"
    assert analyze_sql(sql, file="f.sql").created == ()


def test_objects_after_applies_creates_drops_and_renames_in_order():
    migrations = analyze_files(
        [
            ("0000.sql", DRIZZLE),
            ("0001.sql", "CREATE TABLE tmp (id int);\nCREATE INDEX IF NOT EXISTS idx_tmp ON tmp (id);"),
            ("0002.sql", "DROP TABLE tmp;\nALTER TABLE users RENAME COLUMN role TO kind;\nALTER INDEX idx_users_role RENAME TO idx_users_kind;"),
            ("0003.sql", "ALTER TABLE users DROP COLUMN manager_id;\nALTER TABLE users RENAME TO members;\nDROP TABLE legacy;"),
        ]
    )
    state = objects_after(migrations)
    present = names(state.present)
    assert not {o for o in present if "tmp" in (o[1] or "") or o[2] == "tmp"}
    assert ("table", None, "members") in present and ("table", None, "users") not in present
    assert state.columns_of("public", "members") == ("id", "email", "kind")
    # Dropping manager_id dropped the foreign key built on it.
    assert ("constraint", "members", "users_manager_id_users_id_fk") not in present
    kind_index = next(o for o in state.indexes if o.name == "idx_users_kind")
    assert (kind_index.table, kind_index.columns) == ("members", ("kind",))
    absent = names(state.absent)
    assert {("table", None, "tmp"), ("table", None, "legacy"), ("table", None, "users")} <= absent
    assert ("index", None, "idx_users_role") in {(o.kind, None, o.name) for o in state.absent}


def test_objects_created_again_after_a_drop_are_present():
    ops = analyze_sql("CREATE TABLE a (x int); DROP TABLE a; CREATE TABLE a (y int);", file="f.sql").operations
    state = objects_after([ops])
    assert names(state.present) == {("table", None, "a"), ("column", "a", "y")}
    assert state.absent == ()


def test_schema_drop_and_rename():
    state = objects_after(
        analyze_files(
            [
                ("1.sql", "CREATE SCHEMA app; CREATE TABLE app.t (id int); CREATE TYPE app.mood AS ENUM ('ok');"),
                ("2.sql", "ALTER SCHEMA app RENAME TO core; CREATE SCHEMA gone; CREATE TABLE gone.x (id int); DROP SCHEMA gone CASCADE;"),
            ]
        )
    )
    assert {(o.kind, o.schema, o.name) for o in state.present} == {
        ("schema", "core", "core"),
        ("table", "core", "t"),
        ("column", "core", "id"),
        ("type", "core", "mood"),
    }
    assert CreatedObject("schema", "gone", None, "gone") in state.absent
