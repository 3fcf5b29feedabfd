"""Issue 12 item 7: ordinary drizzle-kit output is not review noise; real hazards stay exactly as strict.

Each case is drizzle-kit's own output (`drizzle-kit generate`, PostgreSQL dialect, 0.2x-0.3x):
quoted identifiers, `--> statement-breakpoint`, foreign keys as separate ALTER TABLEs (inside
`DO $$ ... EXCEPTION WHEN duplicate_object` in older versions), `USING btree`.
"""

from __future__ import annotations

from pgrunbook.sqlcheck import Verdict, analyze_files, analyze_sql

NEW_TABLE_WITH_FK_AND_INDEXES = """CREATE TABLE "posts" (
\t"id" serial PRIMARY KEY NOT NULL,
\t"user_id" integer NOT NULL,
\t"title" varchar(255) NOT NULL
);
--> statement-breakpoint
ALTER TABLE "posts" ADD CONSTRAINT "posts_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "posts_user_idx" ON "posts" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "posts_title_idx" ON "posts" USING btree ("title");"""

OLD_KIT_TABLE = """CREATE TABLE IF NOT EXISTS "comments" (
\t"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
\t"post_id" integer NOT NULL
);
"""
OLD_KIT_FK = """DO $$ BEGIN
 ALTER TABLE "comments" ADD CONSTRAINT "comments_post_id_posts_id_fk" FOREIGN KEY ("post_id") REFERENCES "public"."posts"("id") ON DELETE cascade ON UPDATE no action;
EXCEPTION
 WHEN duplicate_object THEN null;
END $$;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "comments_post_idx" ON "comments" USING btree ("post_id");"""

CHANGE_ON_DELETE = """ALTER TABLE "posts" DROP CONSTRAINT "posts_user_id_users_id_fk";
--> statement-breakpoint
ALTER TABLE "posts" ADD CONSTRAINT "posts_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;"""

REBUILD_INDEX = """DROP INDEX IF EXISTS "posts_user_idx";--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "posts_user_idx" ON "posts" USING btree ("user_id","title");"""


def blocking(analysis):
    return set(analysis.rule_ids())


def test_fks_and_indexes_on_a_table_the_set_creates_need_only_the_table_review():
    [analysis] = analyze_files([("0001_posts.sql", NEW_TABLE_WITH_FK_AND_INDEXES)])
    assert blocking(analysis) == {"review-create-table"}


def test_create_table_if_not_exists_is_new_when_the_live_database_lacks_it():
    files = [("0001_comments.sql", OLD_KIT_TABLE), ("0002_fk.sql", OLD_KIT_FK)]
    assert analyze_files(files, absent_tables={("public", "comments")})[1].verdict is Verdict.ALLOWED
    # without that knowledge the table may exist with rows: the validating FK stays reviewed
    assert {"review-add-constraint-validating", "review-fk-on-delete-cascade"} <= blocking(analyze_files(files)[1])


def test_drop_then_add_constraint_is_a_replacement_with_its_real_lock_not_a_loss():
    analysis = analyze_sql(CHANGE_ON_DELETE, file="0003_on_delete.sql")
    assert "ban-drop" not in blocking(analysis) and analysis.verdict is Verdict.REVIEW
    [replacement] = [f for f in analysis.findings if f.rule_id == "review-constraint-replacement"]
    assert "ACCESS EXCLUSIVE" in replacement.message and "lost" not in replacement.message
    assert "review-add-constraint-validating" in blocking(analysis)  # the new FK still scans every row


def test_drop_index_then_create_is_a_rebuild_and_a_plain_index_never_speaks_of_duplicates():
    analysis = analyze_sql(REBUILD_INDEX, file="0004_rebuild.sql")
    assert blocking(analysis) == {"review-index-rebuild"}
    assert all("duplicate" not in f.message for f in analysis.findings)


def test_row_level_security_has_its_own_rule():
    analysis = analyze_sql('ALTER TABLE "posts" ENABLE ROW LEVEL SECURITY;', file="0005_rls.sql")
    assert blocking(analysis) == {"review-row-level-security"} and "no policy" in analysis.findings[0].message


# ---------------------------------------------------------------- what stays exactly as strict


def test_a_drop_not_followed_by_its_recreation_stays_forbidden():
    for sql in ('DROP INDEX IF EXISTS "posts_user_idx";\n--> statement-breakpoint\nCREATE INDEX "other" ON "posts" ("a");',
                'ALTER TABLE "posts" DROP CONSTRAINT "fk" CASCADE;\n--> statement-breakpoint\n'
                'ALTER TABLE "posts" ADD CONSTRAINT "fk" FOREIGN KEY ("u") REFERENCES "users"("id");',
                'ALTER TABLE "posts" DROP CONSTRAINT "fk";\n--> statement-breakpoint\n'
                'ALTER TABLE "other" ADD CONSTRAINT "fk" FOREIGN KEY ("u") REFERENCES "users"("id");',
                'CREATE INDEX IF NOT EXISTS "i" ON "posts" ("a");\n--> statement-breakpoint\nDROP INDEX "i";'):
        assert "ban-drop" in blocking(analyze_sql(sql, file="x.sql")), sql


def test_the_tracking_table_is_never_rebuilt_quietly():
    sql = ('DROP INDEX IF EXISTS drizzle.ledger_idx;\n--> statement-breakpoint\n'
           'CREATE INDEX IF NOT EXISTS ledger_idx ON drizzle.__drizzle_migrations (created_at);')
    assert analyze_sql(sql, file="x.sql").verdict is Verdict.FORBIDDEN
    rls = analyze_sql("ALTER TABLE drizzle.__drizzle_migrations ENABLE ROW LEVEL SECURITY;", file="x.sql")
    assert rls.verdict is Verdict.FORBIDDEN


def test_a_constraint_on_an_existing_table_is_still_reviewed():
    sql = 'ALTER TABLE "users" ADD CONSTRAINT "users_org_fk" FOREIGN KEY ("org_id") REFERENCES "orgs"("id");'
    assert {"review-add-constraint", "review-add-constraint-validating"} <= blocking(analyze_sql(sql, file="x.sql"))


WIDEN = """ALTER TABLE "posts" ALTER COLUMN "title" SET DATA TYPE text;--> statement-breakpoint
ALTER TABLE "posts" ALTER COLUMN "slug" SET DATA TYPE varchar(512);"""
LIVE = {("public", "posts", "title"): "varchar(255)", ("public", "posts", "slug"): "varchar(256)"}


def test_a_binary_coercible_type_change_does_not_rewrite_and_is_not_reviewed():
    [analysis] = analyze_files([("0006_widen.sql", WIDEN)], column_types=LIVE)
    assert analysis.verdict is Verdict.ALLOWED


def test_squawk_type_change_finding_on_a_binary_coercible_change_is_only_info():
    from pgrunbook.sqlcheck import Finding, with_findings

    [analysis] = analyze_files([("0006_widen.sql", WIDEN)], column_types=LIVE)
    squawk = Finding("squawk:changing-column-type", Verdict.REVIEW, "Changing a column type...", "h", "0006_widen.sql", 1, "")
    merged = with_findings(analysis, [squawk])
    assert merged.verdict is Verdict.ALLOWED and "no table rewrite" in merged.findings[-1].message


def test_type_changes_that_rewrite_or_may_fail_stay_reviewed():
    cases = {
        'ALTER TABLE "posts" ALTER COLUMN "slug" SET DATA TYPE varchar(100);': LIVE,  # narrowing: may fail
        'ALTER TABLE "posts" ALTER COLUMN "title" SET DATA TYPE varchar(10);': {("public", "posts", "title"): "text"},
        'ALTER TABLE "posts" ALTER COLUMN "n" SET DATA TYPE text;': {("public", "posts", "n"): None},  # integer -> text
        'ALTER TABLE "posts" ALTER COLUMN "title" SET DATA TYPE text USING upper("title");': LIVE,
        'ALTER TABLE "posts" ALTER COLUMN "title" SET DATA TYPE text;': {},  # type before unknown
        'ALTER TABLE "posts" ALTER COLUMN "title" SET DATA TYPE text[];': LIVE,
    }
    for sql, live in cases.items():
        [analysis] = analyze_files([("x.sql", sql)], column_types={k: v for k, v in live.items() if v})
        assert "review-alter-column-type" in blocking(analysis), sql
    # a chain in the set: widened then narrowed again
    [analysis] = analyze_files([("x.sql", WIDEN + '--> statement-breakpoint\nALTER TABLE "posts" ALTER COLUMN "slug" '
                                 'SET DATA TYPE varchar(300);')], column_types=LIVE)
    assert [f.line for f in analysis.blocking] == [3]


def test_squawk_lock_findings_on_a_table_the_set_creates_are_only_info_and_stay_on_existing_tables():
    """squawk reads one file alone: its constraint / index / NOT NULL lock rules fire on the tables the set creates
    (every table of a new database). Ours know they are empty: so squawk's are info there, and unchanged elsewhere."""
    from pgrunbook.sqlcheck import Finding, with_findings

    files = [("0001_comments.sql", OLD_KIT_TABLE), ("0002_fk.sql", OLD_KIT_FK)]
    rules = ("squawk:constraint-missing-not-valid", "squawk:adding-foreign-key-constraint", "squawk:require-concurrent-index-creation")

    def merged(analysis, line):
        return with_findings(analysis, [Finding(r, Verdict.REVIEW, "squawk says", "h", analysis.file, line, "") for r in rules])

    new = analyze_files(files, absent_tables={("public", "comments")})[1]
    assert merged(new, 2).verdict is Verdict.ALLOWED and merged(new, 7).verdict is Verdict.ALLOWED
    assert all("a table this migration set creates" in f.message for f in merged(new, 2).findings if f.rule_id in rules)
    existing = analyze_files(files)[1]  # the table may exist with rows: the hazard stays blocking
    result = merged(existing, 2)  # the FK statement
    blocking = {f.rule_id for f in result.blocking}
    # squawk's FK rules say what ours says on that statement: one blocking finding (ours), squawk's as info
    assert "review-add-constraint-validating" in blocking and "squawk:require-concurrent-index-creation" in blocking
    same = [f for f in result.findings if f.rule_id in rules[:2]]
    assert same and all(f.verdict is Verdict.INFO and "same hazard as [review-add-constraint-validating]" in f.message
                        for f in same)
    # on the index statement nothing of ours says it: squawk's stay blocking, all of them
    assert {f.rule_id for f in merged(existing, 7).blocking} >= set(rules)
    # a rule that is not about locks (data loss) is never downgraded
    dropped = with_findings(new, [Finding("squawk:ban-drop-column", Verdict.REVIEW, "squawk says", "h", new.file, 2, "")])
    assert dropped.verdict is Verdict.REVIEW
