from __future__ import annotations

import pytest

from pgrunbook.errors import ConfigError
from pgrunbook.sqlcheck import DEFAULT_POLICY, Policy, Verdict, analyze_sql

DRIZZLE_TABLE = 'CREATE TABLE IF NOT EXISTS "bonus" ("id" serial PRIMARY KEY NOT NULL);'


def verdict(sql: str, policy: Policy) -> Verdict:
    return analyze_sql(sql, file="p.sql", policy=policy).verdict


def test_empty_dict_is_the_runbook_policy():
    assert Policy.from_dict({}) == DEFAULT_POLICY == Policy.from_dict(None)
    assert DEFAULT_POLICY.kind_verdict("drop") is Verdict.FORBIDDEN
    assert DEFAULT_POLICY.kind_verdict("create-index") is Verdict.ALLOWED
    assert DEFAULT_POLICY.kind_verdict("create-table") is Verdict.REVIEW


def test_allow_a_reviewed_kind():
    policy = Policy.from_dict({"allow": ["create-table"]})
    assert verdict(DRIZZLE_TABLE, DEFAULT_POLICY) is Verdict.REVIEW
    assert verdict(DRIZZLE_TABLE, policy) is Verdict.ALLOWED
    assert policy.kind_verdict("create-index") is Verdict.ALLOWED  # defaults kept


def test_forbid_and_review_kinds():
    policy = Policy.from_dict({"forbid": ["create-extension"], "review": ["add-column"]})
    assert verdict("CREATE EXTENSION IF NOT EXISTS pg_trgm;", policy) is Verdict.FORBIDDEN
    assert verdict("ALTER TABLE users ADD COLUMN b text;", policy) is Verdict.REVIEW
    assert verdict("ALTER TABLE users ADD COLUMN b text;", DEFAULT_POLICY) is Verdict.ALLOWED


def test_allowing_a_forbidden_kind_moves_it():
    policy = Policy.from_dict({"allow": ["drop"]})
    assert verdict("DROP INDEX IF EXISTS idx_old;", policy) is Verdict.ALLOWED


def test_without_defaults_every_kind_is_reviewed():
    policy = Policy.from_dict({"defaults": False})
    assert verdict("ANALYZE users;", policy) is Verdict.REVIEW
    assert verdict("DROP TABLE users;", policy) is Verdict.REVIEW


def test_rule_verdicts_override_the_kind():
    sql = "CREATE INDEX IF NOT EXISTS i ON users (a);"
    assert verdict(sql, Policy.from_dict({"rules": {"non-concurrent-index": "review"}})) is Verdict.REVIEW
    silenced = Policy.from_dict({"rules": {"create-index-without-if-not-exists": "off"}})
    assert verdict("CREATE INDEX i ON users (a);", silenced) is Verdict.ALLOWED
    assert verdict("DELETE FROM users;", Policy.from_dict({"rules": {"ban-delete": "review"}})) is Verdict.REVIEW


def test_inline_allow_may_lift_forbidden_findings_when_the_playbook_says_so():
    sql = "-- pgrunbook: allow ban-drop index replaced by idx_new in 0012\nDROP INDEX IF EXISTS idx_old;"
    assert verdict(sql, DEFAULT_POLICY) is Verdict.FORBIDDEN
    lenient = Policy.from_dict({"inline_allow": "forbidden"})
    analysis = analyze_sql(sql, file="p.sql", policy=lenient)
    assert analysis.verdict is Verdict.ALLOWED
    [exception] = analysis.exceptions
    assert (exception.rule_id, exception.lifted_from, exception.excepted) == (
        "ban-drop",
        Verdict.FORBIDDEN,
        "index replaced by idx_new in 0012",
    )


def test_custom_tracking_table():
    sql = 'INSERT INTO "ops"."migrations" (hash, created_at) VALUES (\'h\', 1);'
    assert analyze_sql(sql, file="p.sql").rule_ids() == ("ban-seed-insert",)
    custom = Policy.from_dict({"tracking_table": "ops.migrations"})
    assert analyze_sql(sql, file="p.sql", policy=custom).rule_ids() == ("ban-tracking-table-write",)
    for policy in (custom, Policy.from_dict({"tracking_table": ["x.y", "ops.migrations"]})):
        analysis = analyze_sql(sql, file="p.sql", policy=policy, journal=[("h", 1)])
        assert analysis.rule_ids() == ("review-tracking-row-from-journal",)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"allow": ["create-tables"]}, "unknown operation kind"),
        ({"allow": "create-table"}, "must be a list"),
        ({"allow": ["drop"], "forbid": ["drop"]}, "both `allow` and `forbid`"),
        ({"rules": {"no-such-rule": "off"}}, "unknown rule"),
        ({"rules": {"ban-drop": "maybe"}}, "is not one of"),
        ({"inline_allow": "allowed"}, "inline_allow"),
        ({"defaults": "yes"}, "defaults"),
        ({"alow": []}, "unknown key"),
        ({"tracking_table": 3}, "tracking_table"),
    ],
)
def test_bad_policies_are_config_errors(data, words):
    with pytest.raises(ConfigError) as error:
        Policy.from_dict(data)
    assert words in str(error.value)
    assert error.value.source == "playbook policy"


def test_policies_are_values():
    assert Policy.from_dict({"allow": ["create-table"]}) == Policy.from_dict({"allow": ["create-table"]})
    hash(Policy.from_dict({"rules": {"ban-drop": "review"}}))


def test_with_tracking_table_adds_the_inventorys_ledger():
    policy = DEFAULT_POLICY.with_tracking_table("ops", "ledger")
    assert policy.tracking_tables == {("drizzle", "__drizzle_migrations"), ("ops", "ledger")}
    sql = "CREATE RULE r AS ON INSERT TO ops.ledger DO INSTEAD NOTHING;"
    assert "ban-tracking-table-code" in analyze_sql(sql, file="p.sql", policy=policy).rule_ids()
