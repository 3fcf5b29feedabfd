"""Bad inputs: each a clear error naming what and where, nothing changed, the next safe step (issue 11.10)."""

from __future__ import annotations

import json

import pytest

from pgrunbook import cli, commands
from pgrunbook.config import load_config
from pgrunbook.errors import CheckFailed, ConfigError, ConnectionFailure, SqlParseError

pytestmark = pytest.mark.integration


def idx_count(db) -> int:
    with db.connect() as conn:
        return conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'idx\\_%'").fetchone()[0]


def append(db, tag: str, raw: bytes | None) -> None:
    journal = db.drizzle_dir / "meta" / "_journal.json"
    data = json.loads(journal.read_text())
    data["entries"].append({"idx": len(data["entries"]), "version": "7", "when": 1900000000000, "tag": tag, "breakpoints": True})
    journal.write_text(json.dumps(data))
    if raw is not None:
        (db.drizzle_dir / f"{tag}.sql").write_bytes(raw)


def test_a_pending_non_utf8_file_is_refused_by_every_planning_phase_naming_file_line_column(app_db, capsys):
    db = app_db("tracked")
    append(db, "0012_latin1", b'CREATE INDEX IF NOT EXISTS "idx_x" ON "users" ("email");\n-- caf\xe9\n')
    inventory = str(db.inventory())
    cfg = load_config(inventory)
    for phase in (lambda: commands.analyze(cfg), lambda: commands.gate(cfg)):
        with pytest.raises(SqlParseError) as exc:
            phase()
        assert exc.value.what.endswith("0012_latin1.sql:2:7: not valid UTF-8 text: drizzle would run it with the bytes replaced by U+FFFD")
    assert cli.analyze(inventory, None, sql=False, baseline_until=None, only=None, online=False, single_transaction=False,
                       as_json=False) == 3
    assert "0012_latin1.sql:2:7" in capsys.readouterr().err and idx_count(db) == 0


def test_a_journal_entry_without_its_file_stops_analyze_gate_and_migrate(app_db):
    db = app_db("tracked")
    append(db, "0012_lost", None)
    cfg = load_config(db.inventory())
    for phase in (lambda: commands.analyze(cfg), lambda: commands.gate(cfg)):
        with pytest.raises(ConfigError, match="0012_lost") as exc:
            phase()
        assert "restore the missing files" in exc.value.next_step
    with pytest.raises(CheckFailed, match="no gate decision"):  # and migrate acts only on a GO, which cannot be had
        commands.migrate(cfg, yes=True)
    assert idx_count(db) == 0


def test_a_missing_passfile_is_named(app_db, tmp_path, monkeypatch):
    db = app_db("tracked")
    monkeypatch.delenv("PGRB_TEST_PW")
    url = f"postgresql://postgres@127.0.0.1:{db.cluster.port}/{db.name}"
    cfg = load_config(db.inventory(database={"url": url, "passfile": str(tmp_path / "no-such.pgpass")}))
    with pytest.raises(ConnectionFailure) as exc:
        commands.verify(cfg)
    assert "no-such.pgpass" in exc.value.what and "does not exist" in exc.value.what


def test_a_partial_only_plan_is_refused_and_verify_fails_on_the_ledger_it_would_leave(app_db):
    """Issue 11.11: `--only 0011` on the legacy database (a README example) would record 0011 alone; drizzle's next
    deploy would re-run 0010 (its tables exist) and skip 0000-0009. The plan is refused; verify fails on such a ledger."""
    from pgrunbook.drizzle import load_migrations
    from pgrunbook.drizzle.recorder import Recorder

    db = app_db("legacy")
    cfg = load_config(db.inventory())
    with pytest.raises(CheckFailed, match="--only 0011_add_performance_indexes would record it while 0000") as exc:
        commands.analyze(cfg, only="0011")
    assert "without --only" in exc.value.next_step
    with pytest.raises(CheckFailed, match="would record it while"):
        commands.gate(cfg, only="0011")
    assert idx_count(db) == 0
    # the ledger an older pgrunbook (or a hand-run psql) left: 0011 alone
    index_sql = (db.drizzle_dir / "0011_add_performance_indexes.sql").read_text()
    m = load_migrations(db.drizzle_dir).by_tag("0011_add_performance_indexes")
    with db.connect() as conn:
        conn.execute(index_sql.replace("--> statement-breakpoint", ""))
        recorder = Recorder(conn)
        recorder.ensure_table()
        recorder.record(m.hash, m.when)
    report = commands.verify(cfg)
    check = {c.id: c for c in report.checks}["ledger-consistent"]
    assert check.status.value == "fail" and "0010" in check.summary, check
