"""An SSH host target: SFTP upload with Fabric/paramiko, `sha256sum` run on the host.

Host keys are checked strictly: paramiko's `RejectPolicy` with the host's `known_hosts`
file (default `~/.ssh/known_hosts`) loaded. Fabric on its own accepts any host key
(`AutoAddPolicy`); we replace that before connecting. With `strict_host_key: false` an
unknown key is accepted and recorded (trust on first use); a *changed* key is always refused.

Uploads go to `<path>/<name>.part` created 0600 in a folder made with `umask 077`, then are
renamed. The copy counts once `sha256sum` on the host prints the dump's digest.

`stage` writes that `.part` while the dump is still streaming (`StagedSshCopy`): the dump's
loop hands each chunk to one writer thread through a bounded buffer, so the copy is on the
host when the dump ends and only the rename is left. A network slower than the dump gives up
streaming (the dump is never held back for more than `STALL_BUDGET` seconds in all) and the
copy is made after the dump by `put`.
"""

from __future__ import annotations

import errno
import shlex
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import NOTHING_CHANGED, TargetError
from ..ssh import map_errors, open_connection
from ..units import size
from .base import Progress, StageAbandoned, Verification, no_progress

if TYPE_CHECKING:
    from fabric import Connection

    from paramiko import SFTPClient, SFTPFile

    from ..config import HostSettings

CHUNK = 1 << 20
IO_TIMEOUT = 120  # seconds without progress on an SFTP transfer
MAX_IN_FLIGHT = 8 << 20  # bytes of a streamed copy handed over by the dump and not yet sent
STALL_BUDGET = 1.0  # seconds the dump may wait, in all, for a streamed copy before it is abandoned


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

    def stage(self, name: str) -> StagedSshCopy:
        """A copy of `name` written over SFTP while the dump streams (see `StagedSshCopy`): the
        folder is made and `<name>.part` opened (0600) now, on an SFTP session of its own."""
        remote, part = self._prepare(name)
        with map_errors(f"target {self.name}: opening SFTP for {remote}", self.address, changed="nothing was written to this target"):
            sftp = self.connection().client.open_sftp()  # its own channel: `put`, `fetch` and `verify` never share it
            sftp.get_channel().settimeout(IO_TIMEOUT)
        try:
            handle = sftp.open(part, "wb", bufsize=0)  # unbuffered: every chunk is on its way when `write` returns
            handle.chmod(0o600)
            handle.set_pipelined(True)
        except Exception as exc:  # noqa: BLE001
            changed = _remove(sftp, part, self.host.host)
            sftp.close()
            raise self._translate(exc, remote, changed) from None
        return StagedSshCopy(self, name, sftp, handle)

    def _prepare(self, name: str) -> tuple[str, str]:
        """(remote path, its `.part`) of `name`; a sub-folder it needs (directory dumps) is made first, 0700."""
        remote = f"{self.root}/{name}"
        parent = remote.rsplit("/", 1)[0]
        if parent != self.root:
            self._run(f"umask 077 && mkdir -p -- {shlex.quote(parent)}", changed=self._mkdir_changed(parent), timeout=60)
        return remote, remote + ".part"

    def put(self, src: Path, name: str, progress: Progress = no_progress) -> str:
        remote, part = self._prepare(name)
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




# --------------------------------------------------------------------------- streamed copy

_STREAMING, _CLOSING, _COMMITTED, _FAILED, _ABANDONED, _DISCARDED = "streaming", "closing", "committed", "failed", "abandoned", "discarded"
ABORT_WAIT = 10  # seconds for the writer to stop once its channel is closed under it
DISCARD_WAIT = 30  # seconds `discard` waits for the writer to remove the `.part` before closing its channel


class StagedSshCopy:
    """`<name>.part` on the host, written by one thread while the dump streams.

    `write` (the dump's loop) appends the chunk to a buffer of at most `max_in_flight` bytes and
    returns; the writer thread sends the chunks in order (pipelined SFTP writes). When the
    buffer is full the dump waits, at most `stall_budget` seconds over the whole dump; then
    streaming is abandoned (buffer dropped, `.part` removed by the writer) and `commit` raises
    `StageAbandoned`: the engine copies the finished dump with `put`. An SSH or SFTP error stops
    this copy only: the writer removes the `.part` (best effort) and `commit` raises the
    translated `TargetError`; the dump and the other copies go on.

    The SFTP session (its own channel) is used by the writer thread alone, from the first write
    to the rename or the removal; other threads only change the state under the lock, and, when
    the writer is stuck past a timeout, close its channel (which makes it fail at once)."""

    max_in_flight = MAX_IN_FLIGHT
    stall_budget = STALL_BUDGET
    finish_timeout = IO_TIMEOUT  # `commit` waits this long for the buffered bytes to land and the rename

    def __init__(self, target: SftpTarget, name: str, sftp: SFTPClient, handle: SFTPFile) -> None:
        self.target, self.name = target, name
        self.remote = f"{target.root}/{name}"
        self.part = self.remote + ".part"
        self._sftp, self._handle = sftp, handle
        self._cond = threading.Condition()
        self._queue: deque[bytes] = deque()
        self._in_flight = 0  # bytes handed over and not yet sent (the chunk being sent included)
        self.stalled = 0.0  # seconds the dump waited for room
        self.received = 0  # bytes handed over by the dump
        self.sent = 0  # bytes written to the SFTP channel
        self._state = _STREAMING
        self.error: TargetError | None = None
        self.abandoned = ""
        self._thread = threading.Thread(target=self._pump, name=f"pgrunbook-stage-{target.name}", daemon=True)
        self._thread.start()

    @property
    def state(self) -> str:
        return self._state

    # ------------------------------------------------------------------ the dump's side

    def write(self, chunk: bytes) -> None:
        """Hand `chunk` to the writer; never raises, and waits for room at most `stall_budget` seconds in all."""
        if self._state is not _STREAMING:
            return
        data = bytes(chunk)  # no copy for `bytes`; a buffer the caller reuses is copied
        with self._cond:
            while self._state is _STREAMING and self._in_flight and self._in_flight + len(data) > self.max_in_flight:
                left = self.stall_budget - self.stalled
                if left <= 0:
                    host = self.target.host.host
                    self.abandoned = (f"the copy to {host} was slower than the dump ({size(self._in_flight)} still waiting to be sent "
                                      f"after the dump had waited {self.stalled:.1f}s for it)")
                    self._stop(_ABANDONED)
                    return
                started = time.monotonic()
                self._cond.wait(left)
                self.stalled += time.monotonic() - started
            if self._state is not _STREAMING:
                return
            self._queue.append(data)
            self._in_flight += len(data)
            self.received += len(data)
            self._cond.notify_all()

    def commit(self) -> str:
        """Wait (at most `finish_timeout`) for the buffered bytes to land; the writer checks them, closes
        the file and renames it to its final name. Returns the copy's location."""
        with self._cond:
            if self._state is _STREAMING:
                self._state = _CLOSING
                self._cond.notify_all()
        self._finish(self.finish_timeout, _FAILED, lambda: TargetError(
            f"target {self.target.name}: copying to {self.target.host.host}:{self.remote} did not finish within {self.finish_timeout}s "
            f"after the dump ({self.sent} of {self.received} bytes sent)",
            changed=f"a partial copy may remain at {self.part} on {self.target.host.host}: delete it",
            next_step=f"check the network to {self.target.host.host} and its load, then run `inv backup` again"))
        if self._state is _COMMITTED:
            return self.target.location(self.name)
        if self._state is _ABANDONED:
            raise StageAbandoned(self.abandoned)
        if self._state is _FAILED:
            raise self.error or TargetError(f"target {self.target.name}: copying to {self.target.host.host}:{self.remote} failed",
                                            changed=f"a partial copy may remain at {self.part} on {self.target.host.host}: delete it",
                                            next_step="run `inv backup` again")
        raise TargetError(f"target {self.target.name}: the copy streamed to {self.part} was discarded", changed="nothing was kept on this target")

    def verify(self, primary: Path, size: int, sha256: str) -> Verification:
        """The committed copy, proven where it landed: `sha256sum` and size on the host (the target's own `verify`)."""
        return self.target.verify(self.name, size, sha256)

    def discard(self) -> None:
        """Stop the writer and remove the `.part` (a dump that failed, or was not kept). A committed copy stays."""
        with self._cond:
            if self._state in (_STREAMING, _CLOSING):
                self._stop(_DISCARDED)
        self._finish(DISCARD_WAIT, _DISCARDED)

    # ------------------------------------------------------------------ internals

    def _stop(self, state: str) -> None:
        """(under the lock) End streaming: drop the buffer; the writer removes the `.part`."""
        self._state = state
        self._queue.clear()
        self._in_flight = 0
        self._cond.notify_all()

    def _finish(self, timeout: float, state: str, error: Callable[[], TargetError] | None = None) -> None:
        """Wait for the writer; stuck past `timeout` (a host that stopped answering), it ends in `state`
        (with `error`) and its channel is closed under it, which makes it fail at once."""
        self._thread.join(timeout)
        if not self._thread.is_alive():
            return
        with self._cond:
            if self._state in (_STREAMING, _CLOSING):
                if error is not None:
                    self.error = error()
                self._stop(state)
        try:
            self._sftp.get_channel().close()
        except Exception:  # noqa: BLE001, S110 - closing is best effort
            pass
        self._thread.join(ABORT_WAIT)

    def _pump(self) -> None:
        """The writer thread: send the chunks in order; at the commit, check and rename; otherwise remove."""
        host = self.target.host.host
        try:
            while True:
                with self._cond:
                    while not self._queue and self._state is _STREAMING:
                        self._cond.wait()
                    if self._state not in (_STREAMING, _CLOSING) or not self._queue:
                        break
                    data = self._queue[0]  # counted in flight until sent
                self._handle.write(data)
                with self._cond:
                    if self._queue and self._queue[0] is data:
                        self._queue.popleft()
                        self._in_flight -= len(data)
                    self.sent += len(data)
                    self._cond.notify_all()
            if self._state is _CLOSING:
                self._settle()
                self._handle.close()
                self._sftp.posix_rename(self.part, self.remote)
                with self._cond:
                    if self._state is _CLOSING:
                        self._state = _COMMITTED
        except Exception as exc:  # noqa: BLE001 - recorded for `commit`, never raised into the dump
            with self._cond:
                failed = self._state in (_STREAMING, _CLOSING)
                if failed:
                    self._stop(_FAILED)
            changed = self._clean(host)
            if failed:
                self.error = self.target._translate(exc, self.remote, changed)
        else:
            if self._state is not _COMMITTED:
                self._clean(host)
        finally:
            try:
                self._sftp.close()
            except Exception:  # noqa: BLE001, S110 - closing is best effort
                pass

    def _settle(self) -> None:
        """Read the answers to the pipelined writes, which report a failed write (paramiko's `close`
        drops them), then check the size the host holds against the bytes sent."""
        pending = getattr(self._handle, "_reqs", None)
        while pending:
            self._sftp._read_response(pending.popleft())  # raises OSError for a failed write
        held = self._handle.stat().st_size
        if held != self.sent:
            raise OSError(f"the host holds {held} bytes of the {self.sent} sent")

    def _clean(self, host: str) -> str:
        try:
            self._handle.close()
        except Exception:  # noqa: BLE001, S110 - removed below either way
            pass
        return _remove(self._sftp, self.part, host)


def _remove(sftp: SFTPClient, part: str, host: str) -> str:
    """Remove a partial copy, best effort; returns what was changed on the host."""
    try:
        sftp.remove(part)
    except FileNotFoundError:
        return f"nothing was left on {host}"
    except Exception:  # noqa: BLE001
        return f"a partial copy may remain at {part} on {host}: delete it"
    return f"the partial copy {part} on {host} was removed"
