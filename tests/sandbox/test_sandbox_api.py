"""The sandbox HTTP API, started and stopped as the runbook's command controller does: shell commands.

Every server a test starts is stopped when the test ends, passed or failed (`stop_sandbox_api`,
`spawned`): a failed assertion must not leave an API server running for hours.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pgrunbook.sandbox.cluster import free_port
from pgrunbook.sandbox.data import SANDBOX_FBO_LOGIN, SANDBOX_LOGIN

from ..servers import alive, stop_sandbox_api, wait_for
from .conftest import loaded_database

DSN_ENV = "PGRUNBOOK_API_DSN"


# Longer than `start`'s own deadline (30 s for /health, then 10 s to stop what did not answer):
# `start` reports its own failure instead of being killed mid-way, its server left behind.
def api(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pgrunbook.sandbox.api", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def request(port: int, method: str, path: str, *, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@pytest.fixture(scope="module")
def app_url(sandbox_cluster):
    return loaded_database(sandbox_cluster, "api_app")[0]


@pytest.fixture
def run_dir(tmp_path):
    return tmp_path / "run"


def _start(app_url: str, pidfile: Path):
    port = free_port()
    started = api("start", "--port", str(port), "--pidfile", str(pidfile), env={**os.environ, DSN_ENV: app_url})
    assert started.returncode == 0, started.stderr
    assert "started" in started.stdout
    return port, pidfile, int(pidfile.read_text())


@pytest.fixture
def running_api(app_url, run_dir):
    """A server of its own (the test may stop it)."""
    pidfile = run_dir / "api.pid"
    try:
        yield _start(app_url, pidfile)
    finally:
        stop_sandbox_api(pidfile)


@pytest.fixture(scope="module")
def shared_api(app_url, tmp_path_factory):
    """A server shared by the tests that leave it running."""
    pidfile = tmp_path_factory.mktemp("shared-api") / "api.pid"
    try:
        yield _start(app_url, pidfile)
    finally:
        stop_sandbox_api(pidfile)


def test_full_cycle(running_api, sandbox_cluster):
    port, pidfile, pid = running_api
    assert alive(pid)
    # the database URL (and its password) is not in the server's argv
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
    assert sandbox_cluster.password not in cmdline and "postgresql://" not in cmdline

    assert api("health", "--port", str(port)).returncode == 0
    assert request(port, "GET", "/health") == (200, {"status": "ok", "database": "up"})

    status, body = request(port, "POST", "/api/auth/login", body={"email": SANDBOX_LOGIN[0], "password": SANDBOX_LOGIN[1]})
    assert status == 200
    token = body["access_token"]
    assert body["user"] == {"id": 1, "email": SANDBOX_LOGIN[0], "firstName": body["user"]["firstName"],
                            "lastName": body["user"]["lastName"], "role": "manager"}

    assert request(port, "POST", "/api/auth/login", body={"email": SANDBOX_LOGIN[0], "password": "wrong"})[0] == 401
    assert request(port, "POST", "/api/auth/login", body={"email": "nobody@htf-sunup.test", "password": "x"})[0] == 401
    assert request(port, "POST", "/api/auth/login", body={"email": SANDBOX_LOGIN[0]})[0] == 400

    for path in ("/api/users/all-members", "/api/campaigns"):
        assert request(port, "GET", path)[0] == 401
        assert request(port, "GET", path, token="not-a-token")[0] == 401

    status, members = request(port, "GET", "/api/users/all-members", token=token)
    assert status == 200
    assert members["managerId"] == 1 and members["total"] == 8 and members["count"] == 8
    created = [m["createdAt"] for m in members["members"]]
    assert created == sorted(created, reverse=True)
    assert {m["role"] for m in members["members"]} == {"fbo"}
    assert sum(m["completedActions"] for m in members["members"]) > 0
    assert sum(m["bonuses"] for m in members["members"]) > 0

    status, campaigns = request(port, "GET", "/api/campaigns", token=token)
    assert status == 200 and campaigns["count"] == 2
    assert {c["status"] for c in campaigns["campaigns"]} == {"active", "completed"}
    assert all(c["challengeCount"] == 5 for c in campaigns["campaigns"])
    status, active = request(port, "GET", "/api/campaigns?status=active", token=token)
    assert status == 200 and [c["status"] for c in active["campaigns"]] == ["active"]
    assert request(port, "GET", "/api/campaigns?status=nope", token=token)[0] == 400
    assert request(port, "GET", "/nowhere")[0] == 404

    # an FBO sees the team of its manager
    status, body = request(port, "POST", "/api/auth/login", body={"email": SANDBOX_FBO_LOGIN[0], "password": SANDBOX_FBO_LOGIN[1]})
    assert status == 200 and body["user"]["role"] == "fbo"
    status, team = request(port, "GET", "/api/users/all-members", token=body["access_token"])
    assert status == 200 and team["managerId"] == 1 and team["total"] == 8

    stopped = api("stop", "--pidfile", str(pidfile))
    assert stopped.returncode == 0, stopped.stderr
    assert not alive(pid)
    assert not pidfile.exists()
    assert api("health", "--port", str(port)).returncode == 1
    again = api("stop", "--pidfile", str(pidfile))
    assert again.returncode == 0 and "not running" in again.stdout

    log = pidfile.with_suffix(".log").read_text()
    lines = log.splitlines()
    assert any('"POST /api/auth/login" 200' in line for line in lines)
    assert any('"POST /api/auth/login" 401' in line for line in lines)
    assert any('"GET /api/users/all-members" 200' in line for line in lines)
    assert any('"GET /api/campaigns" 400' in line for line in lines)  # no query string in the log
    assert "stopped" in lines[-1]
    for secret in (SANDBOX_LOGIN[1], SANDBOX_FBO_LOGIN[1], token, sandbox_cluster.password, "status=nope"):
        assert secret not in log


def test_start_when_already_running_is_a_no_op(shared_api, app_url):
    port, pidfile, pid = shared_api
    again = api("start", "--port", str(port), "--pidfile", str(pidfile), env={**os.environ, DSN_ENV: app_url})
    assert again.returncode == 0 and "already running" in again.stdout
    assert int(pidfile.read_text()) == pid


def test_tokens_are_checked(shared_api):
    port, _, _ = shared_api
    token = request(port, "POST", "/api/auth/login", body={"email": SANDBOX_LOGIN[0], "password": SANDBOX_LOGIN[1]})[1]["access_token"]
    assert request(port, "GET", "/api/campaigns", token=token)[0] == 200
    assert request(port, "GET", "/api/campaigns", token=token + "x")[0] == 401


def test_start_without_the_dsn_variable_fails(run_dir):
    env = {k: v for k, v in os.environ.items() if k != DSN_ENV}
    result = api("start", "--port", str(free_port()), "--pidfile", str(run_dir / "api.pid"), env=env)
    assert result.returncode == 2 and DSN_ENV in result.stderr
    assert not (run_dir / "api.pid").exists()


def test_start_fails_and_cleans_up_when_the_database_is_down(run_dir):
    pidfile = run_dir / "api.pid"
    dead = f"postgresql://postgres:whatever@127.0.0.1:{free_port()}/nothing"
    try:
        result = api("start", "--port", str(free_port()), "--pidfile", str(pidfile), "--timeout", "2",
                     env={**os.environ, DSN_ENV: dead})
    finally:
        stop_sandbox_api(pidfile)
    assert result.returncode == 1 and "not healthy" in result.stderr
    # it answered 503, or (on a loaded machine) had not answered yet: either way it was stopped
    assert "answered 503" in result.stderr or "nothing answered" in result.stderr
    assert not pidfile.exists()
    log = pidfile.with_suffix(".log").read_text()
    if "listening" in log:  # SIGTERM during start-up (before the handler) ends it silently
        assert log.rstrip().endswith("stopped")
    assert "whatever" not in result.stderr + result.stdout


def test_serve_reports_503_and_stops_on_sigterm(run_dir, app_url, sandbox_cluster, tmp_path, spawned):
    """Foreground `serve` with a passfile for the password; 503 while the URL is wrong; SIGTERM stops it."""
    port = free_port()
    pidfile = run_dir / "serve.pid"
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{sandbox_cluster.port}:*:postgres:{sandbox_cluster.password}\n")
    passfile.chmod(0o600)
    env = {**os.environ, "APP_DB": sandbox_cluster.url("api_app", with_password=False),
           "DEAD_DB": f"postgresql://postgres@127.0.0.1:{free_port()}/x"}

    def serve(dsn_env: str) -> subprocess.Popen[bytes]:
        return spawned(
            [sys.executable, "-m", "pgrunbook.sandbox.api", "--port", str(port), "--dsn-env", dsn_env,
             "--pidfile", str(pidfile), "--passfile", str(passfile)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def health(server: subprocess.Popen[bytes]) -> int | None:
        assert server.poll() is None, f"the server exited ({server.returncode}): {server.communicate()[1].decode()[-2000:]}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return None  # not listening yet

    for dsn_env, expected in (("DEAD_DB", 503), ("APP_DB", 200)):
        server = serve(dsn_env)
        assert wait_for(lambda: health(server), what=f"the server ({dsn_env}) to answer /health") == expected
        assert int(pidfile.read_text()) == server.pid
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=60)  # on failure, `spawned` ends it by pid
        assert server.returncode == 0, err
        assert not pidfile.exists()
        assert b"stopped" in err and sandbox_cluster.password.encode() not in err
