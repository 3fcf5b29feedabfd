"""pgrunbook on an app that is not the seed's (issue 12, item 1): tables in other schemas, a playbook
that names only its own tables, roles without rows, NULL roles."""

from __future__ import annotations

import pytest
import yaml

from pgrunbook import commands
from pgrunbook.config import load_config
from pgrunbook.outcome import Status

from .test_fingerprint import TABLES, with_tables

pytestmark = pytest.mark.integration


def playbook(tmp_path, **expectations) -> str:
    path = tmp_path / "app-playbook.yml"
    path.write_text(yaml.safe_dump({"expectations": expectations}))
    return path


def by_id(checks) -> dict:
    return {c.id: c for c in checks}


def test_schema_qualified_tables_through_verify_backup_gate_migrate_validate(app_db, tmp_path):
    db = with_tables(app_db, "tracked")
    pb = playbook(tmp_path, tables=["auth.users", "accounts", "users"], role_count={"table": "auth.users", "column": "role"},
                  roles=["admin", "member", "owner"], critical_tables=["auth.users", "accounts"],
                  fingerprint={"table": "auth.users"})
    cfg = load_config(db.inventory(environment="staging"), pb)
    report = commands.verify(cfg)
    checks = by_id(report.checks)
    assert checks["expected-tables"].status is Status.OK, checks["expected-tables"]
    roles = checks["users-by-role"]
    # owner has no rows: 0, not a failure; the NULL roles are labelled, not "None"
    assert roles.status is Status.OK and "owner 0" in roles.summary and "(no role: NULL) 17" in roles.summary, roles
    assert "None" not in roles.summary
    backup = commands.backup(cfg)
    assert backup.ok, backup.as_json()
    data = backup.as_json()
    assert "public.auth" not in str(data)
    run, decision = commands.gate(cfg)
    assert decision.go, decision.as_json()
    commands.migrate(cfg, yes=True)
    _, validation = commands.validate(cfg)
    assert validation.ok, [c.as_dict() for c in validation.checks if c.status is Status.FAIL]
    before = run.read().migration_start.before
    assert before["tables"] == {"auth.users": 200, "accounts": 500}
    assert before["users_by_role"]["by_role"]["(no role: NULL)"] == 17
    # the inventory names the target: backup file, report title; no seed endpoint in a report without an API
    assert backup.manifest.id.startswith(f"{db.name}_staging_backup_")
    from pgrunbook.report import render_markdown, report_data

    data = report_data(run, cfg)
    for lang in ("en", "fr"):
        text = render_markdown(data, lang)
        assert text.splitlines()[0].endswith("- staging") and "Production" not in text.splitlines()[0]
        assert "/users/all-members" not in text and "/campaigns" not in text and "api:" in text


def test_a_playbook_with_only_tables_demands_only_its_own_tables_in_the_backup(app_db, tmp_path):
    db = with_tables(app_db, "tracked")
    with db.connect() as conn:
        conn.execute("DROP TABLE campaign_validations, campaign_bonus_config, challenges CASCADE")
    pb = playbook(tmp_path, tables=["users", "accounts"])
    cfg = load_config(db.inventory(), pb)
    result = commands.backup(cfg)
    checks = by_id(result.checks)
    assert checks["critical-table-data"].status is Status.OK, checks["critical-table-data"]
    assert "challenges" not in checks["critical-table-data"].summary and "public.accounts" in checks["critical-table-data"].summary


def test_a_missing_table_in_another_schema_is_named_as_written(app_db, tmp_path):
    db = app_db("tracked")
    cfg = load_config(db.inventory(), playbook(tmp_path, tables=["auth.users", "users"]))
    check = by_id(commands.verify(cfg).checks)["expected-tables"]
    assert check.status is Status.FAIL and "missing: auth.users" in check.summary and "public.auth" not in check.summary


def test_an_app_without_a_role_column_counts_its_protected_table_as_one_group(app_db, tmp_path):
    """`role_count: {table: accounts, column: null}`: an app whose users have no role (most apps) still gets its
    protected table counted in verify, the gate and validation, as one group of rows."""
    db = with_tables(app_db, "tracked")
    cfg = load_config(db.inventory(), playbook(tmp_path, tables=["accounts"], role_count={"table": "accounts", "column": None},
                                               fingerprint={"table": "accounts"}))
    roles = by_id(commands.verify(cfg).checks)["users-by-role"]
    assert roles.status is Status.OK and "public.accounts: 500 rows (no role column)" in roles.summary, roles
    assert commands.backup(cfg).ok
    run, decision = commands.gate(cfg)
    assert decision.go, decision.as_json()
    commands.migrate(cfg, yes=True)
    _, validation = commands.validate(cfg)
    assert validation.ok, [c.as_dict() for c in validation.checks if c.status is Status.FAIL]
    assert run.read().migration_start.before["users_by_role"]["total"] == 500


assert "auth.users" in TABLES
