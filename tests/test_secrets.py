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
