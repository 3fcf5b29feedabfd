"""Property tests: the verdict depends on what a statement does, not on how it is written.

Each statement is a list of tokens; hypothesis rewrites it with random comments between
tokens (`/* */` and `--`, their text full of scary keywords), random whitespace and line
ends, random keyword case, and every way of writing the table name. A forbidden statement
must stay forbidden, an allowed one allowed.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pgrunbook.sqlcheck import RULES, Policy, Verdict, analyze_sql

SETTINGS = settings(max_examples=120, deadline=None)

KEYWORDS = frozenset(
    "DELETE FROM WHERE DROP TABLE TRUNCATE UPDATE SET INSERT INTO VALUES CREATE INDEX IF NOT EXISTS ON "
    "ANALYZE ALTER ADD COLUMN INTEGER TEXT CASCADE RESTRICT ONLY".split()
)
USERS = [["users"], ['"users"'], ["public", ".", "users"], ['"public"', ".", '"users"'], ["PUBLIC", ".", "Users"], ['"public"', ".", "USERS"]]
TRACKING = [["drizzle", ".", "__drizzle_migrations"], ['"drizzle"', ".", '"__drizzle_migrations"'], ["DRIZZLE", ".", '"__drizzle_migrations"']]

FORBIDDEN = {
    "delete": "DELETE FROM {t} WHERE id = 1 ;",
    "delete-all": "DELETE FROM ONLY {t} ;",
    "drop": "DROP TABLE IF EXISTS {t} CASCADE ;",
    "truncate": "TRUNCATE TABLE {t} ;",
    "update": "UPDATE {t} SET role = 'x' ;",
    "seed": "INSERT INTO {t} ( email ) VALUES ( 'a@b.c' ) ;",
    "drop-column": "ALTER TABLE {t} DROP COLUMN legacy ;",
    "update-tracking": "UPDATE {tracking} SET hash = 'h' ;",
}
ALLOWED = {
    "index": "CREATE INDEX IF NOT EXISTS idx_users_role ON {t} ( role ) ;",
    "analyze": "ANALYZE {t} ;",
    "add-column": "ALTER TABLE {t} ADD COLUMN IF NOT EXISTS nickname TEXT ;",
}
# A tracking row equal to a journal entry's (hash, when): never allowed, at most review.
TRACKING_ROW = {"tracking": "INSERT INTO {tracking} ( hash , created_at ) VALUES ( 'h' , 1 ) ;"}
JOURNAL = (("h", 1),)

SCARY = "DROP TABLE users; DELETE FROM users; TRUNCATE users; UPDATE users SET a=1; $$ ' \" -- / * "
# Comment text: pieces of destructive SQL and characters that matter to the scanner.
SNIPPETS = ["DROP TABLE users;", "DELETE FROM users", "TRUNCATE users;", "UPDATE users SET a = 1;", "$$", "'", '"', "--", ";", "x"]
comment_text = st.lists(st.sampled_from(SNIPPETS), max_size=4).map(" ".join)
# `/*` would open a nested comment and `*/` close this one early: no `*` nor `/` inside.
block_comment = comment_text.map(lambda s: "/*" + s.replace("*", "+").replace("/", "|") + "*/")
line_comment = comment_text.map(lambda s: f"--{s}\n")
whitespace = st.sampled_from([" ", "  ", "\n", "\t", "\r\n", " \n "])
separator = st.one_of(whitespace, whitespace, block_comment, line_comment).map(lambda part: f" {part} ")


@st.composite
def spelled(draw, templates: dict[str, str]) -> str:
    """One of `templates` with the table names spelled some way, keywords in random case,
    and random separators (whitespace, comments) between all tokens."""
    template = templates[draw(st.sampled_from(sorted(templates)))]
    tokens = []
    for word in template.split():
        if word == "{t}":
            tokens += draw(st.sampled_from(USERS))
        elif word == "{tracking}":
            tokens += draw(st.sampled_from(TRACKING))
        elif word.upper() in KEYWORDS:
            mask = draw(st.integers(0, 2 ** len(word) - 1))  # bit i set: character i upper case
            tokens.append("".join(c.upper() if mask >> i & 1 else c.lower() for i, c in enumerate(word)))
        else:
            tokens.append(word)
    text = draw(separator).lstrip()
    for token in tokens:
        text += token + draw(separator)
    return text


@SETTINGS
@given(spelled(FORBIDDEN))
def test_forbidden_statements_stay_forbidden(sql):
    assert analyze_sql(sql, file="p.sql").verdict is Verdict.FORBIDDEN, sql


@SETTINGS
@given(spelled(ALLOWED))
def test_allowed_statements_stay_allowed(sql):
    analysis = analyze_sql(sql, file="p.sql")
    assert analysis.verdict is Verdict.ALLOWED, (sql, [str(f) for f in analysis.findings])


@SETTINGS
@given(
    spelled(ALLOWED),
    spelled(FORBIDDEN),
    st.booleans(),
)
def test_one_forbidden_statement_among_allowed_ones_is_found(allowed, forbidden, breakpoint):
    between = "\n--> statement-breakpoint\n" if breakpoint else "\n"
    sql = allowed + between + forbidden + between + allowed
    assert analyze_sql(sql, file="p.sql").verdict is Verdict.FORBIDDEN, sql


@SETTINGS
@given(spelled(TRACKING_ROW))
def test_journal_tracking_row_is_reviewed_however_written(sql):
    assert analyze_sql(sql, file="p.sql", journal=JOURNAL).verdict is Verdict.REVIEW, sql
    assert analyze_sql(sql, file="p.sql").verdict is Verdict.FORBIDDEN, sql


@SETTINGS
@given(st.text(alphabet=sorted(set(SCARY + "abcXYZ;\n")), max_size=60))
def test_scary_words_inside_literals_are_inert(words):
    quoted = "'" + words.replace("'", "''") + "'"
    sql = (
        f"ALTER TABLE users ADD COLUMN IF NOT EXISTS note text DEFAULT {quoted};\n"
        f'ALTER TABLE users ADD COLUMN "{words.replace(chr(34), chr(34) * 2) or "x"}" text;\n'
    )
    assert analyze_sql(sql, file="p.sql").verdict is Verdict.ALLOWED, sql


@SETTINGS
@given(spelled(FORBIDDEN), st.booleans(), st.booleans())
def test_bom_and_crlf_do_not_change_the_verdict(sql, bom, crlf):
    text = sql.replace("\r\n", "\n")
    text = text.replace("\n", "\r\n") if crlf else text
    text = ("\ufeff" + text) if bom else text
    assert analyze_sql(text, file="p.sql").verdict is Verdict.FORBIDDEN


# --------------------------------------------------------------------------- executed code
# One hazard each: code that the run executes without a statement of the file saying so.
# `{f}` is a function that destroys rows; every hazard makes the run call it.
DESTROYERS = {
    "delete": "DELETE FROM public.user_actions",
    "truncate": "TRUNCATE public.daily_bonus",
    "update": "UPDATE public.users SET role = 'fbo'",
    "ledger": "DELETE FROM drizzle.__drizzle_migrations",
    "terminate": "PERFORM pg_terminate_backend(pid) FROM pg_stat_activity",
    "execute": "EXECUTE 'DROP TABLE public.users'",
}
HAZARDS = {
    "tracking-trigger": "CREATE TRIGGER t AFTER INSERT ON drizzle.__drizzle_migrations FOR EACH ROW EXECUTE FUNCTION {f}();",
    "tracking-statement-trigger": (
        "CREATE TRIGGER t AFTER INSERT ON \"drizzle\".\"__drizzle_migrations\" EXECUTE PROCEDURE {f}();"
    ),
    "event-trigger": "CREATE EVENT TRIGGER e ON ddl_command_end EXECUTE FUNCTION {f}();",
    "index-expression": "CREATE INDEX IF NOT EXISTS i ON users (({f}_v(id)));",
    "partial-index": "CREATE INDEX IF NOT EXISTS i ON users (email) WHERE {f}_v(id) > 0;",
    "default": "ALTER TABLE users ADD COLUMN IF NOT EXISTS n int DEFAULT {f}_v(1);",
    "generated": "ALTER TABLE users ADD COLUMN IF NOT EXISTS n int GENERATED ALWAYS AS ({f}_v(id)) STORED;",
    "check": "ALTER TABLE users ADD COLUMN IF NOT EXISTS n int CHECK ({f}_v(n) > 0);",
    "domain": "CREATE DOMAIN d AS int CHECK ({f}_v(VALUE) > 0);",
    "using": "ALTER TABLE users ALTER COLUMN role TYPE text USING {f}_v(1)::text;",
    "call-in-do": "DO $$ BEGIN PERFORM {f}(); END $$;",
}


def _functions(body: str) -> str:
    return (
        f"CREATE FUNCTION hazard() RETURNS trigger LANGUAGE plpgsql AS $fn$ BEGIN {body}; RETURN NULL; END $fn$;\n"
        f"CREATE FUNCTION hazard_v(x int) RETURNS int LANGUAGE plpgsql AS $fn$ BEGIN {body}; RETURN x; END $fn$;\n"
    )


@st.composite
def with_hazard(draw) -> tuple[str, str]:
    """A migration: allowed statements, the destroying functions, one hazard among them,
    and allow comments naming every rule, before and after the hazard."""
    body = DESTROYERS[draw(st.sampled_from(sorted(DESTROYERS)))]
    hazard = HAZARDS[draw(st.sampled_from(sorted(HAZARDS)))].format(f="hazard")
    before = draw(st.lists(spelled(ALLOWED), max_size=3))
    after = draw(st.lists(spelled(ALLOWED), max_size=3))
    allow = "-- pgrunbook: allow " + ",".join(sorted(RULES)) + " reviewed, trust me\n"
    comment = allow if draw(st.booleans()) else ""
    breakpoint = "\n--> statement-breakpoint\n" if draw(st.booleans()) else "\n"
    parts = [*before, comment + _functions(body), comment + hazard, *after]
    return breakpoint.join(parts), hazard


@SETTINGS
@given(with_hazard(), st.sampled_from(["review", "forbidden"]))
def test_executed_code_hazard_is_never_allowed(migration, inline_allow):
    sql, hazard = migration
    policy = Policy.from_dict({"inline_allow": inline_allow})
    analysis = analyze_sql(sql, file="p.sql", policy=policy)
    assert analysis.verdict is Verdict.FORBIDDEN, (hazard, [str(f) for f in analysis.findings])
