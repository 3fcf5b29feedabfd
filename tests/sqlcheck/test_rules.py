"""One small test per rule: the SQL that triggers it, and the verdict it gets."""

from __future__ import annotations

import re

import pytest

from pgrunbook.sqlcheck import KINDS, RULES, Policy, Verdict, analyze_sql

F, R, I = Verdict.FORBIDDEN, Verdict.REVIEW, Verdict.INFO
NOTHING_ALLOWED = Policy.from_dict({"defaults": False})

# rule id -> (SQL that triggers it, verdict of its finding, policy)
CASES = {
    "ban-drop": ("DROP TABLE users;", F, None),
    "ban-truncate": ("TRUNCATE users;", F, None),
    "ban-delete": ("DELETE FROM users WHERE id = 1;", F, None),
    "ban-update": ("UPDATE users SET role = 'x';", F, None),
    "ban-seed-insert": ("INSERT INTO users (email) VALUES ('a');", F, None),
    "ban-dynamic-sql": ("DO $$ DECLARE s text; BEGIN EXECUTE s; END $$;", F, None),
    "ban-dangerous-function": ("SELECT pg_reload_conf();", F, None),
    "ban-terminate-backend": ("SELECT pg_terminate_backend(42);", F, None),
    "ban-cancel-backend": ("SELECT pg_cancel_backend(42);", F, None),
    "ban-dblink": ("SELECT dblink_exec('dbname=app', 'DELETE FROM users');", F, None),
    "ban-lo-unlink": ("SELECT lo_unlink(16401);", F, None),
    "ban-pg-sleep": ("DO $$ BEGIN PERFORM pg_sleep(600); END $$;", F, None),
    "ban-advisory-unlock": ("SELECT pg_advisory_unlock_all();", F, None),
    "ban-setval": ("SELECT setval('users_id_seq', 1);", F, None),
    "ban-sequence-burn": ("DO $$ BEGIN FOR i IN 1..1000000 LOOP PERFORM nextval('users_id_seq'); END LOOP; END $$;", F, None),
    "ban-set-parsing-setting": ("SET standard_conforming_strings = off;", F, None),
    "ban-set-search-path": ("SELECT set_config('search_path', 'evil, public', false);", F, None),
    "ban-set-session-role": ("SET session_replication_role = replica;", F, None),
    "ban-set-timeout-off": ("SET statement_timeout = 0;", F, None),
    "ban-tracking-table-write": ("INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('h', 9999999999999);", F, None),
    "review-tracking-row-from-journal": ("INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('j', 2);", R, None),
    "ban-tracking-table-code": ("CREATE RULE r AS ON INSERT TO drizzle.__drizzle_migrations DO INSTEAD NOTHING;", F, None),
    "review-unique-index": ("CREATE UNIQUE INDEX IF NOT EXISTS i ON users (email);", R, None),
    "review-unique-index-concurrently": ("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON users (email);", R, None),
    "review-add-column-constraint": ("ALTER TABLE users ADD COLUMN code text UNIQUE;", R, None),
    "review-plpgsql-loop": ("DO $$ BEGIN LOOP END LOOP; END $$;", R, None),
    "review-fk-on-delete-cascade": ("ALTER TABLE bonus ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id) ON DELETE CASCADE;", R, None),
    "policy-create-index": ("CREATE INDEX IF NOT EXISTS i ON users (a);", R, NOTHING_ALLOWED),
    "policy-add-column": ("ALTER TABLE users ADD COLUMN b text;", R, NOTHING_ALLOWED),
    "policy-analyze": ("ANALYZE users;", R, NOTHING_ALLOWED),
    "policy-insert-tracking": ("INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('h', 1);", R, NOTHING_ALLOWED),
    "policy-do-block": ("DO $$ BEGIN RAISE NOTICE 'hi'; END $$;", R, NOTHING_ALLOWED),
    "review-alter-column-type": ("ALTER TABLE users ALTER COLUMN a TYPE bigint;", R, None),
    "review-set-not-null": ("ALTER TABLE users ALTER COLUMN a SET NOT NULL;", R, None),
    "review-drop-not-null": ("ALTER TABLE users ALTER COLUMN a DROP NOT NULL;", R, None),
    "review-set-default": ("ALTER TABLE users ALTER COLUMN a SET DEFAULT 1;", R, None),
    "review-drop-default": ("ALTER TABLE users ALTER COLUMN a DROP DEFAULT;", R, None),
    "review-rename": ("ALTER TABLE users RENAME TO people;", R, None),
    "review-add-constraint": ("ALTER TABLE users ADD CONSTRAINT c CHECK (a > 0) NOT VALID;", R, None),
    "review-validate-constraint": ("ALTER TABLE users VALIDATE CONSTRAINT c;", R, None),
    "review-create-table": ("CREATE TABLE t (id int);", R, None),
    "review-create-type": ("CREATE TYPE mood AS ENUM ('ok');", R, None),
    "review-alter-type": ("ALTER TYPE mood ADD VALUE 'meh'; SELECT 'meh'::mood;", R, None),  # a value the run uses
    "review-create-sequence": ("CREATE SEQUENCE s;", R, None),
    "review-create-schema": ("CREATE SCHEMA app;", R, None),
    "review-create-extension": ("CREATE EXTENSION citext;", R, None),
    "review-create-function": ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';", R, None),
    "review-create-trigger": ("CREATE TRIGGER t BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION f();", R, None),
    "review-create-view": ("CREATE VIEW v AS SELECT 1;", R, None),
    "review-grant": ("GRANT SELECT ON users TO bob;", R, None),
    "review-revoke": ("REVOKE SELECT ON users FROM bob;", R, None),
    "review-transaction-control": ("BEGIN;", R, None),
    "review-set": ("SET lock_timeout = '5s';", R, None),
    "review-comment-on": ("COMMENT ON TABLE users IS 'x';", R, None),
    "review-select": ("SELECT 1;", R, None),
    "review-function-call": ("SELECT recompute_totals();", R, None),
    "review-vacuum": ("VACUUM users;", R, None),
    "review-unanalysable-body": ("DO $$ DECLARE r users%ROWTYPE; BEGIN r.id := 1; END $$;", R, None),
    "review-row-level-security": ('ALTER TABLE "posts" ENABLE ROW LEVEL SECURITY;', R, None),
    "review-index-rebuild": ('DROP INDEX IF EXISTS "i";\nCREATE INDEX IF NOT EXISTS "i" ON "users" ("a","b");', R, None),
    "review-constraint-replacement": ('ALTER TABLE "p" DROP CONSTRAINT "fk";\nALTER TABLE "p" ADD CONSTRAINT "fk" '
                                      'FOREIGN KEY ("u") REFERENCES "users"("id") ON DELETE set null NOT VALID;', R, None),
    "review-unclassified": ("LOCK TABLE users IN ACCESS EXCLUSIVE MODE;", R, None),
    "create-index-without-if-not-exists": ("CREATE INDEX i ON users (a);", R, None),
    "non-concurrent-index": ("CREATE INDEX IF NOT EXISTS i ON users (a);", I, None),
    "review-add-constraint-validating": ("ALTER TABLE users ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES t (id);", R, None),
    "review-add-column-volatile-default": ("ALTER TABLE users ADD COLUMN b uuid DEFAULT gen_random_uuid();", R, None),
    "review-add-column-not-null-without-default": ("ALTER TABLE users ADD COLUMN b int NOT NULL;", R, None),
    "unused-allow-comment": ("-- pgrunbook: allow ban-drop nothing to drop here\nANALYZE users;", R, None),
    "allow-comment-missing-reason": ("-- pgrunbook: allow review-select\nSELECT 1;", R, None),
}


JOURNAL = (("j", 2),)


def findings(sql: str, rule_id: str, policy: Policy | None = None):
    analysis = analyze_sql(sql, file="r.sql", journal=JOURNAL, **({"policy": policy} if policy else {}))
    return [f for f in analysis.findings if f.rule_id == rule_id]


# Rules that one analysed file cannot show, each tested where it applies.
ELSEWHERE = {"unparsable-file": "test_unanalysable.py: analyze_files(strict=False)",
             "exception-file-changed": "test_exceptions.py: a playbook exception pinned to another hash"}


def test_every_rule_has_a_case():
    assert set(CASES) | set(ELSEWHERE) == set(RULES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule(rule_id):
    sql, verdict, policy = CASES[rule_id]
    [finding] = findings(sql, rule_id, policy)
    assert finding.verdict is verdict
    assert finding.message and finding.help == RULES[rule_id].help
    assert finding.file == "r.sql" and finding.line >= 1


def test_rule_metadata():
    kind_rules = {}
    for rule in RULES.values():
        assert re.fullmatch(r"[a-z]+(-[a-z]+)+", rule.id), rule.id
        assert rule.description and rule.help
        if rule.verdict is None:
            [kind] = rule.kinds
            kind_rules.setdefault(kind, []).append(rule.id)
    # Exactly one rule reports each kind's policy verdict.
    assert {kind: len(ids) for kind, ids in kind_rules.items()} == dict.fromkeys(KINDS, 1)


def test_drop_message_states_the_consequence():
    [finding] = findings("DROP TABLE users;", "ban-drop")
    assert finding.message == "DROP TABLE public.users deletes the table and every row in it; real users' data would be lost."
    [column] = findings("ALTER TABLE users DROP COLUMN email CASCADE;", "ban-drop")
    assert "its value in every row" in column.message and "CASCADE" in column.message


def test_delete_without_where_says_every_row():
    [finding] = findings("DELETE FROM users;", "ban-delete")
    assert "every row" in finding.message


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON users (a);",
        "CREATE TABLE t (a int);\nCREATE INDEX IF NOT EXISTS i ON t (a);",  # a new table is empty
    ],
)
def test_non_concurrent_index_is_quiet(sql):
    assert findings(sql, "non-concurrent-index") == []


def test_create_index_with_if_not_exists_is_quiet():
    assert findings("CREATE INDEX IF NOT EXISTS i ON users (a);", "create-index-without-if-not-exists") == []


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE users ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES t (id) NOT VALID;",
        "ALTER TABLE users ADD CONSTRAINT u UNIQUE USING INDEX users_a_idx;",
        "CREATE TABLE t2 (a int);\nALTER TABLE t2 ADD CONSTRAINT c CHECK (a > 0);",
    ],
)
def test_add_constraint_validating_is_quiet(sql):
    assert findings(sql, "review-add-constraint-validating") == []


def test_add_unique_constraint_builds_an_index_under_lock():
    [finding] = findings("ALTER TABLE users ADD CONSTRAINT u UNIQUE (email);", "review-add-constraint-validating")
    assert "ACCESS EXCLUSIVE" in finding.message


@pytest.mark.parametrize(
    ("column", "fires"),
    [
        ("b timestamp DEFAULT now()", False),
        ("b text DEFAULT 'x'", False),
        ("b jsonb DEFAULT '{}'::jsonb", False),
        ("b timestamptz DEFAULT CURRENT_TIMESTAMP", False),
        ("b double precision DEFAULT random()", True),
        ("b bigserial", True),
        ("b bigint GENERATED ALWAYS AS IDENTITY", True),
        ("b int GENERATED ALWAYS AS (a * 2) STORED", True),
        ("b int DEFAULT my_function()", True),
        ("b int DEFAULT (SELECT max(a) FROM t)", True),
    ],
)
def test_add_column_volatile_default(column, fires):
    found = findings(f"ALTER TABLE users ADD COLUMN {column};", "review-add-column-volatile-default")
    assert bool(found) is fires


@pytest.mark.parametrize("column", ["b int NOT NULL DEFAULT 0", "b int", "b int NULL"])
def test_add_column_not_null_without_default_is_quiet(column):
    assert findings(f"ALTER TABLE users ADD COLUMN {column};", "review-add-column-not-null-without-default") == []


def test_function_body_findings_are_capped_at_review_until_called():
    sql = "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'TRUNCATE users';"
    [finding] = findings(sql, "ban-truncate")
    assert finding.verdict is Verdict.REVIEW
    assert "runs later, whenever public.f() is called, not during this migration" in finding.message
    called = findings(sql + "\nSELECT f();", "ban-truncate")
    assert [f.verdict for f in called] == [Verdict.REVIEW, Verdict.FORBIDDEN]
    assert called[1].line == 2
