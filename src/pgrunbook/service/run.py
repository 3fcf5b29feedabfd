"""Running one command for a controller: locally (subprocess) or on an inventory host (SSH).

A runner takes an argv list and returns a `Completed` (exit code, output, duration); it
raises only `ControllerError`, and only when it cannot run the command at all (the SSH
host is unreachable or its key is refused). A command that fails, or runs longer than its
timeout, is a `Completed` with `ok` false: the controller decides what that means.

- Local: `subprocess.Popen(argv)`, never a shell (a configured `command` string is run as
  `["sh", "-c", COMMAND]` by its controller), in its own session so a timeout kills the
  whole process group. Output goes to temporary files, not pipes, so a command that leaves
  a daemon behind (holding our stdout) still returns when the command itself exits.
- SSH: Fabric with strict host keys, through `ssh.open_connection` (the same
  connection code as the backup targets). The remote side runs a small `sh -c` wrapper
  with the same output-to-files behaviour. Extra environment variables are NOT put on the
  command line (Fabric's `env=` would inline them as `export K=V && ...`, visible in `ps`
  on the host): their values travel on stdin and the wrapper `read`s them.

Every text a runner returns has the known secrets replaced by `***`.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ControllerError, NOTHING_CHANGED

if TYPE_CHECKING:
    from fabric import Connection

    from ..config import HostSettings

MAX_OUTPUT = 64 * 1024  # bytes of stdout / stderr kept per command (the tail)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Completed:
    """One finished (or timed-out) command. Texts are already redacted."""

    command: str  # what ran, as a shell-quoted line
    returncode: int | None  # None: killed after the timeout
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    def tail(self, lines: int = 6) -> str:
        """The last lines of stderr (or stdout when stderr is empty), on one line."""
        text = self.stderr.strip() or self.stdout.strip()
        return " / ".join(line.strip() for line in text.splitlines()[-lines:] if line.strip())

    def outcome(self, timeout: float) -> str:
        """`exited 3: <tail>` or `timed out after 5s`."""
        if self.timed_out:
            return f"timed out after {timeout:g}s" + (f" ({self.tail()})" if self.tail() else "")
        return f"exited {self.returncode}" + (f": {self.tail()}" if self.tail() else " (no output)")


class Redactor:
    def __init__(self, secrets: Iterable[str | None]) -> None:
        # Longest first, so that a secret containing another is replaced whole.
        self.secrets = tuple(sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def found_in(self, text: str) -> bool:
        return any(secret in text for secret in self.secrets)


class Runner(Protocol):
    where: str  # "this machine" or "user@host:port (hosts.NAME)", for messages
    remote: bool
    redact: Redactor  # replaces the known secrets by ***

    def connect(self) -> None:
        """Make sure commands can run (opens the SSH connection); raises ControllerError."""

    def run(self, argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None) -> Completed: ...

    def close(self) -> None: ...


def _check_env(env: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(env or {})
    for name, value in env.items():
        if not _ENV_NAME.match(name):
            raise ControllerError(f"invalid environment variable name {name!r} for the app controller", changed=NOTHING_CHANGED,
                                  next_step="use names made of letters, digits and _")
        if "\n" in value or "\0" in value:
            raise ControllerError(f"the value of environment variable {name} contains a newline or NUL, which cannot be passed", changed=NOTHING_CHANGED,
                                  next_step=f"remove the newline from {name}")
    return env


def _read_tail(handle: Any) -> str:
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - MAX_OUTPUT))
    return handle.read().decode("utf-8", errors="replace")


# --------------------------------------------------------------------------- local


class LocalRunner:
    """Runs argv lists on this machine, without a shell."""

    where = "this machine"
    remote = False

    def __init__(self, *, secrets: Iterable[str | None] = (), cwd: str | os.PathLike[str] | None = None) -> None:
        self.redact = Redactor(secrets)
        self.cwd = cwd

    def connect(self) -> None:
        pass

    def run(self, argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None) -> Completed:
        argv = list(argv)
        command = self.redact(shlex.join(argv))
        full_env = {**os.environ, **_check_env(env)}
        started = time.monotonic()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=full_env, cwd=self.cwd,
                                        start_new_session=True, close_fds=True)
            except FileNotFoundError:
                return Completed(command, 127, "", f"{argv[0]}: command not found", time.monotonic() - started)
            except PermissionError:
                return Completed(command, 126, "", f"{argv[0]}: permission denied", time.monotonic() - started)
            try:
                returncode: int | None = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                returncode = None
            return Completed(command, returncode, self.redact(_read_tail(out)), self.redact(_read_tail(err)),
                             time.monotonic() - started)

    def close(self) -> None:
        pass


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the command's process group, SIGKILL after 5 s."""
    for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


# --------------------------------------------------------------------------- ssh


def remote_command(argv: Sequence[str], env_names: Sequence[str] = ()) -> str:
    """The command line sent to the host: `sh -c WRAPPER`; no secret is in it.

    The wrapper reads one line per environment variable from stdin, runs `argv` with stdin
    from /dev/null and output to a private temporary folder, then prints that output and
    exits with the command's status.
    """
    lines = [f"IFS= read -r {name} || exit 125; export {name}" for name in env_names]
    lines += [
        't=$(mktemp -d) || exit 125',
        "trap 'rm -rf \"$t\"' EXIT",
        f'{shlex.join(argv)} </dev/null >"$t/o" 2>"$t/e"',
        "rc=$?",
        'cat "$t/o"; cat "$t/e" >&2',
        "exit $rc",
    ]
    return "sh -c " + shlex.quote("\n".join(lines))


class SshRunner:
    """Runs argv lists on an inventory host over SSH (strict host keys)."""

    remote = True

    def __init__(self, host: HostSettings, name: str, *, secrets: Iterable[str | None] = ()) -> None:
        self.host = host
        self.name = name
        self.where = f"{host.user}@{host.host}:{host.port} (hosts.{name})"
        self.redact = Redactor(secrets)
        self._conn: Connection | None = None

    def connect(self) -> None:
        if self._conn is not None:
            return
        from ..ssh import open_connection

        self._conn = open_connection(self.host, what=f"app controller host {self.name}", error=ControllerError)

    def run(self, argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None) -> Completed:
        import io

        from invoke.exceptions import CommandTimedOut

        from ..ssh import map_errors

        env = _check_env(env)
        self.connect()
        assert self._conn is not None
        command = self.redact(shlex.join(argv))
        stdin: Any = io.StringIO("".join(value + "\n" for value in env.values())) if env else False
        started = time.monotonic()
        try:
            with map_errors(f"running `{command}`", self.where, error=ControllerError, redact=self.redact,
                            changed=f"unknown: `{command}` may or may not have run on {self.host.host}",
                            next_step=f"check the host and the app's state there (`ssh -p {self.host.port} {self.host.user}@{self.host.host}`), "
                                      "then run again"):
                try:
                    result = self._conn.run(remote_command(list(argv), list(env)), hide=True, warn=True, in_stream=stdin,
                                            echo_stdin=False, timeout=timeout)
                except CommandTimedOut as exc:  # a timeout is an answer here (the caller says what it means), not a failure
                    out = getattr(exc.result, "stdout", "") or ""
                    err = getattr(exc.result, "stderr", "") or ""
                    return Completed(command, None, self.redact(out[-MAX_OUTPUT:]), self.redact(err[-MAX_OUTPUT:]), time.monotonic() - started)
        except ControllerError:
            self.close()
            raise
        return Completed(command, result.exited, self.redact(result.stdout[-MAX_OUTPUT:]), self.redact(result.stderr[-MAX_OUTPUT:]),
                         time.monotonic() - started)

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
