"""`inv report --html` and `inv runs --html` on a real run (phases one by one on a real database):
the files land beside the journal / in the runs folder, private, their path alone on stdout."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pgrunbook import cli, commands

from .conftest import TEST_PASSWORD
from .phases import gone_through_gate

pytestmark = pytest.mark.integration


def test_report_and_history_as_html_from_a_real_run(app_db, capsys):
    db = app_db("legacy")
    inventory = db.inventory(environment="staging")
    cfg, run = gone_through_gate(inventory)
    commands.migrate(cfg, yes=True)
    commands.validate(cfg)
    capsys.readouterr()

    assert cli.report(str(inventory), None, run_id=None, lang="fr", as_json=False, as_html=True) == 0
    out = capsys.readouterr().out.strip()
    page = Path(out)
    assert page == run.dir / "report.fr.html" and page.exists() and os.stat(page).st_mode & 0o777 == 0o600
    text = page.read_text(encoding="utf-8")
    assert "<h1>Rapport de Migration Performance - staging</h1>" in text and text.count("<svg") == 3  # timeline, users, backups: no API here
    assert "Indexes créés : <strong>43</strong>" in text and TEST_PASSWORD not in text
    assert 'id="chart-latency"><figcaption>Latence' in text and "— non mesuré dans ce run" in text  # no api: in this inventory

    assert cli.runs(str(inventory), None, as_json=True, as_html=True) == 0
    shown = json.loads(capsys.readouterr().out)
    history = Path(shown["html"])
    assert history == cfg.inventory.backup.dir / "runs" / "history.en.html" and os.stat(history).st_mode & 0o777 == 0o600
    row = next(r for r in shown["runs"] if r["id"] == run.id)
    assert row["metrics"]["migration_seconds"] > 0 and row["metrics"]["backup_size"] > 0
    assert run.id in history.read_text(encoding="utf-8") and TEST_PASSWORD not in history.read_text(encoding="utf-8")

    assert cli.report(str(inventory), None, run_id=run.id, lang="en", as_json=True, as_html=True) == 2  # one rendering at a time
    assert cli.runs(str(inventory), None, as_json=False, as_html=True, lang="de") == 2
