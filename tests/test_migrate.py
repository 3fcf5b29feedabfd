"""`inv migrate`: only on a GO of this run, only the plan that GO approved, with confirmation off-sandbox."""

from __future__ import annotations

import pytest

from pgrunbook import cli, commands
from pgrunbook.config import load_config
from pgrunbook.drizzle import load_migrations, reconcile
from pgrunbook.drizzle.recorder import Recorder
from pgrunbook.errors import CheckFailed, UsageError

from .conftest import TEST_PASSWORD
from .phases import backed_up, gone_through_gate

pytestmark = pytest.mark.integration
INDEXES = "0011_add_performance_indexes"


def idx_count(db) -> int:
    with db.connect() as conn:
        return conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'idx\\_%'").fetchone()[0]


def test_refuses_without_a_go(app_db):
    db = app_db("tracked")
    cfg = backed_up(db.inventory())
    with pytest.raises(CheckFailed, match="no gate decision"):
        commands.migrate(cfg, yes=True)
    assert idx_count(db) == 0


def test_refuses_after_a_no_go(app_db):
    db = app_db("tracked")
    cfg = load_config(db.inventory())
    commands.gate(cfg)  # no backup: NO-GO
    with pytest.raises(CheckFailed, match="NO-GO"):
        commands.migrate(cfg, yes=True)


def test_applies_after_go_and_records_the_run(app_db):
    db = app_db("legacy")
    cfg, run = gone_through_gate(db.inventory())
    run2, result = commands.migrate(cfg, yes=True)
    assert run2.id == run.id and len(result.applied) == 1 and len(result.created_indexes) == 43
    end = run.read().migration_end
    assert len(end.created_indexes) == 43 and len(end.baseline) == 11
    assert run.read().migration_start.before["users_by_role"]["total"] == 68
    assert TEST_PASSWORD not in run.journal.read_text()
    local = load_migrations(db.drizzle_dir)
    with db.connect() as conn:
        assert reconcile(local, Recorder(conn).rows()).pending == ()
    # a second migrate on the same GO finds nothing left to do
    _, again = commands.migrate(cfg, yes=True)
    assert again is None


def test_refuses_when_the_plan_changed_since_the_go(app_db):
    db = app_db("tracked")
    cfg, _ = gone_through_gate(db.inventory())
    journal = db.drizzle_dir / "meta" / "_journal.json"
    import json

    data = json.loads(journal.read_text())
    data["entries"].append({"idx": 12, "version": "7", "when": 1900000000000, "tag": "0012_more", "breakpoints": True})
    journal.write_text(json.dumps(data))
    (db.drizzle_dir / "0012_more.sql").write_text('CREATE INDEX IF NOT EXISTS "idx_more" ON "users" ("email");\n')
    with pytest.raises(CheckFailed, match="the plan changed since the GO"):
        commands.migrate(cfg, yes=True)
    assert idx_count(db) == 0


def test_backup_option_reevaluates_the_gate(app_db):
    db = app_db("tracked")
    cfg = backed_up(db.inventory())
    from pgrunbook.backup import latest_backup

    backup_id = latest_backup(cfg.inventory.backup.dir).id
    _, result = commands.migrate(cfg, backup_ref=backup_id, yes=True)
    assert [t for t, _ in result.applied] == [INDEXES] and idx_count(db) == 43


def test_non_sandbox_target_needs_yes_or_the_typed_name(app_db):
    db = app_db("tracked")
    cfg, _ = gone_through_gate(db.inventory())
    assert not cfg.inventory.sandbox
    with pytest.raises(UsageError, match="not confirmed"):
        commands.migrate(cfg, confirm=lambda name, url: "wrong-name")
    assert idx_count(db) == 0
    _, result = commands.migrate(cfg, confirm=lambda name, url: name)
    assert result is not None and idx_count(db) == 43


def test_cli_without_tty_refuses_then_yes_applies_and_dry_run_changes_nothing(app_db, capsys):
    db = app_db("tracked")
    inventory = db.inventory()
    gone_through_gate(inventory)
    common = dict(run_id=None, backup=None, online=False, single_transaction=False, baseline_until=None, only=None, as_json=False)
    assert cli.migrate(str(inventory), None, dry_run=True, yes=False, **common) == 0
    out = capsys.readouterr().out
    assert out.startswith("-- pgrunbook migrate plan") and idx_count(db) == 0
    assert cli.migrate(str(inventory), None, dry_run=False, yes=False, **common) == 2
    assert "not confirmed" in capsys.readouterr().err and idx_count(db) == 0
    assert cli.migrate(str(inventory), None, dry_run=False, yes=True, **{**common, "online": True}) == 0
    assert idx_count(db) == 43
