"""Phase 2: proven backups — dump, integrity, manifest, verified copies, restore test.

Public API (other phases use these, not the modules' internals):

    run_backup(cfg, emit, BackupOptions(...)) -> BackupResult
    verify_backup(cfg, id_or_prefix, emit)     -> BackupResult
    backup_rows(cfg)                           -> [dict]      rows for `inv backup.list`
    load_manifest(path) / latest_backup(dir) / list_backups(dir) / find_backup(dir, ref)

The manifest's JSON shape (version 2) is documented in `pgrunbook.backup.manifest`.
"""

from .manifest import (
    MANIFEST_VERSION,
    CopyRecord,
    Manifest,
    RestoreVerification,
    find_backup,
    latest_backup,
    list_backups,
    load_manifest,
)

__all__ = [
    "MANIFEST_VERSION", "BackupOptions", "BackupResult", "CopyRecord", "Manifest", "RestoreVerification",
    "backup_rows", "find_backup", "latest_backup", "list_backups", "load_manifest", "run_backup", "verify_backup",
]

# The engine (pg_dump, targets, pg) loads on first use of one of its names: importing
# `backup.manifest` (the gate does) runs this package face first, and must load no I/O library.
_ENGINE = frozenset({"BackupOptions", "BackupResult", "backup_rows", "run_backup", "verify_backup"})


def __getattr__(name: str) -> object:
    if name in _ENGINE:
        from . import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
