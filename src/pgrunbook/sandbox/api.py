"""The sandbox's stand-in for the HTF SunUp NestJS API: a small real HTTP service over `htf_sunup_db`.

Endpoints (JSON):

    POST /api/auth/login        {email, password} -> 200 {access_token, ...}; 401 on bad credentials
    GET  /api/users/all-members  Bearer: a manager's team (users whose manager_id is the manager),
                                 newest first, LIMIT 200, with completed-action counts; for an FBO, the
                                 teammates that share the FBO's manager
    GET  /api/campaigns          Bearer: the 50 latest campaigns with their challenge counts
                                 (`?status=active` filters)
    GET  /health                 200 when the database answers `SELECT 1`, 503 otherwise

The runbook stops and starts this service around a migration through its "command" controller:

    python -m pgrunbook.sandbox.api start  --port 8787 --pidfile run/api.pid [--dsn-env PGRUNBOOK_API_DSN] [--passfile F]
    python -m pgrunbook.sandbox.api stop   --pidfile run/api.pid
    python -m pgrunbook.sandbox.api health --port 8787
    python -m pgrunbook.sandbox.api [serve] --port 8787 --dsn-env PGRUNBOOK_API_DSN --pidfile run/api.pid

The database URL comes from the environment variable named by `--dsn-env` (default
`PGRUNBOOK_API_DSN`), never from argv, which anyone can read with `ps`. The password may
instead come from a libpq passfile (`--passfile`). `start` runs `serve` detached, in its
own session, with output to `--log-file` (default: the pidfile with a `.log` suffix). It
returns once /health answers 200 (exit 0), or stops the server and exits 1. `stop` sends
SIGTERM, then SIGKILL after `--timeout`, and exits 0 if nothing was running. `health`
exits 0 on 200 and 1 otherwise.

The server logs one line per request to stderr: method, path without the query string,
status, and duration. It logs no headers, bodies or tokens. Tokens are random, kept in
memory, and valid for an hour: restarting the service logs everyone out, as a redeploy
of the real app would with a new JWT secret. The service only reads: a login doesn't
touch `users.last_login_at`, so the runbook's before/after data checks see no drift.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import psycopg

DEFAULT_PORT = 8787
DEFAULT_HOST = "127.0.0.1"
DEFAULT_DSN_ENV = "PGRUNBOOK_API_DSN"
APPLICATION_NAME = "htf-sunup-api (pgrunbook sandbox)"
TOKEN_TTL = 3600  # seconds
MEMBERS_LIMIT = 200
CAMPAIGNS_LIMIT = 50
MAX_BODY = 64 * 1024
POOL_SIZE = 4
PROCESS_MARKER = "pgrunbook.sandbox.api"  # in the server's argv: how `stop` recognises its process

T = TypeVar("T")

# A real bcrypt hash (cost 10) of a random string: checked when the email is unknown, so that
# a login takes the same time whether the account exists or not.
_DUMMY_HASH = b"$2b$10$MbxAMn8R5z/0nrH8BDdoTeWjkVw7KH/wfQiChqb8wDarK90w.5aGO"


# --------------------------------------------------------------------------- database


class Database:
    """A tiny pool of autocommit connections (at most POOL_SIZE kept idle)."""

    def __init__(self, dsn: str, *, passfile: str | None = None, connect_timeout: int = 3) -> None:
        self.dsn = dsn
        self.params: dict[str, Any] = {
            "autocommit": True,
            "connect_timeout": connect_timeout,
            "application_name": APPLICATION_NAME,
            "options": "-c statement_timeout=15000",
        }
        if passfile:
            self.params["passfile"] = passfile
        self.idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()

    def _connect(self) -> psycopg.Connection:
        import psycopg

        return psycopg.connect(self.dsn, **self.params)

    def run(self, work: Callable[[psycopg.Connection], T]) -> T:
        """Run `work` on a pooled connection; a stale pooled connection is replaced once."""
        import psycopg

        while True:
            try:
                conn, pooled = self.idle.get_nowait(), True
            except queue.Empty:
                conn, pooled = self._connect(), False
            try:
                result = work(conn)
            except psycopg.OperationalError:
                broken = conn.broken
                conn.close()
                if pooled and broken:
                    continue  # the server restarted or killed it: try a fresh connection
                raise
            except BaseException:
                conn.close()
                raise
            if not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE and self.idle.qsize() < POOL_SIZE:
                self.idle.put(conn)
            else:
                conn.close()
            return result

    def close(self) -> None:
        while True:
            try:
                self.idle.get_nowait().close()
            except queue.Empty:
                return


# --------------------------------------------------------------------------- tokens


class Tokens:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[int, str, float]] = {}

    def issue(self, user_id: int, role: str) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            self._tokens = {t: v for t, v in self._tokens.items() if v[2] > now}
            self._tokens[token] = (user_id, role, now + TOKEN_TTL)
        return token

    def resolve(self, token: str) -> tuple[int, str] | None:
        with self._lock:
            entry = self._tokens.get(token)
        if entry is None or entry[2] <= time.monotonic():
            return None
        return entry[0], entry[1]


# --------------------------------------------------------------------------- HTTP


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], db: Database) -> None:
        super().__init__(address, Handler)
        self.db = db
        self.tokens = Tokens()


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Handler(BaseHTTPRequestHandler):
    server: ApiServer
    server_version = "htf-sunup-sandbox-api/1"

    # -- plumbing

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        import psycopg

        started = time.monotonic()
        path, _, query = self.path.partition("?")
        routes: dict[tuple[str, str], Callable[[str], tuple[int, Any]]] = {
            ("POST", "/api/auth/login"): self.login,
            ("GET", "/api/users/all-members"): self.all_members,
            ("GET", "/api/campaigns"): self.campaigns,
            ("GET", "/health"): self.health,
        }
        try:
            route = routes.get((method, path))
            if route is None:
                known = {p for _, p in routes}
                raise HttpError(405 if path in known else 404, "method not allowed" if path in known else "not found")
            status, body = route(query)
        except HttpError as exc:
            status, body = exc.status, {"statusCode": exc.status, "message": exc.message}
        except psycopg.OperationalError as exc:
            self._log_line(f"database unavailable: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}")
            status, body = 503, {"statusCode": 503, "message": "database unavailable"}
        except Exception as exc:  # noqa: BLE001 - an API answers 500, it does not die
            self._log_line(f"internal error: {type(exc).__name__}: {exc}")
            status, body = 500, {"statusCode": 500, "message": "internal server error"}
        self._send(status, body)
        self._log_line(f'"{method} {path}" {status} {(time.monotonic() - started) * 1000:.0f}ms')

    def _send(self, status: int, body: Any) -> None:
        payload = json.dumps(body, default=_json_default, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        if status == 401:
            self.send_header("WWW-Authenticate", "Bearer")
        self.end_headers()
        self.wfile.write(payload)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # one line per request, written by _dispatch with the duration

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        self._log_line(format % args)

    def _log_line(self, text: str) -> None:
        stamp = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        sys.stderr.write(f"{stamp} {self.client_address[0]} {text}\n")
        sys.stderr.flush()

    def _json_body(self) -> dict[str, Any]:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise HttpError(400, "invalid Content-Length") from None
        if length > MAX_BODY:
            raise HttpError(413, "request body too large")
        raw = self.rfile.read(length) if length else b""
        try:
            data = json.loads(raw or b"null")
        except json.JSONDecodeError:
            raise HttpError(400, "request body must be JSON") from None
        if not isinstance(data, dict):
            raise HttpError(400, "request body must be a JSON object")
        return data

    def _caller(self) -> tuple[int, str]:
        header = self.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HttpError(401, "missing bearer token")
        caller = self.server.tokens.resolve(token.strip())
        if caller is None:
            raise HttpError(401, "invalid or expired token")
        return caller

    # -- endpoints

    def login(self, _query: str) -> tuple[int, Any]:
        import bcrypt

        data = self._json_body()
        email, password = data.get("email"), data.get("password")
        if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
            raise HttpError(400, "email and password are required")
        row = self.server.db.run(lambda conn: conn.execute(
            "SELECT id, password, role::text, is_active, first_name, last_name FROM users WHERE email = %s",
            [email.strip().lower()],
        ).fetchone())
        stored = row[1].encode() if row else _DUMMY_HASH
        try:
            ok = bcrypt.checkpw(password.encode(), stored)
        except ValueError:  # not a bcrypt hash
            ok = False
        if not row or not ok or not row[3]:
            raise HttpError(401, "invalid credentials")
        user_id, role = int(row[0]), str(row[2])
        token = self.server.tokens.issue(user_id, role)
        return 200, {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL,
            "user": {"id": user_id, "email": email.strip().lower(), "firstName": row[4], "lastName": row[5], "role": role},
        }

    def all_members(self, _query: str) -> tuple[int, Any]:
        user_id, role = self._caller()

        def work(conn: psycopg.Connection) -> tuple[int | None, int, list[tuple]]:
            if role == "manager":
                manager_id: int | None = user_id
            else:
                manager_id = conn.execute("SELECT manager_id FROM users WHERE id = %s", [user_id]).fetchone()[0]
            if manager_id is None:
                return None, 0, []
            total = conn.execute(
                "SELECT count(*) FROM users WHERE role = 'fbo' AND manager_id = %s", [manager_id]
            ).fetchone()[0]
            rows = conn.execute(
                """
                SELECT u.id, u.email, u.first_name, u.last_name, u.role::text, u.is_active, u.phone,
                       u.created_at, u.last_login_at,
                       (SELECT count(*) FROM user_actions ua WHERE ua.user_id = u.id AND ua.completed) AS completed_actions,
                       (SELECT count(*) FROM daily_bonus b WHERE b.user_id = u.id) AS bonuses
                FROM users u
                WHERE u.role = 'fbo' AND u.manager_id = %s
                ORDER BY u.created_at DESC, u.id DESC
                LIMIT %s
                """,
                [manager_id, MEMBERS_LIMIT],
            ).fetchall()
            return manager_id, int(total), rows

        manager_id, total, rows = self.server.db.run(work)
        members = [
            {"id": r[0], "email": r[1], "firstName": r[2], "lastName": r[3], "role": r[4], "isActive": r[5],
             "phone": r[6], "createdAt": r[7], "lastLoginAt": r[8], "completedActions": r[9], "bonuses": r[10]}
            for r in rows
        ]
        return 200, {"managerId": manager_id, "total": total, "count": len(members), "members": members}

    def campaigns(self, query: str) -> tuple[int, Any]:
        from urllib.parse import parse_qs

        self._caller()
        status = (parse_qs(query).get("status") or [None])[0]
        if status is not None and status not in ("draft", "active", "completed", "cancelled"):
            raise HttpError(400, "status must be one of draft, active, completed, cancelled")
        rows = self.server.db.run(lambda conn: conn.execute(
            """
            SELECT c.id, c.name, c.status::text, c.start_date, c.end_date, c.bonuses_enabled,
                   (SELECT count(*) FROM challenges ch WHERE ch.campaign_id = c.id) AS challenge_count
            FROM campaigns c
            WHERE (%(status)s::text IS NULL OR c.status = %(status)s::text::campaign_status)
            ORDER BY c.start_date DESC, c.id DESC
            LIMIT %(limit)s
            """,
            {"status": status, "limit": CAMPAIGNS_LIMIT},
        ).fetchall())
        campaigns = [
            {"id": r[0], "name": r[1], "status": r[2], "startDate": r[3], "endDate": r[4], "bonusesEnabled": r[5],
             "challengeCount": r[6]}
            for r in rows
        ]
        return 200, {"count": len(campaigns), "campaigns": campaigns}

    def health(self, _query: str) -> tuple[int, Any]:
        import psycopg

        try:
            self.server.db.run(lambda conn: conn.execute("SELECT 1").fetchone())
        except psycopg.Error:
            return 503, {"status": "error", "database": "down"}
        return 200, {"status": "ok", "database": "up"}


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# --------------------------------------------------------------------------- serve


def serve(*, host: str, port: int, dsn_env: str, passfile: str | None, pidfile: Path | None) -> int:
    dsn = os.environ.get(dsn_env)
    if not dsn:
        print(f"error: environment variable {dsn_env} is not set (it holds the database URL)", file=sys.stderr)
        return 2
    db = Database(dsn, passfile=passfile)
    try:
        server = ApiServer((host, port), db)
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if pidfile:
        _write_pidfile(pidfile, os.getpid())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="http", daemon=True)
    thread.start()
    _log(f"listening on http://{host}:{port} (pid {os.getpid()}, database URL from ${dsn_env})")
    try:
        while not stop.wait(0.5):
            if not thread.is_alive():
                break
    finally:
        _log("stopping")
        server.shutdown()
        server.server_close()
        db.close()
        if pidfile:
            _remove_pidfile(pidfile, os.getpid())
        _log("stopped")
    return 0


def _log(text: str) -> None:
    stamp = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    sys.stderr.write(f"{stamp} {text}\n")
    sys.stderr.flush()


def _write_pidfile(path: Path, pid: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{pid}")
    tmp.write_text(f"{pid}\n")
    tmp.replace(path)


def _remove_pidfile(path: Path, pid: int) -> None:
    if _read_pid(path) == pid:
        with suppress(FileNotFoundError):
            path.unlink()


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _is_our_server(pid: int) -> bool:
    """`pid` is alive (not a zombie) and runs this module."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    state = next((line.split()[1] for line in status.splitlines() if line.startswith("State:")), "?")
    return state not in ("Z", "X") and PROCESS_MARKER in cmdline


# --------------------------------------------------------------------------- start / stop / health


def health_status(host: str, port: int, *, timeout: float = 3) -> int | None:
    """The HTTP status of /health, or None when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/health", timeout=timeout) as response:  # noqa: S310 - local URL
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return None


def start(*, host: str, port: int, dsn_env: str, passfile: str | None, pidfile: Path, log_file: Path | None,
          timeout: float) -> int:
    running = _read_pid(pidfile)
    if running is not None and _is_our_server(running):
        if health_status(host, port) == 200:
            print(f"sandbox API already running (pid {running}) on http://{host}:{port}")
            return 0
        print(f"error: pid {running} from {pidfile} is running but http://{host}:{port}/health is not 200; "
              f"stop it first", file=sys.stderr)
        return 1
    if running is not None:
        pidfile.unlink(missing_ok=True)  # stale
    if not os.environ.get(dsn_env):
        print(f"error: environment variable {dsn_env} is not set (it holds the database URL)", file=sys.stderr)
        return 2
    log_path = log_file or pidfile.with_suffix(".log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", PROCESS_MARKER, "serve", "--host", host, "--port", str(port), "--dsn-env", dsn_env,
            "--pidfile", str(pidfile.resolve())]
    if passfile:
        argv += ["--passfile", str(Path(passfile).resolve())]
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with open(log_path, "ab") as log:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, cwd="/",
                                 start_new_session=True, close_fds=True)
    deadline = time.monotonic() + timeout
    last: int | None = None
    while time.monotonic() < deadline:
        if child.poll() is not None:
            print(f"error: the sandbox API exited with code {child.returncode}; last lines of {log_path}:\n"
                  f"{_tail(log_path)}", file=sys.stderr)
            return 1
        last = health_status(host, port, timeout=1)
        if last == 200 and _read_pid(pidfile) == child.pid:
            print(f"sandbox API started (pid {child.pid}) on http://{host}:{port}; log: {log_path}")
            return 0
        time.sleep(0.1)
    child.terminate()
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    pidfile.unlink(missing_ok=True)
    what = "nothing answered" if last is None else f"it answered {last}"
    print(f"error: the sandbox API was not healthy after {timeout:.0f}s ({what}); stopped it. "
          f"Last lines of {log_path}:\n{_tail(log_path)}", file=sys.stderr)
    return 1


def stop(*, pidfile: Path, timeout: float) -> int:
    pid = _read_pid(pidfile)
    if pid is None:
        print(f"sandbox API not running (no pidfile {pidfile})")
        return 0
    if not _is_our_server(pid):
        pidfile.unlink(missing_ok=True)
        print(f"sandbox API not running (stale pidfile {pidfile} removed)")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _is_our_server(pid):
        time.sleep(0.1)
    if _is_our_server(pid):
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
        print(f"sandbox API (pid {pid}) did not stop within {timeout:.0f}s: killed")
    else:
        print(f"sandbox API stopped (pid {pid})")
    if _read_pid(pidfile) == pid:
        pidfile.unlink(missing_ok=True)
    return 0


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pgrunbook.sandbox.api", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def add_common(p: argparse.ArgumentParser, *, server: bool) -> None:
        p.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on / to ask (default {DEFAULT_HOST})")
        p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})")
        if server:
            p.add_argument("--dsn-env", default=DEFAULT_DSN_ENV,
                           help=f"name of the environment variable holding the database URL (default {DEFAULT_DSN_ENV})")
            p.add_argument("--passfile", help="libpq passfile (0600) for the password, instead of the URL")

    serve_p = sub.add_parser("serve", help="run in the foreground (default)")
    add_common(serve_p, server=True)
    serve_p.add_argument("--pidfile", type=Path, help="write the pid here while running")

    start_p = sub.add_parser("start", help="run detached; return once /health answers 200")
    add_common(start_p, server=True)
    start_p.add_argument("--pidfile", type=Path, required=True)
    start_p.add_argument("--log-file", type=Path, help="server output (default: the pidfile with a .log suffix)")
    start_p.add_argument("--timeout", type=float, default=30, help="seconds to wait for /health (default 30)")

    stop_p = sub.add_parser("stop", help="SIGTERM the server of --pidfile and wait")
    stop_p.add_argument("--pidfile", type=Path, required=True)
    stop_p.add_argument("--timeout", type=float, default=15, help="seconds before SIGKILL (default 15)")

    health_p = sub.add_parser("health", help="exit 0 if /health answers 200")
    add_common(health_p, server=False)
    health_p.add_argument("--timeout", type=float, default=3)
    return parser


def main(argv: list[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or args_list[0] not in ("serve", "start", "stop", "health", "-h", "--help"):
        args_list.insert(0, "serve")
    args = _parser().parse_args(args_list)
    if args.command == "serve":
        return serve(host=args.host, port=args.port, dsn_env=args.dsn_env, passfile=args.passfile, pidfile=args.pidfile)
    if args.command == "start":
        return start(host=args.host, port=args.port, dsn_env=args.dsn_env, passfile=args.passfile,
                     pidfile=args.pidfile, log_file=args.log_file, timeout=args.timeout)
    if args.command == "stop":
        return stop(pidfile=args.pidfile, timeout=args.timeout)
    status = health_status(args.host, args.port, timeout=args.timeout)
    print(f"http://{args.host}:{args.port}/health: {status if status is not None else 'no answer'}")
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
