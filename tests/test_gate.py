"""`inv gate`: GO only when every criterion holds; each failing alone turns it into NO-GO, with its reason."""

from __future__ import annotations

import time

import pytest

from pgrunbook.journal import GateDecided

from pgrunbook import cli, commands
from pgrunbook.config import load_config
from pgrunbook.outcome import Status

from .phases import age_manifest, backed_up, write_playbook

pytestmark = pytest.mark.integration
INDEXES = "0011_add_performance_indexes"


def failing(decision) -> dict[str, str]:
    return {c.id: c.summary for c in decision.checks if c.status is Status.FAIL}


def test_go_after_a_backup_and_recorded_in_the_run(app_db):
    db = app_db("legacy")
    cfg = backed_up(db.inventory())
    run, decision = commands.gate(cfg)
    assert decision.go and failing(decision) == {}
    record = run.read().last(GateDecided)
    assert record.status == "go" and record.plan_fingerprint == decision.plan_fingerprint
    assert (run.dir.stat().st_mode & 0o777) == 0o700 and (run.journal.stat().st_mode & 0o777) == 0o600


def test_no_backup(app_db):
    _, decision = commands.gate(load_config(app_db("legacy").inventory()))
    assert "no backup" in failing(decision)["backup"]


def test_stale_backup(app_db):
    db = app_db("legacy")
    backed_up(db.inventory())
    age_manifest(db.workdir / "backups", hours=5)
    _, decision = commands.gate(load_config(db.inventory()))
    assert "min old (limit 120 min" in failing(decision)["backup"]


def test_too_few_verified_copies(app_db):
    db = app_db("legacy")
    backed_up(db.inventory())
    _, decision = commands.gate(load_config(db.inventory(backup={"min_copies": 2})))
    assert "0 verified copies, 2 required" in failing(decision)["backup"]


def test_forbidden_statement_in_a_pending_migration(app_db):
    db = app_db("tracked")
    backed_up(db.inventory())
    path = db.drizzle_dir / f"{INDEXES}.sql"
    path.write_text(path.read_text() + "\n--> statement-breakpoint\nTRUNCATE daily_bonus;\n")
    _, decision = commands.gate(load_config(db.inventory()))
    assert "ban-truncate" in failing(decision)["migrations-allowed"] and not decision.go


def test_baseline_without_evidence(app_db):
    db = app_db("legacy")
    backed_up(db.inventory())
    with db.connect() as conn:
        conn.execute("ALTER TABLE users DROP COLUMN phone")
    _, decision = commands.gate(load_config(db.inventory()), baseline_until="0010")
    assert "public.users.phone" in failing(decision)["drizzle-tracking"]


def test_insufficient_privileges(app_db):
    db = app_db("tracked")
    with db.connect() as conn:
        conn.execute("DROP ROLE IF EXISTS gate_reader")
        conn.execute("CREATE ROLE gate_reader LOGIN PASSWORD 'reader-pw'")
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public, drizzle TO gate_reader")
        conn.execute("GRANT USAGE ON SCHEMA drizzle TO gate_reader")
    inventory = db.inventory(database={"url": f"postgresql://gate_reader:reader-pw@127.0.0.1:{db.cluster.port}/{db.name}"})
    backed_up(db.inventory())  # the backup is taken by the owner
    _, decision = commands.gate(load_config(inventory))
    reason = failing(decision)["privileges"]
    assert "gate_reader lacks" in reason and "ownership of public.actions" in reason and "CREATEDB" in reason


def test_another_run_holds_the_lock(app_db):
    from pgrunbook.executor import LOCK_KEY_SQL, LOCK_NAMESPACE

    db = app_db("legacy")
    backed_up(db.inventory())
    with db.connect() as other:
        other.execute(f"SELECT pg_advisory_lock({LOCK_KEY_SQL})", [LOCK_NAMESPACE])
        _, decision = commands.gate(load_config(db.inventory()))
    assert "pid" in failing(decision)["no-other-run"]


def test_long_open_transaction(app_db, tmp_path):
    db = app_db("legacy")
    playbook = write_playbook(tmp_path / "pb.yml", gate={"max_transaction_seconds": 1})
    backed_up(db.inventory(), playbook)
    with db.connect() as other:
        other.execute("BEGIN")
        other.execute("SELECT count(*) FROM users")
        time.sleep(1.5)
        _, decision = commands.gate(load_config(db.inventory(), playbook))
        other.execute("ROLLBACK")
    assert "idle in transaction" in failing(decision)["no-blockers"]


def test_cli_exit_codes(app_db, capsys):
    db = app_db("legacy")
    inventory = str(db.inventory())
    assert cli.gate(inventory, None, run_id=None, backup=None, baseline_until=None, only=None, as_json=False) == 3
    assert "NO-GO" in capsys.readouterr().out
    backed_up(db.inventory())
    assert cli.gate(inventory, None, run_id=None, backup=None, baseline_until=None, only=None, as_json=True) == 0


def test_app_controller_not_ready(app_db, tmp_path):
    db = app_db("legacy")
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services:\n  backend:\n    image: example/backend\n")
    inventory = db.inventory(app={"controller": "compose", "compose": {"file": str(compose), "service": "backend"}})
    backed_up(inventory)
    _, decision = commands.gate(load_config(inventory))
    reason = failing(decision)["rollback-ready"]
    assert "app controller not ready" in reason and "docker" in reason.lower()


def test_a_squawk_only_review_finding_is_no_go_as_in_analyze(app_db):
    """Inline allows lift our rules, squawk's `constraint-missing-not-valid` stays: both refuse (issue 9.7)."""
    db = app_db("tracked")
    cfg = backed_up(db.inventory())
    path = db.drizzle_dir / f"{INDEXES}.sql"
    path.write_text(path.read_text() + "\n--> statement-breakpoint\n"
                    "-- pgrunbook: allow review-add-constraint checked by hand\n"
                    "-- pgrunbook: allow review-add-constraint-validating checked by hand\n"
                    'ALTER TABLE "users" ADD CONSTRAINT "users_id_positive" CHECK ("id" > 0);\n')
    report = commands.analyze(cfg)
    _, decision = commands.gate(cfg)
    assert not report.ok and not decision.go
    assert "squawk:constraint-missing-not-valid" in failing(decision)["migrations-allowed"]


def test_rows_written_since_the_backup_are_stated_and_beyond_the_limit_a_no_go(app_db):
    """Issue 11.9: the data-loss window. A rollback to this backup would discard what was written since."""
    db = app_db("tracked")
    cfg = backed_up(db.inventory())
    _, decision = commands.gate(cfg)
    current = {c.id: c for c in decision.checks}["backup-current"]
    assert decision.go and current.status is Status.OK
    with db.connect() as conn:
        conn.execute("DELETE FROM daily_bonus WHERE id IN (SELECT id FROM daily_bonus LIMIT 3)")
    _, decision = commands.gate(cfg)
    current = {c.id: c for c in decision.checks}["backup-current"]
    assert decision.go and current.status is Status.WARN and "public.daily_bonus -3" in current.summary
    strict = load_config(db.inventory(), write_playbook(db.workdir / "strict.yml", gate={"max_rows_changed_since_backup": 2}))
    _, decision = commands.gate(strict)
    assert not decision.go and "4 rows changed since backup" in failing(decision)["backup-current"]  # the cascade into proofs too


def test_rollback_ready_names_the_tool_pair(app_db):
    db = app_db("tracked")
    _, decision = commands.gate(backed_up(db.inventory()))
    ready = {c.id: c for c in decision.checks}["rollback-ready"]
    assert ready.status is Status.OK and "pg_restore 18" in ready.summary and "known-compatible" in ready.summary


def test_a_role_without_createdb_is_told_a_strategy_the_gate_then_accepts(app_db):
    """Issue 11.10: a NO-GO must only suggest what the gate can accept: `rollback.strategy: in-place`."""
    db = app_db("tracked")
    with db.connect() as conn:
        conn.execute("DROP ROLE IF EXISTS app_owner")
        conn.execute("CREATE ROLE app_owner LOGIN PASSWORD 'owner-pw' NOCREATEDB")
        for table in ("users", "campaigns", "challenges", "actions", "user_actions", "daily_bonus", "proofs", "campaign_validations",
                      "app_versions", "user_version_tracking", "campaign_bonus_config"):
            conn.execute(f'ALTER TABLE "{table}" OWNER TO app_owner')
        conn.execute("GRANT ALL ON SCHEMA public, drizzle TO app_owner")
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA drizzle TO app_owner")
        conn.execute(f'GRANT CREATE ON DATABASE "{db.name}" TO app_owner')
    inventory = db.inventory(database={"url": f"postgresql://app_owner:owner-pw@127.0.0.1:{db.cluster.port}/{db.name}"})
    backed_up(db.inventory())
    _, decision = commands.gate(load_config(inventory))
    reason = failing(decision)["privileges"]
    assert "CREATEDB" in reason and "rollback.strategy: in-place" in reason
    in_place = write_playbook(db.workdir / "in-place.yml", rollback={"strategy": "in-place"})
    _, decision = commands.gate(load_config(inventory, in_place))
    assert "privileges" not in failing(decision), failing(decision)
