"""drizzle 1.0's ledger upgrade as a planned step (issue 13 item 3), on a real server.

The sandbox's "tracked" database holds a 0.45 ledger (11 rows; 0011 stranded); its folder converted by
the real `drizzle-kit up` is committed (`sandbox/fixture/drizzle-1.0`). analyze shows the upgrade,
the gate approves it as a step, migrate runs it (the recorder, one transaction, journaled
`LedgerUpgraded`), the printed SQL is what the server receives, and `rollback --indexes-only` gives
the ledger 0.45's shape back when it holds nothing else, and says so when it must keep 1.0's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pgrunbook import commands
from pgrunbook.config import load_config
from pgrunbook.drizzle import load_migrations, reconcile
from pgrunbook.drizzle.recorder import Recorder
from pgrunbook.errors import CheckFailed, MigrationFailed
from pgrunbook.journal import LedgerUpgraded, MigrationEnded
from pgrunbook.rollback import indexes_only_rollback

from ..phases import backed_up, gone_through_gate

pytestmark = pytest.mark.integration
FIXTURE_V1 = Path(__file__).parents[2] / "src" / "pgrunbook" / "sandbox" / "fixture" / "drizzle-1.0"


def tracked_v1(app_db, *extra: tuple[str, str]):
    """A "tracked" database (0.45 ledger) whose app folder is now the 1.0 conversion, plus `extra` (folder, SQL)."""
    db = app_db("tracked")
    shutil.rmtree(db.drizzle_dir)
    shutil.copytree(FIXTURE_V1, db.drizzle_dir)
    for name, text in extra:
        (db.drizzle_dir / name).mkdir()
        (db.drizzle_dir / name / "migration.sql").write_text(text)
    return db


def ledger(db) -> list[tuple]:
    with db.connect() as conn:
        version = Recorder(conn).ledger_version()
        columns = "id, hash, created_at" + (", name, applied_at IS NULL" if version == 1 else "")
        return conn.execute(f"SELECT {columns} FROM drizzle.__drizzle_migrations ORDER BY id").fetchall()


def test_analyze_shows_the_upgrade_and_prints_what_the_server_receives(app_db):
    from ..test_schedule import run_and_compare

    db = tracked_v1(app_db)
    report = commands.analyze(load_config(db.inventory()), squawk=False)
    data = report.as_json()
    rows = data["ledger_upgrade"]["rows"]
    assert len(rows) == 11 and {r["matched_by"] for r in rows} == {"created_at"} and all(r["name"] for r in rows)
    assert [s["tag"] for s in data["apply"]] == ["20250916180725_add_performance_indexes"]
    check = next(c for c in report.checks if c.id == "ledger-upgrade")
    assert f"id {rows[0]['id']} -> {rows[0]['name']} (the only folder of its created_at second)" in check.summary
    assert report.sql.count("ADD COLUMN IF NOT EXISTS") == 2 and report.sql.count('UPDATE "drizzle"."__drizzle_migrations"') == 11
    assert report.sql.index("ADD COLUMN IF NOT EXISTS") < report.sql.index("CREATE INDEX")
    statements = run_and_compare(db)  # the dry run's statements are the ones the server received
    assert sum(s.startswith('UPDATE "drizzle"') for s in statements) == 11
    assert ledger(db)[-1][3] == "20250916180725_add_performance_indexes" and len(ledger(db)) == 12


def test_gate_approves_it_migrate_journals_it_and_the_index_rollback_restores_0_45s_shape(app_db):
    db = tracked_v1(app_db)
    before = ledger(db)
    cfg, run = gone_through_gate(db.inventory())
    decision = run.read().go
    assert decision.steps[0][:2] == ("drizzle.__drizzle_migrations", "upgrade-ledger")
    assert any(c["id"] == "ledger-upgrade" and c["status"] == "ok" for c in decision.checks)
    commands.migrate(cfg, yes=True)
    journal = run.read()
    upgraded = journal.ledger_upgrade
    assert upgraded is not None and len(upgraded.rows) == 11 and upgraded.columns == ("name", "applied_at")
    assert journal.index(upgraded) < journal.index(journal.last(MigrationEnded))
    after = ledger(db)
    assert [r[:3] for r in after[:11]] == before and all(r[4] for r in after[:11])  # same rows, named, applied_at NULL
    assert [r[3] for r in after] == [m.tag for m in load_migrations(db.drizzle_dir).entries]
    with db.connect() as conn:
        assert reconcile(load_migrations(db.drizzle_dir), Recorder(conn).rows()).pending == ()
    result = indexes_only_rollback(cfg, run=run, yes=True)
    assert result.ok and len(result.removed_tracking_rows) == 1
    assert next(c for c in result.checks if c.id == "ledger-shape").status.name == "OK"
    assert ledger(db) == before  # 0.45's shape and rows, exactly
    again = indexes_only_rollback(cfg, run=run, yes=True)
    assert again.ok and ledger(db) == before


def test_a_row_written_in_1_0s_shape_since_keeps_the_shape_and_the_rollback_says_so(app_db):
    db = tracked_v1(app_db)
    cfg, run = gone_through_gate(db.inventory())
    commands.migrate(cfg, yes=True)
    with db.connect() as conn:
        Recorder(conn).record("f" * 64, 1900000000000, "21000101000000_other_tool")  # written since, by someone else
    result = indexes_only_rollback(cfg, run=run, yes=True)
    check = next(c for c in result.checks if c.id == "ledger-shape")
    assert check.status.name == "WARN" and "keeps drizzle 1.0's shape" in check.summary and "not named by this run" in check.summary
    rows = ledger(db)
    assert len(rows) == 12 and rows[-1][3] == "21000101000000_other_tool" and all(r[3] for r in rows)


def test_a_failure_after_the_upgrade_says_so_and_the_rollback_undoes_it(app_db):
    db = tracked_v1(app_db, ("20990101000000_fails", 'CREATE INDEX IF NOT EXISTS "idx_broken" ON "users" ("no_such_column");\n'))
    before = ledger(db)
    cfg, run = gone_through_gate(db.inventory())
    with pytest.raises(MigrationFailed) as failure:
        commands.migrate(cfg, yes=True)
    assert "the ledger was upgraded to drizzle 1.0's shape (11 row(s) named, committed)" in failure.value.changed
    assert run.read().ledger_upgrade is not None
    result = indexes_only_rollback(cfg, run=run, yes=True)
    assert result.ok and ledger(db) == before


def test_a_user_update_in_the_same_plan_is_still_flagged(app_db):
    """The upgrade is the ledger's own change, not linted as a migration: it lifts nothing else."""
    db = tracked_v1(app_db, ("20990101000000_touch_users", "UPDATE \"users\" SET \"role\" = 'admin';\n"),
                    ("20990101000001_touch_ledger", "UPDATE \"drizzle\".\"__drizzle_migrations\" SET \"name\" = 'x';\n"))
    cfg = backed_up(db.inventory())
    report = commands.analyze(cfg, squawk=False)
    assert report.as_json()["ledger_upgrade"] is not None and not report.ok
    rules = {a.file: {f.rule_id for f in a.blocking} for a in report.analyses}
    assert "ban-update" in rules["20990101000000_touch_users/migration.sql"]
    assert "ban-tracking-table-write" in rules["20990101000001_touch_ledger/migration.sql"]
    _, decision = commands.gate(cfg)
    assert not decision.go and next(c for c in decision.checks if c.id == "migrations-allowed").status.name == "FAIL"


def test_a_row_changed_after_the_go_voids_it(app_db):
    db = tracked_v1(app_db)
    cfg, run = gone_through_gate(db.inventory())
    with db.connect() as conn:
        conn.execute("UPDATE drizzle.__drizzle_migrations SET created_at = created_at + 1 WHERE id = (SELECT min(id) FROM "
                     "drizzle.__drizzle_migrations)")
    before = ledger(db)
    with pytest.raises(CheckFailed, match="the plan changed since the GO"):
        commands.migrate(cfg, yes=True)
    assert ledger(db) == before and run.read().ledger_upgrade is None


def test_a_branch_merged_in_is_reported_by_verify_analyze_and_the_gate_before_anything_runs(app_db):
    """Issue 13 item 4: a teammate's migration generated from an older parent, copied in beside the head."""
    import json

    db = tracked_v1(app_db, ("20990101000000_on_a_branch", 'ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "nickname" text;\n'))
    parent = load_migrations(db.drizzle_dir).entries[9]
    (db.drizzle_dir / "20990101000000_on_a_branch" / "snapshot.json").write_text(json.dumps(
        {"id": "a-branch", "prevIds": [parent.snapshot_id], "version": "9", "dialect": "postgres", "type": "diff"}))
    before = ledger(db)
    cfg = backed_up(db.inventory())
    verified = commands.verify(cfg)
    check = next(c for c in verified.checks if c.id == "migration-history")
    assert check.status.name == "FAIL" and "2 open heads" in check.summary and "20990101000000_on_a_branch" in check.summary
    assert verified.as_json()["history"]["heads"] == ["20250916180725_add_performance_indexes", "20990101000000_on_a_branch"]
    report = commands.analyze(cfg, squawk=False)
    assert not report.ok and report.as_json()["history"]["heads"] == ["20250916180725_add_performance_indexes",
                                                                      "20990101000000_on_a_branch"]
    _, decision = commands.gate(cfg)
    assert not decision.go and next(c for c in decision.checks if c.id == "migration-history").status.name == "FAIL"
    assert ledger(db) == before


def test_an_upgrade_committed_but_not_journaled_is_still_undone_from_the_plan(app_db):
    """A crash between the upgrade's commit and its journal record: MigrationStarted holds the rows as planned."""
    from pgrunbook.journal import MigrationStarted

    db = tracked_v1(app_db)
    before = ledger(db)
    cfg, run = gone_through_gate(db.inventory())
    commands.migrate(cfg, yes=True)
    lines = [line for line in run.journal.read_text().splitlines() if '"event": "ledger"' not in line]
    run.journal.write_text("\n".join(lines) + "\n")  # as if the process died right after the upgrade's COMMIT
    journal = run.read()
    assert journal.ledger_upgrade is None and len(journal.last(MigrationStarted).ledger_upgrade) == 11
    result = indexes_only_rollback(cfg, run=run, yes=True)
    assert result.ok and ledger(db) == before


def test_the_rehearsal_runs_the_upgrade_on_the_restored_copy_too(app_db):
    db = tracked_v1(app_db)
    before = ledger(db)
    cfg = backed_up(db.inventory())
    _, decision = commands.gate(cfg, rehearse=True)
    check = next(c for c in decision.checks if c.id == "rehearsal")
    assert decision.go and check.status.name == "OK", check
    assert ledger(db) == before  # the production ledger is untouched


def test_inv_analyze_prints_the_upgrade_in_the_plan_and_its_rows_in_the_checks(app_db, capsys):
    from pgrunbook.console import show_analysis

    db = tracked_v1(app_db)
    show_analysis(commands.analyze(load_config(db.inventory()), squawk=False))
    shown = " ".join(capsys.readouterr().out.split())
    assert "upgrade ledger" in shown and "11 row(s) named" in shown and "ledger-upgrade" in shown


def test_migrate_prod_with_the_upgrade_as_the_only_step(app_db):
    """Every migration applied under 0.45 (0011 by pgrunbook, under its old `when`), then the folder converted:
    the plan is the upgrade alone (0011's row named by hash), and migrate-prod runs it end to end."""
    from pgrunbook.runner import ProdOptions, migrate_prod

    db = app_db("tracked")
    cfg, _ = gone_through_gate(db.inventory())
    commands.migrate(cfg, yes=True)
    commands.validate(cfg)  # closes that run
    shutil.rmtree(db.drizzle_dir)
    shutil.copytree(FIXTURE_V1, db.drizzle_dir)
    result = migrate_prod(load_config(db.inventory()), options=ProdOptions(yes=True))
    journal = result.run.read()
    assert result.outcome == "ok" and journal.migration_end.applied == ()
    assert [r["matched_by"] for r in journal.ledger_upgrade.rows][-1] == "hash" and len(journal.ledger_upgrade.rows) == 12
    rows = ledger(db)
    assert [r[3] for r in rows] == [m.tag for m in load_migrations(db.drizzle_dir).entries]
