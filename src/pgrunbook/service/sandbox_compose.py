"""The sandbox's HTTP API as a Docker Compose service (`backend`), for `inv demo --app compose` and the tests.

    path = write_compose_file(folder, port=8787, dsn=..., passfile=...)   # docker-compose.yml
    create_service(path, project=..., binary=...)                         # base image + `up --no-start`

No registry is reachable from these machines, so the image is empty (`docker import` of an
empty tarball, `BASE_IMAGE`) and the container runs this machine's own Python and project
through read-only bind mounts (/usr, /lib, /lib64, /bin, the interpreter's prefix, the
project), on the host network: the API listens on 127.0.0.1 like the `command` controller's.
The container runs as the calling user so that libpq accepts the 0600 passfile.

The health check asks /health (200 when the database answers) every second; `restart: "no"`,
so nothing but pgrunbook starts the service during a rollback (see `ComposeController`'s
preflight for the policies it refuses).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path

import yaml

BASE_IMAGE = "pgrunbook-host:empty"
SERVICE = "backend"
PROJECT = "pgrunbook-demo"
_SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/bin", "/sbin")


def _mounts(extra: tuple[Path, ...]) -> list[str]:
    """Read-only bind mounts: the system folders, the interpreter's prefixes, the project (deduplicated)."""
    wanted = [d for d in _SYSTEM_DIRS if os.path.exists(d)]
    for path in (Path(sys.base_prefix), Path(sys.prefix), *extra):
        resolved = str(path.resolve())
        if not any(resolved == w or resolved.startswith(w.rstrip("/") + "/") for w in wanted):
            wanted.append(resolved)
    return [f"{path}:{path}:ro" for path in wanted]


def compose_data(*, port: int, dsn: str, passfile: Path, project_root: Path, service: str = SERVICE) -> dict:
    """The compose file's content (a dict, written as YAML)."""
    health = f"import urllib.request as u; u.urlopen('http://127.0.0.1:{port}/health', timeout=2)"
    return {"services": {service: {
        "image": BASE_IMAGE,
        "network_mode": "host",
        "user": f"{os.getuid()}:{os.getgid()}",
        "read_only": True,
        "tmpfs": ["/tmp"],
        "working_dir": "/tmp",
        "command": [sys.executable, "-m", "pgrunbook.sandbox.api", "serve", "--host", "127.0.0.1", "--port", str(port),
                    "--passfile", str(passfile)],
        # The URL carries no password (the passfile does); it is in the environment, not argv.
        "environment": {"PGRUNBOOK_API_DSN": dsn, "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/tmp"},
        "volumes": [*_mounts((project_root, passfile.parent))],
        "restart": "no",
        "stop_grace_period": "10s",
        "healthcheck": {"test": ["CMD", sys.executable, "-c", health], "interval": "1s", "timeout": "3s", "retries": 3,
                        "start_period": "0s"},
    }}}


def write_compose_file(folder: Path, *, port: int, dsn: str, passfile: Path, project_root: Path | None = None,
                       service: str = SERVICE) -> Path:
    from ..config import PROJECT_ROOT

    folder.mkdir(parents=True, exist_ok=True)
    data = compose_data(port=port, dsn=dsn, passfile=passfile, project_root=project_root or PROJECT_ROOT, service=service)
    path = folder / "docker-compose.yml"
    path.write_text("# written by pgrunbook (service/sandbox_compose.py): the sandbox API under Docker Compose\n"
                    + yaml.safe_dump(data, sort_keys=False))
    return path


def ensure_base_image(env: Mapping[str, str] | None = None, image: str = BASE_IMAGE) -> bool:
    """Import the empty base image unless the engine has it; True when it was imported now."""
    full_env = {**os.environ, **(env or {})}
    have = subprocess.run(["docker", "image", "inspect", image], env=full_env, capture_output=True, text=True, timeout=60)
    if have.returncode == 0:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        tar = Path(tmp) / "empty.tar"
        with tarfile.open(tar, "w"):
            pass
        done = subprocess.run(["docker", "import", str(tar), image], env=full_env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"`docker import` of the empty base image {image} failed: {(done.stderr or done.stdout).strip()}")
    return True


def default_binary() -> str:
    """Debian's `docker-compose` (v1, the seed's spelling) when installed, else the v2 plugin."""
    import shutil

    return "docker-compose" if shutil.which("docker-compose") else "docker compose"


def create_service(file: Path, *, project: str, binary: str, service: str = SERVICE, env: Mapping[str, str] | None = None) -> None:
    """Make the service's container exist, stopped or as it was (`up --no-start`): the controller
    only stops and starts containers, as `compose stop/start` do. Raises ControllerError."""
    from ..errors import ControllerError

    full_env = {**os.environ, **(env or {})}
    info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], env=full_env, capture_output=True, text=True, timeout=60)
    if info.returncode != 0:
        raise ControllerError(f"no docker engine answers `docker info`: {(info.stderr or info.stdout).strip()}",
                              changed="nothing was changed (no container was created)",
                              next_step="start the engine (`systemctl start docker`, or as root without systemd: "
                                        "`dockerd >/var/log/dockerd.log 2>&1 &`), or point DOCKER_HOST at it; then run again")
    try:
        ensure_base_image(env)
    except RuntimeError as exc:
        raise ControllerError(str(exc), changed="nothing was changed", next_step="check `docker info` and the engine's log") from None
    argv = [*binary.split(), "-f", str(file), "-p", project, "up", "--no-start", service]
    done = subprocess.run(argv, env=full_env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise ControllerError(f"`{' '.join(argv)}` exited {done.returncode}: {(done.stderr or done.stdout).strip()[-800:]}",
                              changed="no container was started", next_step="run that command by hand to see the engine's error")
