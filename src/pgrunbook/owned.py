"""Databases this process created, and the only way pgrunbook ever drops a database.

The backup's restore test and the rollback's restore both create a database, restore into
it, and may have to drop it again. `adopt()` registers a database right after its CREATE:
a random token kept in this process and written into the database's comment.
`drop_owned()` refuses unless every guard holds — the token is this process's, the name
matches the caller's pattern, it is none of the protected names (the target, the kept
database), and the database still carries the token in its comment — so no code path can
turn it against a database pgrunbook did not create in this very run. `release()` forgets a
database that must never be dropped from now on (a restored database that became `<db>`).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import RuntimeFailure

if TYPE_CHECKING:
    import psycopg

_CREATED: dict[str, str] = {}  # name -> token, for the databases this process created


@dataclass(frozen=True)
class OwnedDatabase:
    name: str
    token: str
    purpose: str  # "scratch" (restore test) or "rollback restore"

    @property
    def comment(self) -> str:
        return f"pgrunbook {self.purpose} {self.token}"


def adopt(conn: psycopg.Connection, name: str, purpose: str) -> OwnedDatabase:
    """Call right after `CREATE DATABASE name`: mark it as this run's."""
    from psycopg import sql

    owned = OwnedDatabase(name, secrets.token_hex(16), purpose)
    _CREATED[name] = owned.token
    conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(owned.comment)))
    return owned


def drop_owned(conn: psycopg.Connection, owned: OwnedDatabase, *, pattern: re.Pattern[str], protect: Iterable[str | None],
               force: bool = False) -> None:
    """DROP DATABASE `owned` — only if this run created it and it is still the same database."""
    from psycopg import sql

    name = owned.name
    if _CREATED.get(name) != owned.token or not pattern.match(name) or name in set(protect):
        raise RuntimeFailure(f"refusing to drop {name!r}: it is not a {owned.purpose} database this run created", changed=f"{name!r} was not dropped")
    row = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name]).fetchone()
    if row is None:  # already gone
        _CREATED.pop(name, None)
        return
    if row[0] != owned.comment:
        raise RuntimeFailure(f"refusing to drop {name!r}: its comment is not this run's token", changed=f"{name!r} was not dropped")
    statement = "DROP DATABASE {} WITH (FORCE)" if force else "DROP DATABASE {}"
    conn.execute(sql.SQL(statement).format(sql.Identifier(name)))
    _CREATED.pop(name, None)


def readopt(conn: psycopg.Connection, name: str, token: str, purpose: str) -> OwnedDatabase | None:
    """A database an interrupted run created (its token is in that run's journal), if it is still
    that very database (its comment carries the token): ours again to drop. Else None."""
    owned = OwnedDatabase(name, token, purpose)
    row = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name]).fetchone()
    if row is None or row[0] != owned.comment:
        return None
    _CREATED[name] = token
    return owned


def release(owned: OwnedDatabase) -> None:
    """From now on `owned` is not ours to drop (after the swap it serves the app as `<db>`)."""
    _CREATED.pop(owned.name, None)
