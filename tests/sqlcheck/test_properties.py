"""Property tests: the verdict depends on what a statement does, not on how it is written.

Each statement is a list of tokens; hypothesis rewrites it with random comments between
tokens (`/* */` and `--`, their text full of scary keywords), random whitespace and line
ends, random keyword case, and every way of writing the table name. A forbidden statement
must stay forbidden, an allowed one allowed.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pgrunbook.sqlcheck import Verdict, analyze_sql

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
    "tracking": "INSERT INTO {tracking} ( hash , created_at ) VALUES ( 'h' , 1 ) ;",
}

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
@given(st.text(alphabet=sorted(set(SCARY + "abcXYZ;\n")), max_size=60))
def test_scary_words_inside_literals_are_inert(words):
    quoted = "'" + words.replace("'", "''") + "'"
    sql = (
        f"INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ({quoted}, 1);\n"
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
