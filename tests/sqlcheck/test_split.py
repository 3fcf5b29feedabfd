from __future__ import annotations

import pytest

from pgrunbook.errors import SqlParseError
from pgrunbook.sqlcheck import analyze_files
from pgrunbook.sqlcheck.split import Source, normalize, split_sql


def statements(text: str) -> list[tuple[int, int, str]]:
    return [(s.line, s.column, s.sql) for s in split_sql(text, file="f.sql").statements]


def test_breakpoints_and_several_statements_per_chunk():
    text = (
        'CREATE INDEX IF NOT EXISTS "a" ON "t" ("x");--> statement-breakpoint\n'
        "ANALYZE t; ANALYZE u;\n"
        "--> statement-breakpoint\n"
        "\n"
        "  SELECT 1;\n"
    )
    assert statements(text) == [
        (1, 1, 'CREATE INDEX IF NOT EXISTS "a" ON "t" ("x")'),
        (2, 1, "ANALYZE t"),
        (2, 12, "ANALYZE u"),
        (5, 3, "SELECT 1"),
    ]


def test_statement_text_excludes_surrounding_comments_and_semicolon():
    text = "-- leading\n/* block */ DELETE FROM users -- trailing\n;\n-- after"
    [(line, column, sql)] = statements(text)
    assert (line, column, sql) == (2, 13, "DELETE FROM users")


def test_semicolons_inside_strings_comments_and_bodies_do_not_split():
    text = "SELECT 'a;b'; DO $$ BEGIN RAISE NOTICE ';'; END $$; SELECT \"x;y\" FROM t /* ; */;"
    assert [sql for _, _, sql in statements(text)] == [
        "SELECT 'a;b'",
        "DO $$ BEGIN RAISE NOTICE ';'; END $$",
        'SELECT "x;y" FROM t',
    ]


def test_a_file_without_breakpoints_holds_many_statements():
    text = "\n".join(f"ANALYZE t{i};" for i in range(30))
    found = statements(text)
    assert len(found) == 30
    assert found[29] == (30, 1, "ANALYZE t29")


def test_empty_and_comment_only_chunks_have_no_statements():
    text = "--> statement-breakpoint\n-- nothing\n--> statement-breakpoint\n/* still nothing */"
    assert statements(text) == []


def test_bom_is_removed_and_positions_count_from_after_it():
    assert statements("\ufeffANALYZE users;\nANALYZE t;") == [(1, 1, "ANALYZE users"), (2, 1, "ANALYZE t")]


def test_crlf_line_ends_keep_lines_and_columns():
    text = "ANALYZE a;\r\n\r\n  ANALYZE b;\r\n"
    assert statements(text) == [(1, 1, "ANALYZE a"), (3, 3, "ANALYZE b")]
    assert normalize("a\r\nb\rc") == "a\nb\nc"


def test_comments_are_found_by_the_scanner_not_in_strings():
    split = split_sql("SELECT '-- not a comment'; -- a comment\n/* b */ ANALYZE t;", file="f.sql")
    assert [(c.text, c.line, c.column, c.trailing) for c in split.comments] == [
        ("-- a comment", 1, 28, True),
        ("/* b */", 2, 1, False),
    ]


def test_source_positions_of_a_nested_text():
    source = Source("ab\ncd\nef", first_line=10, first_column=5)
    assert source.position(0) == (10, 5)
    assert source.position(4) == (11, 2)
    assert source.sub(3).position(3) == (12, 1)


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("SELEC 1;", 1, 1),
        ("ANALYZE t;\n  DELET FROM t;", 2, 3),
        ("ANALYZE t;\n--> statement-breakpoint\nANALYZE u;\nSELECT (1;", 4, 10),
        ("ANALYZE t;\nSELECT (1", 2, 10),  # "at end of input": just after the last character
        ("\ufeffANALYZE t;\r\nSELECT 'x", 2, 8),
        ("SELECT 'é', 'ü' FRM t;", 1, 21),  # columns count characters, not bytes
    ],
)
def test_parse_errors_name_file_line_and_column(text, line, column):
    with pytest.raises(SqlParseError) as error:
        split_sql(text, file="0003_x.sql")
    assert (error.value.file, error.value.line, error.value.column) == ("0003_x.sql", line, column)
    assert str(error.value).startswith(f"0003_x.sql:{line}:{column}: ")


def test_parse_error_inside_a_function_body_points_into_the_file():
    text = "ANALYZE t;\nCREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$\n  SELECT 1;\n  DELET FROM t;\n$$;"
    with pytest.raises(SqlParseError) as error:
        analyze_files([("f.sql", text)])
    assert (error.value.line, error.value.column) == (4, 3)


def test_a_file_that_is_not_utf8_is_a_parse_error(tmp_path):
    path = tmp_path / "0001_latin1.sql"
    path.write_bytes("ANALYZE t;\nSELECT 'caf\xe9';".encode("latin-1"))
    with pytest.raises(SqlParseError) as error:
        analyze_files([path])
    assert (error.value.line, error.value.column) == (2, 12)
