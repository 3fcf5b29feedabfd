"""Issue 12 item 7, second pass: review noise on drizzle-kit output, 0 false negatives.

Each false-alarm class is lifted with a case built from the real corpus (tests/realworld) and its real hazard
next to it stays flagged: the same statement on a table that exists (may hold rows), or on a table the set
created and then filled.

- A table the set creates is empty (nothing to validate, no lock anyone waits on, no running code using it)
  only until something may write into it: an INSERT/COPY/MERGE (dokploy's 0066 copies its admins into new
  tables), code we cannot read, a rename giving its name to a table with rows, a DROP.
- On such an empty table a default, a NULL allowed or a rename concerns no running code: nothing raised.
- squawk's finding that repeats ours on the same statement is info (one hazard, one blocking finding).
"""

from __future__ import annotations

from pgrunbook.sqlcheck import Finding, Policy, Verdict, analyze_files, analyze_sql, with_findings


def blocking(analysis) -> set[str]:
    return {f.rule_id for f in analysis.blocking}


# dittofeed 0000 / 0001 / 0006, dokploy 0014 / 0065, as published (trimmed to the table concerned).
DITTOFEED_TABLE = """CREATE TABLE IF NOT EXISTS "AdminApiKey" (
\t"id" uuid PRIMARY KEY NOT NULL,
\t"workspaceId" uuid NOT NULL,
\t"name" text NOT NULL,
\t"updatedAt" timestamp(3) NOT NULL
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "Broadcast" (
\t"id" uuid PRIMARY KEY NOT NULL,
\t"status" "BroadcastStatus" DEFAULT 'NotStarted' NOT NULL
);
"""
DITTOFEED_DEFAULTS = """ALTER TABLE "AdminApiKey" ALTER COLUMN "id" SET DEFAULT gen_random_uuid();--> statement-breakpoint
ALTER TABLE "AdminApiKey" ALTER COLUMN "updatedAt" SET DEFAULT now();--> statement-breakpoint
ALTER TABLE "AdminApiKey" ALTER COLUMN "updatedAt" DROP DEFAULT;"""
DITTOFEED_NULLABLE = 'ALTER TABLE "Broadcast" ALTER COLUMN "status" DROP NOT NULL;'
DOKPLOY_COMPOSE = """CREATE TABLE IF NOT EXISTS "compose" (
\t"composeId" text PRIMARY KEY NOT NULL,
\t"deployable" boolean DEFAULT false NOT NULL
);"""
DOKPLOY_RENAME = 'ALTER TABLE "compose" RENAME COLUMN "deployable" TO "isolatedDeployment";'
NEW = {("public", "AdminApiKey"), ("public", "Broadcast"), ("public", "compose")}


def test_defaults_nulls_and_renames_on_a_table_the_set_creates_raise_nothing():
    files = [("0000_tables.sql", DITTOFEED_TABLE), ("0001_defaults.sql", DITTOFEED_DEFAULTS),
             ("0006_nullable.sql", DITTOFEED_NULLABLE), ("0014_compose.sql", DOKPLOY_COMPOSE),
             ("0065_rename.sql", DOKPLOY_RENAME)]
    analyses = analyze_files(files, absent_tables=NEW)
    assert [blocking(a) for a in analyses[1:]] == [set(), set(), {"review-create-table"}, set()]


def test_the_same_statements_on_tables_that_exist_stay_reviewed():
    defaults, nullable, rename = (analyze_sql(sql, file="f.sql") for sql in (DITTOFEED_DEFAULTS, DITTOFEED_NULLABLE,
                                                                            DOKPLOY_RENAME))
    assert blocking(defaults) == {"review-set-default", "review-drop-default"}
    assert blocking(nullable) == {"review-drop-not-null"}
    assert blocking(rename) == {"review-rename"}
    # CREATE TABLE IF NOT EXISTS without the live database saying it is absent: it may meet the table with rows
    analyses = analyze_files([("0014_compose.sql", DOKPLOY_COMPOSE), ("0065_rename.sql", DOKPLOY_RENAME)])
    assert blocking(analyses[1]) == {"review-rename"}


# dokploy 0066_yielding_echo.sql, trimmed: new tables, rows copied into them from the admins, then foreign keys.
DOKPLOY_0066 = """CREATE TABLE "user_temp" (
\t"id" text PRIMARY KEY NOT NULL,
\t"name" text DEFAULT '' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "account" (
\t"id" text PRIMARY KEY NOT NULL,
\t"user_id" text NOT NULL
);
--> statement-breakpoint
WITH inserted_users AS (
    INSERT INTO user_temp (id, name)
    SELECT a."adminId", '' FROM admin a
    RETURNING *
),
inserted_accounts AS (
    INSERT INTO account (id, "user_id")
    SELECT gen_random_uuid(), a."adminId" FROM admin a
    RETURNING *
)
SELECT 1;
--> statement-breakpoint
ALTER TABLE "account" ADD CONSTRAINT "account_user_id_user_temp_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user_temp"("id") ON DELETE cascade ON UPDATE no action;"""


def test_a_new_table_the_set_fills_holds_rows_its_constraints_validate_them():
    analysis = analyze_sql(DOKPLOY_0066, file="0066_yielding_echo.sql")
    fk = {f.rule_id for f in analysis.blocking if "ADD CONSTRAINT" in f.statement}
    assert {"review-add-constraint-validating", "review-fk-on-delete-cascade"} <= fk
    # without the copy, the same foreign key on the same new tables raises nothing
    copy_start, copy_end = DOKPLOY_0066.index("WITH inserted_users"), DOKPLOY_0066.index("ALTER TABLE \"account\" ADD")
    quiet = analyze_sql(DOKPLOY_0066[:copy_start] + DOKPLOY_0066[copy_end:], file="0066.sql")
    assert blocking(quiet) == {"review-create-table"}


def test_a_write_inside_a_do_block_counts_for_the_rest_of_that_block():
    sql = """CREATE TABLE t (id int PRIMARY KEY, owner int);
--> statement-breakpoint
DO $$ BEGIN
  INSERT INTO t VALUES (1, 42);
  ALTER TABLE t ADD CONSTRAINT t_owner_fk FOREIGN KEY (owner) REFERENCES users(id);
END $$;"""
    assert "review-add-constraint-validating" in blocking(analyze_sql(sql, file="f.sql"))


def test_a_table_with_rows_taking_a_new_tables_name_is_not_new():
    sql = """CREATE TABLE "session_temp" (id text PRIMARY KEY, user_id text);
--> statement-breakpoint
DROP TABLE "session_temp";
--> statement-breakpoint
ALTER TABLE "session_old" RENAME TO "session_temp";
--> statement-breakpoint
ALTER TABLE "session_temp" ADD CONSTRAINT "s_fk" FOREIGN KEY ("user_id") REFERENCES "user"("id");
--> statement-breakpoint
ALTER TABLE "session_temp" ALTER COLUMN "user_id" SET DEFAULT 'x';"""
    rules = blocking(analyze_sql(sql, file="f.sql"))
    assert {"review-add-constraint-validating", "review-set-default", "review-rename"} <= rules  # (the DROP: empty)
    # the same through SET SCHEMA: a table with rows moved under a new table's (dropped) name is not new
    moved = """CREATE TABLE t (id int);
--> statement-breakpoint
DROP TABLE t;
--> statement-breakpoint
ALTER TABLE archive.t SET SCHEMA public;
--> statement-breakpoint
ALTER TABLE t ALTER COLUMN id SET DEFAULT 1;"""
    assert {"review-set-default", "review-rename"} <= blocking(analyze_sql(moved, file="f.sql"))
    # and a new table moved to another schema stays new there
    new = """CREATE TABLE t (id int);
--> statement-breakpoint
ALTER TABLE t SET SCHEMA archive;
--> statement-breakpoint
ALTER TABLE archive.t ALTER COLUMN id SET DEFAULT 1;"""
    assert blocking(analyze_sql(new, file="f.sql")) == {"review-create-table"}


def test_a_renamed_new_table_stays_new():
    # dokploy 0147: session_temp (created by the set) renamed session, then its constraints
    sql = """CREATE TABLE "session_temp" (id text PRIMARY KEY, user_id text NOT NULL);
--> statement-breakpoint
ALTER TABLE "session_temp" RENAME TO "session";
--> statement-breakpoint
ALTER TABLE "session" ADD CONSTRAINT "session_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade;"""
    assert blocking(analyze_sql(sql, file="f.sql")) == {"review-create-table"}


def test_dynamic_sql_may_have_filled_any_new_table():
    sql = """CREATE TABLE t (id int PRIMARY KEY, owner int);
--> statement-breakpoint
DO $$ BEGIN EXECUTE 'INSERT INTO ' || 't' || ' VALUES (1, 2)'; END $$;
--> statement-breakpoint
ALTER TABLE t ADD CONSTRAINT t_owner_fk FOREIGN KEY (owner) REFERENCES users(id);"""
    assert "review-add-constraint-validating" in blocking(analyze_sql(sql, file="f.sql"))


def test_the_tracking_table_is_never_new():
    sql = """CREATE TABLE drizzle.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, created_at bigint);
--> statement-breakpoint
ALTER TABLE drizzle.__drizzle_migrations ALTER COLUMN hash DROP NOT NULL;"""
    assert "review-drop-not-null" in blocking(analyze_sql(sql, file="f.sql"))


def _squawk(analysis, rule, line):
    return with_findings(analysis, [Finding(rule, Verdict.REVIEW, "Renaming a column may break existing clients.", "h",
                                            analysis.file, line, "")])


def test_squawk_repeating_ours_on_the_same_statement_is_info_and_blocks_again_without_ours():
    rename = analyze_sql(DOKPLOY_RENAME, file="0065_daily_zaladane.sql")
    merged = _squawk(rename, "squawk:renaming-column", 1)
    assert blocking(merged) == {"review-rename"}
    squawk = next(f for f in merged.findings if f.rule_id == "squawk:renaming-column")
    assert squawk.verdict is Verdict.INFO and "same hazard as [review-rename]" in squawk.message
    # our rule turned off in the playbook: squawk's finding is the only one left, and it blocks
    off = Policy.from_dict({"rules": {"review-rename": "off"}})
    merged = with_findings(analyze_sql(DOKPLOY_RENAME, file="f.sql", policy=off),
                           [Finding("squawk:renaming-column", Verdict.REVIEW, "m", "h", "f.sql", 1, "")], off)
    assert blocking(merged) == {"squawk:renaming-column"}
    # ours lifted by an inline comment: squawk's is not lifted with it
    commented = analyze_sql("-- pgrunbook: allow review-rename renamed in the code in v2\n" + DOKPLOY_RENAME, file="f.sql")
    assert blocking(_squawk(commented, "squawk:renaming-column", 2)) == {"squawk:renaming-column"}
    # on another statement: no repetition, squawk's stays
    two = analyze_sql('SELECT 1;\n' + DOKPLOY_RENAME, file="f.sql")
    assert "squawk:renaming-column" in blocking(_squawk(two, "squawk:renaming-column", 1))


def test_squawk_rename_of_a_column_of_a_new_table_is_info():
    analyses = analyze_files([("0014_compose.sql", DOKPLOY_COMPOSE), ("0065_rename.sql", DOKPLOY_RENAME)],
                             absent_tables=NEW)
    assert blocking(_squawk(analyses[1], "squawk:renaming-column", 1)) == set()


def test_a_renamed_function_sharing_a_new_tables_name_stays_reviewed():
    sql = """CREATE TABLE t (id int);
--> statement-breakpoint
ALTER FUNCTION t() RENAME TO t_old;"""
    assert "review-rename" in blocking(analyze_sql(sql, file="f.sql"))


def test_a_trigger_on_the_tracking_table_filling_a_new_table_makes_it_non_empty():
    first = """CREATE TABLE audit (id int PRIMARY KEY, owner int);
--> statement-breakpoint
CREATE FUNCTION log_migration() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit VALUES (1, 2); RETURN NEW; END $$;
--> statement-breakpoint
CREATE TRIGGER log AFTER INSERT ON drizzle.__drizzle_migrations FOR EACH ROW EXECUTE FUNCTION log_migration();"""
    second = "ALTER TABLE audit ADD CONSTRAINT audit_owner_fk FOREIGN KEY (owner) REFERENCES users(id);"
    analyses = analyze_files([("0001_audit.sql", first), ("0002_fk.sql", second)], absent_tables={("public", "audit")})
    assert "review-add-constraint-validating" in blocking(analyses[1])


# dokploy 0110_red_psynapse.sql, as published: a new enum value and the table of that integration (named like it).
DOKPLOY_0110 = """ALTER TYPE "public"."notificationType" ADD VALUE 'ntfy';--> statement-breakpoint
CREATE TABLE "ntfy" (
\t"ntfyId" text PRIMARY KEY NOT NULL,
\t"serverUrl" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "notification" ADD COLUMN "ntfyId" text;"""


def test_an_enum_value_nothing_uses_is_not_reviewed():
    assert "review-alter-type" not in blocking(analyze_sql(DOKPLOY_0110, file="0110_red_psynapse.sql"))


def test_an_enum_value_used_in_the_run_stays_reviewed():
    uses = [
        """UPDATE "notification" SET "notificationType" = 'ntfy' WHERE "ntfyId" IS NOT NULL;""",
        """INSERT INTO "ntfy" VALUES (E'\\x6etfy', 'x');""",  # an escape string: decoded by the parser
        """SELECT '{slack,ntfy}'::"notificationType"[];""",  # an array literal
        """DO $$ BEGIN UPDATE notification SET "notificationType" = 'ntfy'; END $$;""",
        """CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $f$ BEGIN
  EXECUTE $q$UPDATE notification SET "notificationType" = 'ntfy'$q$; END $f$;""",
        """CREATE FUNCTION g() RETURNS text LANGUAGE plpgsql AS $g$ BEGIN RETURN E'\\x6etfy'; END $g$;""",  # decoded in a body too
        """CREATE TRIGGER t BEFORE INSERT ON notification FOR EACH ROW EXECUTE FUNCTION set_kind('ntfy');""",
    ]
    for use in uses:
        analysis = analyze_sql(DOKPLOY_0110 + "\n--> statement-breakpoint\n" + use, file="0110.sql")
        assert "review-alter-type" in blocking(analysis), use
    # in a later file of the set (`single_transaction` runs the whole plan in one transaction)
    later = analyze_files([("0110.sql", DOKPLOY_0110), ("0111.sql", uses[0])])
    assert "review-alter-type" in blocking(later[0])


def test_an_enum_value_a_database_function_uses_stays_reviewed():
    from pgrunbook.sqlcheck import CatalogFunction, CodeCatalog

    body = """BEGIN IF NEW."ntfyId" IS NOT NULL THEN NEW."notificationType" := 'ntfy'; END IF; RETURN NEW; END"""
    catalog = CodeCatalog.of([CatalogFunction("public", "notification_kind", (), "plpgsql", body, None)])
    assert "review-alter-type" in blocking(analyze_sql(DOKPLOY_0110, file="0110.sql", catalog=catalog))


def test_add_value_inside_code_stays_reviewed():
    sql = """DO $$ BEGIN ALTER TYPE "notificationType" ADD VALUE 'ntfy'; END $$;"""
    assert "review-alter-type" in blocking(analyze_sql(sql, file="f.sql"))


# ai-chatbot 0000_keen_devos.sql and 0002_wandering_riptide.sql, as published (the table concerned).
CHATBOT_CHAT = """CREATE TABLE IF NOT EXISTS "Chat" (
\t"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
\t"createdAt" timestamp NOT NULL,
\t"messages" json NOT NULL,
\t"userId" uuid NOT NULL
);"""
CHATBOT_DROP = 'ALTER TABLE "Chat" DROP COLUMN IF EXISTS "messages";'


def test_a_drop_on_an_empty_table_the_set_creates_loses_nothing():
    analyses = analyze_files([("0000_keen_devos.sql", CHATBOT_CHAT), ("0002_wandering_riptide.sql", CHATBOT_DROP)],
                             absent_tables={("public", "Chat")})
    assert blocking(analyses[1]) == set()
    for sql in ('ALTER TABLE "Chat" ADD CONSTRAINT "c" CHECK ("userId" IS NOT NULL);\nALTER TABLE "Chat" DROP CONSTRAINT "c";',
                'DROP TABLE "Chat";'):
        later = analyze_files([("0000.sql", CHATBOT_CHAT), ("0002.sql", sql)], absent_tables={("public", "Chat")})
        assert "ban-drop" not in blocking(later[1]), sql


def test_a_drop_that_may_lose_rows_stays_banned():
    # the table exists (or CREATE TABLE IF NOT EXISTS may meet it): its rows hold the column's values
    assert blocking(analyze_sql(CHATBOT_DROP, file="0002.sql")) == {"ban-drop"}
    assert "ban-drop" in blocking(analyze_files([("0000.sql", CHATBOT_CHAT), ("0002.sql", CHATBOT_DROP)])[1])
    # the set wrote rows into it first
    filled = 'INSERT INTO "Chat" SELECT gen_random_uuid(), now(), messages, "userId" FROM "OldChat";'
    analyses = analyze_files([("0000.sql", CHATBOT_CHAT), ("0001.sql", filled), ("0002.sql", CHATBOT_DROP)],
                             absent_tables={("public", "Chat")})
    assert "ban-drop" in blocking(analyses[2])
    # CASCADE reaches what depends on it elsewhere; a type (its columns may be in tables with rows)
    for sql in ('DROP TABLE "Chat" CASCADE;', 'ALTER TABLE "Chat" DROP COLUMN "messages" CASCADE;',
                'CREATE TYPE "mood" AS ENUM (\'ok\');\nDROP TYPE "mood";'):
        later = analyze_files([("0000.sql", CHATBOT_CHAT), ("0002.sql", sql)], absent_tables={("public", "Chat")})
        assert "ban-drop" in blocking(later[1]), sql


def test_a_drop_index_of_an_index_the_set_built_on_an_empty_new_table_loses_nothing():
    files = [("0000.sql", CHATBOT_CHAT + '\n--> statement-breakpoint\nCREATE INDEX "chat_user" ON "Chat" USING btree ("userId");'),
             ("0001.sql", 'DROP INDEX "chat_user";')]
    assert blocking(analyze_files(files, absent_tables={("public", "Chat")})[1]) == set()


def test_a_drop_index_that_may_meet_another_index_stays_banned():
    # dittofeed 0000 builds it only if no index of that name exists (anywhere: pg_indexes), 0002 drops it: the
    # index dropped may be another table's, with rows (a table renamed keeps its index names)
    guarded = """CREATE TABLE IF NOT EXISTS "Workspace" (
\t"id" uuid PRIMARY KEY NOT NULL,
\t"externalId" text
);
--> statement-breakpoint
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'Workspace_externalId_key') THEN
        CREATE UNIQUE INDEX "Workspace_externalId_key" ON "Workspace" USING btree ("externalId" text_ops);
    END IF;
END $$;"""
    drop = 'DROP INDEX "Workspace_externalId_key";'
    new = {("public", "Workspace")}
    assert "ban-drop" in blocking(analyze_files([("0000.sql", guarded), ("0002.sql", drop)], absent_tables=new)[1])
    if_not_exists = guarded.split("--> statement-breakpoint")[0] + (
        'CREATE UNIQUE INDEX IF NOT EXISTS "Workspace_externalId_key" ON "Workspace" ("externalId");')
    assert "ban-drop" in blocking(analyze_files([("0000.sql", if_not_exists), ("0002.sql", drop)], absent_tables=new)[1])
    # an index built on a table that exists, an index the set did not build, an index of a filled table
    existing = 'CREATE INDEX "chat_user" ON "Chat" ("userId");\n--> statement-breakpoint\nDROP INDEX "chat_user";'
    assert "ban-drop" in blocking(analyze_sql(existing, file="f.sql"))
    assert "ban-drop" in blocking(analyze_sql(drop, file="f.sql"))
    filled = (CHATBOT_CHAT + '\n--> statement-breakpoint\nCREATE INDEX "chat_user" ON "Chat" ("userId");\n'
              '--> statement-breakpoint\nINSERT INTO "Chat" SELECT * FROM "OldChat";\n--> statement-breakpoint\nDROP INDEX "chat_user";')
    assert "ban-drop" in blocking(analyze_files([("0000.sql", filled)], absent_tables={("public", "Chat")})[0])


def test_squawk_rename_of_an_empty_new_table_is_info_and_of_an_existing_one_blocks():
    # dokploy 0147_right_lake.sql: session_temp, created by the set, renamed session
    files = [("0066.sql", 'CREATE TABLE "session_temp" (id text PRIMARY KEY);'),
             ("0147_right_lake.sql", 'ALTER TABLE "session_temp" RENAME TO "session";')]
    new = analyze_files(files, absent_tables={("public", "session_temp")})[1]
    assert blocking(_squawk(new, "squawk:renaming-table", 1)) == set()
    existing = analyze_sql(files[1][1], file="0147_right_lake.sql")
    assert blocking(_squawk(existing, "squawk:renaming-table", 1)) == {"review-rename"}  # ours, squawk's as info
    off = Policy.from_dict({"rules": {"review-rename": "off"}})
    existing = analyze_sql(files[1][1], file="f.sql", policy=off)
    assert blocking(with_findings(existing, [Finding("squawk:renaming-table", Verdict.REVIEW, "m", "h", "f.sql", 1, "")],
                                  off)) == {"squawk:renaming-table"}


def test_without_the_database_code_a_call_may_have_filled_a_new_table():
    sql = """CREATE TABLE t (id int PRIMARY KEY, owner int);
--> statement-breakpoint
SELECT import_legacy_rows();
--> statement-breakpoint
ALTER TABLE t ADD CONSTRAINT t_owner_fk FOREIGN KEY (owner) REFERENCES users(id);"""
    assert "review-add-constraint-validating" in blocking(analyze_sql(sql, file="f.sql"))
    # with the live catalog (analyze always reads it) a function it does not hold is a built-in or missing
    from pgrunbook.sqlcheck import CodeCatalog

    assert "review-add-constraint-validating" not in blocking(analyze_sql(sql, file="f.sql", catalog=CodeCatalog()))
