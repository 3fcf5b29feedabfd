"""Inline reviewed exceptions: `-- pgrunbook: allow <rule-id> <reason>`.

A human who reviewed a statement can except it from one rule with a comment:

    -- pgrunbook: allow review-create-table new table for the bonus feature, reviewed by JD
    CREATE TABLE bonus (...);

    CREATE TABLE bonus (...);  -- pgrunbook: allow review-create-table reviewed by JD

Placement: a comment that has code before it on its line applies to the statement that
code belongs to; a comment on its own line applies to the next statement (or to the
statement it sits inside, for a comment in the middle of a multi-line statement). Several
rule ids may be given, separated by commas. `/* ... */` comments work the same way.

The reason is mandatory. Comments inside a dollar-quoted body (DO, functions) are part of
a string, not comments: put the allow comment before the statement.

Comments are not in the parse tree, so this is the one place the raw text is read, and
only the comment tokens that PostgreSQL's scanner reports: `--` inside a string or an
identifier is not a comment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .split import Comment, SqlStatement

_ALLOW = re.compile(r"pgrunbook:\s*allow\b(?P<rest>.*)", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class AllowComment:
    """One rule exception written in the file. `statement` is the index of the statement
    it applies to (None when no statement follows it). `reason` is "" when missing."""

    rule_id: str
    reason: str
    line: int
    statement: int | None
    text: str


def allow_comments(comments: tuple[Comment, ...], statements: tuple[SqlStatement, ...]) -> list[AllowComment]:
    found = []
    for comment in comments:
        match = _ALLOW.search(_body(comment.text))
        if match is None:
            continue
        rule_ids, reason = _parse(match.group("rest"))
        target = _target(comment, statements)
        for rule_id in rule_ids or [""]:
            found.append(AllowComment(rule_id, reason, comment.line, target, comment.text.strip()))
    return found


def _body(text: str) -> str:
    if text.startswith("--"):
        return text[2:]
    return text.removeprefix("/*").removesuffix("*/")


def _parse(rest: str) -> tuple[list[str], str]:
    """`ban-drop,review-rename  the reason` -> (["ban-drop", "review-rename"], "the reason")."""
    rest = " ".join(rest.split())
    head, _, reason = rest.partition(" ")
    rule_ids = [rule_id for rule_id in head.split(",") if rule_id]
    return rule_ids, reason.strip()


def _target(comment: Comment, statements: tuple[SqlStatement, ...]) -> int | None:
    before = [s for s in statements if s.start < comment.start]
    if before and (comment.trailing or comment.start < before[-1].end):
        return before[-1].index  # code on the comment's line, or the comment inside it
    after = [s for s in statements if s.start > comment.start]
    return after[0].index if after else None
