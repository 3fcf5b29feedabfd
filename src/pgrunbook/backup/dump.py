"""Running pg_dump against the exported snapshot, streaming into the backup folder.

custom / plain: pg_dump writes to stdout; `StreamSink` writes, hashes and scans each chunk
once. A custom archive is then walked block by block (`archive.walk_custom`: every data
block present, none cut short, ~0.1 s) — `pg_restore --file=/dev/null` for archive
versions the walker does not know.
directory: pg_dump -j N writes the folder itself; its files are then hashed (a second read,
the price of parallel dumping) and validated with `pg_restore --file=/dev/null`.

The password reaches pg_dump through its environment (`pg.tool_env`), never argv; argv
carries the URL without password. With `run_on: <host>`, pg_dump runs on that host over
SSH: the password is written to the remote shell's stdin (read into PGPASSWORD there), and
the archive streams back over the channel into the same sink.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import NOTHING_CHANGED, ToolError
from ..pg import Tool, dies_with_parent, redact, tool_env
from .manifest import FileEntry
from .stream import PlainScan, StreamSink

if TYPE_CHECKING:
    from ..config import DatabaseSettings, HostSettings

CHUNK = 1 << 20
F_SETPIPE_SZ = 1031
FORMAT_FLAG = {"custom": "custom", "plain": "plain", "directory": "directory"}


@dataclass(frozen=True)
class ValidatorResult:
    returncode: int
    tables_read: frozenset[str]  # "public.users" for each 'processing data for table' line
    errors: str


@dataclass(frozen=True)
class DumpOutcome:
    path: Path
    format: str
    size: int
    sha256: str
    parts: dict[int, list[str]]
    files: tuple[FileEntry, ...]
    returncode: int
    stderr: str
    seconds: float
    tool_version: str
    tool_path: str
    plain: PlainScan | None = None
    validator: ValidatorResult | None = None
    extra: dict[str, str] = field(default_factory=dict)


DEFAULT_COMPRESS = {"custom": "1", "directory": "1", "plain": None}  # gzip level 1: ~2.4x faster than pg_dump's default 6, ~35% larger


def with_statistics(pg_dump_major: int, server_version_num: int) -> bool:
    """Whether a dump carries the planner's statistics (`pg_dump --statistics`, PostgreSQL 18).

    A restore then has the source's statistics at once: the rollback's ANALYZE only covers what
    lacks them (`vacuumdb --missing-stats-only`), 0.02 s instead of ~0.6-1.3 s at 1M users. Only
    18+ servers and tools: an older server cannot load them (no `pg_restore_relation_stats`)."""
    return pg_dump_major >= 18 and server_version_num >= 180000


def dump_argv(tool: str, db: DatabaseSettings, fmt: str, snapshot: str, *, jobs: int = 1, out: Path | None = None,
              compress: str | None = None, statistics: bool = False) -> list[str]:
    argv = [tool, f"--dbname={db.url.without_password()}", "--no-password", f"--format={FORMAT_FLAG[fmt]}", f"--snapshot={snapshot}"]
    if compress is not None:
        argv.append(f"--compress={compress}")
    if statistics:
        argv.append("--statistics")
    if fmt == "directory":
        argv += [f"--jobs={jobs}", f"--file={out}"]
    return argv


def run_local_dump(db: DatabaseSettings, pg_dump: Tool, pg_restore: Tool, snapshot: str, dest: Path, fmt: str, *,
                   jobs: int = 1, part_sizes: Iterable[int] = (), progress: Callable[[int], None] = lambda n: None,
                   compress: str | None = None, tee: Callable[[bytes], None] | None = None, statistics: bool = False) -> DumpOutcome:
    """`statistics`: the planner statistics go into the dump (`with_statistics`), so that a restore needs no ANALYZE."""
    started = time.monotonic()
    if fmt == "directory":
        return _directory_dump(db, pg_dump, pg_restore, snapshot, dest, jobs, progress, started, compress, statistics)
    argv = dump_argv(str(pg_dump.path), db, fmt, snapshot, compress=compress, statistics=statistics)
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=tool_env(db), bufsize=0, umask=0o077, cwd="/", preexec_fn=dies_with_parent)
    except OSError as exc:
        raise ToolError(f"cannot start {pg_dump.path}: {exc.strerror}", changed=NOTHING_CHANGED, next_step="check tools.bin_dir in the inventory") from None
    _grow_pipe(proc.stdout.fileno())
    stderr = _Drain(proc.stderr)
    return _consume(proc.stdout.fileno(), proc.wait, proc.kill, stderr, dest, fmt, pg_dump, pg_restore, part_sizes, progress, started,
                    redact_url=db, tee=tee)


def run_remote_dump(db: DatabaseSettings, host: HostSettings, host_name: str, pg_restore: Tool, snapshot: str, dest: Path, fmt: str, *,
                    part_sizes: Iterable[int] = (), progress: Callable[[int], None] = lambda n: None, compress: str | None = None,
                    tee: Callable[[bytes], None] | None = None) -> DumpOutcome:
    """pg_dump on `host` (its own `pg_dump` on PATH), streamed back over SSH."""
    from ..ssh import map_errors, open_connection

    if fmt == "directory":
        raise ToolError("backup.run_on a host supports the custom and plain formats, not directory", changed=NOTHING_CHANGED,
                        next_step="use --format custom (or run the directory dump locally)")
    started = time.monotonic()
    conn = open_connection(host, what=f"backup.run_on {host_name}")
    try:
        with map_errors(f"backup.run_on {host_name}: pg_dump", f"{host.user}@{host.host}:{host.port}", error=ToolError,
                        changed="the database was only read; no dump was kept"):
            version = conn.run("pg_dump --version", hide=True, warn=True, in_stream=False)
            if version.exited != 0:
                raise ToolError(f"pg_dump is not available on {host.host} ({version.stderr.strip()[:200]})", changed=NOTHING_CHANGED,
                                next_step=f"install the PostgreSQL client on {host.host} (same major version or newer than the server)")
            argv = dump_argv("pg_dump", db, fmt, snapshot, compress=compress)
            script = "IFS= read -r PGPASSWORD; export PGPASSWORD; umask 077; exec " + " ".join(shlex.quote(a) for a in argv)
            channel = conn.client.get_transport().open_session()
            channel.exec_command("sh -c " + shlex.quote(script))
            channel.sendall((remote_password(db) + "\n").encode())
            channel.shutdown_write()
            stderr_file = channel.makefile_stderr("rb")
            stderr = _Drain(stderr_file)

            def read(n: int) -> bytes:
                return channel.recv(n)

            def wait() -> int:
                return channel.recv_exit_status()

            outcome = _consume(None, wait, channel.close, stderr, dest, fmt, None, pg_restore, part_sizes, progress, started, reader=read,
                               redact_url=db, tool_version=version.stdout.split()[-1], tool_path=f"{host.host}:pg_dump", tee=tee)
    finally:
        conn.close()
    return outcome


def remote_password(db: DatabaseSettings) -> str:
    """The password for a remote pg_dump: from the URL, else from the local `database.passfile`."""
    if db.url.password is not None:
        return db.url.password
    if not db.passfile:
        return ""
    try:
        lines = Path(db.passfile).read_text().splitlines()
    except OSError:
        return ""
    wanted = (db.url.host, str(db.url.port), db.url.dbname, db.url.user)
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields, current, escaped = [], "", False
        for ch in line:
            if escaped:
                current += ch
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == ":" and len(fields) < 4:
                fields.append(current)
                current = ""
            else:
                current += ch
        fields.append(current)
        if len(fields) == 5 and all(f in ("*", w) for f, w in zip(fields[:4], wanted)):
            return fields[4]
    return ""


def _consume(fd_in: int | None, wait: Callable[[], int], kill: Callable[[], None], stderr: _Drain, dest: Path, fmt: str,
             pg_dump: Tool | None, pg_restore: Tool, part_sizes: Iterable[int], progress: Callable[[int], None], started: float, *,
             reader: Callable[[int], bytes] | None = None, redact_url: DatabaseSettings, tool_version: str = "", tool_path: str = "",
             tee: Callable[[bytes], None] | None = None) -> DumpOutcome:
    try:
        out_fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        kill()
        raise ToolError(f"cannot create the dump file {dest}: {exc.strerror}", changed="nothing was written; the database was only read", next_step=f"check that {dest.parent} is writable") from None
    sink = StreamSink(out_fd, part_sizes=part_sizes, plain=fmt == "plain", progress=progress, tee=tee)
    read = reader or _batched_reader(fd_in)  # type: ignore[arg-type]
    try:
        try:
            while chunk := read(CHUNK):
                sink.write(chunk)
            os.fsync(out_fd)
        finally:
            os.close(out_fd)
    except OSError as exc:
        kill()
        wait()
        dest.unlink(missing_ok=True)
        reason = "no space left on the device" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else (exc.strerror or str(exc))
        raise ToolError(f"writing the dump to {dest} failed: {reason}", changed=f"the partial dump {dest} was removed; the database was only read",
                        next_step=f"free space in {dest.parent} (or set backup.dir to a larger disk), then run `inv backup` again") from None
    except BaseException:
        kill()
        dest.unlink(missing_ok=True)
        raise
    code = wait()
    result = sink.finish()
    checked = validate_archive(pg_restore, dest) if fmt == "custom" and code == 0 else None
    return DumpOutcome(dest, fmt, result.size, result.sha256, result.parts, (), code, redact(stderr.text(), redact_url.url),
                       time.monotonic() - started, tool_version or (pg_dump.version if pg_dump else ""),
                       tool_path or (str(pg_dump.path) if pg_dump else ""), result.plain, checked)


def _directory_dump(db: DatabaseSettings, pg_dump: Tool, pg_restore: Tool, snapshot: str, dest: Path, jobs: int,
                    progress: Callable[[int], None], started: float, compress: str | None, statistics: bool) -> DumpOutcome:
    argv = dump_argv(str(pg_dump.path), db, "directory", snapshot, jobs=jobs, out=dest, compress=compress, statistics=statistics)
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=tool_env(db), umask=0o077, cwd="/", preexec_fn=dies_with_parent)
    except OSError as exc:
        raise ToolError(f"cannot start {pg_dump.path}: {exc.strerror}", changed=NOTHING_CHANGED, next_step="check tools.bin_dir in the inventory") from None
    stderr = _Drain(proc.stderr)
    while proc.poll() is None:
        time.sleep(0.2)
        progress(_tree_size(dest))
    code = proc.wait()
    files = []
    whole = hashlib.sha256()
    if dest.is_dir():
        dest.chmod(0o700)
        for path in sorted(p for p in dest.rglob("*") if p.is_file()):
            path.chmod(0o600)
            with open(path, "rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
            rel = path.relative_to(dest).as_posix()
            files.append(FileEntry(rel, path.stat().st_size, digest))
            whole.update(f"{digest}  {rel}\n".encode())
    validator = full_read(pg_restore, dest) if code == 0 and files else None
    return DumpOutcome(dest, "directory", sum(f.size for f in files), whole.hexdigest(), {}, tuple(files), code,
                       redact(stderr.text(), db.url), time.monotonic() - started, pg_dump.version, str(pg_dump.path), None, validator)


def full_read(pg_restore: Tool, path: Path) -> ValidatorResult:
    """`pg_restore --file=/dev/null --verbose`: decompress and read the whole archive."""
    try:
        check = subprocess.run([str(pg_restore.path), "--file=/dev/null", "--verbose", str(path)], capture_output=True, text=True,
                               env=_clean_env(), cwd="/")
    except OSError as exc:
        raise ToolError(f"cannot start {pg_restore.path}: {exc.strerror}", changed=NOTHING_CHANGED) from None
    return ValidatorResult(check.returncode, _tables_read(check.stderr), _errors(check.stderr))


def validate_archive(pg_restore: Tool, path: Path) -> ValidatorResult:
    """Walk a custom archive's blocks to its end (fast); unknown archive versions are read fully by pg_restore."""
    from .archive import walk_custom

    walk = walk_custom(path)
    if walk is None:
        return full_read(pg_restore, path)
    return ValidatorResult(0 if walk.ok else 1, walk.tables_with_data,
                           "" if walk.ok else f"error: {walk.error} ({walk.blocks} of {walk.expected_blocks} data blocks read)")


def listing(pg_restore: Tool, path: Path) -> tuple[int, str, str]:
    """`pg_restore --list` of an archive: (returncode, stdout, stderr)."""
    try:
        result = subprocess.run([str(pg_restore.path), "--list", str(path)], capture_output=True, text=True, env=_clean_env(), cwd="/", timeout=600)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ToolError(f"pg_restore --list {path} could not run: {exc}", changed=NOTHING_CHANGED) from None
    return result.returncode, result.stdout, result.stderr


# ------------------------------------------------------------------ helpers


class _Drain:
    """Read a stream to its end in a thread (stderr must never fill up and block the child)."""

    def __init__(self, stream) -> None:  # noqa: ANN001
        self._chunks: list[bytes] = []
        self._thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._thread.start()

    def _run(self, stream) -> None:  # noqa: ANN001
        while chunk := stream.read(65536):
            self._chunks.append(chunk)

    def text(self) -> str:
        self._thread.join(timeout=30)
        return b"".join(self._chunks).decode(errors="replace")


def _tables_read(verbose: str) -> frozenset[str]:
    import re

    return frozenset(f"{s}.{t}" for s, t in re.findall(r'processing data for table "([^"]+)\.([^"]+)"', verbose))


def _errors(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if "error" in line.lower() or "fatal" in line.lower() or "warning" in line.lower())[:2000]


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def _batched_reader(fd: int, pause: float = 0.01) -> Callable[[int], bytes]:
    """Reads of the pipe that return more than pg_dump's 8 KiB writes.

    Woken for each write, the loop runs ~10,000 times for a 145 MB dump (each a Python
    iteration, a sha256 update, three writes and a progress call): ~0.9 s of CPU on the two
    cores that pg_dump's compression and its backend already fill. After a short read it
    pauses 10 ms for the 1 MiB pipe to fill (at 30 MB/s it holds 34 ms; a faster dump gives
    full reads, which never pause), so that a dump is read in a few hundred chunks."""
    def read(n: int) -> bytes:
        chunk = os.read(fd, n)
        if 0 < len(chunk) < n // 8:
            time.sleep(pause)
        return chunk

    return read


def _grow_pipe(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, F_SETPIPE_SZ, CHUNK)
    except OSError:
        pass


def _tree_size(path: Path) -> int:
    try:
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    except OSError:
        return 0
