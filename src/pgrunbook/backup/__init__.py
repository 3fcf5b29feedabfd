"""Phase 2: proven backups — dump, integrity, manifest, verified copies, restore test.

Public API (other phases use these, not the modules' internals):

    run_backup(cfg, emit, BackupOptions(...)) -> BackupResult
    verify_backup(cfg, id_or_prefix, emit)     -> BackupResult
    backup_rows(cfg)                           -> [dict]      rows for `inv backup.list`
    load_manifest(path) / latest_backup(dir) / list_backups(dir) / find_backup(dir, ref)

The manifest's JSON shape (version 1) is documented in `pgrunbook.backup.manifest`.
"""

from .engine import BackupOptions, BackupResult, backup_rows, run_backup, verify_backup
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
