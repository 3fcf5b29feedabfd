"""Behind Debian's PgBouncer in transaction mode: refused up front, with "connect directly" (issue 11, poolers).

In transaction pooling, session state does not survive between transactions: `SET
lock_timeout`, the run's advisory lock, the pinned parsing settings. pgrunbook pins its
settings through the `options` startup parameter and checks that the server took them, so a
pooler either refuses the parameter or drops it; both are a clear refusal that changes nothing.
`.ci/run` installs `pgbouncer`; without it these tests fail naming the package.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from pgrunbook import commands
from pgrunbook.config import load_config
from pgrunbook.errors import ConnectionFailure
from pgrunbook.sandbox.cluster import free_port, wait_until_accepting

from .conftest import TEST_PASSWORD

pytestmark = pytest.mark.integration
PGBOUNCER = "/usr/sbin/pgbouncer"


def start_pgbouncer(pg_port: int, *, ignore_options: bool) -> tuple[subprocess.Popen, int, Path]:
    if not Path(PGBOUNCER).exists():
        pytest.fail("Debian's pgbouncer is not installed (apt-get install pgbouncer; .ci/run does it)")
    root = Path(tempfile.mkdtemp(prefix="pgrunbook-test-pgbouncer-"))
    port = free_port()
    (root / "userlist.txt").write_text(f'"postgres" "{TEST_PASSWORD}"\n')
    (root / "userlist.txt").chmod(0o600)
    ignored = "extra_float_digits,options" if ignore_options else "extra_float_digits"
    (root / "pgbouncer.ini").write_text(f"""[databases]
* = host=127.0.0.1 port={pg_port}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {root}/userlist.txt
pool_mode = transaction
ignore_startup_parameters = {ignored}
logfile = {root}/pgbouncer.log
pidfile = {root}/pgbouncer.pid
""")
    user = ["-u", "nobody"] if subprocess.run(["id", "-u"], capture_output=True, text=True).stdout.strip() == "0" else []
    if user:
        shutil.chown(root, "nobody")
        for name in ("userlist.txt", "pgbouncer.ini"):
            shutil.chown(root / name, "nobody")
    proc = subprocess.Popen([PGBOUNCER, *user, str(root / "pgbouncer.ini")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_accepting(port, timeout=15)
    except Exception:
        proc.kill()
        raise
    return proc, port, root


@pytest.fixture(params=[False, True], ids=["options-refused", "options-ignored"])
def pooled_db(request, app_db):
    db = app_db("tracked")
    proc, port, root = start_pgbouncer(db.cluster.port, ignore_options=request.param)
    yield db, port
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(root, ignore_errors=True)


def test_a_transaction_pooler_is_refused_with_connect_directly(pooled_db):
    db, port = pooled_db
    url = f"postgresql://postgres:${{PGRB_TEST_PW}}@127.0.0.1:{port}/{db.name}"
    cfg = load_config(db.inventory(database={"url": url}))
    started = time.monotonic()
    for phase in (lambda: commands.verify(cfg), lambda: commands.gate(cfg)):
        with pytest.raises(ConnectionFailure) as exc:
            phase()
        text = f"{exc.value.what} {exc.value.next_step}"
        assert "directly" in text and "pooler" in text.lower(), text
        assert TEST_PASSWORD not in text
    assert time.monotonic() - started < 60
    with db.connect() as conn:  # nothing was changed
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'idx\\_%'").fetchone()[0] == 0
