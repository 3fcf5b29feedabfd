"""The squawk adapter, against the real binary (squawk-cli) on temporary files."""

from __future__ import annotations

import sys

import pytest

from pgrunbook.errors import ToolError
from pgrunbook.sqlcheck import Verdict, analyze_files, run_squawk, with_findings
from pgrunbook.sqlcheck import squawk as adapter

SEED_STYLE = 'CREATE INDEX IF NOT EXISTS "idx_users_role" ON "users" ("role");\n--> statement-breakpoint\nANALYZE "users";\n'

needs_squawk = pytest.mark.skipif(not adapter.shutil.which("squawk"), reason="squawk-cli is not installed")


@needs_squawk
def test_lock_finding_is_prefixed_and_informational(tmp_path):
    path = tmp_path / "0011_indexes.sql"
    path.write_text(SEED_STYLE, encoding="utf-8")
    findings = run_squawk([path])
    [lock] = [f for f in findings if f.rule_id == "squawk:require-concurrent-index-creation"]
    assert (lock.verdict, lock.file, lock.line) == (Verdict.INFO, str(path), 1)
    assert lock.statement.startswith('CREATE INDEX IF NOT EXISTS "idx_users_role"')
    # The executor sets the timeouts itself: squawk must not ask for them.
    assert not [f for f in findings if "timeout" in f.rule_id]


@needs_squawk
def test_merged_squawk_findings_keep_the_seed_migration_allowed(tmp_path):
    path = tmp_path / "0011_indexes.sql"
    path.write_text(SEED_STYLE, encoding="utf-8")
    [analysis] = analyze_files([path])
    merged = with_findings(analysis, run_squawk([path]))
    assert merged.verdict is Verdict.ALLOWED
    assert "squawk:require-concurrent-index-creation" in merged.rule_ids(Verdict.INFO)


@needs_squawk
def test_review_mapping_and_line_numbers(tmp_path):
    path = tmp_path / "0012_rename.sql"
    path.write_text("ANALYZE users;\n--> statement-breakpoint\nALTER TABLE users RENAME COLUMN a TO b;\n", encoding="utf-8")
    [rename] = [f for f in run_squawk([path]) if f.rule_id == "squawk:renaming-column"]
    assert (rename.verdict, rename.line) == (Verdict.REVIEW, 3)


@needs_squawk
def test_no_paths_runs_nothing():
    assert run_squawk([]) == ()


@needs_squawk
def test_missing_file_is_a_tool_error(tmp_path):
    with pytest.raises(ToolError, match="squawk failed"):
        run_squawk([tmp_path / "nope.sql"])


def test_missing_binary_is_a_tool_error(monkeypatch, tmp_path):
    monkeypatch.setattr(adapter.shutil, "which", lambda name: None)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(ToolError) as error:
        run_squawk([tmp_path / "0001.sql"])
    assert "squawk" in str(error.value) and "pip install squawk-cli" in error.value.next_step


def test_binary_that_cannot_start_is_a_tool_error(tmp_path):
    with pytest.raises(ToolError, match="could not be started"):
        run_squawk([tmp_path / "0001.sql"], binary=str(tmp_path / "no-squawk-here"))


def test_verdict_mapping():
    assert adapter.verdict_for("require-concurrent-index-creation") is Verdict.INFO
    assert adapter.verdict_for("ban-drop-table") is Verdict.INFO
    assert adapter.verdict_for("adding-required-field") is Verdict.REVIEW
