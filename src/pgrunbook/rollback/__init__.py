"""The seed's "Plan de Rollback", made safe: full restore, and index-only rollback.

    full_rollback(cfg, emit, *, backup_ref=None, in_place=False, run=None, yes=False, confirm=None,
                  dry_run=False, online=False) -> RollbackResult
    indexes_only_rollback(cfg, emit, *, run, yes=False, confirm=None, dry_run=False) -> RollbackResult

Full rollback (`full.py`): the seed drops the database and restores into it; we never drop
it. The backup (verified against its manifest's sha256; a corrupt one is refused, naming
the newest good one) is restored with `pg_restore -j` into a new database
`<db>_restore_<ts>`, its counts checked against the manifest, then the current database is
renamed `<db>_before_rollback_<ts>` (kept: rows written after the backup remain there) and
the restored one takes its name. `--in-place` (servers that forbid CREATE / RENAME
DATABASE) takes a fresh safety dump, then `pg_restore --clean --if-exists
--single-transaction` into the database itself.

Index-only rollback (`indexes.py`): drops, `CONCURRENTLY` and `IF EXISTS`, exactly the
indexes the run journal says this run created (never every `idx_*`), then deletes the
tracking rows this run recorded (through `drizzle.recorder.Recorder.remove_rows`).

Both record `("rollback", "start" | "step" | "end" | "error", ...)` in the run journal,
and every failure says what was and was not changed and the next safe command.
"""

from .full import full_rollback, plan_names
from .indexes import indexes_only_rollback, only_indexes_committed
from .result import RollbackResult

__all__ = ["RollbackResult", "full_rollback", "indexes_only_rollback", "only_indexes_committed", "plan_names"]
