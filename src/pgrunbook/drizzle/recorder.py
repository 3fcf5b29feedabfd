"""The recorder: the only code that touches drizzle's tracking table.

A row of `drizzle.__drizzle_migrations (id serial, hash text, created_at bigint)` means:
the migration whose file hashes to `hash` has been applied to this database, and
`created_at` is that migration's journal `when` (ms), which is the number drizzle's own
migrator compares with the journal. `id` comes from the table's sequence and carries no
meaning (real databases hold ids like 0, 1, 283, 284): never insert an explicit id.

drizzle 1.0 (1.0.0-rc.5, `src/pg-core/async/session.ts`, `src/up-migrations/pg.ts`; Apache-2.0,
© Drizzle Team) adds two columns, creates a new table with them, and upgrades an old one in place:

    created_at bigint, name text, applied_at timestamp with time zone DEFAULT now()
    insert into ... ("hash", "created_at", "name") values(${migration.hash}, ${migration.folderMillis}, ${migration.name ?? null})
    ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${sql.identifier('name')} text
    UPDATE ${table} SET ${sql.identifier('name')} = ${name}, ${sql.identifier('applied_at')} = NULL WHERE ${sql.identifier('id')} = ${id}

and tells the two shapes apart by the `name` column alone (`GET_VERSION_FOR.pg`: `columns.includes('name')`).
The recorder does the same: it reads `name` when the table has it and writes the row in the
table's shape — with the name drizzle 1.0 looks for, else 1.0 would re-run the migration.

drizzle 1.0's upgrade of an old ledger is a step of pgrunbook's plan (`plan.upgrade`), run by the
executor through `add_v1_column` and `name_row` (each UPDATE guarded by the row as observed), the
statements `schedule` prints. `restore_v0_shape` undoes it for `rollback --indexes-only`: DROP COLUMN
of the two columns, only when they hold nothing but what the upgrade wrote (the only DROP on the
ledger, as `remove_rows` is the only DELETE).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..models import SequenceState
from .state import TrackingRow, UpgradeMatch

if TYPE_CHECKING:
    import psycopg


# drizzle-orm's own DDL (PgDialect.migrate), formatted with quoted identifiers.
TRACKING_DDL = "CREATE SCHEMA IF NOT EXISTS {schema};\nCREATE TABLE IF NOT EXISTS {schema}.{table} (\n\tid SERIAL PRIMARY KEY,\n\thash text NOT NULL,\n\tcreated_at bigint\n)"
# drizzle-orm 1.0's (pg-core migrate(), newDb).
TRACKING_DDL_V1 = ("CREATE SCHEMA IF NOT EXISTS {schema};\nCREATE TABLE IF NOT EXISTS {schema}.{table} (\n\tid SERIAL PRIMARY KEY,\n"
                   "\thash text NOT NULL,\n\tcreated_at bigint,\n\tname text,\n\tapplied_at timestamp with time zone DEFAULT now()\n)")


class Recorder:
    def __init__(self, conn: psycopg.Connection, schema: str = "drizzle", table: str = "__drizzle_migrations") -> None:
        from psycopg import sql

        self.conn = conn
        self.schema = schema
        self.table = table
        self._qualified = sql.Identifier(schema, table)

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.table}"

    def schema_exists(self) -> bool:
        return bool(self.conn.execute("SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = %s)", [self.schema]).fetchone()[0])

    def table_exists(self) -> bool:
        return self.conn.execute("SELECT to_regclass(%s) IS NOT NULL", [self._regclass()]).fetchone()[0]

    def ledger_version(self) -> int | None:
        """0 (drizzle 0.45's columns) or 1 (a `name` column, as drizzle 1.0 decides); None: no table."""
        if not self.table_exists():
            return None
        has_name = self.conn.execute(
            "SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attname = 'name' AND attnum > 0 "
            "AND NOT attisdropped)", [self._regclass()]).fetchone()[0]
        return 1 if has_name else 0

    def rows(self) -> list[TrackingRow] | None:
        """Every row ordered by id, in the table's shape, or None when the table does not exist."""
        from psycopg import sql

        version = self.ledger_version()
        if version is None:
            return None
        if version == 0:
            query = sql.SQL("SELECT id, hash, created_at FROM {} ORDER BY id").format(self._qualified)
            return [TrackingRow(int(i), str(h), None if c is None else int(c)) for i, h, c in self.conn.execute(query)]
        query = sql.SQL("SELECT id, hash, created_at, name FROM {} ORDER BY id").format(self._qualified)
        return [TrackingRow(int(i), str(h), None if c is None else int(c), n, v1=True) for i, h, c, n in self.conn.execute(query)]

    def sequence_state(self) -> SequenceState | None:
        from psycopg import sql

        if not self.table_exists():
            return None
        name = self.conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", [self._regclass()]).fetchone()[0]
        if name is None:
            return None
        max_id = self.conn.execute(sql.SQL("SELECT max(id) FROM {}").format(self._qualified)).fetchone()[0]
        if not self.conn.execute("SELECT has_sequence_privilege(%s, 'SELECT')", [name]).fetchone()[0]:
            return SequenceState(name, None, max_id)
        last_value, is_called = self.conn.execute(sql.SQL("SELECT last_value, is_called FROM {}").format(sql.SQL(name))).fetchone()
        return SequenceState(name, int(last_value) + 1 if is_called else int(last_value), max_id)

    def ensure_table(self, *, v1: bool = False) -> None:
        """Create drizzle's schema and table exactly as drizzle-orm's migrator does (idempotent); `v1`: 1.0's shape."""
        from psycopg import sql

        ddl = TRACKING_DDL_V1 if v1 else TRACKING_DDL
        self.conn.execute(sql.SQL(ddl).format(schema=sql.Identifier(self.schema), table=sql.Identifier(self.table)))

    def record(self, hash_: str, when: int, name: str | None = None) -> int:
        """Record one applied migration as drizzle does: `created_at` = its `when`, id from the sequence.

        In a 1.0 ledger the row gets `name` too (drizzle 1.0 finds applied migrations by name alone);
        `applied_at` is left to the column's default, as 1.0's own insert does. A 1.0 ledger and no
        name is refused: such a row would make drizzle 1.0 run the migration again.
        """
        from psycopg import sql

        from ..errors import CheckFailed

        if self.ledger_version() != 1:
            query = sql.SQL('INSERT INTO {} ("hash", "created_at") VALUES (%s, %s) RETURNING id').format(self._qualified)
            return int(self.conn.execute(query, [hash_, when]).fetchone()[0])
        if not name:
            raise CheckFailed(f"{self.qualified_name} is drizzle 1.0's ledger and the migration with hash {hash_[:12]}… has no "
                              "name to record: drizzle 1.0 would run it again", changed="nothing was recorded",
                              next_step="report this as a pgrunbook bug; run `inv verify` to see the ledger")
        query = sql.SQL('INSERT INTO {} ("hash", "created_at", "name") VALUES (%s, %s, %s) RETURNING id').format(self._qualified)
        return int(self.conn.execute(query, [hash_, when, name]).fetchone()[0])

    # drizzle 1.0's two ALTERs (`up-migrations/pg.ts`), in the order it runs them: the schedule prints these very texts.
    V1_COLUMNS = (("name", "text"), ("applied_at", "timestamp with time zone DEFAULT now()"))
    NAME_ROW = 'UPDATE {} SET "name" = %s, "applied_at" = NULL WHERE "id" = %s AND "hash" = %s AND "created_at" IS NOT DISTINCT FROM %s'

    def add_v1_column(self, column: str) -> None:
        """One of drizzle 1.0's ALTERs (`ADD COLUMN IF NOT EXISTS`), inside the caller's transaction."""
        from psycopg import sql

        kind = dict(self.V1_COLUMNS)[column]
        self.conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} " + kind).format(self._qualified, sql.Identifier(column)))

    def name_row(self, match: UpgradeMatch) -> bool:
        """drizzle 1.0's UPDATE of one old row, which must still hold the hash and created_at it was observed with.

        False: the row changed (or is gone) since it was observed; the caller rolls the upgrade back.
        """
        from psycopg import sql

        done = self.conn.execute(sql.SQL(self.NAME_ROW).format(self._qualified),
                                 [match.name, match.row.id, match.row.hash, match.row.created_at])
        return done.rowcount == 1

    def upgrade_to_v1(self, matches: tuple[UpgradeMatch, ...]) -> int:
        """drizzle 1.0's ledger upgrade, done by us: its two ALTERs, then one UPDATE per row, one transaction.

        `matches` come from `state.upgrade_matches` (drizzle's own naming rule, shown by analyze).
        Each UPDATE also requires the row's observed hash and created_at: a row changed since it was
        observed stops the whole upgrade (nothing changed) instead of naming the wrong migration.
        A row matching nothing is refused, as drizzle 1.0 throws on it. Returns the rows named.
        `inv migrate` runs the same statements as a unit of its schedule (`add_v1_column`, `name_row`).
        """
        from ..errors import CheckFailed

        unmatched = [str(m.row.id) for m in matches if m.name is None]
        if unmatched:
            raise CheckFailed(f"tracking row(s) {', '.join(unmatched)} of {self.qualified_name} match no migration folder: "
                              "drizzle 1.0's upgrade would throw on them", changed="nothing: the ledger was not upgraded",
                              next_step="restore the missing migration folders, then run `inv verify`")
        with self.conn.transaction():
            for column, _ in self.V1_COLUMNS:
                self.add_v1_column(column)
            for m in matches:
                if not self.name_row(m):
                    raise CheckFailed(f"tracking row {m.row.id} of {self.qualified_name} changed since it was observed",
                                      changed="nothing: the upgrade was rolled back",
                                      next_step="run `inv verify` and `inv analyze` again")
        return len(matches)

    def restore_v0_shape(self, named: dict[int, str]) -> str | None:
        """Undo this run's ledger upgrade (`rollback --indexes-only`): drop `name` and `applied_at` again, or say why not.

        `named` ({id: name}) is what the run's upgrade wrote (journal `LedgerUpgraded`). The columns
        go only if they hold nothing else: every row is one the upgrade named, with that name and
        `applied_at` NULL. A row written since in 1.0's shape (drizzle 1.0 ran, or another run) is
        data: the shape is kept and the reason returned. One transaction; None: restored.
        """
        from psycopg import sql

        if self.ledger_version() != 1:
            return None  # already 0.45's shape
        with self.conn.transaction():
            self.conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(self._qualified))
            rows = self.conn.execute(sql.SQL('SELECT id, name, applied_at IS NULL FROM {} ORDER BY id').format(self._qualified)).fetchall()
            other = [f"id {i}" + ("" if i in named else " (not named by this run's upgrade)")
                     for i, n, unset in rows if i not in named or named[i] != n or not unset]
            if other:
                return (f"row(s) {', '.join(other[:5])}{' …' if len(other) > 5 else ''} hold a name or applied_at this run's "
                        "upgrade did not write: the ledger keeps drizzle 1.0's shape (dropping the columns would lose them)")
            for column, _ in reversed(self.V1_COLUMNS):
                self.conn.execute(sql.SQL("ALTER TABLE {} DROP COLUMN IF EXISTS {}").format(self._qualified, sql.Identifier(column)))
        return None

    def _regclass(self) -> str:
        from psycopg import sql

        return sql.Identifier(self.schema, self.table).as_string(self.conn)

    def remove_rows(self, ids: list[int] | tuple[int, ...], *, hashes: dict[int, str] | None = None) -> list[int]:
        """Delete exactly the tracking rows `ids` (those a run recorded itself); returns the ids deleted.

        The only DELETE pgrunbook issues: for `inv rollback --indexes-only`, on rows whose ids the
        run journal recorded, after the plan was shown and confirmed. With `hashes` ({id: hash}),
        every row still present must carry the journaled hash, else nothing is deleted (the id
        was reused: the table was recreated). Ids already gone are skipped (idempotent). One
        transaction: all of them or none.
        """
        from psycopg import sql

        from ..errors import CheckFailed

        wanted = sorted({int(i) for i in ids})
        if not wanted or not self.table_exists():
            return []
        with self.conn.transaction():
            present = dict(self.conn.execute(
                sql.SQL("SELECT id, hash FROM {} WHERE id = ANY(%s) ORDER BY id FOR UPDATE").format(self._qualified), [wanted]).fetchall())
            if hashes is not None:
                wrong = [i for i, h in present.items() if i in hashes and hashes[i] != h]
                if wrong:
                    raise CheckFailed(
                        f"tracking row(s) {', '.join(map(str, wrong))} of {self.qualified_name} do not hold the migration the run journal recorded for them",
                        changed="nothing: no tracking row was deleted",
                        next_step="the tracking table changed since the run (recreated or edited): inspect it with `inv verify`")
            if not present:
                return []
            deleted = self.conn.execute(sql.SQL("DELETE FROM {} WHERE id = ANY(%s) RETURNING id").format(self._qualified),
                                        [sorted(present)]).fetchall()
        return sorted(int(r[0]) for r in deleted)
