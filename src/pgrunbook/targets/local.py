"""A local folder target: another disk, a mounted share.

`put` copies to `<dir>/<name>.part` (0600, in a 0700 folder), fsyncs, then renames;
`verify` re-hashes the landed file. A failed copy leaves nothing behind.

`stage` opens the same `.part` file while the dump is still streaming (the backup engine
writes each chunk there as it writes its own file, so the bytes are read once and the
kernel flushes the copy during the dump); `StagedCopy.commit` then fsyncs and renames it,
and `StagedCopy.verify` compares it byte for byte with the dump whose sha256 the stream gave
(method "compare": identical bytes have that sha256, for a tenth of a re-hash's CPU, which the
dump's compressor needs on a small machine). `backup.verify` re-hashes every copy later.
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import TargetError
from .base import Progress, Verification, no_progress

CHUNK = 8 << 20


def os_error_message(exc: OSError, *, target: str, where: str) -> tuple[str, str]:
    """(what failed, next step) for an OSError at `where` on target `target`."""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        return (f"target {target}: no space left at {where}", f"free space on {where} (or point target {target} at another disk), then run `inv backup` again")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (f"target {target}: no write permission at {where} ({reason})",
                f"give the user running pgrunbook write access to {where} (or fix target {target}'s path), then run `inv backup` again")
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return (f"target {target}: {where} does not exist or is not a folder ({reason})", f"mount or create {where}, then run `inv backup` again")
    return (f"target {target}: cannot write to {where}: {reason}", f"check {where} (mounted? healthy?), then run `inv backup` again")


class LocalDirTarget:
    type = "local"

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.root = Path(path)

    def location(self, name: str) -> str:
        return str(self.root / name)

    def _fail(self, exc: OSError, where: Path, changed: str = "nothing was written to this target") -> TargetError:
        what, step = os_error_message(exc, target=self.name, where=str(where))
        return TargetError(what, changed=changed, next_step=step)

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            probe = self.root / f".pgrunbook-probe-{os.getpid()}"
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
            probe.unlink()
        except OSError as exc:
            raise self._fail(exc, self.root) from None

    def stage(self, name: str) -> StagedCopy:
        """A copy of `name` written chunk by chunk while the dump streams (see `StagedCopy`)."""
        dest = self.root / name
        part = dest.with_name(dest.name + ".part")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as exc:
            raise self._fail(exc, dest.parent) from None
        return StagedCopy(self, dest, part, fd)

    def put(self, src: Path, name: str, progress: Progress = no_progress) -> str:
        dest = self.root / name
        part = dest.with_name(dest.name + ".part")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            out_fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as exc:
            raise self._fail(exc, dest.parent) from None
        try:
            try:
                with open(src, "rb") as source:
                    size = os.fstat(source.fileno()).st_size
                    done = 0
                    while done < size:
                        sent = os.sendfile(out_fd, source.fileno(), done, min(CHUNK, size - done))
                        if sent == 0:
                            break
                        done += sent
                        progress(done)
                os.fsync(out_fd)
            finally:
                os.close(out_fd)
            os.replace(part, dest)
            _fsync_dir(dest.parent)
        except OSError as exc:
            part.unlink(missing_ok=True)
            raise self._fail(exc, dest, changed=f"the partial copy {part} was removed") from None
        return str(dest)

    def verify(self, name: str, size: int, sha256: str, parts: Sequence[str] = (), part_size: int | None = None) -> Verification:
        dest = self.root / name
        try:
            actual_size = dest.stat().st_size
            with open(dest, "rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError as exc:
            return Verification(False, "rehash", "", str(dest), f"cannot read {dest}: {exc.strerror}; run `inv backup` again for a new copy")
        if actual_size != size or digest != sha256:
            return Verification(False, "rehash", digest, str(dest),
                                f"the copy at {dest} differs from the dump (size {actual_size} vs {size}, sha256 {digest[:12]}… vs {sha256[:12]}…): "
                                "it is corrupt; delete it and run `inv backup` again")
        return Verification(True, "rehash", digest, str(dest))

    def fetch(self, name: str, dest: Path, progress: Progress = no_progress) -> Path:
        import shutil

        try:
            shutil.copyfile(self.root / name, dest)
        except OSError as exc:
            raise TargetError(f"target {self.name}: cannot read {self.root / name}: {exc.strerror}",
                              changed=f"nothing on the target; {dest} may hold part of the copy") from None
        return dest

    def close(self) -> None:
        pass


class StagedCopy:
    """A `.part` file filled while the dump streams. A write error stops this copy only (it is
    removed and the error kept for `commit` to raise): a full copy disk must never fail the dump
    or the other copies."""

    def __init__(self, target: LocalDirTarget, dest: Path, part: Path, fd: int) -> None:
        self.target, self.dest, self.part, self._fd = target, dest, part, fd
        self.error: TargetError | None = None

    def write(self, chunk: bytes) -> None:
        if self._fd is None:
            return
        try:
            view = memoryview(chunk)
            while view:
                view = view[os.write(self._fd, view):]
        except OSError as exc:
            self.error = self.target._fail(exc, self.dest, changed=f"the partial copy {self.part} was removed")
            self.discard()

    def commit(self) -> str:
        """fsync, rename to the final name, fsync the folder; returns the copy's location."""
        if self.error is not None:
            raise self.error
        if self._fd is None:
            raise TargetError(f"target {self.target.name}: the staged copy {self.part} was discarded", changed="nothing was kept on this target")
        try:
            try:
                os.fsync(self._fd)
            finally:
                os.close(self._fd)
                self._fd = None
            os.replace(self.part, self.dest)
            _fsync_dir(self.dest.parent)
        except OSError as exc:
            self.part.unlink(missing_ok=True)
            raise self.target._fail(exc, self.dest, changed=f"the partial copy {self.part} was removed") from None
        return str(self.dest)

    def verify(self, primary: Path, size: int, sha256: str) -> Verification:
        """The committed copy against `primary` (the dump, hashed as it streamed to `sha256`): same size,
        same bytes, read back through the copy's own file."""
        try:
            actual = self.dest.stat().st_size
            same = actual == size and _same_bytes(primary, self.dest)
        except OSError as exc:
            return Verification(False, "compare", "", str(self.dest), f"cannot read {self.dest}: {exc.strerror}; run `inv backup` again for a new copy")
        if not same:
            return Verification(False, "compare", "", str(self.dest),
                                f"the copy at {self.dest} differs from the dump {primary} (size {actual} vs {size}): it is corrupt; "
                                "delete it and run `inv backup` again")
        return Verification(True, "compare", sha256, str(self.dest))

    def discard(self) -> None:
        """Close and remove the `.part` file (a dump that failed, or was not kept)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.part.unlink(missing_ok=True)


def _same_bytes(a: Path, b: Path) -> bool:
    with open(a, "rb") as left, open(b, "rb") as right:
        while True:
            chunk = left.read(CHUNK)
            if chunk != right.read(CHUNK):
                return False
            if not chunk:
                return True


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
