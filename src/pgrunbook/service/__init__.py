"""Stopping and starting the app around a migration or a rollback (the inventory's `app:`).

    with controller_for(inventory, emit=emit) as app:
        pre = app.preflight()          # Preflight: ok, reason, next_step, running; changes nothing
        gate_inputs.controller = pre.as_gate()      # (ok, reason) -- or pre.as_check() for a Check
        app.stop()                     # Action; ControllerError if it cannot (nothing changed when preflight fails)
        ...
        app.start()                    # waits for the health check, up to app.health_timeout

Controllers (`controllers.py`): `none`, `compose` (`docker compose -f FILE [-p PROJECT] stop|start
SERVICE`, or `docker-compose`; state from `docker inspect`: running, health check, restart policy), `systemd` (`systemctl stop|start|is-active UNIT`), `command` (the
configured `stop` / `start` / `health` shell lines). Each runs locally or, with `app.host`,
on that inventory host over SSH with strict host keys (`run.py`). `commands()` gives the
exact argv of each action, for `--dry-run` and tests.

Secrets: the database and API passwords are redacted from every message and output; extra
environment for the commands (`env=`) is passed through the environment locally, and on
stdin over SSH, never on a command line. A `command` line that contains a secret in clear
fails the preflight.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..events import Emit, discard
from .controllers import (
    Action,
    CommandController,
    ComposeController,
    Container,
    Controller,
    Health,
    NoController,
    Preflight,
    SystemdController,
    compose_base,
    first_program,
    parse_compose_ps,
    parse_inspect,
    parse_systemctl_show,
)
from .run import Completed, LocalRunner, Runner, SshRunner, remote_command

if TYPE_CHECKING:
    from ..config import AppSettings, HostSettings, Inventory

__all__ = [
    "Action", "CommandController", "Completed", "ComposeController", "Container", "Controller", "Health", "LocalRunner", "NoController",
    "Preflight", "Runner", "SshRunner", "SystemdController", "build_controller", "compose_base", "controller_for",
    "api_endpoint", "first_program", "inventory_secrets", "parse_compose_ps", "parse_inspect", "parse_systemctl_show", "remote_command",
]


def build_controller(app: AppSettings, hosts: Mapping[str, HostSettings] | None = None, *, secrets: Iterable[str | None] = (),
                     env: Mapping[str, str] | None = None, emit: Emit = discard, phase: str = "app",
                     poll_interval: float = 1.0, command_timeout: float = 300, probe_timeout: float = 15,
                     listen: tuple[str, int] | None = None) -> Controller:
    """The controller for an inventory's `app:` section (nothing runs or connects until used)."""
    secrets = (*secrets, *_passwords_in(env or {}))
    if app.host:
        if not hosts or app.host not in hosts:
            from ..errors import ConfigError

            raise ConfigError(f"app.host names host {app.host!r}, which is not under `hosts:`")
        runner: Runner = SshRunner(hosts[app.host], app.host, secrets=secrets)
    else:
        runner = LocalRunner(secrets=secrets)
    common: dict[str, Any] = {"health_timeout": app.health_timeout, "poll_interval": poll_interval, "command_timeout": command_timeout,
                              "probe_timeout": probe_timeout, "env": env, "emit": emit, "phase": phase, "listen": listen}
    if app.controller == "compose" and app.compose:
        return ComposeController(runner, file=app.compose.file, service=app.compose.service, binary=app.compose.binary,
                                 project=app.compose.project, **common)
    if app.controller == "systemd" and app.systemd:
        return SystemdController(runner, unit=app.systemd.unit, **common)
    if app.controller == "command" and app.command:
        return CommandController(runner, stop=app.command.stop, start=app.command.start, health=app.command.health, **common)
    return NoController(runner, **common)


def _passwords_in(env: Mapping[str, str]) -> list[str]:
    """Passwords inside URL-valued environment variables (a DSN for the app): redacted too."""
    from urllib.parse import unquote, urlsplit

    found = []
    for value in env.values():
        try:
            password = urlsplit(value).password if "://" in value else None
        except ValueError:
            continue
        if password:
            found += [password, unquote(password)]
    return found


def inventory_secrets(inventory: Inventory) -> tuple[str, ...]:
    """Values never to show: the database password and the API login password."""
    found = [inventory.database.url.password]
    if inventory.api and inventory.api.login:
        found.append(inventory.api.login.password.get_secret_value())
    return tuple(s for s in found if s)


def controller_for(inventory: Inventory, *, env: Mapping[str, str] | None = None, emit: Emit = discard, phase: str = "app",
                   **tuning: Any) -> Controller:
    """`build_controller` for a loaded inventory, with its secrets redacted; a stop also waits until the
    API's port (`api.base_url`) refuses connections."""
    tuning.setdefault("listen", api_endpoint(inventory))
    return build_controller(inventory.app, inventory.hosts, secrets=inventory_secrets(inventory), env=env, emit=emit, phase=phase,
                            **tuning)


def api_endpoint(inventory: Inventory) -> tuple[str, int] | None:
    """(host, port) of `api.base_url`: where the app's clients reach it."""
    from urllib.parse import urlsplit

    if inventory.api is None or inventory.app.controller == "none":
        return None
    url = urlsplit(inventory.api.base_url)
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
    except ValueError:
        return None
    return (url.hostname, port) if url.hostname else None
