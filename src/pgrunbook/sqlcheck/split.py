"""Migration text -> statements, each with its exact SQL and position in the file.

Drizzle's migrator splits a file on the literal text `--> statement-breakpoint` and sends
each chunk to the server as one query; a chunk may hold many statements (hand-written
files often have no breakpoint at all). We split the same way, then let PostgreSQL's own
parser (pglast) split each chunk into statements, so that a `;` inside a string, a
comment or a dollar-quoted body never ends a statement.

Positions are 1-based lines and columns in the original file after the UTF-8 BOM is
removed. CRLF line ends are turned into LF first: that changes no line number, and no
column either, since a CR only ever ends a line.
"""

from __future__ import annotations

import functools

import bisect
from dataclasses import dataclass, field

from pglast import ast, parser

from pgrunbook.errors import SqlParseError

BREAKPOINT = "--> statement-breakpoint"
BOM = "\ufeff"
COMMENT_TOKENS = frozenset({"SQL_COMMENT", "C_COMMENT"})
SEMICOLON = "ASCII_59"


def normalize(text: str) -> str:
    """Drop a leading UTF-8 BOM and turn CRLF (and lone CR) line ends into LF."""
    if text.startswith(BOM):
        text = text[len(BOM) :]
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True)
class Source:
    """A piece of SQL text and where it sits in the file, to turn offsets into positions.

    `first_line` and `first_column` are the file position of `text[0]`; a function body
    or a DO block body is a `Source` of its own, placed where its text starts in the file.
    """

    text: str
    first_line: int = 1
    first_column: int = 1
    _newlines: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        newlines = tuple(i for i, char in enumerate(self.text) if char == "\n")
        object.__setattr__(self, "_newlines", newlines)

    def line(self, offset: int) -> int:
        return self.first_line + bisect.bisect_left(self._newlines, offset)

    def position(self, offset: int) -> tuple[int, int]:
        """(line, column) in the file of `text[offset]` (1-based both)."""
        offset = max(0, min(offset, len(self.text)))
        before = bisect.bisect_left(self._newlines, offset)
        if before == 0:
            return self.first_line, self.first_column + offset
        return self.first_line + before, offset - self._newlines[before - 1]

    def sub(self, start: int, end: int | None = None) -> Source:
        """The `Source` of `text[start:end]`, placed where it is in the file."""
        line, column = self.position(start)
        return Source(self.text[start:end], line, column)


@dataclass(frozen=True)
class Comment:
    """A comment token of the file: `trailing` when code precedes it on its line."""

    text: str
    start: int
    line: int
    column: int
    trailing: bool


@dataclass(frozen=True)
class SqlStatement:
    """One statement: its text (without the final `;`), span and parse tree.

    `start`/`end` are offsets in the normalized file text. `source` is the chunk the
    statement came from, whose offsets are those of the parse tree's `location` fields.
    """

    index: int
    sql: str
    start: int
    end: int
    line: int
    column: int
    end_line: int
    node: ast.Node = field(compare=False, repr=False)
    source: Source = field(compare=False, repr=False)


@dataclass(frozen=True)
class SplitFile:
    text: str
    statements: tuple[SqlStatement, ...]
    comments: tuple[Comment, ...]


def split_sql(text: str, *, file: str) -> SplitFile:
    """Split a migration file into statements and comments; raise SqlParseError if it
    does not parse.

    Parsed once per (text, file) in a process: analyze and the gate read each file in up to four
    places (the plan's analysis, its lint, the compiled steps, the pre-flight checks); a 186-file
    folder was parsed four times. The result is immutable (frozen dataclasses; nothing writes to
    the parse trees), an error is not cached."""
    return _split_cached(text, file)


@functools.lru_cache(maxsize=2048)
def _split_cached(text: str, file: str) -> SplitFile:
    text = normalize(text)
    whole = Source(text)
    statements: list[SqlStatement] = []
    comments: list[Comment] = []
    last_code_line = 0  # line of the last code token seen, to tell trailing comments
    for chunk_start, chunk in _chunks(text):
        chunk_source = whole.sub(chunk_start, chunk_start + len(chunk))
        raw_statements = parse_chunk(chunk_source, file=file)
        tokens = parser.scan(chunk)
        code = [t for t in tokens if t.name not in COMMENT_TOKENS]
        for token in tokens:
            line, column = whole.position(chunk_start + token.start)
            if token.name in COMMENT_TOKENS:
                comments.append(
                    Comment(chunk[token.start : token.end + 1], chunk_start + token.start, line, column,
                            trailing=last_code_line == line)
                )
            else:
                last_code_line = whole.line(chunk_start + token.end)
        for raw in raw_statements:
            statement = _statement(raw, code, chunk, chunk_start, chunk_source, whole, len(statements))
            if statement is not None:
                statements.append(statement)
    return SplitFile(text, tuple(statements), tuple(comments))


def _chunks(text: str) -> list[tuple[int, str]]:
    """(offset, text) of each breakpoint-separated chunk, as drizzle's migrator cuts them."""
    chunks, offset = [], 0
    for chunk in text.split(BREAKPOINT):
        chunks.append((offset, chunk))
        offset += len(chunk) + len(BREAKPOINT)
    return chunks


def parse_chunk(source: Source, *, file: str) -> tuple[ast.RawStmt, ...]:
    """Parse SQL text, turning pglast's ParseError into SqlParseError at the file position."""
    try:
        return parser.parse_sql(source.text)
    except parser.ParseError as error:
        message, location = _error_parts(error)
        if location is None:  # "at end of input": point just after the last character
            location = len(source.text.rstrip())
        line, column = source.position(location)
        raise SqlParseError(message, file=file, line=line, column=column) from None


def _error_parts(error: parser.ParseError) -> tuple[str, int | None]:
    args = error.args
    message = str(args[0]) if args else str(error)
    location = args[1] if len(args) > 1 and isinstance(args[1], int) else None
    return message, location


def _statement(raw, code, chunk, chunk_start, chunk_source, whole, index) -> SqlStatement | None:
    begin = raw.stmt_location or 0
    end = begin + raw.stmt_len if raw.stmt_len else len(chunk)
    # The statement's own tokens: stmt_location/stmt_len may include leading comments or,
    # for the last statement of a chunk, trailing ones; the first and last code tokens do not.
    own = [t for t in code if begin <= t.start < end and t.name != SEMICOLON]
    if not own:
        return None
    start, stop = chunk_start + own[0].start, chunk_start + own[-1].end + 1
    line, column = whole.position(start)
    return SqlStatement(
        index=index,
        sql=whole.text[start:stop],
        start=start,
        end=stop,
        line=line,
        column=column,
        end_line=whole.line(stop - 1),
        node=raw.stmt,
        source=chunk_source,
    )
