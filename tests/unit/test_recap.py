"""recap.build: one line per phase (verdict, duration, the figure that matters), from a journal alone."""

from __future__ import annotations

import json

import pytest

from pgrunbook.journal import Journal
from pgrunbook.recap import build

USERS = {"table": "users", "column": "role", "by_role": {"fbo": 60, "manager": 8}, "total": 68}
API = {"endpoints": [{"path": "/a", "budget_ms": 100.0, "p95_ms": 2.53}, {"path": "/b", "budget_ms": 100.0, "p95_ms": 4.01}]}
COPIES = [{"target": "second-disk", "verified": True}, {"target": "offsite", "verified": True}]


def _journal(*records: tuple[float, str, str, str, dict]) -> Journal:
    """(seconds since start, phase, event, status, data) → a journal as `runs` writes it."""
    lines = []
    for seconds, phase, event, status, data in records:
        ts = f"2026-12-02T15:16:{seconds:06.3f}+00:00"
        lines.append(json.dumps({"v": 2, "ts": ts, "run": "R1", "phase": phase, "event": event, "status": status, "data": data}))
    return Journal.from_lines("R1", lines)


def _opened(kind: str = "migrate-prod") -> tuple:
    return (0.0, "run", "start", "", {"target": "postgres@db:5432/app", "kind": kind, "format": 2})


def _through_migrate() -> list[tuple]:
    return [
        _opened(),
        (0.1, "verify", "start", "", {}), (0.3, "verify", "end", "ok", {"users": USERS}),
        (0.3, "backup", "start", "", {}), (1.5, "backup", "end", "ok", {"id": "b1", "size": 53657, "copies": COPIES}),
        (1.5, "analyze", "start", "", {}),
        (1.7, "analyze", "end", "ok", {"scenario": "B", "baseline": [{"tag": f"{i:04}"} for i in range(11)], "apply": [{"tag": "0011"}]}),
        (1.7, "gate", "start", "", {}),
        (2.0, "gate", "decision", "go", {"decision": "GO", "backup_id": "b1", "checks": [{"id": "c", "status": "ok"}] * 11}),
        (2.0, "migrate", "start", "", {"before": {"users_by_role": USERS}, "api_before": API}),
        (2.4, "migrate", "end", "ok", {"baseline": [["0000", 1]], "applied": [["0011", 12]], "created_indexes": ["i"] * 43}),
    ]


def _lines(recap) -> dict[str, tuple[str, float | None, str]]:
    return {p.phase: (p.verdict, p.seconds, p.figure) for p in recap.phases}


def test_a_run_that_went_through():
    api_after = {"endpoints": [{"path": "/a", "budget_ms": 100.0, "p95_ms": 3.0}, {"path": "/b", "budget_ms": 100.0, "p95_ms": 5.25}]}
    journal = _journal(*_through_migrate(),
                       (2.4, "validate", "start", "", {}),
                       (2.6, "validate", "end", "ok", {"ok": True, "after": {"users_by_role": USERS}, "api_after": api_after}),
                       (2.6, "post-backup", "start", "", {}),
                       (2.9, "post-backup", "end", "ok", {"id": "b2", "size": 3 * 1024 * 1024, "copies": COPIES[:1] + [{"verified": False}]}),
                       (3.0, "run", "end", "ok", {"reason": "", "seconds": 3.0}))
    lines = _lines(build(journal))
    assert lines["verify"] == ("ok", pytest.approx(0.2), "users 68 (fbo 60, manager 8)")
    assert lines["backup"] == ("ok", pytest.approx(1.2), "52.4 KiB, 2/2 copies verified")
    assert lines["analyze"][2] == "scenario B: 1 to apply, 11 to baseline"
    assert lines["gate"][:1] == ("GO",) and lines["gate"][2].startswith("11 criteria hold")
    assert lines["migrate"] == ("ok", pytest.approx(0.4), "43 indexes created, 1 applied, 1 baselined")
    assert lines["validate"][2] == "users 68 → 68; API p95 4.0 → 5.2 ms (budget 100)"  # the worst endpoint, before and after
    assert lines["post-backup"][2] == "3.0 MiB, 1/2 copies verified"
    assert lines["rollback"] == ("not needed", None, "")
    recap = build(journal, next_step="n", reports={"en": "/r/report.en.md"})
    assert recap.outcome == "ok" and recap.seconds == pytest.approx(3.0) and recap.as_json()["phases"][0]["phase"] == "verify"


def test_drift_then_rollback_says_the_state_after_and_the_kept_database():
    drifted = {"users_by_role": {**USERS, "total": 69}}
    journal = _journal(*_through_migrate(),
                       (2.4, "validate", "start", "", {}),
                       (2.6, "validate", "end", "failed", {"ok": False, "drift": True, "after": drifted,
                                                           "checks": [{"id": "protected-counts", "status": "fail"}]}),
                       (2.7, "rollback", "decision", "auto", {"why": "drift", "policy": "auto"}),
                       (2.7, "rollback", "start", "", {"mode": "full"}),
                       (5.9, "rollback", "end", "ok", {"mode": "full", "kept_db": "app_before_rollback_1"}),
                       (6.0, "run", "end", "rolled-back", {"reason": "rolled back: drift"}))
    lines = _lines(build(journal))
    assert lines["validate"] == ("failed", pytest.approx(0.2), "users 68 → 69; failed: protected-counts")
    assert lines["post-backup"] == ("not run", None, "")
    assert lines["rollback"] == ("ok", pytest.approx(3.2), "full: the backup restored; replaced database kept as app_before_rollback_1")
    assert build(journal).outcome == "rolled-back"


def test_no_go_and_a_failed_migration():
    nogo = _journal(_opened(), (0.1, "gate", "start", "", {}),
                    (0.2, "gate", "decision", "no-go", {"decision": "NO-GO", "checks": [{"id": "backup", "status": "fail"}]}))
    assert _lines(build(nogo))["gate"] == ("NO-GO", pytest.approx(0.1), "failed: backup")
    stopped = _journal(_opened(), (0.1, "migrate", "start", "", {}),
                       (0.5, "migrate", "error", "failed", {"error": "0012: duplicate key", "committed": ["0011"]}))
    assert _lines(build(stopped))["migrate"] == ("failed", pytest.approx(0.4), "stopped: 0012: duplicate key; committed before: 0011")


def test_a_phase_alone_lists_only_what_ran_and_an_interrupted_phase_says_so():
    alone = _journal(_opened("phases"), (0.1, "verify", "start", "", {}), (0.2, "verify", "end", "ok", {"users": USERS}),
                     (0.3, "backup", "start", "", {}))
    lines = _lines(build(alone))
    assert list(lines) == ["verify", "backup"]
    assert lines["backup"] == ("interrupted", None, "stopped before it ended")
    failed = _journal(_opened(), (0.1, "backup", "start", "", {}), (0.2, "run", "error", "failed", {"error": "pg_dump failed"}))
    assert _lines(build(failed))["backup"] == ("failed", None, "pg_dump failed")
