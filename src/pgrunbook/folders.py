"""The one rule for folders that hold users' data (backups, run journals): private, and never
someone else's shared folder.

A world-writable or sticky folder (/tmp-like, perhaps behind a symlink) is refused before
anything is written in it, and its mode is left alone: pgrunbook does not change the mode of
a folder it did not create. A folder of ours readable by others is tightened to 0700.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from .errors import ConfigError


def ensure_private(path: Path, warn: Callable[[str], None] = lambda message: None) -> None:
    """Create `path` (0700) or check it: refuse a shared folder, tighten one of ours (saying so)."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise ConfigError(f"cannot create the backup folder {path}: {exc.strerror}", source="backup.dir",
                          next_step="set backup.dir to a writable folder") from None
    info = path.stat()
    mode = info.st_mode & 0o7777
    if mode & 0o1002:  # world-writable or sticky: a shared folder (/tmp-like), perhaps behind a symlink
        raise ConfigError(f"backup.dir {path} is a shared folder (mode {mode:o}{', via a symlink' if path.is_symlink() else ''}): "
                          "pgrunbook neither changes the mode of a folder it did not create nor keeps users' data where others can "
                          "write; nothing was changed", source="backup.dir",
                          next_step=f"set backup.dir to a private folder, e.g. {path / 'pgrunbook'} (pgrunbook creates it 0700)")
    if mode & 0o077:
        if info.st_uid != os.geteuid():
            warn(f"{path} is mode {mode:o} and not ours to change: others may read the dumps")
            return
        try:
            path.chmod(0o700)
            warn(f"{path} was mode {mode:o}; set it to 700 (it holds users' data)")
        except OSError:
            warn(f"{path} is mode {mode:o} and cannot be changed to 700: others may read the dumps")
