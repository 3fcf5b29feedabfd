"""The printed plan is the SQL that runs: what the server receives from the executor, statement
for statement and byte for byte, is what `inv analyze --sql` (= `inv migrate --dry-run`) prints.

Recording. The executor's own connection (opened by `pg.connect`, the plan observed on it in
a READ ONLY transaction first, the run lock taken: as `commands.migrate` does) gets a cursor
factory that records every query at `Cursor.execute`, as psycopg converts it for libpq
(what `_maybe_prepare_gen` hands libpq: the exact text and the parameters). Commands
psycopg sends on its own (`conn.transaction()`'s BEGIN / COMMIT, which bypass `execute`) are
recorded too: none may be a transaction boundary (the executor sends its own), the only one
allowed is psycopg's DEALLOCATE ALL (its prepared-statement cache upkeep after DDL).

Comparison. The received queries and the printed script are both split into statements by
PostgreSQL's parser (`split_sql`, where the executor's steps come from), which drops comments
and the final `;`. Left out on the received side: the executor's probes, the SELECTs that
call no function with an effect (session settings, the run lock, indexes, the tracking rows
read back); the plans here hold no SELECT of their own, so none of theirs is left out. The
tracking rows `Recorder.record` sends with parameters (`VALUES ($1, $2) RETURNING id`) are
compared in their rendered form: the parameters written as literals by psycopg's own
client-side binding (`ClientCursor.mogrify`), and without `RETURNING id`, which reads the new
id back and writes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from pglast import ast
from pglast.visitors import Visitor

from pgrunbook import commands
from pgrunbook.config import load_config
from pgrunbook.drizzle.recorder import Recorder
from pgrunbook.executor import Executor
from pgrunbook.pg import connect, read_only
from pgrunbook.planning import existing_tables, observe_and_plan
from pgrunbook.sqlcheck.split import split_sql

pytestmark = pytest.mark.integration
INDEXES = "0011_add_performance_indexes"
RETURNING = " RETURNING id"
# Functions a SELECT may call to change something: such a SELECT is never a probe.
EFFECTS = frozenset({"set_config", "nextval", "setval", "pg_advisory_lock", "pg_try_advisory_lock", "pg_advisory_unlock",
                     "pg_advisory_unlock_all", "pg_advisory_xact_lock", "pg_try_advisory_xact_lock", "pg_notify",
                     "pg_stat_force_next_flush", "pg_cancel_backend", "pg_terminate_backend"})


@dataclass(frozen=True)
class Sent:
    query: str  # the text libpq received ($n placeholders)
    params: tuple | None
    rendered: str  # parameters written as literals
    by_psycopg: bool = False  # a command psycopg sent on its own, not through execute


def record(conn) -> list[Sent]:
    """From now on, everything `conn` sends, in order."""
    import psycopg

    tape: list[Sent] = []

    class RecordingCursor(psycopg.Cursor):
        def execute(self, query, params=None, **kwargs):  # noqa: ANN001, ANN003, ANN201
            self._given = (query, params)
            return super().execute(query, params, **kwargs)

        def _maybe_prepare_gen(self, pgq, **kwargs):  # noqa: ANN001, ANN003, ANN202
            # `pgq`: the query as converted for libpq, which this sends (prepared or not)
            query, params = self._given
            rendered = psycopg.ClientCursor(self.connection).mogrify(query, params) if params is not None else pgq.query.decode()
            tape.append(Sent(pgq.query.decode(), None if params is None else tuple(params), rendered))
            return super()._maybe_prepare_gen(pgq, **kwargs)

    own = conn._exec_command

    def exec_command(command, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        text = command.decode() if isinstance(command, bytes) else command.as_string(conn)
        tape.append(Sent(text, None, text, by_psycopg=True))
        return own(command, *args, **kwargs)

    conn.cursor_factory = RecordingCursor
    conn._exec_command = exec_command
    return tape


def called(node: ast.Node) -> set[str]:
    names: set[str] = set()

    class Calls(Visitor):
        def visit_FuncCall(self, ancestors, call):  # noqa: ANN001, ANN201, N802
            names.add(call.funcname[-1].sval)

    Calls()(node)
    return names


def is_probe(statement) -> bool:  # noqa: ANN001
    node = statement.node
    return (isinstance(node, ast.SelectStmt) and node.intoClause is None and not node.lockingClause
            and not called(node) & EFFECTS)


def received_statements(tape: list[Sent]) -> list[str]:
    # psycopg's only command of its own may be its prepared-statement cache upkeep after DDL
    # (the probes repeat, so psycopg prepares them): it touches no data and no setting
    assert {s.query for s in tape if s.by_psycopg} <= {"DEALLOCATE ALL"}, "psycopg sent a command the executor did not"
    out = []
    for sent in (s for s in tape if not s.by_psycopg):
        for statement in split_sql(sent.rendered, file="received").statements:
            if is_probe(statement):
                continue
            text = statement.sql
            if isinstance(statement.node, ast.InsertStmt) and statement.node.relation.relname == "__drizzle_migrations":
                assert sent.params is not None and text.endswith(RETURNING), sent
                text = text.removesuffix(RETURNING)
            out.append(text)
    return out


def printed_statements(sql: str) -> list[str]:
    return [s.sql for s in split_sql(sql, file="--sql").statements]


def run_and_compare(db, *, online: bool = False, single_transaction: bool = False) -> list[str]:
    """Print the plan (`--sql`), run it, and compare; returns the statements (as printed)."""
    cfg = load_config(db.inventory())
    printed = printed_statements(commands.analyze(cfg, online=online, single_transaction=single_transaction, squawk=False).sql)
    inv = cfg.inventory
    with connect(inv.database, autocommit=True) as conn:
        executor = Executor(conn, Recorder(conn, inv.migrations.tracking_schema, inv.migrations.tracking_table), cfg.playbook.migrate)
        executor.acquire_lock()
        with read_only(conn):
            seen = observe_and_plan(conn, cfg)
        tape = record(conn)
        try:
            executor.run(seen.plan, seen.local, online=online, single_transaction=single_transaction,
                         existing_tables=existing_tables(seen.facts))
            sent = list(tape)  # the run's; releasing the lock afterwards is not part of the plan
        finally:
            executor.release_lock()
    received = received_statements(sent)
    assert len(received) == len(printed) and received == printed, first_difference(received, printed)
    return printed


def first_difference(received: list[str], printed: list[str]) -> str:
    for number, (got, shown) in enumerate(zip(received, printed), 1):
        if got != shown:
            return f"statement {number}: the server received\n{got!r}\nthe plan printed\n{shown!r}"
    return f"the server received {len(received)} statements, the plan printed {len(printed)}"


def counts(statements: list[str]) -> dict[str, int]:
    return {word: sum(s.startswith(word) for s in statements)
            for word in ("BEGIN", "COMMIT", "SET LOCAL", "SET statement_timeout", "INSERT INTO", "CREATE INDEX CONCURRENTLY")}


def test_legacy_baseline_then_the_index_migration(app_db):
    statements = run_and_compare(app_db("legacy"))
    assert counts(statements) == {"BEGIN": 2, "COMMIT": 2, "SET LOCAL": 4, "SET statement_timeout": 1, "INSERT INTO": 12,
                                  "CREATE INDEX CONCURRENTLY": 0}
    assert statements[0].startswith("SELECT set_config('standard_conforming_strings', 'on', false)")
    assert statements[7] == 'CREATE SCHEMA IF NOT EXISTS "drizzle"' and statements[8].startswith("CREATE TABLE IF NOT EXISTS")


def test_online_builds_concurrently_each_under_its_own_bound(app_db):
    statements = run_and_compare(app_db("tracked"), online=True)
    assert counts(statements) == {"BEGIN": 1, "COMMIT": 1, "SET LOCAL": 2, "SET statement_timeout": 1 + 2 * 43, "INSERT INTO": 1,
                                  "CREATE INDEX CONCURRENTLY": 43}


def test_per_migration_transactions_around_autocommit_statements(app_db):
    db = app_db("tracked")
    add_migration(db, "0012_nickname", 1900000000000,
                  'ALTER TABLE "users" ADD COLUMN "nickname" text;',
                  'CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_users_nickname" ON "users" ("nickname");',
                  "COMMENT ON COLUMN \"users\".\"nickname\" IS 'shown; not unique';")
    add_migration(db, "0013_notes", 1900000000001,
                  'CREATE TABLE "notes" (\n\t"id" serial PRIMARY KEY, -- a comment; with a semicolon\n\t"body" text\n);',
                  'VACUUM "notes";')
    statements = run_and_compare(db)
    # 0011: one transaction; 0012: transaction, autocommit build, transaction with its row; 0013: transaction, VACUUM, its row alone
    assert counts(statements) == {"BEGIN": 5, "COMMIT": 5, "SET LOCAL": 10, "SET statement_timeout": 3, "INSERT INTO": 3,
                                  "CREATE INDEX CONCURRENTLY": 1}
    assert statements[-6:] == ['VACUUM "notes"', "BEGIN READ WRITE", "SET LOCAL lock_timeout = '5s'", "SET LOCAL statement_timeout = '30min'",
                               statements[-2], "COMMIT"] and statements[-2].startswith("INSERT INTO")


def test_single_transaction_with_a_baseline(app_db):
    statements = run_and_compare(app_db("legacy"), single_transaction=True)
    assert counts(statements) == {"BEGIN": 1, "COMMIT": 1, "SET LOCAL": 2, "SET statement_timeout": 1, "INSERT INTO": 12,
                                  "CREATE INDEX CONCURRENTLY": 0}
    assert statements[-1] == "COMMIT" and statements[-2].startswith("INSERT INTO")


def add_migration(db, tag: str, when: int, *statements: str) -> None:
    journal = db.drizzle_dir / "meta" / "_journal.json"
    data = json.loads(journal.read_text())
    data["entries"].append({"idx": len(data["entries"]), "version": "7", "when": when, "tag": tag, "breakpoints": True})
    journal.write_text(json.dumps(data))
    (db.drizzle_dir / f"{tag}.sql").write_text("\n--> statement-breakpoint\n".join(statements) + "\n")
