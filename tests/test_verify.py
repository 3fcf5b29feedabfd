"""`inv verify` against a real PostgreSQL: the seed's phase 1 and the traps beyond it."""

from __future__ import annotations

import json

import pytest

from pgrunbook import cli, commands
from pgrunbook.config import load_config
from pgrunbook.errors import ConnectionFailure
from pgrunbook.outcome import Status

from .conftest import TEST_PASSWORD

pytestmark = pytest.mark.integration


def run_verify(db, **inventory_overrides):
    return commands.verify(load_config(db.inventory(**inventory_overrides)))


def check(report, check_id):
    return next(c for c in report.checks if c.id == check_id)


def test_legacy_sandbox_is_case_b(app_db):
    report = run_verify(app_db("legacy"))
    data = report.as_json()
    assert data["drizzle"]["schema_present"] is False and data["drizzle"]["scenario"] == "B"
    assert data["local_migrations"]["count"] == 12
    assert data["expected_tables"] == {"expected": 11, "present": 11, "missing": []}
    assert data["indexes"]["performance"] == 0
    assert data["users"]["by_role"] == {"fbo": 60, "manager": 8} and data["users"]["total"] == 68
    assert check(report, "drizzle-tracking").status is Status.WARN
    assert report.ok


def test_tracked_sandbox_has_0011_pending_and_stranded(app_db):
    report = run_verify(app_db("tracked"))
    drizzle = report.as_json()["drizzle"]
    assert len(drizzle["applied"]) == 11 and drizzle["scenario"] == "A"
    assert drizzle["pending"] == ["0011_add_performance_indexes"]
    assert [s["tag"] for s in drizzle["stranded"]] == ["0011_add_performance_indexes"]
    assert drizzle["drizzle_would_apply"] == []
    assert check(report, "stranded-migrations").status is Status.WARN
    assert report.ok


def test_facts_are_read_in_a_read_only_transaction(app_db):
    import psycopg

    from pgrunbook.pg import connect, read_only

    cfg = load_config(app_db("legacy").inventory())
    with connect(cfg.inventory.database) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        with read_only(conn):
            conn.execute("INSERT INTO app_versions DEFAULT VALUES")


def test_non_contiguous_tracking_ids(app_db):
    db = app_db("tracked")
    with db.connect() as conn:
        # real production ids: 0, 1, then 283, 284 ... (rows re-inserted by hand over time)
        conn.execute("UPDATE drizzle.__drizzle_migrations SET id = id + 280 WHERE id > 2")
        conn.execute("UPDATE drizzle.__drizzle_migrations SET id = id - 1 WHERE id <= 2")
        conn.execute("SELECT setval('drizzle.__drizzle_migrations_id_seq', (SELECT max(id) FROM drizzle.__drizzle_migrations))")
    report = run_verify(db)
    ids = [a["id"] for a in report.as_json()["drizzle"]["applied"]]
    assert ids[:3] == [0, 1, 283] and len(ids) == 11
    assert report.ok


def test_sequence_behind_max_id_fails(app_db):
    db = app_db("tracked")
    with db.connect() as conn:
        conn.execute("SELECT setval('drizzle.__drizzle_migrations_id_seq', 3)")
    report = run_verify(db)
    assert check(report, "tracking-sequence").status is Status.FAIL
    assert not report.ok


def test_file_edited_after_it_was_applied(app_db):
    db = app_db("tracked")
    path = db.drizzle_dir / "0005_add_challenge_rewards.sql"
    path.write_text(path.read_text() + "\n-- edited later\n")
    report = run_verify(db)
    assert report.as_json()["drizzle"]["edited_after_applied"] == ["0005_add_challenge_rewards"]
    assert check(report, "applied-migrations").status is Status.FAIL


def test_crlf_checkout_is_recognised(app_db):
    db = app_db("tracked")
    path = db.drizzle_dir / "0003_add_daily_bonus.sql"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    report = run_verify(db)
    assert report.as_json()["drizzle"]["line_endings_only"] == ["0003_add_daily_bonus"]
    assert check(report, "applied-migrations").status is Status.WARN and report.ok


def test_row_matching_no_local_file(app_db):
    db = app_db("tracked")
    with db.connect() as conn:
        conn.execute("INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES (%s, 1)", ["ab" * 32])
    report = run_verify(db)
    assert len(report.as_json()["drizzle"]["unknown_rows"]) == 1 and not report.ok


def test_null_created_at_fails(app_db):
    db = app_db("tracked")
    with db.connect() as conn:
        conn.execute("UPDATE drizzle.__drizzle_migrations SET created_at = NULL WHERE id = 1")
    report = run_verify(db)
    assert check(report, "tracking-created-at").status is Status.FAIL


def test_missing_expected_table_fails_naming_it(app_db):
    db = app_db("legacy")
    with db.connect() as conn:
        conn.execute("ALTER TABLE campaign_bonus_config RENAME TO campaign_bonus_config_old")
    report = run_verify(db)
    assert report.as_json()["expected_tables"]["missing"] == ["campaign_bonus_config"]
    assert "campaign_bonus_config" in check(report, "expected-tables").summary and not report.ok


def test_orphan_file_and_missing_file(app_db):
    db = app_db("legacy")
    (db.drizzle_dir / "0012_not_in_journal.sql").write_text("SELECT 1;")
    report = run_verify(db)  # drizzle ignores the file: a WARN naming it, verify still passes (issue 12 item 2)
    journal = check(report, "local-journal")
    assert journal.status is Status.WARN and "0012_not_in_journal.sql" in journal.summary and report.ok
    (db.drizzle_dir / "0011_add_performance_indexes.sql").unlink()  # a journal entry without its file: drizzle fails
    journal = check(run_verify(db), "local-journal")
    assert journal.status is Status.FAIL and "0011_add_performance_indexes" in journal.summary


def test_wrong_password_is_a_clear_connection_failure_without_the_password(app_db, monkeypatch):
    db = app_db("legacy")
    monkeypatch.setenv("PGRB_TEST_PW", "definitely-wrong-pw")
    with pytest.raises(ConnectionFailure) as exc:
        run_verify(db)
    assert db.name in str(exc.value) and "127.0.0.1" in str(exc.value) and "password" in exc.value.next_step
    assert "definitely-wrong-pw" not in str(exc.value)


def test_cli_exit_codes_and_json(app_db, capsys):
    db = app_db("legacy")
    assert cli.verify(str(db.inventory()), None, True) == 0
    out = capsys.readouterr()
    data = json.loads(out.out)
    assert data["verdict"] == "ok" and TEST_PASSWORD not in out.out + out.err
    assert data["target"]["url"].startswith("postgresql://postgres:***@127.0.0.1")

    with db.connect() as conn:
        conn.execute("ALTER TABLE proofs RENAME TO proofs_gone")
    assert cli.verify(str(db.inventory()), None, False) == 3
    out = capsys.readouterr()
    assert "expected-tables" in out.out and TEST_PASSWORD not in out.out + out.err


def test_cli_unreachable_host(app_db, capsys):
    from pgrunbook.sandbox.cluster import free_port

    db = app_db("legacy")
    inv = db.inventory(database={"url": f"postgresql://postgres:${{PGRB_TEST_PW}}@127.0.0.1:{free_port()}/x", "connect_timeout": 2})
    assert cli.verify(str(inv), None, False) == 1
    err = capsys.readouterr().err
    assert "cannot connect" in err and "next:" in err and "Traceback" not in err and TEST_PASSWORD not in err


@pytest.mark.parametrize("text, fragment", [
    ("name: [unclosed\n", "invalid YAML"),
    ("name: x\nsurprise: 1\n", "unknown key"),
    ("name: x\n", "required key is missing"),
    ("name: x\ndatabase: {url: '${NO_SUCH_VAR_PGRB}'}\nmigrations: {dir: .}\n", "NO_SUCH_VAR_PGRB is not set"),
])
def test_cli_bad_configuration_exits_2_without_traceback(tmp_path, capsys, text, fragment):
    inv = tmp_path / "inv.yml"
    inv.write_text(text)
    assert cli.verify(str(inv), None, False) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err and "inv.yml" in err
