"""The adversarial corpus: migrations written to get rows destroyed or the ledger corrupted
while pgrunbook says "allowed" (issue 9), and safe-but-unusual SQL that must not be refused.

Each file starts with two header lines (SQL comments, inert):

    -- expect: <forbidden|review|allowed>
    -- why: <the consequence, in one line>

`adversarial/*.sql` are dangerous: the promise is that none is ever `allowed`. A file
expecting `forbidden` must be forbidden; one expecting `review` must be review or worse
(`review` is what static analysis can promise when the danger lives in the database: a
function that already exists there, data that a unique index or a CHECK would fail on).
`adversarial/safe/*.sql` must get exactly their expected verdict (false positives).

Rule ids are the fixers' choice: only verdicts are asserted. When `analyze_files` accepts a
`journal=` (the drizzle journal, to tell a legitimate tracking row from a forged one), every
case is analysed a second time with the fixture's journal given and must hold the same bar.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from pgrunbook.sqlcheck import Verdict, analyze_files
from pgrunbook.sqlcheck.split import normalize

HERE = Path(__file__).parent / "adversarial"
DANGEROUS = sorted(HERE.glob("*.sql"))
SAFE = sorted((HERE / "safe").glob("*.sql"))
CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.sql"))
HEADER = re.compile(r"--\s*expect:\s*(?P<verdict>forbidden|review|allowed)\s*")
WHY = re.compile(r"--\s*why:\s*\S.*")


def header(path: Path) -> tuple[Verdict, str]:
    first, second, *_ = normalize(path.read_bytes().decode("utf-8")).split("\n", 2)
    expect = HEADER.fullmatch(first.strip())
    assert expect, f"{path.name}: first line must be `-- expect: <forbidden|review|allowed>`"
    assert WHY.fullmatch(second.strip()), f"{path.name}: second line must be `-- why: <consequence>`"
    return Verdict(expect.group("verdict")), second.split(":", 1)[1].strip()


def describe(analysis) -> str:
    return "\n".join(str(finding) for finding in analysis.findings) or "(no findings)"


def _journal_argument():
    """The fixture's drizzle journal in the form `analyze_files(journal=...)` takes, or None
    while that keyword does not exist (helper A adds it)."""
    parameter = inspect.signature(analyze_files).parameters.get("journal")
    if parameter is None:
        return None
    from pgrunbook.drizzle.journal import load_migrations
    from pgrunbook.sandbox import FIXTURE_DRIZZLE

    migrations = load_migrations(FIXTURE_DRIZZLE)
    annotation = str(parameter.annotation)
    if "LocalMigrations" not in annotation and "Migration" in annotation:
        return migrations.entries
    return migrations


def analyses(path: Path):
    """(label, analysis) for the file alone, then with the journal when supported."""
    (plain,) = analyze_files([path])
    yield "without journal", plain
    journal = _journal_argument()
    if journal is not None:
        (with_journal,) = analyze_files([path], journal=journal)
        yield "with the fixture journal", with_journal


def test_corpus_is_big_enough_and_classes_are_covered():
    assert len(DANGEROUS) >= 70 and len(SAFE) >= 15
    names = " ".join(p.name for p in DANGEROUS)
    for shape in ("tracking_trigger", "tracking_rule", "event_trigger", "index_expression", "partial_index",
                  "default", "generated_column", "check", "domain", "for_later", "inline_allow", "existing_function",
                  "internal_alias", "pg_sleep", "advisory_unlock", "nextval", "setval", "terminate", "dblink", "lo_unlink",
                  "set_config", "far_future", "explicit_id", "credentials", "generate_series", "unique_index",
                  "references_on_delete_cascade", "set_not_null", "fk_without_not_valid"):
        assert shape in names, f"no adversarial case named for {shape}"


def test_no_file_is_a_copy_of_another_or_of_the_seed_corpus():
    def body(path: Path) -> str:
        text = normalize(path.read_bytes().decode("utf-8"))
        lines = text.split("\n")[2:] if path.parent.name in ("adversarial", "safe") else text.split("\n")[1:]
        return " ".join(" ".join(lines).lower().split())

    seen: dict[str, str] = {}
    for path in [*CORPUS, *DANGEROUS, *SAFE]:
        text = body(path)
        assert text not in seen, f"{path.name} repeats {seen[text]}"
        seen[text] = path.name


@pytest.mark.parametrize("path", DANGEROUS, ids=lambda p: p.name)
def test_dangerous_case_is_never_allowed(path: Path):
    expected, why = header(path)
    assert expected is not Verdict.ALLOWED, f"{path.name}: a dangerous case cannot expect allowed"
    for label, analysis in analyses(path):
        assert analysis.verdict is not Verdict.ALLOWED, f"ALLOWED ({label}) although: {why}\n{describe(analysis)}"
        assert analysis.verdict.rank >= expected.rank, (
            f"{analysis.verdict} ({label}), expected {expected}: {why}\n{describe(analysis)}"
        )


@pytest.mark.parametrize("path", SAFE, ids=lambda p: p.name)
def test_safe_but_unusual_case_is_not_refused(path: Path):
    expected, why = header(path)
    for label, analysis in analyses(path):
        assert analysis.verdict is expected, f"{analysis.verdict} ({label}), expected {expected} ({why})\n{describe(analysis)}"


# --------------------------------------------------------------------------- existing functions, live catalog

# What the "existing function" cases call, created by hand in the database before the
# analysis (the static test alone can only say `review`; read from the live catalog, the
# bodies below make each of them forbidden).
BY_HAND = {
    "039_existing_function_select.sql": """
        CREATE FUNCTION public.archive_inactive_users() RETURNS void LANGUAGE plpgsql AS $$
        BEGIN DELETE FROM public.users WHERE NOT is_active; END $$;""",
    "040_existing_function_in_index_expression.sql": """
        CREATE FUNCTION public.email_gc() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM public.user_actions; END $$;
        CREATE FUNCTION public.normalize_email(e text) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $$
        BEGIN PERFORM public.email_gc(); RETURN lower(e); END $$;""",
    "041_existing_function_in_add_column_default.sql": """
        CREATE FUNCTION public.compute_loyalty_tier() RETURNS text LANGUAGE plpgsql AS $$
        BEGIN TRUNCATE public.daily_bonus CASCADE; RETURN 'bronze'; END $$;""",
    "042_existing_function_in_partial_index_predicate.sql": """
        CREATE FUNCTION public.bonus_gc() RETURNS void LANGUAGE sql AS $$ DELETE FROM public.daily_bonus $$;
        CREATE FUNCTION public.is_bonus_eligible(uid integer) RETURNS boolean IMMUTABLE LANGUAGE plpgsql AS $$
        BEGIN PERFORM public.bonus_gc(); RETURN uid > 0; END $$;""",
    "043_existing_function_perform_in_do.sql": """
        CREATE SCHEMA ops;
        CREATE FUNCTION ops.rotate_bonuses(keep interval) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN DELETE FROM public.daily_bonus WHERE created_at < now() - keep; END $$;""",
    "044_existing_procedure_call_schema_qualified.sql": """
        CREATE SCHEMA maintenance;
        CREATE PROCEDURE maintenance.compact_user_actions(dry boolean, batch integer) LANGUAGE plpgsql AS $$
        BEGIN DELETE FROM public.user_actions WHERE NOT validated; END $$;""",
    "045_existing_function_overload_by_argument_type.sql": """
        CREATE FUNCTION public.reset_counters(n integer) RETURNS void LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE '%', n; END $$;
        CREATE FUNCTION public.reset_counters(n bigint) RETURNS void LANGUAGE plpgsql AS $$ BEGIN TRUNCATE public.proofs; END $$;""",
    "046_existing_function_in_generated_column.sql": """
        CREATE FUNCTION public.slug_gc() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM public.proofs; END $$;
        CREATE FUNCTION public.user_slug(uid integer) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $$
        BEGIN PERFORM public.slug_gc(); RETURN 'u' || uid; END $$;""",
    "047_existing_trigger_function_attached_to_ledger.sql": """
        CREATE SCHEMA ops;
        CREATE FUNCTION ops.notify_and_cleanup() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN DELETE FROM public.proofs; RETURN NEW; END $$;""",
}


def _catalog_after(app_db, by_hand: str):
    from pgrunbook.catalog import read_code_catalog

    db = app_db("tracked")
    with db.connect() as conn:
        conn.execute(by_hand)
        return read_code_catalog(conn)


def test_every_existing_function_case_has_its_by_hand_definition():
    existing = {p.name for p in DANGEROUS if "existing_" in p.name}
    assert existing == set(BY_HAND)


@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(BY_HAND))
def test_existing_function_read_from_the_live_catalog_is_forbidden(app_db, name: str):
    if "catalog" not in inspect.signature(analyze_files).parameters:
        pytest.fail("analyze_files takes no catalog= yet (helper A)")
    catalog = _catalog_after(app_db, BY_HAND[name])
    _, why = header(HERE / name)
    (analysis,) = analyze_files([HERE / name], catalog=catalog)
    assert analysis.verdict is Verdict.FORBIDDEN, f"{analysis.verdict} with the catalog: {why}\n{describe(analysis)}"


@pytest.mark.integration
def test_the_harmless_overload_is_not_taken_for_the_destructive_one(app_db):
    """reset_counters(42) resolves to the integer overload, which only raises a notice."""
    if "catalog" not in inspect.signature(analyze_files).parameters:
        pytest.fail("analyze_files takes no catalog= yet (helper A)")
    catalog = _catalog_after(app_db, BY_HAND["045_existing_function_overload_by_argument_type.sql"])
    (analysis,) = analyze_files([("harmless.sql", "SELECT reset_counters(42);")], catalog=catalog)
    assert analysis.verdict is not Verdict.FORBIDDEN, describe(analysis)


# --------------------------------------------------------------------------- innocent migrations, hostile catalog

# A migration that looks harmless (or is one of the safe cases) turned destructive by code
# already in the database. Only the live catalog can tell: (by hand, migration, at least).
HOSTILE_CATALOG = {
    "existing_trigger_on_the_ledger_fires_on_pgrunbook_insert": ("""
        CREATE FUNCTION public.ledger_hook() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN DELETE FROM public.user_actions; RETURN NEW; END $$;
        CREATE TRIGGER ledger_hook AFTER INSERT ON drizzle.__drizzle_migrations FOR EACH ROW EXECUTE FUNCTION public.ledger_hook();""",
        'CREATE INDEX IF NOT EXISTS "idx_users_last_login_at" ON "users" ("last_login_at");', Verdict.FORBIDDEN),
    "existing_rule_on_the_ledger": ("""
        CREATE RULE ledger_rule AS ON INSERT TO drizzle.__drizzle_migrations DO ALSO DELETE FROM public.proofs;""",
        "ANALYZE users;", Verdict.FORBIDDEN),
    "existing_event_trigger_fires_on_create_index": ("""
        CREATE FUNCTION public.ddl_hook() RETURNS event_trigger LANGUAGE plpgsql AS $$
        BEGIN DELETE FROM public.daily_bonus; END $$;
        CREATE EVENT TRIGGER ddl_hook ON ddl_command_end EXECUTE FUNCTION public.ddl_hook();""",
        'CREATE INDEX IF NOT EXISTS "idx_users_role_active" ON "users" ("role") WHERE "is_active";', Verdict.FORBIDDEN),
    "replacing_the_body_of_an_existing_ledger_trigger_function": ("""
        CREATE FUNCTION public.ledger_note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
        CREATE TRIGGER ledger_note AFTER INSERT ON drizzle.__drizzle_migrations FOR EACH ROW EXECUTE FUNCTION public.ledger_note();""",
        """-- pgrunbook: allow review-create-function log the migration, reviewed
CREATE OR REPLACE FUNCTION public.ledger_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.campaign_validations;
  RETURN NEW;
END $$;""", Verdict.FORBIDDEN),
    "existing_internal_alias_of_advisory_unlock_all": ("""
        CREATE FUNCTION public.release_locks() RETURNS void LANGUAGE internal AS 'pg_advisory_unlock_all';""",
        "DO $$ BEGIN PERFORM public.release_locks(); END $$;", Verdict.FORBIDDEN),
    "existing_lower_varchar_shadows_the_builtin_in_an_index": ("""
        CREATE FUNCTION public.gc() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM public.daily_bonus; END $$;
        CREATE FUNCTION public.lower(e character varying) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $$
        BEGIN PERFORM public.gc(); RETURN pg_catalog.lower(e::text); END $$;""",
        (HERE / "safe" / "008_index_lower_email_if_not_exists.sql").read_text(), Verdict.FORBIDDEN),
    "existing_enum_equality_operator_shadows_the_builtin_in_a_predicate": ("""
        CREATE FUNCTION public.gc() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM public.user_actions; END $$;
        CREATE FUNCTION public.bonus_eq(a bonus_status, b bonus_status) RETURNS boolean IMMUTABLE LANGUAGE plpgsql AS $$
        BEGIN PERFORM public.gc(); RETURN a::text = b::text; END $$;
        CREATE OPERATOR public.= (LEFTARG = bonus_status, RIGHTARG = bonus_status, FUNCTION = public.bonus_eq);""",
        (HERE / "safe" / "010_partial_index_enum_predicate_concurrently.sql").read_text(), Verdict.REVIEW),
    "existing_expression_index_runs_its_function_on_analyze": ("""
        CREATE FUNCTION public.gc() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM public.daily_bonus; END $$;
        CREATE FUNCTION public.fold(e text) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $$ BEGIN RETURN lower(e); END $$;
        CREATE INDEX users_fold_idx ON users (public.fold(email));
        CREATE OR REPLACE FUNCTION public.fold(e text) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $$
        BEGIN PERFORM public.gc(); RETURN lower(e); END $$;""",
        'ANALYZE "users";', Verdict.REVIEW),
    "existing_domain_check_runs_on_add_column": ("""
        CREATE FUNCTION public.amount_ok(v integer) RETURNS boolean LANGUAGE plpgsql AS $$
        BEGIN DELETE FROM public.proofs; RETURN v >= 0; END $$;
        CREATE DOMAIN public.points AS integer CHECK (public.amount_ok(VALUE));""",
        'ALTER TABLE "users" ADD COLUMN "points" public.points DEFAULT 0;', Verdict.REVIEW),
}


@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(HOSTILE_CATALOG))
def test_an_innocent_migration_over_a_hostile_catalog_is_not_allowed(app_db, name: str):
    if "catalog" not in inspect.signature(analyze_files).parameters:
        pytest.fail("analyze_files takes no catalog= yet (helper A)")
    by_hand, migration, at_least = HOSTILE_CATALOG[name]
    catalog = _catalog_after(app_db, by_hand)
    (analysis,) = analyze_files([(f"{name}.sql", migration)], catalog=catalog)
    assert analysis.verdict is not Verdict.ALLOWED, f"ALLOWED: {name}\n{describe(analysis)}"
    assert analysis.verdict.rank >= at_least.rank, f"{analysis.verdict}, expected at least {at_least}: {name}\n{describe(analysis)}"


# --------------------------------------------------------------------------- property: a hazard among safe statements


def _body(path: Path) -> str:
    return normalize(path.read_bytes().decode("utf-8")).split("\n", 2)[2].strip()


def test_a_hazard_hidden_among_safe_migrations_is_never_allowed():
    """Random compositions of the safe-but-unusual files (allowed on their own) with one
    dangerous case injected anywhere: the composed file is at least as severe as the case
    analysed alone (whose own bar is checked above), so never allowed when it is not."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    allowed_safe = [_body(p) for p in SAFE if header(p)[0] is Verdict.ALLOWED]
    dangerous = [(p.name, analyze_files([p])[0].verdict, _body(p)) for p in DANGEROUS]

    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.sampled_from(allowed_safe), min_size=1, max_size=5), st.sampled_from(dangerous), st.data())
    def check(safe_parts, hazard, data):
        name, alone, body = hazard
        at = data.draw(st.integers(0, len(safe_parts)))
        parts = [*safe_parts[:at], body, *safe_parts[at:]]
        (analysis,) = analyze_files([("composed.sql", "\n--> statement-breakpoint\n".join(parts))])
        assert analysis.verdict.rank >= alone.rank, (
            f"{name} hidden at {at} among {len(safe_parts)} safe parts: {analysis.verdict}, alone {alone}\n{describe(analysis)}"
        )

    check()
