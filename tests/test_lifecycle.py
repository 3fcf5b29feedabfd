"""The run lifecycle (issue 10): a run opens on verify, phases run alone join it only while the database is
the one it observed, it closes on validate / NO-GO / rollback and is read-only after; `inv runs` lists runs;
`inv report` reports on the newest closed run with a duration that no longer grows."""

from __future__ import annotations

import json

import pytest
from psycopg import sql

from pgrunbook import cli, commands
from pgrunbook.config import load_config
from pgrunbook.errors import CheckFailed, UsageError
from pgrunbook.journal import BackupEnded, GateDecided, Validated, VerifyEnded
from pgrunbook.report import report_data
from pgrunbook.runs import list_runs

from .conftest import TEST_PASSWORD

pytestmark = pytest.mark.integration


def recreate(db, templates, state: str = "legacy") -> None:
    """What `inv sandbox.reset` does: the same name, a new database."""
    with _admin(db) as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(db.name)))
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(db.name), sql.Identifier(templates(state))))


def _admin(db):
    import psycopg

    return psycopg.connect(db.cluster.url("postgres"), autocommit=True)


def test_phases_one_by_one_share_one_run_that_closes_on_validate(app_db):
    db = app_db("legacy")
    cfg = load_config(db.inventory())
    commands.verify(cfg)
    [run] = list_runs(cfg.inventory.backup.dir)
    assert commands.backup(cfg).ok
    gate_run, decision = commands.gate(cfg)
    assert decision.go and gate_run == run
    migrate_run, _ = commands.migrate(cfg, yes=True)
    validate_run, report = commands.validate(cfg)
    assert migrate_run == validate_run == run and report.ok
    j = run.read()
    assert j.is_closed and j.outcome == "ok" and j.phases == ["verify", "backup", "gate", "migrate", "validate"]
    assert j.last(VerifyEnded) and j.last(BackupEnded) and j.last(GateDecided) and j.last(Validated)
    with pytest.raises(UsageError, match="closed"):  # read-only now
        commands.validate(cfg, run_id=run.id)


def test_a_phase_alone_refuses_a_run_whose_database_was_recreated_and_new_run_starts_one(app_db, templates):
    """The newcomer's scenario: verify + backup, then `inv sandbox.reset`, then `inv gate` joined the old run."""
    db = app_db("legacy")
    cfg = load_config(db.inventory())
    commands.verify(cfg)
    assert commands.backup(cfg).ok
    [old] = list_runs(cfg.inventory.backup.dir)
    recreate(db, templates)
    with pytest.raises(CheckFailed) as refused:
        commands.gate(cfg)
    assert f"the database changed since run {old.id} observed it" in refused.value.what
    assert "another database now" in refused.value.what and "--new-run" in refused.value.next_step
    assert refused.value.changed == "nothing was changed" and old.read().last(GateDecided) is None
    new, decision = commands.gate(cfg, new_run=True)
    assert new != old and new.read().last(GateDecided) is not None


def test_a_changed_ledger_refuses_too(app_db):
    db = app_db("tracked")
    cfg = load_config(db.inventory())
    commands.verify(cfg)
    with db.connect() as conn:  # another tool (drizzle's own migrator, a teammate) migrated meanwhile
        conn.execute("INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('x', 1)")
    with pytest.raises(CheckFailed, match="drizzle ledger changed"):
        commands.backup(cfg)


def test_a_no_go_closes_the_run_and_the_next_phase_starts_a_new_one(app_db):
    db = app_db("tracked")
    cfg = load_config(db.inventory())
    run, decision = commands.gate(cfg)  # no backup: NO-GO
    assert not decision.go and run.read().outcome == "no-go"
    with pytest.raises(CheckFailed, match=f"in run {run.id}, is NO-GO"):
        commands.migrate(cfg, yes=True)


def test_verify_supersedes_runs_that_changed_nothing_but_keeps_one_that_migrated(app_db):
    from .phases import gone_through_gate

    db = app_db("legacy")
    cfg = load_config(db.inventory())
    commands.verify(cfg)
    [first] = list_runs(cfg.inventory.backup.dir)
    commands.verify(cfg)
    assert first.read().outcome == "abandoned" and "superseded by run" in first.read().closed.reason
    cfg, migrated = gone_through_gate(db.inventory())
    commands.migrate(cfg, yes=True)
    commands.verify(cfg)
    assert migrated.read().outcome == "in progress"  # a migration to validate or roll back: never abandoned


def test_inv_runs_and_report_on_the_newest_closed_run(app_db, capsys):
    db = app_db("legacy")
    inventory = db.inventory()
    cfg = load_config(inventory)
    from .phases import gone_through_gate

    _, run = gone_through_gate(inventory)
    commands.migrate(cfg, yes=True)
    commands.validate(cfg)
    commands.verify(cfg)  # a newer run, still open: not what `inv report` shows by default
    first = report_data(commands.report_run(cfg, None), cfg)
    assert first["run"] == run.id and first["outcome"] == "ok" and first["duration_minutes"] is not None
    assert report_data(commands.report_run(cfg, None), cfg)["duration_minutes"] == first["duration_minutes"]  # not growing
    assert cli.runs(str(inventory), None, as_json=False) == 0
    assert run.id in capsys.readouterr().out  # ids are never wrapped: they are copied into --run
    assert cli.runs(str(inventory), None, as_json=True) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["outcome"]) for r in rows][1] == (run.id, "ok") and rows[0]["outcome"] == "in progress"
    assert rows[1]["phases"] == ["backup", "gate", "migrate", "validate"] and rows[0]["seconds"] is None
    assert cli.runs_show(str(inventory), None, run.id, as_json=True) == 0
    out = capsys.readouterr().out
    assert '"outcome": "ok"' in out and '"phase": "validate"' in out and TEST_PASSWORD not in out
