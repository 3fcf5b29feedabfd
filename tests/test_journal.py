"""The typed run journal (pure): records round-trip, format 1 still loads, a newer format is refused,
the questions phases ask of a journal, and when a run may be joined."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pgrunbook.journal import (FORMAT, BackupEnded, GateDecided, Journal, JournalFormatError, MigrationEnded, MigrationStarted,
                               MigrationStopped, PhaseStarted, PlanStep, Record, RollbackStep, RunClosed, RunFailed, RunOpened,
                               RunResumed, RunState, StateObserved, VerifyEnded, encode, parse, state_changes)

FORMAT1 = Path(__file__).parent / "data" / "journal_format1.jsonl"


def roundtrip(record: Record) -> Record:
    return parse(json.loads(encode(record, "r1")))


def journal(*records: Record) -> Journal:
    stamped = [r.__class__(**{**r.__dict__, "ts": r.ts or f"2026-12-02T10:00:{i:02d}.000+00:00"}) for i, r in enumerate(records)]
    return Journal("r1", tuple(stamped))


@pytest.mark.parametrize("record", [
    RunOpened(target="u@h:5432/db", kind="phases", operator="ops@host", pid=1, format=FORMAT),
    StateObserved(by="verify", state=RunState(database_oid=16384, tracking_rows=11, last_tracking_id=11, protected_total=500)),
    MigrationStarted(plan=(PlanStep("0011_x", "apply", 1700000000000, "ab" * 32),), before={"users_by_role": {"total": 68}},
                     indexes_before=("public.users_pkey",)),
    MigrationEnded(status="ok", baseline=(("0000_a", 1),), applied=(("0011_x", 12),), created_indexes=("public.idx_a",)),
    GateDecided(status="go", decision="GO", steps=(("0011_x", "apply", "h"),), backup_id="b1"),
    RollbackStep(status="renamed", extra={"old": "db_restore_1", "new": "db"}),
    PhaseStarted(phase="analyze"),
])
def test_every_record_round_trips_through_its_json_line(record):
    assert roundtrip(record) == record


def test_each_line_carries_the_format_version():
    line = json.loads(encode(RunResumed(pid=3), "r1"))
    assert line["v"] == FORMAT and (line["phase"], line["event"]) == ("run", "resume")


def test_a_line_from_a_newer_pgrunbook_is_refused_by_name():
    with pytest.raises(JournalFormatError, match=f"journal format {FORMAT + 1}"):
        parse({"v": FORMAT + 1, "phase": "run", "event": "start", "data": {}})


def test_keys_a_type_does_not_know_are_kept_not_lost():
    record = parse({"phase": "verify", "event": "end", "status": "ok", "data": {"users": {"total": 1}, "newer_key": 7}})
    assert isinstance(record, VerifyEnded) and record.extra == {"newer_key": 7} and record.data()["newer_key"] == 7


def test_a_format1_journal_loads_into_the_same_types():
    j = Journal.from_lines("20261125_161000_abcdef", FORMAT1.read_text().splitlines())
    assert j.format == 1 and j.target == "postgres@127.0.0.1:54329/app" and j.outcome == "ok"
    assert j.go.backup_id == "app_prod_backup_20261125_161000" and j.go.steps == (("0011_add_performance_indexes", "apply", "h11"),)
    assert j.migration_start.plan[0] == PlanStep("0011_add_performance_indexes", "apply", 1700000000000, "h11")
    assert j.migration_start.indexes_before is None  # older than the full index set: rollback keeps any other name
    assert j.migration_end.applied == (("0011_add_performance_indexes", 12),)
    assert j.duration_seconds() == 60.0 and j.phases == ["verify", "backup", "gate", "migrate", "validate"]
    assert j.backup().size == 1048576 and j.state is None  # no state: a format-1 run is never joined


def test_a_torn_last_line_is_skipped():
    lines = FORMAT1.read_text().splitlines()
    j = Journal.from_lines("r", [*lines[:3], lines[3][:40]])
    assert [r.phase for r in j.records] == ["run", "verify", "verify"]


def test_an_open_run_has_no_duration_yet():
    j = journal(RunOpened(target="t"), VerifyEnded(status="ok"))
    assert j.duration_seconds() is None and j.outcome == "in progress" and not j.is_closed
    closed = journal(RunOpened(target="t"), VerifyEnded(status="ok"), RunClosed(status="ok"))
    assert closed.duration_seconds() == 2.0 and closed.outcome == "ok"


def test_outcome_of_a_run_that_failed_then_resumed():
    failed = journal(RunOpened(), RunFailed(status="failed", error="x"))
    assert failed.outcome == "failed"
    assert journal(RunOpened(), RunFailed(status="failed"), RunResumed(pid=2)).outcome == "in progress"


def test_a_migration_end_is_superseded_by_a_later_stop():
    end, stop = MigrationEnded(status="ok"), MigrationStopped(status="failed", committed=("0011_x",))
    assert journal(MigrationStarted(), end).migration_end is not None
    j = journal(MigrationStarted(), end, stop)
    assert j.migration_end is None and j.committed_tags == ["0011_x"]


def test_done_is_what_resume_skips():
    j = journal(VerifyEnded(status="ok"), BackupEnded(status="failed"), GateDecided(status="no-go"))
    assert j.done("verify") and not j.done("backup") and not j.done("gate")
    assert journal(GateDecided(status="go")).done("gate")
    assert journal(BackupEnded(phase="post-backup", status="ok")).done("post-backup")


def test_the_state_is_the_last_observed():
    first, then = RunState(1, 0, None, 10), RunState(1, 12, 12, 10)
    assert journal(StateObserved(state=first), StateObserved(by="migrate", state=then)).state == then


@pytest.mark.parametrize("now, words", [
    (RunState(16384, 11, 11, 500), []),
    (RunState(16384, 11, 11, 510), []),  # a live database is written between two phases: within the tolerance
    (RunState(99999, 11, 11, 500), ["another database now", "recreated or restored"]),
    (RunState(16384, 12, 12, 500), ["drizzle ledger changed", "11 row(s), last id 11 then, 12 row(s), last id 12 now"]),
    (RunState(16384, None, None, 500), ["no ledger now"]),
    (RunState(16384, 11, 11, 1500), ["protected rows went from 500 to 1500", "max_rows_changed_since_backup = 100"]),
])
def test_state_changes_name_what_changed(now, words):
    changes = " ".join(state_changes(RunState(16384, 11, 11, 500), now, tolerance=100))
    assert all(w in changes for w in words) and bool(changes) == bool(words), changes
