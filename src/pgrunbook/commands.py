"""Service functions: one per task, called by tasks.py through `cli`.

Each observes, plans, acts, then observes again; none prints. They take a loaded
`Config` and an `emit` callback, and return a result object the console renders.
"""

from __future__ import annotations

from .config import Config
from .drizzle import load_migrations, reconcile
from .events import Emit, Event, discard
from .verify import VerifyReport, evaluate


def verify(cfg: Config, emit: Emit = discard) -> VerifyReport:
    """Phase 1: read-only facts, checked against the playbook's expectations."""
    from .facts import gather
    from .pg import connect, locate_tool, read_only

    inv, exp = cfg.inventory, cfg.playbook.expectations
    emit(Event("verify", "step", f"reading the drizzle journal in {inv.migrations.dir}"))
    local = load_migrations(inv.migrations.dir)
    tools = tuple(locate_tool(name, inv.tools.bin_dir) for name in ("pg_dump", "pg_restore"))
    emit(Event("verify", "step", f"connecting to {inv.database.url} (READ ONLY)"))
    with connect(inv.database) as conn, read_only(conn):
        facts = gather(conn, exp, inv.migrations)
    state = reconcile(local, None if facts.tracking_rows is None else list(facts.tracking_rows))
    target = {"inventory": inv.name, "url": str(inv.database.url), "database": inv.database.dbname, "sandbox": inv.sandbox}
    return VerifyReport(target, facts, local, state, tools, exp, evaluate(facts, local, state, tools, exp))


def backup(cfg: Config, emit: Emit = discard, *, format: str | None = None, verify_restore: bool | None = None, jobs: int | None = None):  # noqa: A002
    """Phase 2: dump + integrity + manifest + verified copies (+ restore test). Returns a `BackupResult`."""
    from .backup import BackupOptions, run_backup

    return run_backup(cfg, emit, BackupOptions(format=format, verify_restore=verify_restore, jobs=jobs))


def backup_list(cfg: Config) -> list[dict]:
    """Every backup in backup.dir, newest first (age, size, copies, verified)."""
    from .backup import backup_rows

    return backup_rows(cfg)


def backup_verify(cfg: Config, ref: str, emit: Emit = discard):
    """Re-check a backup's primary dump and every copy's checksum now; returns a `BackupResult`."""
    from .backup import verify_backup

    return verify_backup(cfg, ref, emit)
