"""The corpus: tricky migration files, each stating its expected outcome in a header.

Header (first line of the file, a SQL comment, so it cannot trigger anything itself):

    -- expect: <allowed|review|forbidden> [rule-id ...] [info:rule-id ...] [excepted:rule-id ...]
    -- expect: error <line>:<column>

The plain rule ids must be exactly the ids of the file's review and forbidden findings;
`info:` and `excepted:` ids must be among its info and excepted findings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from pgrunbook.errors import SqlParseError
from pgrunbook.sqlcheck import Verdict, analyze_files, analyze_sql
from pgrunbook.sqlcheck.split import normalize

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(CORPUS.glob("*.sql"))
HEADER = re.compile(r"--\s*expect:\s*(?P<spec>.*)")


@dataclass(frozen=True)
class Expectation:
    verdict: str
    blocking: frozenset[str]
    info: frozenset[str]
    excepted: frozenset[str]
    position: tuple[int, int] | None


def expectation(path: Path) -> Expectation:
    first_line = normalize(path.read_bytes().decode("utf-8")).split("\n", 1)[0]
    match = HEADER.fullmatch(first_line.strip())
    assert match, f"{path.name}: first line must be an `-- expect:` header"
    verdict, *items = match.group("spec").split()
    if verdict == "error":
        line, column = items[0].split(":")
        return Expectation(verdict, frozenset(), frozenset(), frozenset(), (int(line), int(column)))
    plain = frozenset(i for i in items if ":" not in i)
    info = frozenset(i.removeprefix("info:") for i in items if i.startswith("info:"))
    excepted = frozenset(i.removeprefix("excepted:") for i in items if i.startswith("excepted:"))
    return Expectation(verdict, plain, info, excepted, None)


def describe(analysis) -> str:
    return "\n".join(str(finding) for finding in analysis.findings) or "(no findings)"


def test_corpus_is_big_enough():
    assert len(FILES) >= 60


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_file(path: Path):
    expect = expectation(path)
    if expect.verdict == "error":
        with pytest.raises(SqlParseError) as error:
            analyze_files([path])
        assert (error.value.line, error.value.column) == expect.position, str(error.value)
        assert error.value.file == str(path)
        return
    (analysis,) = analyze_files([path])
    assert analysis.verdict == Verdict(expect.verdict), describe(analysis)
    assert set(analysis.rule_ids()) == expect.blocking, describe(analysis)
    assert expect.info <= set(analysis.rule_ids(Verdict.INFO)), describe(analysis)
    assert expect.excepted <= {f.rule_id for f in analysis.exceptions}, describe(analysis)


@pytest.mark.parametrize("path", [p for p in FILES if expectation(p).verdict != "error"], ids=lambda p: p.name)
def test_header_comment_changes_nothing(path: Path):
    text = normalize(path.read_bytes().decode("utf-8"))
    with_header = analyze_sql(text, file="f.sql")
    without_header = analyze_sql(text.split("\n", 1)[1], file="f.sql")
    assert [(f.rule_id, f.verdict) for f in with_header.findings] == [
        (f.rule_id, f.verdict) for f in without_header.findings
    ]
