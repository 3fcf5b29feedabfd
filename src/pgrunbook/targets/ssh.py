"""An SSH host target: SFTP upload with Fabric/paramiko, `sha256sum` run on the host.

Host keys are checked strictly: paramiko's `RejectPolicy` with the host's `known_hosts`
file (default `~/.ssh/known_hosts`) loaded. Fabric on its own accepts any host key
(`AutoAddPolicy`); we replace that before connecting. With `strict_host_key: false` an
unknown key is accepted and recorded (trust on first use); a *changed* key is always refused.

Uploads go to `<path>/<name>.part` created 0600 in a folder made with `umask 077`, then are
renamed. The copy counts once `sha256sum` on the host prints the dump's digest.
"""

from __future__ import annotations

import errno
import shlex
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import NOTHING_CHANGED, TargetError
from ..ssh import map_errors, open_connection
from .base import Progress, Verification, no_progress

if TYPE_CHECKING:
    from fabric import Connection

    from ..config import HostSettings

CHUNK = 1 << 20
IO_TIMEOUT = 120  # seconds without progress on an SFTP transfer


class SftpTarget:
    type = "ssh"

    def __init__(self, name: str, host: HostSettings, path: str, *, host_key_name: str = "") -> None:
        self.name = name
        self.host = host
        self.root = path.rstrip("/") or "/"
        self.host_key_name = host_key_name or host.host
        self._conn: Connection | None = None

    # ------------------------------------------------------------------ connection

    @property
    def address(self) -> str:
        return f"{self.host.user}@{self.host.host}:{self.host.port}"

    def location(self, name: str) -> str:
        return f"{self.host.user}@{self.host.host}:{self.root}/{name}"

    def connection(self) -> Connection:
        if self._conn is None:
            self._conn = open_connection(self.host, what=f"target {self.name}")
        return self._conn

    def _run(self, command: str, *, changed: str, timeout: int = 3600) -> Any:
        """`command` on the host; `changed` says what it may have done there if it fails midway."""
        with map_errors(f"target {self.name}: `{command}`", self.address, changed=changed):
            return self.connection().run(command, hide=True, warn=True, in_stream=False, timeout=timeout)

    def _mkdir_changed(self, folder: str) -> str:
        return f"at most the folder {folder} was created on {self.host.host}"

    def check(self) -> None:
        result = self._run(f"umask 077 && mkdir -p -- {shlex.quote(self.root)} && test -w {shlex.quote(self.root)} && command -v sha256sum",
                           changed=self._mkdir_changed(self.root), timeout=60)
        if result.exited != 0:
            problem = result.stderr.strip() or ("sha256sum is missing" if "sha256sum" not in result.stdout else "not writable")
            raise TargetError(
                f"target {self.name}: {self.root} on {self.address} cannot receive backups: {problem or 'not writable, or sha256sum is missing'}",
                changed=self._mkdir_changed(self.root),
                next_step=f"create {self.root} on {self.host.host}, writable by {self.host.user}, with coreutils' sha256sum installed; then run `inv backup` again",
            )

    # ------------------------------------------------------------------ copy

    def put(self, src: Path, name: str, progress: Progress = no_progress) -> str:
        remote = f"{self.root}/{name}"
        part = remote + ".part"
        parent = remote.rsplit("/", 1)[0]
        if parent != self.root:
            self._run(f"umask 077 && mkdir -p -- {shlex.quote(parent)}", changed=self._mkdir_changed(parent), timeout=60)
        with map_errors(f"target {self.name}: opening SFTP for {remote}", self.address, changed="nothing was written to this target"):
            sftp = self.connection().sftp()
            sftp.get_channel().settimeout(IO_TIMEOUT)  # a host that stops answering fails, it does not hang
        try:
            with open(src, "rb") as source, sftp.open(part, "wb") as handle:
                handle.chmod(0o600)
                handle.set_pipelined(True)
                done = 0
                while block := source.read(CHUNK):
                    handle.write(block)
                    done += len(block)
                    progress(done)
            sftp.posix_rename(part, remote)
        except Exception as exc:  # noqa: BLE001
            try:
                sftp.remove(part)
                changed = f"the partial copy {part} on {self.host.host} was removed"
            except Exception:  # noqa: BLE001
                changed = f"a partial copy may remain at {part} on {self.host.host}: delete it"
            raise self._translate(exc, remote, changed) from None
        return self.location(name)

    def verify(self, name: str, size: int, sha256: str, parts: Sequence[str] = (), part_size: int | None = None) -> Verification:
        remote = f"{self.root}/{name}"
        location = self.location(name)
        try:
            result = self._run(f"sha256sum -b -- {shlex.quote(remote)} && stat -c %s -- {shlex.quote(remote)}", changed=NOTHING_CHANGED)
        except TargetError as exc:
            return Verification(False, "sha256sum", "", location, exc.what)
        if result.exited != 0:
            return Verification(False, "sha256sum", "", location, f"sha256sum failed on {self.host.host}: {result.stderr.strip()}")
        lines = result.stdout.split()
        digest = lines[0] if lines else ""
        remote_size = int(lines[-1]) if lines and lines[-1].isdigit() else -1
        if digest != sha256 or remote_size != size:
            return Verification(False, "sha256sum", digest, location,
                                f"the copy at {location} differs from the dump (sha256 {digest[:12]}… vs {sha256[:12]}…, size {remote_size} vs {size}): "
                                "it is corrupt; delete it and run `inv backup` again")
        return Verification(True, "sha256sum", digest, location)

    def fetch(self, name: str, dest: Path, progress: Progress = no_progress) -> Path:
        remote = f"{self.root}/{name}"
        try:
            self.connection().sftp().get(remote, str(dest), callback=lambda done, total: progress(done))
        except Exception as exc:  # noqa: BLE001
            raise self._translate(exc, remote, "nothing was changed on the host") from None
        return dest

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _translate(self, exc: BaseException, remote: str, changed: str) -> TargetError:
        if isinstance(exc, TargetError):
            return exc
        where = f"{self.host.host}:{remote}"
        if isinstance(exc, (socket.timeout, TimeoutError)):
            return TargetError(f"target {self.name}: copying to {where} timed out (no progress for {IO_TIMEOUT}s)", changed=changed,
                               next_step=f"check the network to {self.host.host} and its load, then run `inv backup` again")
        if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM):
            return TargetError(f"target {self.name}: no write permission at {where}", changed=changed,
                               next_step=f"let {self.host.user} write to {self.root} on {self.host.host}, then run `inv backup` again")
        if isinstance(exc, OSError) and (exc.errno == errno.ENOSPC or "Failure" in str(exc)):
            # OpenSSH's sftp-server reports ENOSPC (and other write errors) as the generic SSH_FX_FAILURE.
            return TargetError(f"target {self.name}: writing {where} failed ({exc}): most likely no space left on that disk",
                               changed=changed, next_step=f"check free space (`df -h {self.root}` on {self.host.host}), then run `inv backup` again")
        return TargetError(f"target {self.name}: copying to {where} failed: {exc.__class__.__name__}: {exc}", changed=changed,
                           next_step=f"check {self.host.host} and the path {self.root}, then run `inv backup` again")


