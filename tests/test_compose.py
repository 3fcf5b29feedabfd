"""The compose controller against a real Docker engine and Debian's `docker-compose` (v1).

The sandbox API runs as the `backend` service of `service.sandbox_compose`'s compose file (host
network, the host's Python through read-only bind mounts, a health check), over a real test
database. `tests/docker_engine.py` starts `dockerd` for the session; if it cannot, these tests
fail with the reason. Kept few: each container start/stop costs ~1-2 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from pgrunbook.config import AppSettings, HostSettings
from pgrunbook.errors import ControllerError
from pgrunbook.events import Event
from pgrunbook.outcome import Status
from pgrunbook.sandbox.api import health_status
from pgrunbook.sandbox.cluster import free_port
from pgrunbook.service import build_controller
from pgrunbook.service.sandbox_compose import SERVICE, write_compose_file
from tests.conftest import TEST_PASSWORD
from tests.docker_engine import docker_engine  # noqa: F401 - fixture
from tests.servers import sshd  # noqa: F401 - fixture

pytestmark = [pytest.mark.docker, pytest.mark.integration]
BINARY = "docker-compose"  # Debian's v1, the seed's spelling


class ComposeApp:
    """One compose project running the sandbox API on its own port; `down` at teardown."""

    def __init__(self, engine, db, folder, *, project: str, db_port: int | None = None) -> None:
        self.engine, self.port, self.project, self.db = engine, free_port(), project, db
        dsn = f"postgresql://postgres@127.0.0.1:{db_port or db.cluster.port}/{db.name}"  # the password is in the passfile
        self.file = write_compose_file(folder, port=self.port, dsn=dsn, passfile=db.cluster.passfile)

    def compose(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([BINARY, "-f", str(self.file), "-p", self.project, *args], capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, **self.engine.env()})

    def up(self) -> None:
        done = self.compose("up", "-d", SERVICE)
        assert done.returncode == 0, done.stderr

    def settings(self, **overrides) -> AppSettings:
        compose = {"file": str(self.file), "service": SERVICE, "binary": BINARY, "project": self.project, **overrides.pop("compose", {})}
        return AppSettings.model_validate({"controller": "compose", "compose": compose, "health_timeout": 30, **overrides})

    def controller(self, *, hosts=None, events=None, **overrides):
        return build_controller(self.settings(**overrides.pop("app", {})), hosts, emit=(events.append if events is not None else lambda e: None),
                                poll_interval=0.2, listen=("127.0.0.1", self.port), **overrides)


@pytest.fixture
def compose_app(docker_engine, app_db, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("DOCKER_HOST", docker_engine.host)
    apps: list[ComposeApp] = []

    def make(project: str = "pgrb-test", db_port: int | None = None) -> ComposeApp:
        app = ComposeApp(docker_engine, app_db("tracked"), tmp_path / f"compose-{len(apps)}", project=f"{project}-{len(apps)}-{free_port()}",
                         db_port=db_port)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.compose("down", "--timeout", "2")


def test_compose_stop_and_start_for_real_wait_for_the_port_and_the_health_check(compose_app):
    """Then, stopped again, the container is started by something else (what a restart policy or a
    deploy job would do): our start refuses and says what that means for the database."""
    app = compose_app()
    app.up()
    events: list[Event] = []
    ctl = app.controller(events=events)
    assert ctl.commands()["stop"] == (BINARY, "-f", str(app.file), "-p", app.project, "stop", SERVICE)

    pre = ctl.preflight()
    assert pre.ok, pre.reason
    assert "docker engine 20." in pre.reason and "1 container(s)" in pre.reason
    ctl._wait(True, 30)  # just `up`: let the health check pass once before measuring
    assert health_status("127.0.0.1", app.port) == 200

    stopped = ctl.stop()
    assert health_status("127.0.0.1", app.port) is None  # really stopped: nothing answers
    assert stopped.port_closed_seconds is not None and stopped.port_closed_seconds <= stopped.total_seconds + 0.5
    assert "exited" in stopped.health
    assert ctl.is_running() is False

    started = ctl.start()
    assert "running (healthy)" in started.health  # docker's own health check, not just a running container
    assert health_status("127.0.0.1", app.port) == 200
    done = [e for e in events if e.kind == "done" and e.data.get("action") == "stop"]
    assert done and f"port {app.port} closed after" in done[0].message
    assert TEST_PASSWORD not in repr(events) + app.file.read_text()

    ctl.stop()
    container = app.compose("ps", "-q", SERVICE).stdout.strip()
    assert app.engine.docker("start", container).returncode == 0  # what a restart policy or a deploy job would do

    with pytest.raises(ControllerError) as caught:
        ctl.start()
    err = caught.value
    assert "was started again by something other than pgrunbook" in err.what
    assert "may have served requests and written to the database" in err.changed
    assert "docker events" in err.next_step


def test_the_gate_runs_the_compose_preflight(compose_app):
    """`inv gate`'s rollback-ready check is this preflight: a wrong service name is a NO-GO before
    any phase changes anything; the right one is ready."""
    from pgrunbook import commands
    from pgrunbook.config import load_config
    from tests.phases import backed_up

    app = compose_app()
    app.up()

    def gate_says(service: str) -> tuple[bool, str]:
        inventory = app.db.inventory(app=app.settings(compose={"service": service}).model_dump(exclude_none=True),
                                     api={"base_url": f"http://127.0.0.1:{app.port}"})
        backed_up(inventory)
        _, decision = commands.gate(load_config(inventory))
        check = next(c for c in decision.checks if c.id == "rollback-ready")
        return decision.go, check.summary

    go, summary = gate_says("api")
    assert not go and "app controller not ready" in summary and "service api is not defined" in summary
    go, summary = gate_says(SERVICE)
    assert go, summary
    assert "app controller: compose: docker-compose" in summary and "ready" in summary
    assert health_status("127.0.0.1", app.port) == 200  # the gate only looked


def test_compose_preflight_catches_what_would_fail_before_anything_changes(compose_app, monkeypatch):
    app = compose_app()
    app.up()
    ctl = app.controller()
    ctl._wait(True, 30)

    def refused(ctl, *needles, act: bool = False):
        pre = ctl.preflight()
        assert not pre.ok and pre.as_check().status is Status.FAIL
        for needle in needles:
            assert needle in pre.reason + " | " + pre.next_step, pre.reason
        if act:  # stop() runs the same preflight first (once is enough to show it)
            with pytest.raises(ControllerError) as caught:
                ctl.stop()
            assert caught.value.changed == "nothing was changed: the app was not stopped"
        assert health_status("127.0.0.1", app.port) == 200  # the service still runs
        return pre

    refused(app.controller(app={"compose": {"service": "api"}}), "service api is not defined", "services: backend",
            "check app.compose.service", act=True)
    refused(app.controller(app={"compose": {"project": "nosuchproject"}}), "has no container", "up -d backend")
    always = app.file.with_name("always.yml")
    always.write_text(app.file.read_text().replace("restart: 'no'", "restart: always"))
    refused(app.controller(app={"compose": {"file": str(always)}}), "`restart: always`", "unless-stopped")

    monkeypatch.setenv("DOCKER_HOST", f"unix://{app.file.parent}/no-engine.sock")
    refused(app.controller(), "no docker engine reachable on this machine", "Cannot connect to the Docker daemon", "DOCKER_HOST")


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="never: .ci/run installs docker-compose")
def test_compose_v2_without_the_plugin_says_so(compose_app):
    app = compose_app()
    ctl = app.controller(app={"compose": {"binary": "docker compose"}})
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        pytest.skip("the compose v2 plugin is installed here: covered by the v1 tests' shape")
    pre = ctl.preflight()
    assert not pre.ok and "the docker compose plugin is missing on this machine" in pre.reason
    assert "binary: docker-compose" in pre.next_step


def test_compose_over_ssh_stops_and_starts_the_service(compose_app, sshd):  # noqa: F811
    app = compose_app()
    app.up()
    hosts = {"apphost": HostSettings(**sshd.host_settings())}
    # The engine's socket reaches the remote shell through the controller's env (stdin, not argv).
    ctl = app.controller(app={"host": "apphost"}, hosts=hosts, env=app.engine.env())
    try:
        ctl._wait(True, 30)
        pre = ctl.preflight()
        assert pre.ok and pre.running is True, pre.reason
        assert pre.where == f"{sshd.user}@127.0.0.1:{sshd.port} (hosts.apphost)"
        stopped = ctl.stop()
        assert health_status("127.0.0.1", app.port) is None and stopped.port_closed_seconds is not None
        ctl.start()
        assert health_status("127.0.0.1", app.port) == 200
    finally:
        ctl.close()


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv to become a user outside group docker")
def test_compose_user_without_access_to_the_docker_socket_is_a_no_go(docker_engine, tmp_path, monkeypatch):  # noqa: F811
    """The real client against the real engine's socket (0660 root:docker), run as `nobody` (not in
    group docker): the `docker` first on PATH only drops privileges before exec'ing the real one."""
    real = shutil.which("docker")
    shim = tmp_path / "bin" / "docker"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups {real} "$@"\n')
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shim.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DOCKER_HOST", docker_engine.host)
    file = write_compose_file(tmp_path / "c", port=free_port(), dsn="postgresql://postgres@127.0.0.1:1/x", passfile=tmp_path / "pass")
    app = AppSettings.model_validate({"controller": "compose", "compose": {"file": str(file), "service": SERVICE, "binary": BINARY}})
    ctl = build_controller(app)
    pre = ctl.preflight()
    assert not pre.ok
    assert "this user may not use the docker engine on this machine" in pre.reason and "permission denied" in pre.reason
    assert "group docker" in pre.next_step or "docker group" in pre.next_step
    with pytest.raises(ControllerError) as caught:
        ctl.start()
    assert caught.value.changed == "nothing was changed: the app was not started"


@pytest.mark.slow
def test_compose_start_that_never_gets_healthy_and_stop_that_leaves_the_port_open_fail_clearly(compose_app):
    """After the preflight passed: the service starts but its health check never passes (its
    database is unreachable: /health says 503), and a stop after which the API's port still
    accepts connections (another program holds it). Both are errors saying what changed."""
    import socket

    app = compose_app(db_port=free_port())  # nothing listens there
    ctl = app.controller(app={"health_timeout": 3})
    app.up()
    ctl.stop()
    with pytest.raises(ControllerError) as caught:
        ctl.start()
    assert "did not become healthy within 3s" in caught.value.what and "running (" in caught.value.what
    assert caught.value.changed == "the start command ran: the app may be running but is not healthy"
    assert health_status("127.0.0.1", app.port) == 503  # it runs, and says why it is not healthy

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        holder = build_controller(app.settings(health_timeout=1), listen=("127.0.0.1", port), poll_interval=0.2)
        with pytest.raises(ControllerError) as caught:
            holder.stop()
    assert f"127.0.0.1:{port} still accepts connections 1s after the app was stopped" in caught.value.what
    assert "clients can still connect" in caught.value.changed and "ss -ltnp" in caught.value.next_step
