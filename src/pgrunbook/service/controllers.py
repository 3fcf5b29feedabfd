"""The app controllers: `none`, `compose`, `systemd`, `command`, behind one interface.

    describe() -> str                 "compose: docker compose -f F (service backend), local"
    commands() -> dict[str, tuple]    the exact argv of stop / start / health (what `--dry-run` shows)
    preflight() -> Preflight          does the controller work? Changes nothing. Never raises.
    stop() -> Action                  preflight, stop, then wait until the app no longer runs
    start() -> Action                 preflight, start, then wait for the health check (health_timeout)
    health() -> Health                one check now: ok True / False / None (unknown)
    is_running() -> bool | None
    close()

`stop()` and `start()` refuse (ControllerError, "nothing was changed") when the preflight
fails, so a missing docker engine, a missing unit or an unreachable host is found before
anything changes, never half-way through a rollback. Waiting is bounded: health checks
every `poll_interval` seconds, each with its own timeout, until `health_timeout`.

The controllers never print: they emit `events.Event`s (phase `app` unless told).
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from ..errors import ControllerError
from ..events import Emit, Event, discard
from ..outcome import Check, Status
from .run import Completed, Runner

NOT_CHANGED = "nothing was changed"
_NO_ENGINE = re.compile(r"cannot connect to the docker daemon|is the docker daemon running|error during connect|"
                        r"permission denied while trying to connect to the docker daemon|docker\.sock", re.IGNORECASE)
_NO_SYSTEMD = re.compile(r"not been booted with systemd|failed to connect to bus|system has not been booted", re.IGNORECASE)


@dataclass(frozen=True)
class Health:
    ok: bool | None  # None: this controller cannot tell
    detail: str


@dataclass(frozen=True)
class Preflight:
    """Whether the controller can stop and start the app, and why (for the go/no-go gate)."""

    ok: bool
    controller: str  # describe()
    where: str
    reason: str  # one self-contained line: why it works, or every problem found
    next_step: str = ""
    running: bool | None = None  # the app's state now, when the controller could tell
    warn: bool = False  # ok, but an operator must know (controller `none`)
    seconds: float = 0.0

    def as_gate(self) -> tuple[bool, str]:
        """What `gate.GateInputs.controller` takes."""
        return self.ok, self.reason

    def as_check(self, id: str = "app-controller") -> Check:  # noqa: A002 - Check's own name
        status = Status.FAIL if not self.ok else (Status.WARN if self.warn else Status.OK)
        return Check(id, status, self.reason, self.next_step if not self.ok else "")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Action:
    """A stop or start that happened (or was skipped by the `none` controller)."""

    action: str  # "stop" | "start"
    controller: str
    where: str
    command: str  # exactly what ran (redacted)
    seconds: float  # the command itself
    health: str = ""  # the last health check's detail
    wait_seconds: float = 0.0  # waiting for the health check afterwards
    skipped: bool = False
    output: str = ""
    began_at: float = 0.0  # time.monotonic() when the command was launched: a stop's downtime starts no later
    port_closed_seconds: float | None = None  # stop: from the command's launch until the app's port refused connections

    @property
    def total_seconds(self) -> float:
        return self.seconds + self.wait_seconds

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Findings:
    problems: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    running: bool | None = None
    want_state: bool = True  # also find out whether the app runs now (may cost a health check)

    def problem(self, text: str, next_step: str = "") -> None:
        self.problems.append(text)
        if next_step and next_step not in self.next_steps:
            self.next_steps.append(next_step)


class Controller:
    kind: ClassVar[str] = ""

    def __init__(self, runner: Runner, *, health_timeout: float = 60, poll_interval: float = 1.0, command_timeout: float = 300,
                 probe_timeout: float = 15, env: Mapping[str, str] | None = None, emit: Emit = discard, phase: str = "app",
                 listen: tuple[str, int] | None = None) -> None:
        self.runner = runner
        self.listen = listen  # (host, port) the app serves on, seen from here: a stop waits until it refuses connections
        self.health_timeout = health_timeout
        self.poll_interval = poll_interval
        self.command_timeout = command_timeout
        self.probe_timeout = probe_timeout
        self.env = dict(env or {})
        self.emit = emit
        self.phase = phase

    # ------------------------------------------------------------------ to implement

    def describe(self) -> str:
        raise NotImplementedError

    def commands(self) -> dict[str, tuple[str, ...]]:
        """The exact argv of `stop`, `start` and (when there is one) `health`."""
        raise NotImplementedError

    def _check(self, found: _Findings) -> None:
        """Probe, read-only, whether stop/start can work; record problems and facts."""
        raise NotImplementedError

    def health(self) -> Health:
        raise NotImplementedError

    # ------------------------------------------------------------------ shared

    @property
    def where(self) -> str:
        return self.runner.where

    def is_running(self) -> bool | None:
        return self.health().ok

    def close(self) -> None:
        self.runner.close()

    def __enter__(self) -> Controller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _say(self, kind: str, message: str, **data: Any) -> None:
        self.emit(Event(self.phase, kind, message, {"controller": self.kind, "where": self.where, **data}))

    def _run(self, argv: Sequence[str], *, timeout: float | None = None) -> Completed:
        return self.runner.run(argv, timeout=timeout or self.probe_timeout, env=self.env)

    def _has_programs(self, programs: Sequence[str]) -> list[str]:
        """Which of `programs` the host's shell cannot find (`command -v`)."""
        script = 'for p do command -v "$p" >/dev/null 2>&1 || echo "$p"; done'
        done = self._run(["sh", "-c", script, "sh", *programs])
        if done.returncode == 127 and "sh" in done.tail():
            return list(programs)
        return [line.strip() for line in done.stdout.splitlines() if line.strip()]

    def preflight(self, *, state: bool = True) -> Preflight:
        """Read-only: can this controller stop and start the app? With `state`, also whether it runs now."""
        started = time.monotonic()
        found = _Findings(want_state=state)
        self._say("step", f"checking the app controller: {self.describe()}")
        try:
            self.runner.connect()
            self._check(found)
        except ControllerError as exc:
            found.problem(exc.what, exc.next_step)
        seconds = time.monotonic() - started
        if found.problems:
            reason = f"{self.describe()}: " + "; ".join(found.problems)
            result = Preflight(False, self.describe(), self.where, reason, "; ".join(found.next_steps), found.running, seconds=seconds)
            self._say("warn", f"app controller NOT ready: {'; '.join(found.problems)}", ok=False)
        else:
            now = {True: "app running", False: "app not running", None: ""}[found.running]
            facts = ", ".join([*found.facts, *([now] if now else [])])
            reason = f"{self.describe()}: ready" + (f" ({facts})" if facts else "")
            result = Preflight(True, self.describe(), self.where, reason, running=found.running, seconds=seconds)
            self._say("done", reason, ok=True)
        return result

    def _require_ready(self, action: str) -> None:
        pre = self.preflight(state=False)
        if not pre.ok:
            past = {"stop": "stopped", "start": "started"}[action]
            raise ControllerError(f"cannot {action} the app: {pre.reason}", changed=f"{NOT_CHANGED}: the app was not {past}",
                                  next_step=pre.next_step or "fix app: in the inventory, then run again")

    def _wait(self, want: bool, timeout: float) -> tuple[Health, float]:
        """Poll `health()` until it says `want` (or cannot tell), at most `timeout` seconds."""
        started = time.monotonic()
        deadline = started + timeout
        said, said_at = "", 0.0
        while True:
            health = self._health_bounded(max(1.0, min(self.probe_timeout, deadline - time.monotonic())))
            if health.ok is None or health.ok == want:
                return health, time.monotonic() - started
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return health, time.monotonic() - started
            # Say it when the state changes, else every 5 s: fast polling must not flood the output.
            if health.detail != said or time.monotonic() - said_at >= 5:
                self._say("progress", f"waiting for the app to {'answer its health check' if want else 'stop'}: {health.detail}",
                          waited=round(time.monotonic() - started, 1), timeout=timeout)
                said, said_at = health.detail, time.monotonic()
            time.sleep(min(self.poll_interval, remaining))

    def _health_bounded(self, timeout: float) -> Health:
        saved, self.probe_timeout = self.probe_timeout, timeout
        try:
            return self.health()
        finally:
            self.probe_timeout = saved

    def _failure_changed(self, action: str, done: Completed) -> str:
        if done.timed_out:
            return (f"unknown: `{done.command}` was killed after {self.command_timeout:g}s; the app may be partly "
                    f"{'stopped' if action == 'stop' else 'started'}" + (" (on a host, the command may still be running)" if self.runner.remote else ""))
        return f"the {action} command failed: the app may be partly {'stopped' if action == 'stop' else 'started'}; check its state"

    def _act(self, action: str, *, ready: bool = False) -> Action:
        if not ready:  # `ready`: the caller has just proven the controller works (its own stop, a moment ago)
            self._require_ready(action)
        argv = self.commands()[action]
        self._say("step", f"{'stopping' if action == 'stop' else 'starting'} the app: {self.runner.redact(shlex.join(argv))}",
                  action=action)
        began_at = time.monotonic()
        done = self._run(argv, timeout=self.command_timeout)
        if not done.ok:
            raise ControllerError(
                f"{action} of the app failed: `{done.command}` on {self.where} {done.outcome(self.command_timeout)}",
                changed=self._failure_changed(action, done),
                next_step=self._next_step(action),
            )
        health, waited = self._wait(want=action == "start", timeout=self.health_timeout)
        if action == "start" and health.ok is False:
            raise ControllerError(
                f"the app did not become healthy within {self.health_timeout:g}s after `{done.command}` on {self.where}: "
                f"last health check: {health.detail}",
                changed="the start command ran: the app may be running but is not healthy",
                next_step=self._next_step("health"),
            )
        if action == "stop" and health.ok is True:
            raise ControllerError(
                f"the app still answers {self.health_timeout:g}s after `{done.command}` exited 0 on {self.where}: {health.detail}",
                changed="the stop command ran, but the app is still running",
                next_step=self._next_step("stop"),
            )
        closed = self._wait_port_closed(began_at) if action == "stop" else None
        result = Action(action, self.describe(), self.where, done.command, round(done.seconds, 3), health.detail, round(waited, 3),
                        output=done.tail(), began_at=began_at, port_closed_seconds=closed)
        port = f", port {self.listen[1]} closed after {closed:.1f}s" if closed is not None and self.listen else ""
        self._say("done", f"app {'stopped' if action == 'stop' else 'started'} in {done.seconds + waited:.1f}s"
                          + (f" ({health.detail}{port})" if health.detail else port), action=action,
                  seconds=round(done.seconds + waited, 3), port_closed_seconds=closed)
        return result

    def _wait_port_closed(self, since: float) -> float | None:
        """After a stop: wait until the app's port refuses connections; seconds since `since`.

        The controller's own state ("exited", "inactive") says the process is gone; the port
        says nothing answers the app's clients any more (another process, or a second replica
        outside this controller, would still serve them: then the stop failed)."""
        if self.listen is None:
            return None
        deadline = time.monotonic() + self.health_timeout
        while _port_open(*self.listen):
            if time.monotonic() >= deadline:
                host, port = self.listen
                raise ControllerError(
                    f"{host}:{port} still accepts connections {self.health_timeout:g}s after the app was stopped on {self.where}: "
                    "something else serves the app's port",
                    changed="the stop command ran and the controller sees the app stopped, but clients can still connect",
                    next_step=f"find what listens there (`ss -ltnp 'sport = :{port}'`), stop it, then run the same inv command again")
            time.sleep(min(self.poll_interval, 0.2))
        return time.monotonic() - since

    def _next_step(self, action: str) -> str:
        cmds = self.commands()
        probe = " ".join(shlex.quote(a) for a in cmds["health"]) if "health" in cmds else "the app's logs"
        where = "" if not self.runner.remote else f" on {self.where}"
        if action == "health":
            return f"look at the app's logs and `{self.runner.redact(probe)}`{where}; once it is healthy, run the same inv command again"
        line = self.runner.redact(shlex.join(cmds[action]))
        return f"check the app{where} (`{self.runner.redact(probe)}`), fix the cause, then run `{line}` by hand or the same inv command again"

    def stop(self) -> Action:
        return self._act("stop")

    def start(self) -> Action:
        return self._act("start")


def _port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------- none


class NoController(Controller):
    """`controller: none`: pgrunbook does not stop or start the app, and says so."""

    kind = "none"

    def describe(self) -> str:
        return "none (pgrunbook does not stop or start the app)"

    def commands(self) -> dict[str, tuple[str, ...]]:
        return {}

    def _check(self, found: _Findings) -> None:
        pass

    def health(self) -> Health:
        return Health(None, "no app controller configured")

    def preflight(self, *, state: bool = True) -> Preflight:
        reason = "app.controller is none: pgrunbook will not stop or start the app (stop it yourself if writes must pause)"
        self._say("warn", reason)
        return Preflight(True, self.describe(), self.where, reason, warn=True)

    def _skip(self, action: str) -> Action:
        self._say("warn", f"app.controller is none: not {'stopping' if action == 'stop' else 'starting'} the app", action=action)
        return Action(action, self.describe(), self.where, "", 0.0, skipped=True)

    def stop(self) -> Action:
        return self._skip("stop")

    def start(self) -> Action:
        return self._skip("start")


# --------------------------------------------------------------------------- compose


def compose_base(binary: str, file: str, project: str | None = None) -> tuple[str, ...]:
    """`docker compose -f FILE [-p PROJECT]` or `docker-compose -f FILE [-p PROJECT]`."""
    return (*binary.split(), "-f", file, *(("-p", project) if project else ()))


def parse_compose_ps(output: str, service: str) -> Health:
    """`docker compose ps --all --format json SERVICE`: a JSON array (older v2) or JSON lines (newer)."""
    text = output.strip()
    rows: list[dict[str, Any]] = []
    try:
        data = json.loads(text) if text else []
        rows = data if isinstance(data, list) else [data]
    except json.JSONDecodeError:
        for line in text.splitlines():
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(item, dict):
                rows.append(item)
    rows = [r for r in rows if isinstance(r, dict) and r.get("Service", service) == service]
    if not rows:
        return Health(False, f"service {service}: no container")
    states = []
    ok = True
    for row in rows:
        state, health = str(row.get("State", "?")), str(row.get("Health", "") or "")
        states.append(state + (f" ({health})" if health else ""))
        ok = ok and state == "running" and health in ("", "healthy")
    return Health(ok, f"service {service}: " + ", ".join(states))


# One line per container, `|`-separated: what `docker inspect` says, not what compose summarises
# (`docker-compose ps` v1 has no health column and no JSON).
# `index`: a container never started has no State.Health key, and a plain `.State.Health` is a template error.
INSPECT_FORMAT = ("{{.Id}}|{{.State.Status}}|{{with index .State \"Health\"}}{{.Status}}{{end}}|{{.State.StartedAt}}|"
                  "{{.HostConfig.RestartPolicy.Name}}|{{.RestartCount}}")
RESTART_REFUSED = ("always",)  # restarts a container `compose stop` stopped whenever the engine restarts


@dataclass(frozen=True)
class Container:
    id: str
    status: str  # running, exited, restarting, created, paused, dead
    health: str  # healthy, unhealthy, starting, "" (no healthcheck)
    started_at: str
    restart: str
    restarts: int

    @property
    def serving(self) -> bool:
        return self.status == "running" and self.health in ("", "healthy")

    def describe(self) -> str:
        # A stopped container keeps its last health verdict ("unhealthy": the check was killed): noise.
        return f"{self.id[:12]} {self.status}" + (f" ({self.health})" if self.health and self.status == "running" else "")


def parse_inspect(output: str) -> list[Container]:
    rows = []
    for line in output.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 6:
            rows.append(Container(parts[0], parts[1], parts[2], parts[3], parts[4], int(parts[5]) if parts[5].isdigit() else 0))
    return rows


class ComposeController(Controller):
    """`docker compose` (v2 plugin) or `docker-compose` (v1) driving one service of one compose file.

    The state comes from `docker inspect` of the service's containers (`ps -q`): running,
    the health check's verdict (start waits for `healthy` when the file defines one), the
    restart policy, and when each container last started, so that a container started
    again by something else while pgrunbook holds it stopped is caught before `start`.
    """

    kind = "compose"

    def __init__(self, runner: Runner, *, file: str, service: str, binary: str = "docker compose", project: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(runner, **kwargs)
        self.file, self.service, self.binary, self.project = file, service, binary, project
        self.v2 = binary == "docker compose"
        self.base = compose_base(binary, file, project)
        # Waiting polls `docker inspect` (~0.05 s), not compose: poll often, so that the downtime we
        # report is not inflated by our own sleeps (docker's health check has its own interval).
        self.poll_interval = min(self.poll_interval, 0.25)
        self._stopped: dict[str, str] = {}  # container id -> StartedAt, as our stop left them
        self._ids: list[str] | None = None  # the service's containers (`ps -q`), kept: stop/start keep them, inspect is fast
        self._list_error = ""  # why the last listing failed

    def describe(self) -> str:
        return f"compose: {shlex.join(self.base)} (service {self.service}), on {self.where}"

    def commands(self) -> dict[str, tuple[str, ...]]:
        listing = (*self.base, "ps", "--all", "-q", self.service) if self.v2 else (*self.base, "ps", "-q", self.service)
        return {"stop": (*self.base, "stop", self.service), "start": (*self.base, "start", self.service), "health": listing}

    def engine_argv(self) -> tuple[str, ...]:
        # `version`, not `info --format`: a 20.10 client turns an unreachable engine into a template error there.
        return ("docker", "version", "--format", "{{.Server.Version}}")

    # ------------------------------------------------------------------ preflight

    def _check(self, found: _Findings) -> None:
        if not self._check_programs(found) or not self._check_engine(found):
            return
        config = self._check_file(found)
        if config is None:
            return
        containers = self._check_containers(found, config)
        if containers is not None and found.want_state and not found.problems:
            found.running = bool(containers) and all(c.serving for c in containers)

    def _check_programs(self, found: _Findings) -> bool:
        program = self.base[0]
        missing = self._has_programs(["docker", "docker-compose"] if not self.v2 else ["docker"])
        if program in missing or "docker" in missing:
            what = program if program in missing else "docker"
            found.problem(f"`{what}` is not installed on {self.where}",
                          "install Docker (docker.io, and docker-compose or the compose plugin) there, or set app.compose.binary to what is installed")
            return False
        return True

    def _check_engine(self, found: _Findings) -> bool:
        engine = self._run(self.engine_argv())
        text = engine.stderr + engine.stdout
        if engine.ok:
            found.facts.append(f"docker engine {engine.stdout.strip() or '?'}")
        elif "permission denied" in text.lower():
            found.problem(f"this user may not use the docker engine on {self.where} (`{engine.command}` {engine.outcome(self.probe_timeout)})",
                          "add the user to the docker group (`usermod -aG docker USER`, then log in again), or run as a user that may")
            return False
        else:
            found.problem(f"no docker engine reachable on {self.where} (`{engine.command}` {engine.outcome(self.probe_timeout)})",
                          "start the docker engine there (`systemctl start docker`, or `dockerd &` without systemd), or point "
                          "DOCKER_HOST at it, and make sure this user may use it (group docker)")
            return False
        if self.v2:
            version = self._run(["docker", "compose", "version"])
            if not version.ok:
                found.problem(f"the docker compose plugin is missing on {self.where} (`docker compose version` {version.outcome(self.probe_timeout)})",
                              "install docker-compose-plugin there, or set app.compose.binary: docker-compose")
                return False
        return True

    def _check_file(self, found: _Findings) -> dict[str, Any] | None:
        """The service's definition as compose resolves it (`config`), or None after a problem."""
        import yaml

        config = self._run([*self.base, "config"])
        if not config.ok:
            found.problem(f"the compose file {self.file} cannot be read (`{config.command}` {config.outcome(self.probe_timeout)})",
                          "check app.compose.file: the path is read on the host that runs the controller")
            return None
        try:
            services = (yaml.safe_load(config.stdout) or {}).get("services") or {}
        except yaml.YAMLError:
            services = {}
        if self.service not in services:
            found.problem(f"service {self.service} is not defined in {self.file} (services: {', '.join(services) or 'none'})",
                          "check app.compose.service")
            return None
        service = services[self.service] or {}
        restart = str(service.get("restart", "no"))
        if restart in RESTART_REFUSED:
            found.problem(f"service {self.service} has `restart: {restart}`: the engine would start it again behind pgrunbook's back "
                          "(an engine restart, e.g. a docker.io upgrade, during the restore)",
                          f"set `restart: unless-stopped` (docker respects `compose stop` even across engine restarts) for {self.service}, "
                          "and `up -d` it once")
        if not service.get("healthcheck") or (service.get("healthcheck") or {}).get("disable"):
            found.facts.append("no healthcheck in the compose file: start waits only for the container to run")
        return service

    def _check_containers(self, found: _Findings, service: dict[str, Any]) -> list[Container] | None:
        containers = self._containers(relist=True)  # the preflight always asks compose: a new `up` may have recreated them
        if containers is None:
            found.problem(f"cannot list the containers of service {self.service} on {self.where}: {self._list_error}",
                          "check the engine (`docker ps`)")
            return None
        if not containers:
            found.problem(f"service {self.service} has no container on {self.where}: `{shlex.join((*self.base, 'start', self.service))}` "
                          "would have nothing to start",
                          f"create it once: `{shlex.join((*self.base, 'up', '-d', self.service))}` (wrong -p project name or compose file?)")
            return []
        for c in containers:
            if c.restart in RESTART_REFUSED and str(service.get("restart", "no")) not in RESTART_REFUSED:
                found.problem(f"container {c.id[:12]} of {self.service} runs with restart policy `{c.restart}` (the compose file changed "
                              "since it was created)", f"recreate it: `{shlex.join((*self.base, 'up', '-d', self.service))}`")
        found.facts.append(f"{len(containers)} container(s): " + ", ".join(c.describe() for c in containers))
        return containers

    # ------------------------------------------------------------------ state

    def _containers(self, *, relist: bool = False) -> list[Container] | None:
        """The service's containers as `docker inspect` sees them; None when they cannot be listed.

        The ids come from compose (`ps -q`, ~0.6 s for v1) once, then only `docker inspect` runs
        (~0.05 s): compose stop/start keep containers; a recreated one makes inspect fail, and
        the list is read again."""
        if self._ids is None or relist:
            listed = self._run(self.commands()["health"])
            if not listed.ok:
                self._list_error = f"`{listed.command}` {listed.outcome(self.probe_timeout)}"
                return None
            self._ids = [line.strip() for line in listed.stdout.splitlines() if line.strip()]
        if not self._ids:
            return []
        inspected = self._run(["docker", "inspect", "--format", INSPECT_FORMAT, *self._ids])
        if not inspected.ok:
            self._list_error = f"`docker inspect` {inspected.outcome(self.probe_timeout)}"
            return None if relist else self._containers(relist=True)
        return parse_inspect(inspected.stdout)

    def _wait(self, want: bool, timeout: float) -> tuple[Health, float]:
        if want:
            return super()._wait(want, timeout)
        # Stopped means no container runs, healthy or not (an unhealthy one still holds its port).
        saved = self.health
        self.health = self._down  # type: ignore[method-assign]
        try:
            return super()._wait(False, timeout)
        finally:
            self.health = saved  # type: ignore[method-assign]

    def _down(self) -> Health:
        """ok=False once no container of the service runs (the shape `_wait(False)` expects)."""
        containers = self._containers()
        if containers is None:
            return Health(True, f"service {self.service}: its containers cannot be listed")
        up = [c for c in containers if c.status in ("running", "restarting", "paused")]
        return Health(bool(up), f"service {self.service}: " + (", ".join(c.describe() for c in containers) or "no container"))

    def health(self) -> Health:
        containers = self._containers()
        if containers is None:
            return Health(False, f"service {self.service}: its containers cannot be listed (is the engine up?)")
        if not containers:
            return Health(False, f"service {self.service}: no container")
        return Health(all(c.serving for c in containers), f"service {self.service}: " + ", ".join(c.describe() for c in containers))

    # ------------------------------------------------------------------ actions

    def stop(self) -> Action:
        action = self._act("stop")
        self._stopped = {c.id: c.started_at for c in self._containers() or []}
        return action

    def start(self) -> Action:
        # After our own stop, the engine, the file and the service are proven, and the app is down:
        # the full preflight (~1.5 s of compose v1 start-up) would only lengthen the downtime.
        stopped_by_us = bool(self._stopped)
        self._refuse_if_restarted_behind_our_back()
        self._stopped = {}
        return self._act("start", ready=stopped_by_us)

    def _refuse_if_restarted_behind_our_back(self) -> None:
        """Between our stop and our start nothing else may have run the app (it would have used the old database)."""
        if not self._stopped:
            return
        listed = self._containers()
        if listed is None:
            raise ControllerError(f"cannot start the app: the containers of service {self.service} cannot be listed on {self.where}: "
                                  f"{self._list_error}", changed=f"{NOT_CHANGED}: the app was not started (it is still stopped)",
                                  next_step="check the docker engine (`docker ps`), then start the service by hand or run again")
        now = {c.id: c for c in listed}
        again = [c for cid, c in now.items() if cid in self._stopped and (c.status in ("running", "restarting")
                                                                           or c.started_at != self._stopped[cid])]
        if again:
            what = ", ".join(f"{c.describe()} (started {c.started_at}, restart policy {c.restart or 'no'})" for c in again)
            raise ControllerError(
                f"service {self.service} was started again by something other than pgrunbook while it was to stay stopped: {what}",
                changed="the app ran during the work pgrunbook did while it was stopped: it may have served requests and written "
                        "to the database in between; pgrunbook did not run its start command",
                next_step=f"find what started it (`docker events`, restart policies, a deploy job), check the data it may have written, "
                          f"then start it yourself (`{shlex.join(self.commands()['start'])}`) once the database is right")

    def _failure_changed(self, action: str, done: Completed) -> str:
        if not done.timed_out and _NO_ENGINE.search(done.stderr + done.stdout):
            return f"{NOT_CHANGED}: no docker engine answered, so no container was {'stopped' if action == 'stop' else 'started'}"
        return super()._failure_changed(action, done)


# --------------------------------------------------------------------------- systemd


def parse_systemctl_show(output: str) -> dict[str, str]:
    props = {}
    for line in output.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            props[key.strip()] = value.strip()
    return props


class SystemdController(Controller):
    kind = "systemd"

    def __init__(self, runner: Runner, *, unit: str, **kwargs: Any) -> None:
        super().__init__(runner, **kwargs)
        self.unit = unit

    def describe(self) -> str:
        return f"systemd: unit {self.unit}, on {self.where}"

    def commands(self) -> dict[str, tuple[str, ...]]:
        return {"stop": ("systemctl", "stop", self.unit), "start": ("systemctl", "start", self.unit),
                "health": ("systemctl", "is-active", self.unit)}

    def show_argv(self) -> tuple[str, ...]:
        return ("systemctl", "show", "--property=LoadState,ActiveState,SubState,UnitFileState", self.unit)

    def _check(self, found: _Findings) -> None:
        if self._has_programs(["systemctl"]):
            found.problem(f"systemctl is not installed on {self.where}: not a systemd host",
                          "choose the controller that manages the app there (compose or command)")
            return
        show = self._run(self.show_argv())
        if not show.ok:
            if _NO_SYSTEMD.search(show.stderr + show.stdout):
                found.problem(f"systemd is not running on {self.where} ({show.tail()})",
                              "run the controller where systemd manages the app (app.host), or choose compose / command")
            else:
                found.problem(f"`{show.command}` {show.outcome(self.probe_timeout)}", "check the unit name and systemd on that host")
            return
        props = parse_systemctl_show(show.stdout)
        load = props.get("LoadState", "?")
        if load == "not-found":
            found.problem(f"unit {self.unit} does not exist on {self.where}",
                          "check app.systemd.unit (`systemctl list-units --type=service --all`)")
            return
        if load == "masked":
            found.problem(f"unit {self.unit} is masked on {self.where}: it cannot be started", f"`systemctl unmask {self.unit}` if it should run")
            return
        if load != "loaded":
            found.problem(f"unit {self.unit} is not loaded on {self.where} (LoadState={load})", "check the unit file (`systemctl status UNIT`)")
            return
        active = props.get("ActiveState", "?")
        found.facts.append(f"unit loaded, {active}" + (f"/{props['SubState']}" if props.get("SubState") else ""))
        found.running = active == "active"

    def health(self) -> Health:
        done = self._run(self.commands()["health"])
        state = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        if done.ok and state == "active":
            return Health(True, f"{self.unit}: active")
        return Health(False, f"{self.unit}: {state or done.outcome(self.probe_timeout)}")


# --------------------------------------------------------------------------- command


def first_program(command: str) -> str | None:
    """The program a shell command line starts with (after `VAR=value` assignments), if plain."""
    try:
        words = shlex.split(command, comments=True)
    except ValueError:
        return None
    for word in words:
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", word):
            continue
        if word.startswith("-") or any(ch in word for ch in "$`;|&<>(){}*?[]"):
            return None
        return word
    return None


class CommandController(Controller):
    """Configured shell command lines, each run as `sh -c COMMAND` with a timeout."""

    kind = "command"

    def __init__(self, runner: Runner, *, stop: str, start: str, health: str | None = None, **kwargs: Any) -> None:
        super().__init__(runner, **kwargs)
        self.lines = {"stop": stop, "start": start, **({"health": health} if health else {})}

    def describe(self) -> str:
        return f"command: start `{self.runner.redact(self.lines['start'])}`, on {self.where}"

    def commands(self) -> dict[str, tuple[str, ...]]:
        return {action: ("sh", "-c", line) for action, line in self.lines.items()}

    def _check(self, found: _Findings) -> None:
        for action, line in self.lines.items():
            if self.runner.redact.found_in(line):
                found.problem(f"app.command.{action} contains a secret in clear: it would be visible in the process list",
                              "read it from the environment instead: write $${VAR} in the inventory so that the shell expands $VAR at run time")
        programs = {action: prog for action, line in self.lines.items() if (prog := first_program(line))}
        missing = set(self._has_programs(sorted(set(programs.values())))) if programs else set()
        for action, prog in programs.items():
            if prog in missing:
                found.problem(f"app.command.{action}: `{prog}` not found on {self.where}",
                              "install it there or use its full path in app.command")
        if "health" not in self.lines:
            found.facts.append("no health command: start is not checked")
        elif found.want_state and not found.problems:
            found.running = self.health().ok

    def health(self) -> Health:
        if "health" not in self.lines:
            return Health(None, "no health command configured")
        done = self._run(self.commands()["health"])
        if done.ok:
            return Health(True, "health command ok" + (f": {done.tail(1)}" if done.tail(1) else ""))
        return Health(False, f"health command {done.outcome(self.probe_timeout)}")
