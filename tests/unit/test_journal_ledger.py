"""The journal's record of drizzle 1.0's ledger upgrade: typed, round-trips, and what the rollback reads of it (pure)."""

from __future__ import annotations

import json

from pgrunbook.journal import FORMAT, Journal, LedgerUpgraded, MigrationStarted, Record, encode, parse

ROWS = ({"id": 3, "hash": "a" * 64, "created_at": 1718183643000, "name": "20240612091403_initial_schema", "matched_by": "created_at"},
        {"id": 9, "hash": "b" * 64, "created_at": None, "name": "20240703164127_add_campaign_status", "matched_by": "hash"})


def lines(*records: Record) -> list[str]:
    return [encode(r, "run-1").decode() for r in records]


def test_ledger_upgraded_round_trips_in_format_2():
    record = LedgerUpgraded(status="ok", table="drizzle.__drizzle_migrations", columns=("name", "applied_at"), rows=ROWS)
    (line,) = lines(record)
    entry = json.loads(line)
    assert (entry["v"], entry["phase"], entry["event"]) == (FORMAT, "migrate", "ledger")
    back = parse(entry)
    assert isinstance(back, LedgerUpgraded) and back.rows == ROWS and back.named == {3: ROWS[0]["name"], 9: ROWS[1]["name"]}


def test_the_rollback_reads_the_committed_upgrade_else_the_planned_one_else_none():
    planned = MigrationStarted(ledger_upgrade=ROWS)
    committed = LedgerUpgraded(status="ok", rows=ROWS[:1])
    assert Journal.from_lines("r", lines(planned, committed)).ledger_upgrade_names == {3: ROWS[0]["name"]}
    assert Journal.from_lines("r", lines(planned)).ledger_upgrade_names == {3: ROWS[0]["name"], 9: ROWS[1]["name"]}
    assert Journal.from_lines("r", lines(MigrationStarted())).ledger_upgrade_names is None


def test_a_journal_without_the_new_fields_still_loads():
    """Journals written before the upgrade step: MigrationStarted without ledger_upgrade, no LedgerUpgraded."""
    old = {"v": 2, "ts": "2026-11-25T16:10:00+00:00", "run": "r", "phase": "migrate", "event": "start", "status": "",
           "data": {"plan": [], "scenario": "A"}}
    journal = Journal.from_lines("r", [json.dumps(old)])
    assert journal.last(MigrationStarted).ledger_upgrade == () and journal.ledger_upgrade is None
