"""The names PostgreSQL gives to objects the SQL does not name.

`CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE)` creates `users_pkey`,
`users_email_key` and `users_id_seq`. The post-migration checks look these up by name, so
we compute them the way PostgreSQL does (`makeObjectName` and friends in
src/backend/commands/indexcmds.c): names are cut to fit 63 bytes, the longer part first.
PostgreSQL appends a number when the name is already taken; we cannot know that without
the database, which is why such objects are marked `implicit`.
"""

from __future__ import annotations

from collections.abc import Sequence

NAMEDATALEN = 64  # PostgreSQL's compile-time limit: names hold at most 63 bytes


def truncate_identifier(name: str) -> str:
    """Cut a name to 63 bytes without splitting a UTF-8 character, as the server does."""
    return _clip(name, NAMEDATALEN - 1)


def make_object_name(name1: str, name2: str | None, label: str | None) -> str:
    """PostgreSQL's makeObjectName: `name1_name2_label`, each part shortened to fit."""
    overhead = (len(label.encode()) + 1 if label else 0) + (1 if name2 else 0)
    available = NAMEDATALEN - 1 - overhead
    chars1, chars2 = len(name1.encode()), len(name2.encode()) if name2 else 0
    while chars1 + chars2 > available:
        # Shorten the longer part first, as PostgreSQL does, so both stay recognisable.
        if chars1 > chars2:
            chars1 -= 1
        else:
            chars2 -= 1
    parts = [_clip(name1, chars1)]
    if name2:
        parts.append(_clip(name2, chars2))
    if label:
        parts.append(label)
    return "_".join(parts)


def column_addition(columns: Sequence[str]) -> str:
    """PostgreSQL's ChooseIndexNameAddition: column names joined by `_`, capped in length."""
    joined = ""
    for column in columns:
        joined = f"{joined}_{column}" if joined else column
        if len(joined.encode()) >= NAMEDATALEN:
            break
    return _clip(joined, NAMEDATALEN - 1)


def index_name(table: str, columns: Sequence[str], *, label: str = "idx") -> str:
    """Name of an unnamed index (`idx`), unique constraint (`key`) or primary key (`pkey`)."""
    if label == "pkey":
        return make_object_name(table, None, "pkey")
    return make_object_name(table, column_addition(columns) or None, label)


def constraint_name(table: str, columns: Sequence[str], label: str) -> str:
    """Name of an unnamed `fkey`, `check`, `key`, `excl` or `pkey` constraint."""
    if label == "pkey":
        return make_object_name(table, None, "pkey")
    return make_object_name(table, column_addition(columns) or None, label)


def sequence_name(table: str, column: str) -> str:
    """The sequence behind a `serial` or identity column."""
    return make_object_name(table, column, "seq")


def _clip(name: str, max_bytes: int) -> str:
    return name.encode()[:max_bytes].decode(errors="ignore")
