"""A real Docker engine for the tests marked `docker`: Debian's `dockerd`, started by the session.

Import the fixture into a test module (`from tests.docker_engine import docker_engine`).

- `dockerd` runs with its own data root, exec root, pidfile and unix socket under a temporary
  folder, so it never touches (or depends on) an engine the developer already runs. No bridge
  and no iptables: the tests' containers use the host network, and this keeps dockerd
  startable in containers without NET_ADMIN over iptables.
- The base image (`service.sandbox_compose.BASE_IMAGE`, an empty `docker import`) is imported
  once: no registry is reachable, the host's Python runs through read-only bind mounts.
- The engine is stopped by its pid at the end of the session (SIGTERM, then SIGKILL).
- When the engine cannot start, every test that needs it FAILS with dockerd's own words: a CI
  that silently skips the Compose tests would prove nothing (`.ci/run` installs docker.io).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from pgrunbook.service.sandbox_compose import BASE_IMAGE, ensure_base_image

DOCKERD = shutil.which("dockerd") or "/usr/sbin/dockerd"
START_TIMEOUT = 60


@dataclass(frozen=True)
class DockerEngine:
    host: str  # DOCKER_HOST value: unix:///.../docker.sock
    socket: Path
    root: Path
    pid: int

    def env(self) -> dict[str, str]:
        return {"DOCKER_HOST": self.host}

    def docker(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker", *args], env={**os.environ, **self.env()}, capture_output=True, text=True, timeout=timeout)


class EngineUnavailable(Exception):
    pass


def _start(root: Path) -> tuple[subprocess.Popen[bytes], Path]:
    for program in (DOCKERD, "docker"):
        if not shutil.which(program):
            raise EngineUnavailable(f"`{program}` is not installed: run .ci/run (it installs Debian's docker.io and docker-compose)")
    sock = root / "docker.sock"
    log = open(root / "dockerd.log", "wb")  # noqa: SIM115 - closed with the process
    argv = [DOCKERD, "--data-root", str(root / "data"), "--exec-root", str(root / "exec"), "--pidfile", str(root / "dockerd.pid"),
            "--host", f"unix://{sock}", "--bridge=none", "--iptables=false", "--ip-masq=false"]
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    return proc, sock


def _wait_ready(proc: subprocess.Popen[bytes], sock: Path, root: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    env = {**os.environ, "DOCKER_HOST": f"unix://{sock}"}
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EngineUnavailable(f"dockerd exited {proc.returncode} at start: {_log_tail(root)}")
        if sock.exists() and subprocess.run(["docker", "info"], env=env, capture_output=True, timeout=30).returncode == 0:
            return
        time.sleep(0.2)
    raise EngineUnavailable(f"dockerd did not answer on {sock} within {START_TIMEOUT}s: {_log_tail(root)}")


def _log_tail(root: Path, lines: int = 8) -> str:
    try:
        text = (root / "dockerd.log").read_text(errors="replace")
    except OSError:
        return "(no log)"
    return " / ".join(line.strip() for line in text.splitlines()[-lines:])


def _unmount_under(root: Path) -> None:
    """dockerd leaves its default network namespace (an nsfs mount under --exec-root) mounted
    when it exits: unmount whatever is still mounted under `root`, deepest first, so that the
    folder can be removed and sessions do not pile up mounts."""
    prefix = str(root.resolve()) + "/"
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return
    points = [line.split()[4] for line in lines if len(line.split()) > 4 and line.split()[4].startswith(prefix)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", point], capture_output=True, timeout=30)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM by pid (dockerd then stops its containers and containerd), SIGKILL after 30 s."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def docker_engine():
    root = Path(tempfile.mkdtemp(prefix="pgrunbook-test-docker-"))
    root.chmod(0o755)
    proc = None
    try:
        proc, sock = _start(root)
        _wait_ready(proc, sock, root)
        ensure_base_image(env={"DOCKER_HOST": f"unix://{sock}"})
    except (EngineUnavailable, OSError, subprocess.SubprocessError, RuntimeError) as exc:
        if proc is not None:
            _stop(proc)
        _unmount_under(root)
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"the Docker engine for the tests marked `docker` could not start: {exc}", pytrace=False)
    try:
        yield DockerEngine(f"unix://{sock}", sock, root, proc.pid)
    finally:
        _stop(proc)
        _unmount_under(root)
        shutil.rmtree(root, ignore_errors=True)


__all__ = ["BASE_IMAGE", "DockerEngine", "docker_engine"]
