"""Issue 12 items 4-5 against a real PostgreSQL: playbook exceptions pinned to a file's hash, one lint for analyze and gate."""

from __future__ import annotations

import pytest

from pgrunbook import commands
from pgrunbook.config import load_config
from pgrunbook.drizzle import load_migrations
from pgrunbook.outcome import Status

from .phases import backed_up, write_playbook

pytestmark = pytest.mark.integration
INDEXES = "0011_add_performance_indexes"
DESTRUCTIVE = ("\n--> statement-breakpoint\nALTER TABLE users DROP COLUMN last_login_at;"
               "\n--> statement-breakpoint\nUPDATE users SET role = role WHERE false;\n")


def setup(app_db, tmp_path, **exception):
    db = app_db("tracked")
    path = db.drizzle_dir / f"{INDEXES}.sql"
    path.write_text(path.read_text() + DESTRUCTIVE)
    sha = load_migrations(db.drizzle_dir).by_tag(INDEXES).hash
    entry = {"migration": INDEXES, "sha256": sha, "rules": ["ban-drop", "ban-update"], "reason": "last_login_at moved to "
             "sessions in v2 (PR 812)", "reviewed_by": "jd"} | exception
    playbook = write_playbook(tmp_path / "playbook.yml", exceptions=[entry])
    return db, path, playbook


def check(checks, check_id):
    return next(c for c in checks if c.id == check_id)


def test_a_pinned_exception_lets_analyze_and_gate_agree_and_the_go_line_says_what_the_plan_runs(app_db, tmp_path):
    db, _, playbook = setup(app_db, tmp_path)
    cfg = backed_up(db.inventory(), playbook)
    report = commands.analyze(cfg)
    assert report.ok, [c.summary for c in report.checks if c.status is Status.FAIL]
    lifted = {f.rule_id: f.excepted for f in report.analyses[0].exceptions}
    assert set(lifted) == {"ban-drop", "ban-update"} and "reviewed by jd" in lifted["ban-drop"]
    _, decision = commands.gate(cfg)
    assert decision.go
    line = check(decision.checks, "migrations-allowed").summary
    assert "runs DROP ×1, UPDATE ×1" in line and "2 from the playbook" in line and "no DROP" not in line


def test_a_changed_file_voids_the_exception_in_analyze_and_gate_alike(app_db, tmp_path):
    db, path, playbook = setup(app_db, tmp_path)
    pinned = load_migrations(db.drizzle_dir).by_tag(INDEXES).hash
    path.write_text(path.read_text() + "-- reviewed? no\n")
    actual = load_migrations(db.drizzle_dir).by_tag(INDEXES).hash
    cfg = backed_up(db.inventory(), playbook)
    report = commands.analyze(cfg)
    lint = check(report.checks, f"lint:{INDEXES}.sql")
    assert not report.ok and "exception-file-changed" in lint.summary
    [void] = [f for f in report.analyses[0].findings if f.rule_id == "exception-file-changed"]
    assert f"{INDEXES}.sql" in void.message and pinned in void.message and actual in void.message
    _, decision = commands.gate(cfg)
    assert not decision.go and "exception-file-changed" in check(decision.checks, "migrations-allowed").summary


def test_a_stale_exception_is_a_warning(app_db, tmp_path):
    db, _, playbook = setup(app_db, tmp_path)
    extra = write_playbook(tmp_path / "extra.yml", exceptions=[
        *load_config(db.inventory(), playbook).playbook.model_dump()["exceptions"],
        {"migration": "0003_old", "sha256": "0" * 64, "rules": ["ban-drop"], "reason": "old", "reviewed_by": "jd"},
    ])
    cfg = backed_up(db.inventory(), extra)
    report = commands.analyze(cfg)
    assert report.ok and "0003_old is not a migration this plan applies" in check(report.checks, "exceptions").summary
    assert check(report.checks, "exceptions").status is Status.WARN
    _, decision = commands.gate(cfg)
    allowed = check(decision.checks, "migrations-allowed")
    assert decision.go and allowed.status is Status.WARN and "0003_old" in allowed.summary


def test_analyze_and_the_gate_share_one_lint_result(app_db, tmp_path, monkeypatch):
    """The gate of a plan analyze already linted reuses that result: squawk and our rules run once."""
    from pgrunbook import planning, sqlcheck

    monkeypatch.setattr(planning, "_LINTS", {})  # earlier tests linted the very same plan and inputs
    db, _, playbook = setup(app_db, tmp_path)
    cfg = backed_up(db.inventory(), playbook)
    calls = []
    real = sqlcheck.run_squawk
    monkeypatch.setattr(sqlcheck, "run_squawk", lambda *a, **k: calls.append(a) or real(*a, **k), raising=False)
    report = commands.analyze(cfg)
    _, decision = commands.gate(cfg)
    assert len(calls) == 1 and report.ok and decision.go
