"""Issue 12 item 3: PL/pgSQL that PostgreSQL accepts but our parser cannot read without the catalog.

libpg_query's PL/pgSQL parser has no catalog: a `%ROWTYPE` variable's fields are unknown to
it, so `r.id := 1` fails with `"r.id" is not a known variable` although PostgreSQL (which
knows `users.id`) accepts the function. Such a body is never a crash: it is one `review`
finding naming the construct and its line, lifted only by an explicit reviewed exception.
"""

from __future__ import annotations

import pytest

from pgrunbook.sqlcheck import Policy, Verdict, analyze_files, analyze_sql

RULE = "review-unanalysable-body"

ROWTYPE_FUNCTION = """CREATE TABLE IF NOT EXISTS users (id int);
--> statement-breakpoint
CREATE OR REPLACE FUNCTION public.touch() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  r public.users%ROWTYPE;
BEGIN
  SELECT * INTO r FROM users LIMIT 1;
  r.id := 1;
END;
$$;
"""

ROWTYPE_DO = """DO $$
DECLARE
  r public.users%ROWTYPE;
BEGIN
  SELECT * INTO r FROM users LIMIT 1;
  r.id := 1;
END $$;
"""


def rule_findings(analysis, rule_id=RULE):
    return [f for f in analysis.findings if f.rule_id == rule_id]


def test_function_body_our_parser_cannot_read_is_one_review_finding_naming_the_construct_and_line():
    analysis = analyze_sql(ROWTYPE_FUNCTION, file="0001_touch.sql")
    [finding] = rule_findings(analysis)
    assert finding.verdict is Verdict.REVIEW and analysis.verdict is Verdict.REVIEW
    assert finding.line == 3  # the CREATE FUNCTION
    assert '"r.id" is not a known variable' in finding.message and "line 8" in finding.message
    assert "public.touch()" in finding.message
    assert finding.help


def test_do_block_our_parser_cannot_read_is_reviewed_not_a_crash():
    analysis = analyze_sql(ROWTYPE_DO, file="0002_do.sql")
    [finding] = rule_findings(analysis)
    assert finding.verdict is Verdict.REVIEW and "DO block" in finding.message and "line 6" in finding.message


def test_an_inline_reviewed_exception_lifts_it():
    text = "-- pgrunbook: allow review-unanalysable-body read by JD: only sets a local variable\n" + ROWTYPE_DO
    analysis = analyze_sql(text, file="0002_do.sql")
    [finding] = rule_findings(analysis)
    assert finding.verdict is Verdict.ALLOWED and finding.excepted and analysis.verdict is Verdict.ALLOWED


def test_calling_the_function_reports_it_where_it_runs():
    """The set's later call runs a body nobody could read: a review finding at the call, waivable."""
    analyses = analyze_files(
        [("0001_touch.sql", ROWTYPE_FUNCTION), ("0002_call.sql", "SELECT public.touch();\n")],
        Policy.from_dict({"allow": ["create-function", "create-table", "select"]}),
    )
    [call] = rule_findings(analyses[1])
    assert call.verdict is Verdict.REVIEW and call.waivable and "call public.touch()" in call.message


@pytest.mark.parametrize("sql", [
    # a real DELETE in a body that cannot be read is still never allowed silently
    "DO $$ DECLARE r public.users%ROWTYPE; BEGIN r.id := 1; DELETE FROM users; END $$;",
])
def test_what_cannot_be_read_is_never_allowed(sql):
    assert analyze_sql(sql, file="x.sql").verdict is not Verdict.ALLOWED


def test_a_file_our_parser_rejects_is_kept_with_its_error_when_not_strict():
    analyses = analyze_files([("0001_ok.sql", "CREATE TABLE a (id int);"), ("0002_bad.sql", "CREATE INDEXX oops;"),
                              ("0003_ok.sql", "CREATE TABLE b (id int);")], strict=False)
    assert [a.parse_error is None for a in analyses] == [True, False, True]
    assert "0002_bad.sql:1:" in str(analyses[1].parse_error) and analyses[1].created == ()
    assert analyses[1].verdict is Verdict.REVIEW
