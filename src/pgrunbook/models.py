"""What the pure core decides on: the observed database and the client tools, as frozen values.

The adapters fill these in (`facts`, `evidence`, `pg`, `drizzle.recorder`) and re-export
them; the decision modules (`verify`, `analyze`, `gate`, `validate`) import them from here,
so they load no driver, no subprocess and no network client. Nothing here does I/O, and a
test (tests/unit/test_pure_imports.py) keeps it so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: importing this module loads nothing else of pgrunbook
    from .drizzle.state import TrackingRow
    from .sqlcheck.model import CreatedObject

# --------------------------------------------------------------------------- phase-1 facts


@dataclass(frozen=True)
class ServerFacts:
    version: str  # "PostgreSQL 18.6 on x86_64..."
    version_num: int  # 180006
    database: str
    user: str
    superuser: bool
    createdb: bool
    can_create_in_public: bool
    can_create_in_database: bool  # CREATE on the database: a new schema (drizzle's, scenario B)


@dataclass(frozen=True)
class TableFacts:
    name: str
    columns: int
    rows_estimate: int  # pg_class.reltuples (-1 = never analyzed)
    total_bytes: int
    schema: str = "public"  # other schemas only when the playbook names a table there (`auth.users`)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def label(self) -> str:
        """As a playbook names it: `users` in public, `auth.users` elsewhere."""
        return self.name if self.schema == "public" else self.qualified


@dataclass(frozen=True)
class IndexFacts:
    name: str
    table: str
    valid: bool


@dataclass(frozen=True)
class RoleCounts:
    table: str
    column: str | None  # None: the app has no role column; by_role is then one group of all rows
    by_role: dict[str, int] | None  # None: the table or column does not exist
    problem: str = ""

    @property
    def total(self) -> int | None:
        return None if self.by_role is None else sum(self.by_role.values())


@dataclass(frozen=True)
class SettingOverride:
    """An ALTER DATABASE / ALTER ROLE ... SET of a setting pgrunbook pins or checks (pg_db_role_setting)."""

    name: str
    value: str
    database: str | None  # None: every database
    role: str | None  # None: every role
    applies_to_us: bool  # this database, and our login role or every role

    @property
    def scope(self) -> str:
        on_db = f"database {self.database}" if self.database else "every database"
        return f"{on_db}, role {self.role}" if self.role else on_db


@dataclass(frozen=True)
class SequenceState:
    """The tracking table's id sequence: where it stands against the ids already taken."""

    name: str
    next_value: int | None  # None: this role may not read the sequence
    max_id: int | None

    @property
    def behind(self) -> bool:
        """The next insert would take an id that already exists."""
        return self.max_id is not None and self.next_value is not None and self.next_value <= self.max_id


@dataclass(frozen=True)
class Facts:
    server: ServerFacts
    roles: RoleCounts
    tables: tuple[TableFacts, ...]
    indexes_total: int
    performance_indexes: tuple[IndexFacts, ...]
    drizzle_schema: bool
    tracking_rows: tuple[TrackingRow, ...] | None  # None: no tracking table
    sequence: SequenceState | None
    setting_overrides: tuple[SettingOverride, ...] = ()

    def table(self, name: str) -> TableFacts | None:
        return next((t for t in self.tables if t.name == name), None)


# --------------------------------------------------------------------------- gate inputs


@dataclass(frozen=True)
class Privileges:
    """What the login role may do for the migration (`facts.privileges`); its rights over the database itself, for a
    full rollback, are `DatabaseRights`."""

    user: str
    superuser: bool
    createdb: bool
    create_on_database: bool  # needed for CREATE SCHEMA drizzle (scenario B)
    create_on_public: bool
    unowned_tables: tuple[str, ...]  # tables to index we do not own (CREATE INDEX needs ownership)


@dataclass(frozen=True)
class DatabaseRights:
    """What the login role may do to the database itself, for a full rollback (`rollback.dbops.privileges`):
    create one beside it, rename it and block its connections, end other roles' sessions."""

    user: str
    superuser: bool
    createdb: bool
    owner: bool  # owns the target database (or is a member of its owner)
    db_owner: str
    can_signal: bool  # pg_signal_backend or superuser: may terminate other roles' sessions

    def full_missing(self) -> list[str]:
        missing = []
        if not (self.superuser or self.createdb):
            missing.append("CREATEDB (to restore into a new database)")
        if not (self.superuser or self.owner):
            missing.append(f"ownership of the database (it belongs to {self.db_owner}; to rename it and block connections)")
        return missing


@dataclass(frozen=True)
class Activity:
    lock_holder: str | None  # another pgrunbook run holding the advisory lock
    long_transactions: tuple[str, ...]  # "pid 123 (idle in transaction for 300s: ...)"
    lock_holders_on_targets: tuple[str, ...]


@dataclass(frozen=True)
class Evidence:
    """Which objects a baseline claims exist were found in the database (`evidence.check_objects`)."""

    checked: tuple[CreatedObject, ...]
    missing: tuple[CreatedObject, ...]  # named in the SQL: the baseline is refused
    missing_implicit: tuple[CreatedObject, ...]  # names PostgreSQL chose: a warning
    unverifiable: tuple[CreatedObject, ...]  # kinds we cannot look up

    @property
    def ok(self) -> bool:
        return not self.missing


# --------------------------------------------------------------------------- client tools


@dataclass(frozen=True)
class Tool:
    name: str
    path: Path
    version: str  # "18.6"

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])


def server_major(version_num: int) -> int:
    """`server_version_num` 180006 -> 18; 90624 -> 9."""
    return version_num // 10000


def restore_problem(pg_restore_major: int, server_major: int, dump_major: int | None = None) -> str | None:
    """Why this pg_restore cannot restore a backup into this server, or None."""
    if pg_restore_major >= 17 and server_major <= 16:
        return (f"pg_restore {pg_restore_major} emits SET transaction_timeout, which PostgreSQL {server_major} rejects: "
                "every restore (full rollback, restore test, rehearsal) would fail")
    if dump_major is not None and pg_restore_major < dump_major:
        return f"the backup was written by pg_dump {dump_major}; pg_restore {pg_restore_major} cannot read its archive"
    return None
