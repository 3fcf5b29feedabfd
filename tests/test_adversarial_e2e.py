"""The worst adversarial migrations run through `migrate-prod` on the sandbox app (issue 9).

Each case appends one migration (file + journal entry) to a copy of the fixture's drizzle
folder on a `tracked` database (0000..0010 applied, 0011 stranded), counts the rows of every
table of every non-system schema before and after, and holds the run to the promise:

- refused before anything ran: exit 3 (NO-GO), every count and every tracking row unchanged;
- or caught and rolled back: exit 4, every table's count back to what it was;
- never exit 0 with a row lost (nor a ledger pushed into the future).

Two lines of defence are exercised: the default policy (the static analysis should refuse),
and the same migration with the static line switched off on purpose by the playbook's
policy, so that only the dynamic line (every table counted by validate, the rehearsal on a
restored copy) stands between the migration and the data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from pgrunbook.config import load_config
from pgrunbook.errors import PgRunbookError
from pgrunbook.runner import ProdOptions, migrate_prod

from .phases import write_playbook

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FAR_FUTURE_MS = 4102444800000  # 2100-01-01: no real journal entry is that late


@dataclass(frozen=True)
class Case:
    name: str
    sql: str
    by_hand: str = ""  # run directly in the database before the run ("created by hand")
    database_settings: tuple[str, ...] = ()  # ALTER DATABASE <db> SET ... before the run
    role_settings: tuple[str, ...] = ()  # ALTER ROLE CURRENT_USER IN DATABASE <db> SET ... before the run
    may_succeed: bool = False  # exit 0 is acceptable if no row is lost and `check_success` holds
    tags: frozenset[str] = field(default_factory=frozenset)


TRACKING_TRIGGER = Case("tracking_trigger_deletes_user_actions", """\
-- pgrunbook: allow review-create-function,ban-delete audit hook, reviewed by the backend team
CREATE FUNCTION public.ledger_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.user_actions;
  RETURN NEW;
END $$;
--> statement-breakpoint
-- pgrunbook: allow review-create-trigger audit hook, reviewed by the backend team
CREATE TRIGGER ledger_audit AFTER INSERT ON drizzle.__drizzle_migrations
  FOR EACH ROW EXECUTE FUNCTION public.ledger_audit();
""", tags=frozenset({"row-loss"}))

TRACKING_RULE = Case("tracking_rule_deletes_proofs", """\
-- pgrunbook: allow review-unclassified,ban-delete keeps proofs tidy, reviewed in PR 88
CREATE RULE tidy_proofs AS ON INSERT TO drizzle.__drizzle_migrations DO ALSO DELETE FROM public.proofs;
""", tags=frozenset({"row-loss"}))

EVENT_TRIGGER = Case("event_trigger_deletes_daily_bonus_on_next_create_index", """\
-- pgrunbook: allow review-create-function,ban-delete ddl audit, reviewed by the DBA
CREATE FUNCTION public.ddl_audit() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.daily_bonus;
END $$;
--> statement-breakpoint
-- pgrunbook: allow review-unclassified ddl audit, reviewed by the DBA
CREATE EVENT TRIGGER ddl_audit ON ddl_command_end EXECUTE FUNCTION public.ddl_audit();
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "idx_daily_bonus_status" ON "daily_bonus" ("status");
""", tags=frozenset({"row-loss", "rehearse"}))

INDEX_EXPRESSION = Case("index_expression_function_deletes_daily_bonus", """\
-- pgrunbook: allow review-create-function,ban-delete housekeeping, reviewed
CREATE FUNCTION public.bonus_gc() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.daily_bonus;
END $$;
--> statement-breakpoint
-- pgrunbook: allow review-create-function email normalisation, reviewed
CREATE FUNCTION public.norm_email(e text) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN
  PERFORM public.bonus_gc();
  RETURN lower(e);
END $$;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS idx_users_norm_email ON users (public.norm_email(email));
""", tags=frozenset({"row-loss"}))

ADD_COLUMN_DEFAULT = Case("add_column_default_function_deletes_proofs", """\
-- pgrunbook: allow review-create-function,ban-delete default helper, reviewed
CREATE FUNCTION public.default_score() RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.proofs;
  RETURN 0;
END $$;
--> statement-breakpoint
-- pgrunbook: allow review-add-column-volatile-default small table, reviewed
-- pgrunbook: allow squawk:adding-field-with-default small table, reviewed
ALTER TABLE "users" ADD COLUMN "score" integer DEFAULT public.default_score();
""", tags=frozenset({"row-loss"}))

EXISTING_FUNCTION = Case("existing_function_by_hand_deletes_user_actions", """\
-- pgrunbook: allow review-function-call the stats refresh was reviewed last quarter
DO $$ BEGIN PERFORM public.refresh_stats(); END $$;
""", by_hand="""\
CREATE FUNCTION public.refresh_stats() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.user_actions WHERE validated IS NOT TRUE;
END $$;
""", tags=frozenset({"row-loss", "rehearse"}))

DYNAMIC_FORMAT = Case("dynamic_execute_format_empties_daily_bonus", """\
DO $$
DECLARE t text;
BEGIN
  SELECT c.relname INTO t FROM pg_class c WHERE c.relname LIKE 'daily%bonus' AND c.relkind = 'r' LIMIT 1;
  EXECUTE format('DELETE FROM public.%I', t);
END $$;
""", tags=frozenset({"row-loss", "rehearse"}))

DYNAMIC_OPAQUE = Case("dynamic_execute_of_decoded_text_empties_daily_bonus", """\
-- pgrunbook: allow review-function-call decodes a constant, reviewed
DO $$
BEGIN
  EXECUTE convert_from(decode('REVMRVRFIEZST00gcHVibGljLmRhaWx5X2JvbnVz', 'base64'), 'UTF8');
END $$;
""", tags=frozenset({"row-loss"}))

# With standard_conforming_strings = off on the database, the server reads 'h\'' as the
# literal "h'" followed by a DELETE; the parser (and a pinned session) read one literal.
BACKSLASH_DEFAULT = Case("standard_conforming_strings_off_hides_a_delete", """\
ALTER TABLE "users" ADD COLUMN "note" text DEFAULT 'h\\''; DELETE FROM public.daily_bonus; --';
""", database_settings=("standard_conforming_strings = off", "escape_string_warning = off"), may_succeed=True)

BACKSLASH_ROLE = replace(BACKSLASH_DEFAULT, name="role_level_standard_conforming_strings_off_hides_a_delete",
                         database_settings=(), role_settings=BACKSLASH_DEFAULT.database_settings)

FAR_FUTURE = Case("tracking_insert_far_future_created_at", f"""\
INSERT INTO "drizzle"."__drizzle_migrations" ("hash", "created_at") VALUES ('0012_manual_fix', {FAR_FUTURE_MS + 1});
""")

# Innocent migrations (the safe corpus' own, or the seed's ANALYZE) over code created by hand.
SAFE_DIR = Path(__file__).parent / "sqlcheck" / "adversarial" / "safe"

HAND_LEDGER_TRIGGER = Case("innocent_index_over_a_hand_made_ledger_trigger",
    'CREATE INDEX IF NOT EXISTS "idx_users_last_login_at" ON "users" ("last_login_at");\n', by_hand="""\
CREATE FUNCTION public.ledger_hook() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN DELETE FROM public.user_actions; RETURN NEW; END $$;
CREATE TRIGGER ledger_hook AFTER INSERT ON drizzle.__drizzle_migrations FOR EACH ROW EXECUTE FUNCTION public.ledger_hook();
""", tags=frozenset({"innocent"}))

HAND_LOWER_SHADOW = Case("innocent_lower_email_index_over_a_hand_made_lower_varchar",
    (SAFE_DIR / "008_index_lower_email_if_not_exists.sql").read_text(), by_hand="""\
CREATE FUNCTION public.gc() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM public.daily_bonus; END $$;
CREATE FUNCTION public.lower(e character varying) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN PERFORM public.gc(); RETURN pg_catalog.lower(e::text); END $$;
""", tags=frozenset({"innocent"}))

HAND_OPERATOR_SHADOW = Case("innocent_partial_index_over_a_hand_made_enum_equality",
    (SAFE_DIR / "010_partial_index_enum_predicate_concurrently.sql").read_text(), by_hand="""\
CREATE FUNCTION public.gc() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM public.user_actions; END $$;
CREATE FUNCTION public.bonus_eq(a bonus_status, b bonus_status) RETURNS boolean IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN PERFORM public.gc(); RETURN a::text = b::text; END $$;
CREATE OPERATOR public.= (LEFTARG = bonus_status, RIGHTARG = bonus_status, FUNCTION = public.bonus_eq);
""", tags=frozenset({"innocent"}))

# ANALYZE evaluates expression indexes on its sample: the seed's own 0011 (43 indexes, then
# ANALYZE of every table) runs this function; so does pg_restore rebuilding the index.
HAND_EXPRESSION_INDEX = Case("innocent_analyze_over_a_hand_made_expression_index", 'ANALYZE "users";\n', by_hand="""\
CREATE FUNCTION public.gc() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM public.daily_bonus; END $$;
CREATE FUNCTION public.fold(e text) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $$ BEGIN RETURN lower(e); END $$;
CREATE INDEX users_fold_idx ON users (public.fold(email));
CREATE OR REPLACE FUNCTION public.fold(e text) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN PERFORM public.gc(); RETURN lower(e); END $$;
""", tags=frozenset({"innocent", "rehearse"}))

INNOCENT = [HAND_LEDGER_TRIGGER, HAND_LOWER_SHADOW, HAND_OPERATOR_SHADOW, HAND_EXPRESSION_INDEX]

CASES = [TRACKING_TRIGGER, TRACKING_RULE, EVENT_TRIGGER, INDEX_EXPRESSION, ADD_COLUMN_DEFAULT, EXISTING_FUNCTION,
         DYNAMIC_FORMAT, DYNAMIC_OPAQUE, BACKSLASH_DEFAULT, BACKSLASH_ROLE, FAR_FUTURE, *INNOCENT]
ROW_LOSS = [c for c in CASES if "row-loss" in c.tags]


# --------------------------------------------------------------------------- helpers


def append_migration(drizzle_dir: Path, case: Case) -> str:
    """Add the case as the next migration, as drizzle-kit would (journal entry + file)."""
    journal_path = drizzle_dir / "meta" / "_journal.json"
    journal = json.loads(journal_path.read_text())
    entries = journal["entries"]
    tag = f"{len(entries):04d}_{case.name}"
    entries.append({"idx": len(entries), "version": "7", "when": max(e["when"] for e in entries) + 60_000,
                    "tag": tag, "breakpoints": True})
    journal_path.write_text(json.dumps(journal, indent=2))
    (drizzle_dir / f"{tag}.sql").write_text(case.sql)
    return tag


def table_counts(db) -> dict[str, int]:
    """Rows of every table (and partitioned table) of every non-system schema."""
    from psycopg import sql

    with db.connect() as conn:
        tables = conn.execute("""
            SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
            ORDER BY 1, 2""").fetchall()
        return {f"{schema}.{table}": conn.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(table))).fetchone()[0]
                for schema, table in tables}


def tracking_rows(db) -> list[tuple]:
    with db.connect() as conn:
        if conn.execute("SELECT to_regclass('drizzle.__drizzle_migrations')").fetchone()[0] is None:
            return []
        return conn.execute("SELECT id, hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id").fetchall()


def note_default(db) -> str | None:
    with db.connect() as conn:
        row = conn.execute("""SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d
                              JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                              WHERE d.adrelid = 'public.users'::regclass AND a.attname = 'note'""").fetchone()
    return row[0] if row else None


def apply_settings(conn, dbname: str, case: Case) -> None:
    for setting in case.database_settings:
        conn.execute(f'ALTER DATABASE "{dbname}" SET {setting}')
    for setting in case.role_settings:  # gone with the database when the test drops it
        conn.execute(f'ALTER ROLE CURRENT_USER IN DATABASE "{dbname}" SET {setting}')


def static_line_off() -> dict:
    """A playbook policy under which the static analysis allows everything: every kind
    allowed, every rule off, inline comments may lift anything."""
    from pgrunbook.sqlcheck import KINDS, RULES

    return {"defaults": False, "allow": sorted(KINDS), "inline_allow": "forbidden",
            "rules": {rule_id: "off" for rule_id in sorted(RULES)}}


def rehearsal_supported() -> bool:
    from pgrunbook.config import MigratePolicy

    return "rehearse" in MigratePolicy.model_fields


def without_allow_comments(case: Case) -> Case:
    """The case as written by someone who did not bother with allow comments (with the
    static line off they would only be reported as unused)."""
    kept = [line for line in case.sql.splitlines(keepends=True)
            if not line.startswith("-- pgrunbook: allow") or line.startswith("-- pgrunbook: allow squawk:")]
    return replace(case, sql="".join(kept))


def run_case(db, case: Case, playbook: Path | None = None):
    """(exit code, what happened) of `migrate-prod --yes` with the case appended."""
    append_migration(db.drizzle_dir, case)
    with db.connect() as conn:
        if case.by_hand:
            conn.execute(case.by_hand)
        apply_settings(conn, db.name, case)
    before, ledger = table_counts(db), tracking_rows(db)
    try:
        result = migrate_prod(load_config(db.inventory(), playbook), options=ProdOptions(yes=True))
        code, said = 0, f"outcome {result.outcome} {result.reason}".strip()
    except PgRunbookError as exc:
        code, said = exc.exit_code, f"{type(exc).__name__}: {exc.what}"
    return code, said, before, ledger


def assert_promise_kept(db, case: Case, code: int, said: str, before: dict[str, int], ledger: list[tuple]) -> None:
    after, ledger_after = table_counts(db), tracking_rows(db)
    lost = {t: f"{n} -> {after.get(t, 0)}" for t, n in before.items() if after.get(t, 0) < n}
    future = [row for row in ledger_after if row[2] is not None and row[2] >= FAR_FUTURE_MS]
    context = f"{case.name}: exit {code} ({said}); rows lost: {lost or 'none'}; far-future ledger rows: {future or 'none'}"
    assert not lost, context
    assert not future, context
    if code == 3:  # refused before anything ran
        assert after == before, f"{context}; counts changed though refused: {before} -> {after}"
        assert ledger_after == ledger, f"{context}; tracking rows changed though refused"
    elif code == 4:  # caught and rolled back
        assert {t: after.get(t, 0) for t in before} == before, context
    elif code == 0 and case.may_succeed:
        case_checks_on_success(db, case, context)
    else:
        pytest.fail(f"neither refused (3) nor rolled back (4): {context}")


def case_checks_on_success(db, case: Case, context: str) -> None:
    if case in (BACKSLASH_DEFAULT, BACKSLASH_ROLE):  # ran as the parser read it: one literal, no DELETE executed
        default = note_default(db) or ""
        assert "DELETE FROM public.daily_bonus" in default, f"{context}; users.note default is {default!r}"


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("case", [*ROW_LOSS, BACKSLASH_DEFAULT, BACKSLASH_ROLE, *INNOCENT], ids=lambda c: c.name)
def test_the_case_really_destroys_rows_when_run_as_drizzle_would(app_db, case: Case):
    """Not a vacuous case: applied naively on a fresh connection (the chunks, then the
    tracking insert, as drizzle's migrator does; autocommit so that CONCURRENTLY runs), it
    does lose rows."""
    from pgrunbook.drizzle.journal import load_migrations

    db = app_db("tracked")
    with db.connect() as conn:
        if case.by_hand:
            conn.execute(case.by_hand)
        apply_settings(conn, db.name, case)
    before = table_counts(db)
    tag = append_migration(db.drizzle_dir, case)
    migration = load_migrations(db.drizzle_dir).by_tag(tag)
    with db.connect() as conn:
        for chunk in migration.chunks():
            if chunk.strip():
                conn.execute(chunk)
        conn.execute("INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES (%s, %s)", [migration.hash, migration.when])
    after = table_counts(db)
    assert any(after[t] < n for t, n in before.items()), f"{case.name} lost no row: {before} -> {after}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_worst_case_is_refused_or_rolled_back(app_db, case: Case):
    db = app_db("tracked")
    code, said, before, ledger = run_case(db, case)
    assert_promise_kept(db, case, code, said, before, ledger)


@pytest.mark.parametrize("case", [*ROW_LOSS, *INNOCENT], ids=lambda c: c.name)
def test_row_loss_is_caught_when_the_static_line_is_switched_off(app_db, case: Case):
    """Only the dynamic line is left: every table's rows counted by validate -> rollback."""
    db = app_db("tracked")
    playbook = write_playbook(db.workdir / "static-off.yml", policy=static_line_off())
    code, said, before, ledger = run_case(db, without_allow_comments(case), playbook)
    assert_promise_kept(db, case, code, said, before, ledger)


@pytest.mark.parametrize("case", [c for c in CASES if "rehearse" in c.tags], ids=lambda c: c.name)
def test_rehearsal_refuses_row_loss_before_production_is_touched(app_db, case: Case):
    """With `migrate.rehearse: true`, the plan runs first on a restored copy: the loss
    there is a NO-GO (exit 3) and production is never touched."""
    if not rehearsal_supported():
        pytest.fail("the playbook has no migrate.rehearse switch yet (helper E)")
    db = app_db("tracked")
    playbook = write_playbook(db.workdir / "rehearse.yml", policy=static_line_off(), migrate={"rehearse": True})
    code, said, before, ledger = run_case(db, without_allow_comments(case), playbook)
    assert code == 3, f"{case.name}: exit {code} ({said}): the rehearsal should refuse before production"
    assert_promise_kept(db, case, code, said, before, ledger)


SESSION_TAMPERING = [
    Case("statement_timeout_turned_off_then_sleep", "SET statement_timeout = 0;\n--> statement-breakpoint\n"
         "DO $$ BEGIN PERFORM pg_sleep(1); END $$;\n"),
    Case("search_path_repointed_inside_a_do_block", "DO $$ BEGIN PERFORM set_config('search_path', 'drizzle, public', false); END $$;\n"
         "--> statement-breakpoint\nANALYZE users;\n"),
    Case("run_lock_released", "DO $$ BEGIN PERFORM pg_advisory_unlock_all(); END $$;\n"),
]


@pytest.mark.parametrize("case", SESSION_TAMPERING, ids=lambda c: c.name)
def test_a_migration_tampering_with_the_session_is_stopped(app_db, case: Case):
    """With the static line off, the executor itself must notice a migration that lifts its
    bound, repoints name resolution or releases the run lock: stopped and rolled back."""
    db = app_db("tracked")
    playbook = write_playbook(db.workdir / "static-off.yml", policy=static_line_off())
    code, said, before, ledger = run_case(db, case, playbook)
    assert_promise_kept(db, case, code, said, before, ledger)


@pytest.mark.parametrize("case", [DYNAMIC_FORMAT, DYNAMIC_OPAQUE], ids=lambda c: c.name)
def test_dynamic_sql_allowed_by_policy_is_still_caught(app_db, case: Case):
    """A relaxed playbook that allows `dynamic-sql`: a DELETE whose text only exists at run
    time (decoded from base64) hides from the static line, so the row counts (or the
    rehearsal) must save daily_bonus."""
    db = app_db("tracked")
    playbook = write_playbook(db.workdir / "dynamic.yml", policy={"allow": ["dynamic-sql"]})
    code, said, before, ledger = run_case(db, case, playbook)
    assert_promise_kept(db, case, code, said, before, ledger)
