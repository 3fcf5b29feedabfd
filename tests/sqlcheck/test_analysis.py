"""analyze_sql / analyze_files, and the inline allow comments."""

from __future__ import annotations

import pytest

from pgrunbook.sqlcheck import Finding, Verdict, analyze_files, analyze_sql, with_findings


def lifted(sql: str) -> list[tuple[str, int, str | None]]:
    return [(f.rule_id, f.line, f.excepted) for f in analyze_sql(sql, file="a.sql").findings]


def test_comment_on_its_own_line_applies_to_the_next_statement():
    sql = "SELECT 1;\n-- pgrunbook: allow review-select checked by ops\n\nSELECT 2;"
    assert lifted(sql) == [("review-select", 1, None), ("review-select", 4, "checked by ops")]


def test_trailing_comment_applies_to_the_statement_on_its_line():
    sql = "SELECT 1; -- pgrunbook: allow review-select first one only\nSELECT 2;"
    assert lifted(sql) == [("review-select", 1, "first one only"), ("review-select", 2, None)]


def test_comment_inside_a_multiline_statement_applies_to_it():
    sql = "CREATE TABLE t (\n  -- pgrunbook: allow review-create-table reviewed\n  id int\n);"
    assert lifted(sql) == [("review-create-table", 1, "reviewed")]


def test_block_comment_with_several_rules():
    sql = "/* pgrunbook: allow review-select,review-function-call   backfill, reviewed */\nSELECT refresh_stats();"
    analysis = analyze_sql(sql, file="a.sql")
    assert analysis.verdict is Verdict.ALLOWED
    assert {f.rule_id for f in analysis.exceptions} == {"review-select", "review-function-call"}
    assert {f.excepted for f in analysis.exceptions} == {"backfill, reviewed"}


def test_comment_applies_to_every_finding_of_that_rule_in_the_statement():
    sql = "-- pgrunbook: allow review-rename coordinated with the app release\nALTER TABLE a RENAME TO b;"
    assert analyze_sql(sql, file="a.sql").verdict is Verdict.ALLOWED


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("ANALYZE t;\n-- pgrunbook: allow review-select nothing follows", "not followed by any statement"),
        ("-- pgrunbook: allow no-such-rule because\nSELECT 1;", "there is no rule 'no-such-rule'"),
        ("-- pgrunbook: allow review-rename because\nSELECT 1;", "has no review-rename finding"),
    ],
)
def test_unused_allow_comments(sql, words):
    analysis = analyze_sql(sql, file="a.sql")
    [unused] = [f for f in analysis.findings if f.rule_id == "unused-allow-comment"]
    assert words in unused.message
    assert analysis.verdict is Verdict.REVIEW


def test_missing_reason_lifts_nothing():
    analysis = analyze_sql("SELECT 1; -- pgrunbook: allow review-select", file="a.sql")
    assert sorted(analysis.rule_ids()) == ["allow-comment-missing-reason", "review-select"]
    assert analyze_sql("-- pgrunbook: allow\nSELECT 1;", file="a.sql").rule_ids() == ("allow-comment-missing-reason", "review-select")


def test_file_verdict_is_the_worst_finding_and_info_counts_as_allowed():
    assert analyze_sql("", file="a.sql").verdict is Verdict.ALLOWED
    assert analyze_sql("CREATE INDEX IF NOT EXISTS i ON t (a);", file="a.sql").verdict is Verdict.ALLOWED
    assert analyze_sql("SELECT 1; DELETE FROM t; ANALYZE t;", file="a.sql").verdict is Verdict.FORBIDDEN


def test_analysis_lists_statements_operations_and_findings():
    analysis = analyze_sql("ANALYZE t;\nDELETE FROM t WHERE a = 1;", file="0004_x.sql")
    assert [(s.index, s.line, s.sql) for s in analysis.statements] == [(0, 1, "ANALYZE t"), (1, 2, "DELETE FROM t WHERE a = 1")]
    [finding] = analysis.blocking
    assert (finding.file, finding.line, finding.statement, finding.location) == (
        "0004_x.sql",
        2,
        "DELETE FROM t WHERE a = 1",
        "0004_x.sql:2",
    )
    assert str(finding).startswith("0004_x.sql:2: forbidden [ban-delete] DELETE FROM public.t")


def test_analyze_files_reads_paths_and_pairs(tmp_path):
    path = tmp_path / "0001_a.sql"
    path.write_text("ANALYZE t;\r\n", encoding="utf-8")
    first, second = analyze_files([path, ("0002_b.sql", "DROP TABLE t;")])
    assert (first.file, first.verdict) == (str(path), Verdict.ALLOWED)
    assert (second.file, second.verdict) == ("0002_b.sql", Verdict.FORBIDDEN)


def test_with_findings_merges_squawk_findings_and_applies_squawk_allow_comments():
    sql = "-- pgrunbook: allow squawk:renaming-table the app already uses the new name\nALTER TABLE a RENAME TO b; -- pgrunbook: allow review-rename same"
    analysis = analyze_sql(sql, file="m.sql")
    assert analysis.verdict is Verdict.ALLOWED  # squawk comments wait for squawk's findings
    extra = [
        Finding("squawk:renaming-table", Verdict.REVIEW, "Renaming a table may break clients", "", "m.sql", 2, ""),
        Finding("squawk:prefer-robust-stmts", Verdict.INFO, "Missing IF EXISTS", "", "m.sql", 2, ""),
    ]
    merged = with_findings(analysis, extra)
    assert merged.verdict is Verdict.ALLOWED
    assert {f.rule_id for f in merged.exceptions} == {"squawk:renaming-table", "review-rename"}
    unlifted = with_findings(analyze_sql("ALTER TABLE a RENAME TO b;", file="m.sql"), extra[:1])
    assert unlifted.rule_ids() == ("review-rename", "squawk:renaming-table")


def test_analyses_are_frozen_values():
    analysis = analyze_sql("ANALYZE t;", file="a.sql")
    with pytest.raises(AttributeError):
        analysis.verdict = Verdict.FORBIDDEN  # type: ignore[misc]
    assert analysis == analyze_sql("ANALYZE t;", file="a.sql")
