"""`inv analyze` against a real PostgreSQL: plans, evidence, lint verdicts, the exact SQL."""

from __future__ import annotations

import json

import pytest

from pgrunbook import cli, commands
from pgrunbook.config import load_config
from pgrunbook.errors import UsageError

from .conftest import TEST_PASSWORD

pytestmark = pytest.mark.integration
INDEXES = "0011_add_performance_indexes"


def analyze(db, **options):
    return commands.analyze(load_config(db.inventory()), squawk=options.pop("squawk", False), **options)


def test_legacy_plans_a_baseline_with_evidence_and_the_index_migration(app_db):
    report = analyze(app_db("legacy"), squawk=True)
    data = report.as_json()
    assert data["scenario"] == "B" and data["baseline_source"] == "evidence"
    assert [b["tag"][:4] for b in data["baseline"]] == [f"{i:04d}" for i in range(11)]
    assert [a["tag"] for a in data["apply"]] == [INDEXES]
    assert data["evidence"]["checked"] > 100 and data["evidence"]["missing"] == []
    assert data["migrations"][0]["verdict"] == "allowed" and report.ok
    assert len(data["expected"]["indexes"]) == 43
    assert any(f["rule"].startswith("squawk:") for f in data["migrations"][0]["findings"])


def test_tracked_plans_the_stranded_0011_and_explains_why(app_db):
    report = analyze(app_db("tracked"))
    data = report.as_json()
    assert data["scenario"] == "A" and data["apply"][0]["stranded"]
    assert "drizzle alone would skip it forever" in data["apply"][0]["why"]
    assert any(c["id"] == "stranded-planned" for c in data["checks"]) and report.ok


def test_dry_run_sql_records_created_at_when_never_now_or_ids(app_db):
    db = app_db("legacy")
    report = analyze(db)
    sql = report.sql
    assert sql.count('INSERT INTO "drizzle"."__drizzle_migrations" ("hash", "created_at")') == 12
    assert "now()" not in sql.lower() and "(id," not in sql
    assert sql.count("CREATE INDEX IF NOT EXISTS") == 43 and "SET lock_timeout = '5s';" in sql
    from pgrunbook.drizzle import load_migrations

    m = load_migrations(db.drizzle_dir).by_tag(INDEXES)
    assert f"VALUES ('{m.hash}', {m.when});" in sql


def test_online_sql_builds_concurrently_outside_transactions(app_db):
    sql = analyze(app_db("tracked"), online=True).sql
    assert sql.count("CREATE INDEX CONCURRENTLY IF NOT EXISTS") == 43 and "autocommit (rewritten to CONCURRENTLY by --online)" in sql


def test_forbidden_migration_exits_3_with_rule_and_line(app_db, capsys):
    db = app_db("tracked")
    path = db.drizzle_dir / f"{INDEXES}.sql"
    path.write_text(path.read_text() + "\n--> statement-breakpoint\nDELETE FROM users WHERE role = 'fbo';\n")
    line = path.read_text().count("\n")
    assert cli.analyze(str(db.inventory()), None, baseline_until=None, only=None, online=False,
                       single_transaction=False, sql=False, as_json=True) == 3
    data = json.loads(capsys.readouterr().out)
    blocking = [f for f in data["migrations"][0]["findings"] if f["verdict"] == "forbidden"]
    assert blocking[0]["rule"] == "ban-delete" and blocking[0]["line"] == line
    assert data["verdict"] == "refused"


def test_baseline_evidence_with_one_missing_column_is_refused(app_db):
    db = app_db("legacy")
    with db.connect() as conn:
        conn.execute("ALTER TABLE users DROP COLUMN last_login_at")
    report = analyze(db, baseline_until="0010")
    evidence = report.as_json()["evidence"]
    assert evidence["missing"] == ["column public.users.last_login_at"]
    assert not report.ok


def test_auto_detected_baseline_stops_where_the_evidence_stops(app_db):
    db = app_db("legacy")
    with db.connect() as conn:
        conn.execute("ALTER TABLE users DROP COLUMN last_login_at")  # created by 0009
    data = analyze(db).as_json()
    assert data["baseline"][-1]["tag"].startswith("0008") and [a["tag"][:4] for a in data["apply"]] == ["0009", "0010", "0011"]


def test_scenario_c_one_named_migration(app_db):
    data = analyze(app_db("tracked"), only="0011").as_json()
    assert data["scenario"] == "C" and [a["tag"] for a in data["apply"]] == [INDEXES]


def test_baseline_until_on_a_tracked_database_is_a_usage_error(app_db):
    with pytest.raises(UsageError):
        analyze(app_db("tracked"), baseline_until="0010")


def test_unparsable_migration_names_file_line_and_column(app_db, capsys):
    db = app_db("tracked")
    path = db.drizzle_dir / f"{INDEXES}.sql"
    path.write_text("CREATE INDEX IF NOT EXISTS idx_x ON users (role);\n--> statement-breakpoint\nCREATE INDEXX oops;\n")
    assert cli.analyze(str(db.inventory()), None, baseline_until=None, only=None, online=False,
                       single_transaction=False, sql=False, as_json=False) == 3
    err = capsys.readouterr().err
    assert f"{INDEXES}.sql:3:" in err and "Traceback" not in err and TEST_PASSWORD not in err


# Issue 12 item 3: PL/pgSQL PostgreSQL accepts (users%ROWTYPE's fields) that our parser cannot read without the catalog.
ROWTYPE_BODY = """
--> statement-breakpoint
CREATE OR REPLACE FUNCTION pgrb_touch() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  r public.users%ROWTYPE;
BEGIN
  SELECT * INTO r FROM users LIMIT 1;
  r.id := 1;
END;
$$;
"""


def test_an_applied_file_our_parser_cannot_read_does_not_block_the_plan(app_db):
    db = app_db("tracked")
    applied = sorted(db.drizzle_dir.glob("0010_*.sql"))[0]
    applied.write_text(applied.read_text() + ROWTYPE_BODY + "--> statement-breakpoint\nCREATE INDEXX oops;\n")
    report = analyze(db)
    assert report.ok and [a.file for a in report.analyses] == [f"{INDEXES}.sql"]


def test_a_pending_body_our_parser_cannot_read_is_a_review_finding_naming_line_and_construct(app_db):
    db = app_db("tracked")
    path = db.drizzle_dir / f"{INDEXES}.sql"
    text = path.read_text() + ROWTYPE_BODY
    path.write_text(text)
    report = analyze(db)
    [finding] = [f for f in report.analyses[0].findings if f.rule_id == "review-unanalysable-body"]
    construct_line = text.splitlines().index("  r.id := 1;") + 1
    assert finding.verdict.value == "review" and f"line {construct_line}" in finding.message
    assert '"r.id" is not a known variable' in finding.message and not report.ok
    allow = "-- pgrunbook: allow review-create-function,review-unanalysable-body read by JD: sets a local only\n"
    path.write_text(text.replace("CREATE OR REPLACE FUNCTION", allow + "CREATE OR REPLACE FUNCTION"))
    assert analyze(db).ok


def test_create_table_if_not_exists_absent_from_the_database_is_new_for_its_fk_and_index(app_db):
    """Issue 12 item 7: drizzle-kit's older output, on a table the live database does not hold."""
    db = app_db("tracked")
    path = db.drizzle_dir / f"{INDEXES}.sql"
    path.write_text(path.read_text() + '\n--> statement-breakpoint\nCREATE TABLE IF NOT EXISTS "badges" (\n\t"id" serial '
                    'PRIMARY KEY NOT NULL,\n\t"user_id" integer NOT NULL\n);\n--> statement-breakpoint\nDO $$ BEGIN\n ALTER '
                    'TABLE "badges" ADD CONSTRAINT "badges_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES '
                    '"public"."users"("id") ON DELETE cascade ON UPDATE no action;\nEXCEPTION\n WHEN duplicate_object THEN '
                    'null;\nEND $$;\n--> statement-breakpoint\nCREATE INDEX "badges_user_idx" ON "badges" USING btree ("user_id");\n')
    report = analyze(db)
    assert report.analyses[0].rule_ids() == ("review-create-table",)
    with db.connect() as conn:
        conn.execute("CREATE TABLE badges (id serial PRIMARY KEY, user_id integer NOT NULL)")
    assert {"review-add-constraint-validating", "review-fk-on-delete-cascade"} <= set(analyze(db).analyses[0].rule_ids())


def test_widening_a_varchar_of_the_live_database_is_not_reviewed(app_db):
    """Issue 12 item 7: analyze reads the column's live type (users.email is varchar(255))."""
    db = app_db("tracked")
    path = db.drizzle_dir / f"{INDEXES}.sql"
    original = path.read_text()
    path.write_text(original + '\n--> statement-breakpoint\nALTER TABLE "users" ALTER COLUMN "email" SET DATA TYPE varchar(320);\n')
    assert analyze(db, squawk=True).ok  # squawk's changing-column-type is only info there
    path.write_text(original + '\n--> statement-breakpoint\nALTER TABLE "users" ALTER COLUMN "email" SET DATA TYPE varchar(100);\n')
    assert "review-alter-column-type" in analyze(db).analyses[0].rule_ids()
