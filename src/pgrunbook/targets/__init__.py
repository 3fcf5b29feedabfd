"""Where backup copies go: a local folder, an SSH/SFTP host, an S3 bucket.

Every target implements the same small interface (`base.Target`):

    check()                                  preflight: reachable, authenticated, writable
    put(src, name, progress) -> location     upload/copy `src` as `name` (written to `name.part`, then renamed)
    verify(name, size, sha256, parts) -> Verification   proof, from where the copy landed
    fetch(name, dest, progress)              bring a copy back (for restores)
    close()
    stage(name) -> base.Staged               (every target here) a copy written from the dump's stream as pg_dump
                                             runs: write(chunk) / commit() / verify(...) / discard(); bounded memory,
                                             a target slower than the dump gives up (StageAbandoned: `put` after it)

A copy counts only after `verify()` says so: `local` re-hashes the landed file, `ssh` runs
`sha256sum` on the host, `s3` compares the stored SHA-256 checksum (composite for multipart
uploads). Every third-party error (OSError, paramiko, botocore) is translated here into a
`TargetError` naming the target, its location, what was changed, and the next step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Progress, Target, Verification, b64_sha256, composite_sha256

if TYPE_CHECKING:
    from ..config import Inventory, LocalTarget, S3Target, SshTarget

__all__ = ["Progress", "Target", "Verification", "b64_sha256", "composite_sha256", "open_target"]


def open_target(cfg: LocalTarget | SshTarget | S3Target, inventory: Inventory) -> Target:
    """The adapter for one `backup.targets` entry (nothing is connected until used)."""
    if cfg.type == "local":
        from .local import LocalDirTarget

        return LocalDirTarget(cfg.name, cfg.path)
    if cfg.type == "ssh":
        from .ssh import SftpTarget

        return SftpTarget(cfg.name, inventory.hosts[cfg.host], cfg.path, host_key_name=cfg.host)
    from .s3 import S3BucketTarget

    return S3BucketTarget(cfg)
