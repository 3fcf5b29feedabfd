"""Issue 12 item 4: reviewed exceptions in the playbook, pinned to a migration's tag and sha256."""

from __future__ import annotations

import hashlib

import pytest

from pgrunbook.errors import ConfigError
from pgrunbook.sqlcheck import (
    Finding,
    PinnedFile,
    Policy,
    Verdict,
    analyze_files,
    analyze_sql,
    apply_exceptions,
    parse_exceptions,
    with_findings,
)

FILE = "0133_drop_legacy.sql"
SQL = """ALTER TABLE users DROP COLUMN legacy_flag;
--> statement-breakpoint
ALTER TABLE users DROP COLUMN email;
--> statement-breakpoint
UPDATE users SET role = 'member' WHERE role IS NULL;
"""
SHA = hashlib.sha256(SQL.encode()).hexdigest()
PINNED = (PinnedFile("0133_drop_legacy", FILE, SHA),)


def exception(**changes):
    data = {"migration": "0133_drop_legacy", "sha256": SHA, "rules": ["ban-drop"], "reason": "unused since v2.3",
            "reviewed_by": "jd"} | changes
    return parse_exceptions([data])


def lint(exceptions, sql=SQL, pinned=PINNED):
    return apply_exceptions((analyze_sql(sql, file=FILE),), pinned, exceptions)


def test_an_exception_lifts_only_its_rules_and_objects_and_says_who_reviewed_it():
    (analysis,), stale = lint(exception(objects=["users.legacy_flag"]))
    drops = [f for f in analysis.findings if f.rule_id == "ban-drop"]
    lifted = [f for f in drops if f.excepted]
    assert [f.objects for f in lifted] == [("public.users.legacy_flag",)]
    assert lifted[0].verdict is Verdict.ALLOWED and lifted[0].lifted_from is Verdict.FORBIDDEN
    assert "unused since v2.3" in lifted[0].excepted and "jd" in lifted[0].excepted
    still = [f for f in drops if not f.excepted]
    assert [f.objects for f in still] == [("public.users.email",)] and still[0].verdict is Verdict.FORBIDDEN
    assert analysis.verdict is Verdict.FORBIDDEN and stale == ()  # the email drop and the UPDATE still block


def test_a_table_in_objects_covers_what_is_on_it_and_nothing_else():
    """`objects: [users]` is the table's own findings and those of its columns (constraints, indexes on it);
    not another table whose name starts the same."""
    (analysis,), stale = lint(exception(rules=["ban-drop", "ban-update"], objects=["users"]))
    assert analysis.verdict is Verdict.ALLOWED and len(analysis.exceptions) == 3 and stale == ()
    other = "ALTER TABLE users_archive DROP COLUMN legacy_flag;\n"
    sha = hashlib.sha256(other.encode()).hexdigest()
    (analysis,), stale = lint(exception(objects=["users"], sha256=sha), sql=other, pinned=(PinnedFile("0133_drop_legacy", FILE, sha),))
    assert analysis.verdict is Verdict.FORBIDDEN and len(stale) == 1


def test_one_exception_for_the_whole_file_lifts_every_listed_rule():
    (analysis,), stale = lint(exception(rules=["ban-drop", "ban-update"]))
    assert analysis.verdict is Verdict.ALLOWED and len(analysis.exceptions) == 3 and stale == ()


def test_a_changed_file_voids_the_exception_with_a_message_naming_file_and_both_hashes():
    changed = SQL + "--> statement-breakpoint\nALTER TABLE users DROP COLUMN name;\n"
    actual = hashlib.sha256(changed.encode()).hexdigest()
    (analysis,), stale = lint(exception(rules=["ban-drop", "ban-update"]), sql=changed,
                              pinned=(PinnedFile("0133_drop_legacy", FILE, actual),))
    [void] = [f for f in analysis.findings if f.rule_id == "exception-file-changed"]
    assert FILE in void.message and SHA in void.message and actual in void.message
    assert void.verdict is Verdict.REVIEW and not analysis.exceptions and analysis.verdict is Verdict.FORBIDDEN
    assert stale == ()  # reported as void, in the file


def test_an_exception_that_matches_nothing_is_reported_stale():
    _, stale = lint(exception(migration="0099_elsewhere"))
    assert len(stale) == 1 and "0099_elsewhere is not a migration this plan applies" in stale[0]
    _, stale = lint(exception(rules=["ban-truncate"]))
    assert len(stale) == 1 and "no finding of ban-truncate" in stale[0]
    _, stale = lint(exception(objects=["users.nothing_here"]))
    assert len(stale) == 1 and "about those objects" in stale[0]


def test_squawk_findings_are_lifted_by_their_squawk_id():
    analysis = analyze_sql(SQL, file=FILE)
    squawk = Finding("squawk:ban-drop-column", Verdict.REVIEW, "Dropping a column may break existing clients.", "h",
                     FILE, 1, "ALTER TABLE users DROP COLUMN legacy_flag;")
    merged = with_findings(analysis, [squawk])
    (result,), stale = apply_exceptions((merged,), PINNED, exception(rules=["ban-drop", "ban-update",
                                                                            "squawk:ban-drop-column"]))
    assert result.verdict is Verdict.ALLOWED and stale == ()


def test_executed_code_a_comment_cannot_lift_stays_unliftable():
    """A DELETE run by a trigger the file's INSERT fires is not in the file's text: no playbook exception lifts it."""
    sql = """CREATE FUNCTION purge() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM users; RETURN NEW; END $$;
--> statement-breakpoint
CREATE TRIGGER t AFTER INSERT ON audit FOR EACH ROW EXECUTE FUNCTION purge();
--> statement-breakpoint
INSERT INTO audit (x) VALUES (1);
"""
    sha = hashlib.sha256(sql.encode()).hexdigest()
    rules = ["ban-delete", "ban-seed-insert", "review-create-function", "review-create-trigger"]
    (analysis,), _ = apply_exceptions((analyze_sql(sql, file=FILE),), (PinnedFile("0133_drop_legacy", FILE, sha),),
                                      exception(sha256=sha, rules=rules))
    executed = [f for f in analysis.findings if f.rule_id == "ban-delete" and not f.waivable]
    assert executed and all(f.verdict is Verdict.FORBIDDEN and not f.excepted for f in executed)
    assert analysis.verdict is Verdict.FORBIDDEN


@pytest.mark.parametrize("changes, message", [
    ({"rules": ["ban-dorp"]}, "unknown rule 'ban-dorp'"),
    ({"rules": []}, "at least one rule"),
    ({"reason": ""}, "`reason` is required"),
    ({"reviewed_by": None}, "`reviewed_by` is required"),
    ({"sha256": "abc"}, "64 hex digits"),
    ({"rules": ["exception-file-changed"]}, "cannot be excepted"),
    ({"why": "x"}, "unknown key"),
])
def test_invalid_exceptions_are_configuration_errors(changes, message):
    with pytest.raises(ConfigError, match=message):
        exception(**changes)


def test_squawk_rules_are_configurable_like_ours():
    policy = Policy.from_dict({"rules": {"squawk:ban-drop-column": "off", "squawk:prefer-robust-stmts": "forbidden"}})
    analysis = analyze_files([(FILE, "ALTER TABLE users ADD COLUMN x text;")], policy)[0]
    off = Finding("squawk:ban-drop-column", Verdict.REVIEW, "m", "h", FILE, 1, "")
    stricter = Finding("squawk:prefer-robust-stmts", Verdict.INFO, "m", "h", FILE, 1, "")
    kept = Finding("squawk:adding-required-field", Verdict.REVIEW, "m", "h", FILE, 1, "")
    merged = with_findings(analysis, [off, stricter, kept], policy)
    assert {f.rule_id: f.verdict for f in merged.findings if f.rule_id.startswith("squawk:")} == {
        "squawk:prefer-robust-stmts": Verdict.FORBIDDEN, "squawk:adding-required-field": Verdict.REVIEW}
    with pytest.raises(ConfigError, match="squawk:<rule>"):
        Policy.from_dict({"rules": {"squawk:": "off"}})
