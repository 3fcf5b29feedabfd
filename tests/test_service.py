"""App control (`pgrunbook.service`): compose, systemd, command and none controllers, local and over SSH.

Real processes throughout: the docker client (here without an engine: tests/test_compose.py
drives a real one), the real
`systemctl` (no systemd running here), the sandbox's real HTTP API over a real database
driven by the `command` controller, and a real OpenSSH sshd on 127.0.0.1.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pgrunbook.config import AppSettings, HostSettings, load_inventory
from pgrunbook.errors import ControllerError
from pgrunbook.events import Event
from pgrunbook.outcome import Status
from pgrunbook.sandbox.api import health_status
from pgrunbook.sandbox.cluster import free_port
from pgrunbook.service import (
    CommandController,
    LocalRunner,
    build_controller,
    controller_for,
    first_program,
    parse_compose_ps,
    parse_inspect,
    parse_systemctl_show,
    remote_command,
)
from tests.conftest import TEST_PASSWORD
from tests.servers import sshd  # noqa: F401 - fixture

PY = shlex.quote(sys.executable)


# --------------------------------------------------------------------------- helpers


def api_commands(port: int, run_dir: Path, *, start_timeout: float = 20) -> dict[str, str]:
    """The sandbox API's own start/stop/health commands, as an inventory's `app.command`."""
    pidfile = shlex.quote(str(run_dir / "api.pid"))
    return {
        "start": f"{PY} -m pgrunbook.sandbox.api start --port {port} --pidfile {pidfile} --timeout {start_timeout:g}",
        "stop": f"{PY} -m pgrunbook.sandbox.api stop --pidfile {pidfile}",
        "health": f"{PY} -m pgrunbook.sandbox.api health --port {port} --timeout 2",
    }


@pytest.fixture
def run_dir(tmp_path):
    """Where the sandbox API keeps its pidfile; any API left running is stopped afterwards."""
    path = tmp_path / "run"
    path.mkdir()
    yield path
    if (path / "api.pid").exists():
        subprocess.run([sys.executable, "-m", "pgrunbook.sandbox.api", "stop", "--pidfile", str(path / "api.pid")],
                       capture_output=True, timeout=30)


def processes_showing(text: str) -> list[str]:
    """Every process on this machine whose argv contains `text` (remote ones too: sshd is local)."""
    hits = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in cmdline:
                shown = cmdline.replace(b"\0", b" ").decode(errors="replace")
                hits.append(f"{proc.name}: {shown[:200]}")
    return hits


def assert_no_secret(events: list[Event], *things: object) -> None:
    for item in [*events, *things]:
        assert TEST_PASSWORD not in repr(item)


def docker_engine_absent() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode != 0


# --------------------------------------------------------------------------- compose


COMPOSE_FILE = "/srv/htf_sunup/docker-compose.yml"


@pytest.mark.parametrize(("binary", "base"), [
    ("docker compose", ["docker", "compose", "-f", COMPOSE_FILE]),
    ("docker-compose", ["docker-compose", "-f", COMPOSE_FILE]),
])
def test_compose_builds_the_exact_command_lines(binary, base):
    app = AppSettings.model_validate({"controller": "compose", "compose": {"file": COMPOSE_FILE, "service": "backend", "binary": binary}})
    ctl = build_controller(app)
    cmds = {k: list(v) for k, v in ctl.commands().items()}
    assert cmds["stop"] == [*base, "stop", "backend"]
    assert cmds["start"] == [*base, "start", "backend"]
    # The containers' ids; their state then comes from `docker inspect` (tests/test_compose.py runs it for real).
    if binary == "docker compose":
        assert cmds["health"] == [*base, "ps", "--all", "-q", "backend"]
    else:
        assert cmds["health"] == [*base, "ps", "-q", "backend"]
    assert ctl.describe() == f"compose: {shlex.join(base)} (service backend), on this machine"
    with_project = AppSettings.model_validate({"controller": "compose", "compose": {"file": COMPOSE_FILE, "service": "backend",
                                                                                   "binary": binary, "project": "htf"}})
    assert list(build_controller(with_project).commands()["stop"]) == [*base, "-p", "htf", "stop", "backend"]


def test_docker_inspect_parsing():
    rows = parse_inspect("abc123|running|healthy|2026-01-01T00:00:00Z|no|0\ndef456|exited||2026-01-01T00:00:01Z|always|2\nnoise\n")
    assert [(c.status, c.health, c.restart, c.restarts, c.serving) for c in rows] == [
        ("running", "healthy", "no", 0, True), ("exited", "", "always", 2, False)]
    assert parse_inspect("x|running|starting|t|no|0")[0].serving is False  # start waits for the health check


@pytest.mark.skipif(not docker_engine_absent(), reason="needs the docker client without a reachable engine (as on CI)")
def test_compose_without_engine_fails_preflight_and_stop_changes_nothing(tmp_path):
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services:\n  backend:\n    image: busybox\n")
    events: list[Event] = []
    app = AppSettings.model_validate({"controller": "compose", "compose": {"file": str(compose), "service": "backend"}})
    ctl = build_controller(app, emit=events.append)

    pre = ctl.preflight()
    assert not pre.ok
    assert "no docker engine reachable on this machine" in pre.reason
    assert "Cannot connect to the Docker daemon" in pre.reason
    assert "start the docker engine" in pre.next_step
    assert pre.as_gate() == (False, pre.reason)
    check = pre.as_check()
    assert check.status is Status.FAIL and check.id == "app-controller" and check.detail == pre.next_step

    for action in (ctl.stop, ctl.start):
        with pytest.raises(ControllerError) as caught:
            action()
        err = caught.value
        assert "no docker engine reachable" in err.what
        assert err.changed.startswith("nothing was changed")
        assert "start the docker engine" in err.next_step
    # The stop/start command lines were never run: only the preflight's probes.
    assert not [e for e in events if e.message.startswith(("stopping the app", "starting the app"))]


@pytest.mark.skipif(shutil.which("docker") is None, reason="needs the docker client")
def test_compose_legacy_binary_preflight_names_what_is_missing(tmp_path):
    app = AppSettings.model_validate({"controller": "compose", "compose": {"file": str(tmp_path / "c.yml"), "service": "backend",
                                                                          "binary": "docker-compose"}})
    ctl = build_controller(app)
    pre = ctl.preflight()
    assert not pre.ok
    if shutil.which("docker-compose") is None:
        assert "`docker-compose` is not installed on this machine" in pre.reason
    with pytest.raises(ControllerError) as caught:
        ctl.stop()
    assert caught.value.changed.startswith("nothing was changed")


def test_compose_ps_parsing_both_json_shapes():
    array = '[{"Service":"backend","State":"running","Health":""}]'
    lines = '{"Service":"backend","State":"running","Health":"starting"}\n{"Service":"db","State":"running","Health":"healthy"}\n'
    assert parse_compose_ps(array, "backend").ok is True
    starting = parse_compose_ps(lines, "backend")
    assert starting.ok is False and "running (starting)" in starting.detail
    assert parse_compose_ps('{"Service":"backend","State":"exited","Health":""}', "backend").ok is False
    assert parse_compose_ps("", "backend").detail == "service backend: no container"
    assert parse_compose_ps("[]", "backend").ok is False


# --------------------------------------------------------------------------- systemd


def _systemd_is_pid1() -> bool:
    try:
        return Path("/proc/1/comm").read_text().strip() == "systemd"
    except OSError:
        return False


@pytest.mark.skipif(_systemd_is_pid1(), reason="systemd runs here: the NOT-ready case needs a host without it")
def test_systemd_preflight_with_the_real_systemctl_says_systemd_is_not_running():
    app = AppSettings.model_validate({"controller": "systemd", "systemd": {"unit": "htf-backend.service"}})
    ctl = build_controller(app)
    pre = ctl.preflight()
    assert not pre.ok
    if shutil.which("systemctl") is None:
        assert "systemctl is not installed on this machine" in pre.reason
    else:
        assert "systemd is not running on this machine" in pre.reason
    with pytest.raises(ControllerError) as caught:
        ctl.stop()
    assert caught.value.changed == "nothing was changed: the app was not stopped"


FAKE_SYSTEMCTL = """#!/bin/sh
# Stand-in for systemctl: records its argv, keeps one unit's state in a file.
dir={dir}
printf '%s\\n' "$*" >> "$dir/argv.log"
known=htf-backend.service
case "$1" in
  show)
    if [ "$3" = "$known" ]; then
      echo LoadState=loaded; echo "ActiveState=$(cat "$dir/state")"; echo SubState=running; echo UnitFileState=enabled
    else
      echo LoadState=not-found; echo ActiveState=inactive; echo SubState=dead; echo UnitFileState=
    fi ;;
  stop)  [ "$2" = "$known" ] || {{ echo "Failed to stop $2: Unit $2 not loaded." >&2; exit 5; }}; echo inactive > "$dir/state" ;;
  start) [ "$2" = "$known" ] || {{ echo "Failed to start $2: Unit $2 not found." >&2; exit 5; }}; echo active > "$dir/state" ;;
  is-active) s=$(cat "$dir/state"); echo "$s"; [ "$s" = active ] ;;
  *) echo "unexpected: $*" >&2; exit 64 ;;
esac
"""


@pytest.fixture
def fake_systemctl(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    state = tmp_path / "systemd"
    state.mkdir()
    (state / "state").write_text("active\n")
    script = bin_dir / "systemctl"
    script.write_text(FAKE_SYSTEMCTL.format(dir=shlex.quote(str(state))))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return state


def _argv_log(state: Path) -> list[str]:
    log = state / "argv.log"
    return log.read_text().splitlines() if log.exists() else []


SHOW = "show --property=LoadState,ActiveState,SubState,UnitFileState htf-backend.service"


def test_systemd_stop_start_with_a_systemctl_stand_in(fake_systemctl):
    """systemd cannot run in this container (PID 1 is not systemd), so this test puts a real
    executable `systemctl` stand-in first on PATH that records its argv and keeps the unit's
    state: a fake of the external tool, not of the controller, which runs unchanged."""
    app = AppSettings.model_validate({"controller": "systemd", "systemd": {"unit": "htf-backend.service"}, "health_timeout": 5})
    ctl = build_controller(app, poll_interval=0.1)
    assert {k: list(v) for k, v in ctl.commands().items()} == {
        "stop": ["systemctl", "stop", "htf-backend.service"],
        "start": ["systemctl", "start", "htf-backend.service"],
        "health": ["systemctl", "is-active", "htf-backend.service"],
    }
    pre = ctl.preflight()
    assert pre.ok and pre.running is True
    assert "unit loaded, active/running" in pre.reason

    stopped = ctl.stop()
    assert stopped.command == "systemctl stop htf-backend.service"
    assert ctl.is_running() is False
    started = ctl.start()
    assert started.health == "htf-backend.service: active"
    assert ctl.is_running() is True
    assert _argv_log(fake_systemctl) == [
        SHOW,  # the explicit preflight
        SHOW, "stop htf-backend.service", "is-active htf-backend.service",  # stop(): preflight, stop, wait
        "is-active htf-backend.service",  # is_running()
        SHOW, "start htf-backend.service", "is-active htf-backend.service",
        "is-active htf-backend.service",
    ]


def test_systemd_missing_unit_is_a_no_go_and_nothing_runs(fake_systemctl):
    """Same stand-in as above (systemd cannot run here): an unknown unit fails the preflight."""
    app = AppSettings.model_validate({"controller": "systemd", "systemd": {"unit": "nope.service"}})
    ctl = build_controller(app)
    pre = ctl.preflight()
    assert not pre.ok and "unit nope.service does not exist on this machine" in pre.reason
    assert "app.systemd.unit" in pre.next_step
    with pytest.raises(ControllerError) as caught:
        ctl.start()
    assert caught.value.changed == "nothing was changed: the app was not started"
    assert not [line for line in _argv_log(fake_systemctl) if not line.startswith("show ")]


def test_systemctl_show_parsing():
    assert parse_systemctl_show("LoadState=loaded\nActiveState=active\nUnitFileState=\n") == {
        "LoadState": "loaded", "ActiveState": "active", "UnitFileState": ""}


# --------------------------------------------------------------------------- command: the sandbox API


def test_command_controller_drives_the_sandbox_api(app_db, run_dir):
    db = app_db("tracked")
    port = free_port()
    inventory = load_inventory(db.inventory(app={"controller": "command", "command": api_commands(port, run_dir), "health_timeout": 20}))
    events: list[Event] = []
    with controller_for(inventory, env={"PGRUNBOOK_API_DSN": db.url}, emit=events.append, poll_interval=0.2) as ctl:
        pre = ctl.preflight()
        assert pre.ok and pre.running is False, pre.reason
        assert pre.as_check().status is Status.OK

        started = ctl.start()
        assert started.action == "start" and started.health.startswith("health command ok")
        assert health_status("127.0.0.1", port) == 200
        assert ctl.is_running() is True
        assert processes_showing(TEST_PASSWORD) == []  # the DSN went through the environment

        stopped = ctl.stop()
        assert stopped.action == "stop" and "exited 1" in stopped.health
        assert health_status("127.0.0.1", port) is None
    kinds = [(e.kind, e.message.split(":")[0]) for e in events]
    assert ("step", "starting the app") in kinds and ("step", "stopping the app") in kinds
    assert_no_secret(events, pre, started, stopped)


def test_command_failing_start_is_a_clear_error(app_db, run_dir):
    db = app_db("tracked")
    port = free_port()
    inventory = load_inventory(db.inventory(app={"controller": "command", "command": api_commands(port, run_dir), "health_timeout": 5}))
    ctl = controller_for(inventory)  # no PGRUNBOOK_API_DSN: the real API refuses to start
    with pytest.raises(ControllerError) as caught:
        ctl.start()
    err = caught.value
    assert err.what.startswith("start of the app failed: `sh -c")
    assert "exited 2: error: environment variable PGRUNBOOK_API_DSN is not set" in err.what
    assert "the start command failed" in err.changed
    assert "then run" in err.next_step
    assert health_status("127.0.0.1", port) is None


def test_command_health_never_ok_times_out_bounded(run_dir):
    port = free_port()  # nothing will listen there
    cmds = api_commands(port, run_dir)
    app = AppSettings.model_validate({"controller": "command", "command": {"start": "true", "stop": "true", "health": cmds["health"]},
                                      "health_timeout": 1.5})
    events: list[Event] = []
    ctl = build_controller(app, emit=events.append, poll_interval=0.2)
    began = time.monotonic()
    with pytest.raises(ControllerError) as caught:
        ctl.start()
    elapsed = time.monotonic() - began
    assert "did not become healthy within 1.5s" in caught.value.what
    # exited 1 (nothing listens), or, on a loaded machine, the check's own interpreter did not finish in time
    assert "last health check: health command exited 1" in caught.value.what or "health command timed out" in caught.value.what
    assert caught.value.changed == "the start command ran: the app may be running but is not healthy"
    assert elapsed < 10
    assert [e for e in events if e.kind == "progress" and e.message.startswith("waiting for the app")]


def test_command_timeout_kills_the_command_and_daemons_do_not_hang_us():
    app = AppSettings.model_validate({"controller": "command", "command": {"start": "sleep 30", "stop": "sleep 2 & echo stopping"}})
    ctl = build_controller(app, command_timeout=1)
    began = time.monotonic()
    with pytest.raises(ControllerError) as caught:
        ctl.start()
    assert time.monotonic() - began < 10
    assert "timed out after 1s" in caught.value.what
    assert caught.value.changed.startswith("unknown: `sh -c 'sleep 30'` was killed after 1s")
    # A background child keeps its stdout open; the command itself returned at once.
    began = time.monotonic()
    action = ctl.stop()
    assert time.monotonic() - began < 1.5
    assert action.output == "stopping" and action.health == "no health command configured"


def test_command_preflight_finds_missing_programs_and_secrets(app_db, run_dir):
    db = app_db("tracked")
    cmds = api_commands(free_port(), run_dir)
    cmds["stop"] = "/nonexistent/bin/stop-app --now"
    cmds["start"] = "PGRUNBOOK_API_DSN=postgresql://postgres:${PGRB_TEST_PW}@127.0.0.1/x " + cmds["start"]
    inventory = load_inventory(db.inventory(app={"controller": "command", "command": cmds}))
    events: list[Event] = []
    ctl = controller_for(inventory, emit=events.append)
    pre = ctl.preflight()
    assert not pre.ok
    assert "app.command.start contains a secret in clear" in pre.reason
    assert "app.command.stop: `/nonexistent/bin/stop-app` not found on this machine" in pre.reason
    assert "$${VAR}" in pre.next_step
    with pytest.raises(ControllerError) as caught:
        ctl.start()
    assert caught.value.changed == "nothing was changed: the app was not started"
    assert_no_secret(events, pre, caught.value.what, ctl.describe())
    assert "***" in ctl.describe()


def test_first_program():
    assert first_program("FOO=1 /usr/bin/env python -m x") == "/usr/bin/env"
    assert first_program("systemctl restart x && true") == "systemctl"
    assert first_program("$APP start") is None
    assert first_program("'unterminated") is None


def test_none_controller_says_so():
    events: list[Event] = []
    ctl = build_controller(AppSettings(), emit=events.append)
    pre = ctl.preflight()
    assert pre.ok and pre.warn and pre.as_check().status is Status.WARN
    assert "will not stop or start the app" in pre.reason
    assert ctl.stop().skipped and ctl.start().skipped
    assert ctl.health().ok is None
    assert [e.kind for e in events] == ["warn", "warn", "warn"]


# --------------------------------------------------------------------------- over SSH


def test_remote_command_line_carries_no_secret():
    line = remote_command(["sh", "-c", "echo $PGRUNBOOK_API_DSN"], ["PGRUNBOOK_API_DSN"])
    assert line.startswith("sh -c ") and "read -r PGRUNBOOK_API_DSN" in line and TEST_PASSWORD not in line


@pytest.mark.integration
def test_command_controller_over_ssh_drives_the_sandbox_api(app_db, run_dir, sshd):  # noqa: F811
    db = app_db("tracked")
    port = free_port()
    inventory = load_inventory(db.inventory(
        hosts={"apphost": sshd.host_settings()},
        app={"controller": "command", "host": "apphost", "command": api_commands(port, run_dir), "health_timeout": 20},
    ))
    events: list[Event] = []
    with controller_for(inventory, env={"PGRUNBOOK_API_DSN": db.url}, emit=events.append, poll_interval=0.2) as ctl:
        assert ctl.where == f"{sshd.user}@127.0.0.1:{sshd.port} (hosts.apphost)"
        pre = ctl.preflight()
        assert pre.ok and pre.running is False, pre.reason
        ctl.start()
        assert health_status("127.0.0.1", port) == 200
        assert ctl.is_running() is True
        assert processes_showing(TEST_PASSWORD) == []  # the DSN went over stdin, not on the remote command line
        stopped = ctl.stop()
        assert "exited 1" in stopped.health  # stop() waited until the health check failed
        assert health_status("127.0.0.1", port) is None
    assert_no_secret(events, pre, stopped)


@pytest.mark.integration
def test_wrong_host_key_is_refused_and_nothing_changes(app_db, run_dir, sshd):  # noqa: F811
    db = app_db("tracked")
    port = free_port()
    inventory = load_inventory(db.inventory(
        hosts={"apphost": sshd.host_settings(known_hosts=str(sshd.wrong_known_hosts))},
        app={"controller": "command", "host": "apphost", "command": api_commands(port, run_dir)},
    ))
    ctl = controller_for(inventory, env={"PGRUNBOOK_API_DSN": db.url})
    pre = ctl.preflight()
    assert not pre.ok
    assert "host key of 127.0.0.1" in pre.reason and "CHANGED" in pre.reason
    assert "ssh-keygen -R" in pre.next_step
    assert pre.as_check().status is Status.FAIL
    with pytest.raises(ControllerError) as caught:
        ctl.start()
    assert "CHANGED" in caught.value.what
    assert caught.value.changed == "nothing was changed: the app was not started"
    assert health_status("127.0.0.1", port) is None
    assert not (run_dir / "api.pid").exists()


@pytest.mark.integration
def test_unreachable_host_is_a_no_go(sshd):  # noqa: F811
    hosts = {"apphost": HostSettings(**sshd.host_settings(port=free_port()))}  # nothing listens there
    app = AppSettings.model_validate({"controller": "systemd", "host": "apphost", "systemd": {"unit": "htf-backend.service"}})
    ctl = build_controller(app, hosts)
    pre = ctl.preflight()
    assert not pre.ok and "cannot connect to" in pre.reason and "sshd listens" in pre.next_step
    with pytest.raises(ControllerError) as caught:
        ctl.stop()
    assert caught.value.changed == "nothing was changed: the app was not stopped"


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("docker") is None, reason="needs the docker client")
def test_compose_preflight_over_ssh(sshd):  # noqa: F811
    hosts = {"apphost": HostSettings(**sshd.host_settings())}
    app = AppSettings.model_validate({"controller": "compose", "host": "apphost",
                                      "compose": {"file": "/srv/app/docker-compose.yml", "service": "backend"}})
    ctl = build_controller(app, hosts)
    pre = ctl.preflight()
    ctl.close()
    if docker_engine_absent():
        assert not pre.ok
        assert f"no docker engine reachable on {sshd.user}@127.0.0.1:{sshd.port} (hosts.apphost)" in pre.reason


def test_local_runner_reports_a_missing_program():
    done = LocalRunner().run(["/nonexistent/prog"], timeout=5)
    assert done.returncode == 127 and "command not found" in done.tail()
    ctl = CommandController(LocalRunner(), stop="true", start="true")
    assert ctl.describe() == "command: start `true`, on this machine"
