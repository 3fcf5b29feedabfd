"""`--verify-restore`: restore the dump into a scratch database, compare counts, drop it.

The scratch database is created on the same server as the source, named unmistakably
`<db>_pgrunbook_verify_<YYYYmmddHHMMSS>_<random hex>` and commented with a token of this
run. `drop_scratch()` is the only DROP in the backup phase; it goes through
`owned.drop_owned()`, which refuses unless this process created the database, the name
matches the scratch pattern, it is not the source database, and the database still carries
this run's comment. The source database is never written to.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import NOTHING_CHANGED, RuntimeFailure, ToolError
from ..owned import OwnedDatabase, adopt, drop_owned
from ..pg import Tool, connect, restore_argv, run_restore
from .manifest import RestoreVerification

if TYPE_CHECKING:
    from ..config import DatabaseSettings

SCRATCH_MARK = "_pgrunbook_verify_"
_SCRATCH_RE = re.compile(r"^.{0,22}_pgrunbook_verify_\d{14}_[0-9a-f]{8}$")
_PREFIX_BYTES = 63 - len(SCRATCH_MARK) - 14 - 1 - 8  # identifiers are at most 63 bytes
Scratch = OwnedDatabase  # purpose "scratch"

def scratch_name(source: str, now: dt.datetime | None = None) -> str:
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d%H%M%S")
    prefix = source.encode()[:_PREFIX_BYTES].decode(errors="ignore")
    return f"{prefix}{SCRATCH_MARK}{stamp}_{secrets.token_hex(4)}"


def _admin(db: DatabaseSettings):  # noqa: ANN202
    return connect(db, autocommit=True, url=db.url.with_dbname("postgres"))


def create_scratch(db: DatabaseSettings) -> Scratch:
    from psycopg import errors, sql

    name = scratch_name(db.url.dbname)
    with _admin(db) as admin:
        try:
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
        except errors.InsufficientPrivilege:
            raise ToolError(f"--verify-restore: {db.url.user} may not create a scratch database on {db.url.host}", changed=NOTHING_CHANGED,
                            next_step="grant CREATEDB to this user, or run without --verify-restore (and test a restore elsewhere)") from None
        return adopt(admin, name, "scratch")


def drop_scratch(db: DatabaseSettings, scratch: Scratch, *, force: bool = False) -> None:
    """Drop a scratch database created by this run — and nothing else, ever.

    `force` ends sessions still on it (the rehearsal, after a Ctrl-C in the middle of a statement).
    """
    with _admin(db) as admin:
        drop_owned(admin, scratch, pattern=_SCRATCH_RE, protect=(db.url.dbname,), force=force)


def restore_into(db: DatabaseSettings, scratch: Scratch, dump: Path, fmt: str, *, pg_restore: Tool, psql: Tool | None, jobs: int) -> None:
    url = db.url.with_dbname(scratch.name)
    argv = restore_argv(fmt, url.without_password(), dump, pg_restore=pg_restore, psql=psql, jobs=jobs, no_owner=True, no_acl=True)
    run_restore(db, scratch.name, argv)


def count_scratch(db: DatabaseSettings, scratch: Scratch, tables: list[str], *, jobs: int = 1) -> dict[str, int | None]:
    """Exact counts in the scratch database, on `jobs` connections in parallel (largest tables first)."""
    import queue
    import threading

    from psycopg import errors, sql

    todo: queue.SimpleQueue[str] = queue.SimpleQueue()
    for label in tables:
        todo.put(label)
    counts: dict[str, int | None] = {}
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            with connect(db, url=db.url.with_dbname(scratch.name), autocommit=True) as conn:
                while True:
                    try:
                        label = todo.get_nowait()
                    except queue.Empty:
                        return
                    schema, _, name = label.partition(".")
                    try:
                        counts[label] = int(conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, name))).fetchone()[0])
                    except errors.UndefinedTable:
                        counts[label] = None
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            failures.append(exc)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, min(jobs, len(tables))))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return counts


def verify_restore(db: DatabaseSettings, dump: Path, fmt: str, expected: dict[str, int], *, pg_restore: Tool, psql: Tool | None,
                   jobs: int) -> RestoreVerification:
    started = time.monotonic()
    scratch = create_scratch(db)
    error = None
    mismatches: list[dict[str, object]] = []
    dropped = False
    restore_seconds = 0.0
    try:
        restore_started = time.monotonic()
        restore_into(db, scratch, dump, fmt, pg_restore=pg_restore, psql=psql, jobs=jobs)
        restore_seconds = time.monotonic() - restore_started
        restored = count_scratch(db, scratch, sorted(expected, key=lambda t: -expected[t]), jobs=jobs)
        mismatches = [{"table": t, "manifest": n, "restored": restored.get(t)} for t, n in sorted(expected.items()) if restored.get(t) != n]
    except (ToolError, RuntimeFailure) as exc:
        error = exc.what
    finally:
        try:
            drop_scratch(db, scratch)
            dropped = True
        except Exception as exc:  # noqa: BLE001 - report, never hide, a scratch database left behind
            error = (error + "; " if error else "") + f"the scratch database {scratch.name} could not be dropped ({exc}): drop it by hand"
    return RestoreVerification(ok=error is None and not mismatches, database=scratch.name, dropped=dropped, tables_compared=len(expected),
                               mismatches=tuple(mismatches), jobs=jobs, seconds=round(time.monotonic() - started, 2),
                               restore_seconds=round(restore_seconds, 2), error=error)
