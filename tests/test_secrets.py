"""Secrets in every URL form never show: outputs, journals, manifests, plans, process arguments (issue 11.7)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest

from pgrunbook import cli

from .conftest import TEST_PASSWORD
from .phases import write_playbook
from .test_service import processes_showing

pytestmark = pytest.mark.integration
FOREIGN_SECRET = "hunter2-foreign-secret"


def every_file_text(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl", ".md", ".html", ".txt"))


class ArgvWatcher(threading.Thread):
    """Samples every process's argv while the phases run: a secret there is visible to any local user."""

    def __init__(self, *secrets: str) -> None:
        super().__init__(daemon=True)
        self.secrets, self.hits, self.stop = secrets, [], threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for secret in self.secrets:
                self.hits += processes_showing(secret)
            time.sleep(0.05)


def test_password_in_the_query_string_and_in_foreign_query_text(app_db, capsys, tmp_path):
    db = app_db("tracked")
    url = f"postgresql://postgres@127.0.0.1:{db.cluster.port}/{db.name}?sslmode=disable&password=${{PGRB_TEST_PW}}"
    inventory = db.inventory(database={"url": url})
    playbook = write_playbook(tmp_path / "playbook.yml", gate={"max_transaction_seconds": 1})
    with db.connect() as conn:
        conn.execute("CREATE ROLE secret_holder")
    blocker = psycopg.connect(db.url)  # idle in transaction after setting a password: the gate reports blockers
    blocker.execute(f"ALTER ROLE secret_holder PASSWORD '{FOREIGN_SECRET}'")
    watcher = ArgvWatcher(TEST_PASSWORD, FOREIGN_SECRET)
    watcher.start()
    try:
        time.sleep(1.5)
        assert cli.verify(str(inventory), str(playbook), as_json=False) in (0, 3)
        assert cli.backup(str(inventory), str(playbook), None, False, False) == 0
        assert cli.gate(str(inventory), str(playbook), run_id=None, backup=None, baseline_until=None, only=None, as_json=False) == 3
        assert cli.gate(str(inventory), str(playbook), run_id=None, backup=None, baseline_until=None, only=None, as_json=True) == 3
    finally:
        watcher.stop.set()
        watcher.join()
        blocker.close()
    out = capsys.readouterr()
    assert "no-blockers" in out.out + out.err
    for secret in (TEST_PASSWORD, FOREIGN_SECRET):
        assert secret not in out.out and secret not in out.err
        assert secret not in every_file_text(db.workdir / "backups")
    assert watcher.hits == []


@pytest.mark.parametrize("form", ["multi-host", "conninfo", "service", "environment"])
def test_every_libpq_form_reaches_the_database_and_hides_the_password(app_db, capsys, tmp_path, monkeypatch, form):
    """Issue 11: several hosts (the first one down), key/value conninfo, a service file, PG* variables."""
    db = app_db("tracked")
    port, name = db.cluster.port, db.name
    from pgrunbook.sandbox.cluster import free_port

    urls = {
        "multi-host": f"postgresql://postgres:${{PGRB_TEST_PW}}@127.0.0.1:{free_port()},127.0.0.1:{port}/{name}?connect_timeout=3",
        "conninfo": f"host=127.0.0.1 port={port} dbname={name} user=postgres password=${{PGRB_TEST_PW}}",
        "service": "service=pgrb_test",
        "environment": f"dbname={name}",
    }
    if form == "service":
        service = tmp_path / "pg_service.conf"
        service.write_text(f"[pgrb_test]\nhost=127.0.0.1\nport={port}\ndbname={name}\nuser=postgres\npassword={TEST_PASSWORD}\n")
        monkeypatch.setenv("PGSERVICEFILE", str(service))
    if form == "environment":
        for variable, value in {"PGHOST": "127.0.0.1", "PGPORT": str(port), "PGUSER": "postgres", "PGPASSWORD": TEST_PASSWORD}.items():
            monkeypatch.setenv(variable, value)
    inventory = db.inventory(database={"url": urls[form]})
    watcher = ArgvWatcher(TEST_PASSWORD)
    watcher.start()
    try:
        assert cli.verify(str(inventory), None, as_json=False) in (0, 3)
        assert cli.backup(str(inventory), None, None, False, False) == 0
    finally:
        watcher.stop.set()
        watcher.join()
    out = capsys.readouterr()
    assert name in out.out + out.err
    assert TEST_PASSWORD not in out.out + out.err and TEST_PASSWORD not in every_file_text(db.workdir / "backups")
    assert watcher.hits == []
