"""Fingerprint any table (issue 12, item 1): uuid keys, composite keys, no key, other schemas.

Each defect is reproduced on a real table in the test database; the fingerprint must change when
any protected content changes, and not when only the physical order of the rows does.
"""

from __future__ import annotations

import pytest

from pgrunbook import commands
from pgrunbook.facts import table_fingerprint
from pgrunbook.outcome import Status
from pgrunbook.pg import read_only

from .phases import gone_through_gate, write_playbook

pytestmark = pytest.mark.integration

TABLES = """
CREATE TABLE accounts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text NOT NULL, plan text);
INSERT INTO accounts (email, plan) SELECT 'a' || g || '@x.test', CASE WHEN g % 3 = 0 THEN NULL ELSE 'free' END FROM generate_series(1, 500) g;
CREATE TABLE memberships (org_id int, user_id int, role text, PRIMARY KEY (org_id, user_id));
INSERT INTO memberships SELECT g % 7, g, 'member' FROM generate_series(1, 300) g;
CREATE TABLE events (kind text, payload jsonb);
INSERT INTO events SELECT 'k' || (g % 5), jsonb_build_object('n', g) FROM generate_series(1, 400) g;
INSERT INTO events SELECT 'k1', '{"n": 1}' FROM generate_series(1, 2);
CREATE SCHEMA auth;
CREATE TABLE auth.users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text, role text);
INSERT INTO auth.users (email, role) SELECT 'u' || g || '@x.test', CASE WHEN g % 4 = 0 THEN 'admin' WHEN g % 9 = 0 THEN NULL ELSE 'member' END
  FROM generate_series(1, 200) g;
"""


def with_tables(app_db, state: str = "legacy"):
    db = app_db(state)
    with db.connect() as conn:
        conn.execute(TABLES)
    return db


def fingerprint(db, table: str, columns=None) -> dict:
    with db.connect() as conn, read_only(conn):
        return table_fingerprint(conn, table, columns)


@pytest.mark.parametrize(("table", "change"), [
    ("accounts", "UPDATE accounts SET plan = 'pro' WHERE email = 'a7@x.test'"),
    ("memberships", "UPDATE memberships SET role = 'owner' WHERE user_id = 12"),
    ("events", "UPDATE events SET payload = '{\"n\": 2}' WHERE ctid = (SELECT ctid FROM events WHERE payload->>'n' = '1' LIMIT 1)"),
    ("auth.users", "UPDATE auth.users SET role = 'admin' WHERE email = 'u5@x.test'"),
])
def test_any_table_is_fingerprinted_and_a_changed_row_changes_it(app_db, table, change):
    db = with_tables(app_db)
    before = fingerprint(db, table)
    assert before["md5"] and before["count"] > 0, before
    assert fingerprint(db, table) == before  # deterministic
    with db.connect() as conn:
        conn.execute(change)
    after = fingerprint(db, table)
    assert after["count"] == before["count"] and after["md5"] != before["md5"]


def test_the_key_is_described_and_only_a_serial_key_gives_a_high_water_mark(app_db):
    db = with_tables(app_db)
    assert fingerprint(db, "accounts")["key"] == ["id"] and fingerprint(db, "accounts")["max_pk"] is None
    assert fingerprint(db, "memberships")["key"] == ["org_id", "user_id"]
    keyless = fingerprint(db, "events")
    assert keyless["key"] == [] and keyless["max_pk"] is None and keyless["method"] == "row-hash"
    users = fingerprint(db, "users")
    assert users["key"] == ["id"] and users["max_pk"] == users["count"]  # the seed's serial key keeps the no-loss check


def test_a_duplicate_row_removed_from_a_keyless_table_changes_the_fingerprint(app_db):
    db = with_tables(app_db)
    before = fingerprint(db, "events")
    with db.connect() as conn:
        conn.execute("DELETE FROM events WHERE ctid = (SELECT ctid FROM events WHERE payload = '{\"n\": 1}' LIMIT 1)")
        conn.execute("INSERT INTO events VALUES ('k9', '{\"n\": 9}')")  # same count, other content
    after = fingerprint(db, "events")
    assert after["count"] == before["count"] and after["md5"] != before["md5"]


def test_physical_order_does_not_matter(app_db):
    db = with_tables(app_db)
    before = fingerprint(db, "accounts")
    with db.connect() as conn:
        conn.execute("CLUSTER accounts USING accounts_pkey")
        conn.execute("UPDATE accounts SET plan = plan WHERE email LIKE 'a1%'")  # new row versions elsewhere in the heap
    assert fingerprint(db, "accounts") == before


def test_only_the_named_columns_count(app_db):
    db = with_tables(app_db)
    before = fingerprint(db, "accounts", ["id", "email"])
    with db.connect() as conn:
        conn.execute("UPDATE accounts SET plan = 'pro'")
    assert fingerprint(db, "accounts", ["id", "email"])["md5"] == before["md5"]
    with db.connect() as conn:
        conn.execute("ALTER TABLE accounts DROP COLUMN email")
    assert fingerprint(db, "accounts", ["id", "email"])["missing_columns"] == ["email"]


def test_a_missing_table_is_said_not_raised(app_db):
    db = with_tables(app_db)
    found = fingerprint(db, "auth.nope")
    assert found["md5"] is None and found["missing_columns"] == ["(table gone)"]


# --------------------------------------------------------------------------- validation on a uuid-keyed table


def migrated_with(db, tmp_path, **playbook):
    cfg, _ = gone_through_gate(db.inventory(), write_playbook(tmp_path / "pb.yml", **playbook))
    commands.migrate(cfg, yes=True)
    return cfg


def by_id(report) -> dict:
    return {c.id: c for c in report.checks}


def test_validation_fingerprints_the_playbooks_uuid_table_and_catches_a_change(app_db, tmp_path):
    db = with_tables(app_db, "tracked")
    exp = {"fingerprint": {"table": "auth.users", "columns": ["id", "email", "role"]}}
    cfg = migrated_with(db, tmp_path, expectations=exp)
    _, report = commands.validate(cfg)
    assert report.ok, [c.as_dict() for c in report.checks if c.status is Status.FAIL]
    assert "auth.users: same 200 rows" in by_id(report)["users-fingerprint"].summary
    with db.connect() as conn:
        conn.execute("UPDATE auth.users SET role = 'admin' WHERE email = 'u5@x.test'")
    _, report = commands.validate(cfg)
    assert by_id(report)["users-fingerprint"].status is Status.FAIL and report.drift


def test_no_loss_on_a_uuid_key_warns_that_rows_are_compared_by_count_only(app_db, tmp_path):
    db = with_tables(app_db, "tracked")
    cfg = migrated_with(db, tmp_path, expectations={"fingerprint": {"table": "accounts"}}, validate={"drift": "no-loss"})
    _, report = commands.validate(cfg)
    check = by_id(report)["protected-counts"]
    assert check.status is Status.WARN and "accounts" in check.summary and "not serial" in check.summary, check
    assert not report.drift


def test_the_fingerprint_can_be_turned_off(app_db, tmp_path):
    db = with_tables(app_db, "tracked")
    cfg = migrated_with(db, tmp_path, expectations={"fingerprint": False})
    with db.connect() as conn:
        conn.execute("UPDATE users SET first_name = 'Changed' WHERE id = 3")
    _, report = commands.validate(cfg)
    check = by_id(report)["users-fingerprint"]
    assert check.status is Status.INFO and "expectations.fingerprint: false" in check.summary and report.ok
