"""SSH connections to inventory hosts: Fabric/paramiko with strict host keys, one way for all.

Backup targets (SFTP), `backup.run_on` (pg_dump on the database host) and the app
controllers all connect through `open_connection()`. Fabric on its own accepts any host
key; here the known_hosts file is loaded and unknown or changed keys are refused
(`RejectPolicy`) unless the inventory says `strict_host_key: false`. Every paramiko and
socket error is translated into the caller's error class, naming the host and the next step:
while connecting by `open_connection()`, on an open session by `map_errors()` (as httpx's
`map_exceptions`), the one boundary for commands and transfers.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import NOTHING_CHANGED, PgRunbookError, TargetError

if TYPE_CHECKING:
    from fabric import Connection

    from .config import HostSettings


def open_connection(host: HostSettings, *, what: str, error: type[PgRunbookError] = TargetError) -> Connection:
    """A connected Fabric connection with strict host-key checking; failures raise `error` (whose errors these are)."""
    import logging

    import paramiko
    from fabric import Connection

    # paramiko logs handshake failures at ERROR; without a handler Python would print them raw.
    # We translate those errors ourselves (below), so its log stays quiet unless configured.
    paramiko_log = logging.getLogger("paramiko")
    if not paramiko_log.handlers:
        paramiko_log.addHandler(logging.NullHandler())
    known_hosts = host.known_hosts or Path.home() / ".ssh" / "known_hosts"
    address = f"{host.user}@{host.host}:{host.port}"

    def refused(message: str, next_step: str) -> PgRunbookError:
        return error(f"{what}: {message}", changed=NOTHING_CHANGED, next_step=next_step)  # not connected: nothing ran there

    connect_kwargs: dict[str, Any] = {"banner_timeout": host.connect_timeout, "auth_timeout": host.connect_timeout}
    if host.key_file:
        connect_kwargs.update(key_filename=str(host.key_file), look_for_keys=False, allow_agent=False)
    conn = Connection(host.host, user=host.user, port=host.port, connect_timeout=host.connect_timeout, connect_kwargs=connect_kwargs)
    client = conn.client
    client.get_host_keys().clear()
    if Path(known_hosts).exists():
        try:
            client.load_host_keys(str(known_hosts))
        except (OSError, paramiko.SSHException) as exc:
            raise refused(f"cannot read known_hosts file {known_hosts}: {exc}", "fix or replace that file") from None
    elif host.strict_host_key:
        raise refused(
            f"no known_hosts file at {known_hosts}, so the host key of {host.host} cannot be checked",
            f"pin the key: `ssh-keyscan -p {host.port} {host.host} >> {known_hosts}` (then compare its fingerprint with the host's "
            "`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`), or set hosts.<name>.known_hosts",
        )
    client.set_missing_host_key_policy(paramiko.RejectPolicy() if host.strict_host_key else paramiko.AutoAddPolicy())
    try:
        conn.open()
    except paramiko.BadHostKeyException as exc:
        raise refused(
            f"the host key of {host.host}:{host.port} CHANGED (got {exc.key.get_name()} {exc.key.get_fingerprint().hex()}, "
            f"known_hosts {known_hosts} has another): refusing to connect, this may be an attack",
            f"confirm the new key with the host's administrator; if legitimate, `ssh-keygen -R '[{host.host}]:{host.port}' -f {known_hosts}` and pin the new one",
        ) from None
    except paramiko.AuthenticationException as exc:
        raise refused(f"{address} refused authentication ({exc})",
                      f"check hosts.*.user and key_file ({host.key_file or 'default keys / agent'}); `ssh -p {host.port} {host.user}@{host.host}` should work") from None
    except paramiko.SSHException as exc:
        if "not found in known_hosts" in str(exc):
            raise refused(
                f"the host key of {host.host}:{host.port} is unknown (not in {known_hosts}): refusing to connect",
                f"pin it: `ssh-keyscan -p {host.port} {host.host} >> {known_hosts}` after checking its fingerprint with the host's administrator",
            ) from None
        if "banner" in str(exc).lower() or "no existing session" in str(exc).lower():
            raise refused(f"{address} accepted the connection but the SSH handshake did not complete within {host.connect_timeout}s (timed out, or not an SSH server)",
                          "check that sshd (not another service) listens on that port and that the host is not overloaded") from None
        raise refused(f"SSH to {address} failed: {exc}", "check the host and its sshd, then run again") from None
    except (socket.timeout, TimeoutError) as exc:
        raise refused(f"connecting to {address} timed out after {host.connect_timeout}s ({exc})",
                      "check the host is up and reachable (VPN, firewall), then run again") from None
    except OSError as exc:
        raise refused(f"cannot connect to {address}: {exc.strerror or exc}",
                      "check the host is up and sshd listens on that port, then run again") from None
    return conn


@contextmanager
def map_errors(what: str, address: str, *, changed: str, error: type[PgRunbookError] = TargetError,
               next_step: str = "check the network and the host (up, load, disk), then run again",
               redact: Callable[[str], str] = str) -> Iterator[None]:
    """The boundary where errors of an open SSH session (paramiko, sockets, invoke's command
    timeout) become ours: one raised inside leaves as `error` ("<what>: ... <address> ..."),
    its text passed through `redact`, saying what `changed` and the next step. Ours pass unchanged.

    `changed` has no default: only the caller knows what had run on the host by then."""
    import paramiko
    from invoke.exceptions import CommandTimedOut

    try:
        yield
    except CommandTimedOut as exc:
        raise error(f"{what}: timed out on {address} after {exc.timeout}s", changed=changed, next_step=next_step) from None
    except TimeoutError as exc:  # socket.timeout too: a channel with no progress
        raise error(f"{what}: {address} stopped answering ({redact(str(exc)) or 'timed out'})", changed=changed,
                    next_step=next_step) from None
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise error(f"{what}: the SSH connection to {address} failed: {redact(str(exc)) or type(exc).__name__}", changed=changed,
                    next_step=next_step) from None
