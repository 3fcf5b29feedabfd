"""The rehearsal: the plan applied to a restored copy of the gate's backup, every table counted.

Unit tests of the pure parts (refusal, compare, per-migration measures, the gate criterion),
then integration tests on the sandbox fixture: production is never touched, drift and
failure on the copy are NO-GO naming the statement, the scratch database never stays.
"""

from __future__ import annotations

from pathlib import Path

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from pgrunbook import cli, commands
from pgrunbook.config import load_config
from pgrunbook.journal import GateDecided, RehearsalEnded
from pgrunbook.outcome import Status
from pgrunbook.rehearse import (
    TRACKING_FILE,
    Drift,
    RehearsalResult,
    StatementMeasure,
    compare,
    measured_by_statement,
    per_migration,
    refusal,
)

from .phases import backed_up, write_playbook

INDEXES = "0011_add_performance_indexes"
DB = {"name": "app", "host": "127.0.0.1", "port": 5432}


def stmt(line=1, *, rows=(), locks=(), file="0012_x.sql", migration="0012_x", started=0.0, seconds=0.1, lock_seconds=None,
         transactional=True) -> StatementMeasure:
    return StatementMeasure(migration, file, line, f"statement at line {line}", started, seconds, transactional, tuple(locks),
                            seconds if lock_seconds is None else lock_seconds, tuple(rows))


# --------------------------------------------------------------------------- refusal (pure)


def backup(ok=True, database=DB):
    return SimpleNamespace(id="b1", ok=ok, status="ok" if ok else "failed", database=dict(database))


@pytest.mark.parametrize(("args", "outcome", "words"), [
    ({"backup": None}, "refused", "no backup to restore"),
    ({"backup": backup(ok=False)}, "refused", "not restorable"),
    ({"backup": backup(database={**DB, "name": "other"})}, "refused", "not of this database"),
    ({"createdb": False}, "refused", "CREATEDB"),
    ({"failing": ["migrations-allowed"]}, "skipped", "NO-GO on migrations-allowed"),
    ({"empty": True}, "skipped", "nothing to apply"),
])
def test_refusal_says_why_the_rehearsal_does_not_run(args, outcome, words):
    kwargs = {"backup": backup(), "createdb": True, "failing": (), "empty": False, **args}
    got = refusal(kwargs.pop("backup"), DB, **kwargs)
    assert got is not None and got[0] == outcome and words in got[1]


def test_refusal_lets_a_good_plan_run():
    assert refusal(backup(), DB, createdb=True, failing=(), empty=False) is None


def test_createdb_is_named_before_the_other_criteria():
    # without CREATEDB the privileges criterion fails too: the rehearsal still says what it lacks
    assert "CREATEDB" in refusal(backup(), DB, createdb=False, failing=["privileges"], empty=False)[1]


# --------------------------------------------------------------------------- compare (pure)


def test_no_drift_when_every_table_kept_its_rows_and_tables_grew():
    before = {"public.users": 68, "drizzle.__drizzle_migrations": 11}
    after = {"public.users": 68, "drizzle.__drizzle_migrations": 12, "public.new_table": 3}
    fp = {"users": {"md5": "abc", "columns": ["id"]}}
    assert compare(before, after, fp, fp, [stmt()]) == ()


def test_rows_lost_names_the_statement_that_deleted_them():
    deleting = stmt(7, rows=[("public.daily_bonus", 0, 0, 40)])
    drift = compare({"public.daily_bonus": 100}, {"public.daily_bonus": 60}, {}, {}, [stmt(3), deleting])
    assert [(d.table, d.kind, d.before, d.after) for d in drift] == [("public.daily_bonus", "rows-lost", 100, 60)]
    assert drift[0].statements == ("0012_x.sql:7 statement at line 7",)
    assert "lost 40 row(s)" in drift[0].summary and "0012_x.sql:7" in drift[0].summary


def test_the_rehearsal_waives_exactly_what_validation_waives():
    """validate.allow_row_loss: the same tables, nothing else (a NO-GO on the copy for a loss validation accepts would be two truths)."""
    deleting = stmt(7, rows=[("public.sessions", 0, 0, 40), ("public.daily_bonus", 0, 0, 1)])
    before, after = {"public.sessions": 100, "public.daily_bonus": 30}, {"public.sessions": 60, "public.daily_bonus": 29}
    drift = compare(before, after, {}, {}, [deleting], allow_row_loss=["public.sessions"])
    assert [(d.table, d.kind) for d in drift] == [("public.daily_bonus", "rows-lost")]


def test_a_trigger_on_the_tracking_insert_is_named_as_that_insert():
    insert = stmt(0, file=TRACKING_FILE, rows=[("drizzle.__drizzle_migrations", 1, 0, 0), ("public.user_actions", 0, 0, 5)])
    drift = compare({"public.user_actions": 9}, {"public.user_actions": 4}, {}, {}, [stmt(1), insert])
    assert drift[0].statements == (f"{TRACKING_FILE} of 0012_x statement at line 0",)


def test_truncate_without_row_counters_is_found_by_its_lock():
    truncate = stmt(4, locks=["AccessExclusiveLock on public.proofs"])
    drift = compare({"public.proofs": 10}, {"public.proofs": 0}, {}, {}, [stmt(2, locks=["ShareLock on public.proofs"]), truncate])
    assert drift[0].statements == ("0012_x.sql:4 statement at line 4",)


def test_a_table_gone_is_drift():
    drift = compare({"public.proofs": 10}, {}, {}, {}, [])
    assert drift[0].kind == "table-gone" and "no single statement" in drift[0].summary


def test_changed_content_of_a_protected_table_is_drift_even_with_the_same_count():
    update = stmt(2, rows=[("public.users", 0, 68, 0)])
    drift = compare({"public.users": 68}, {"public.users": 68}, {"users": {"md5": "a" * 32, "columns": ["id"]}},
                    {"users": {"md5": "b" * 32, "columns": ["id"]}}, [update])
    assert [d.kind for d in drift] == ["content-changed"] and drift[0].statements[0].startswith("0012_x.sql:2")


def test_a_dropped_protected_column_is_drift():
    drift = compare({"public.users": 68}, {"public.users": 68}, {"users": {"md5": "a", "columns": ["id", "phone"]}},
                    {"users": {"md5": None, "missing_columns": ["phone"]}}, [])
    assert drift[0].kind == "columns-gone" and "phone" in drift[0].summary


def test_rows_lost_is_reported_once_not_also_as_changed_content():
    drift = compare({"public.users": 68}, {"public.users": 60}, {"users": {"md5": "a", "columns": ["id"]}},
                    {"users": {"md5": "b", "columns": ["id"]}}, [])
    assert [d.kind for d in drift] == ["rows-lost"]


def test_users_moved_between_roles_is_drift():
    drift = compare({"public.users": 68}, {"public.users": 68}, {}, {}, [], {"manager": 8, "fbo": 60}, {"manager": 0, "fbo": 68})
    assert drift[0].kind == "role-count" and "manager 8 → 0" in drift[0].summary


# --------------------------------------------------------------------------- measures (pure)


def test_per_migration_duration_includes_the_time_locks_were_held():
    statements = [stmt(1, started=1.0, seconds=0.5, lock_seconds=2.0, locks=["ShareLock on public.users"]),
                  stmt(3, started=1.5, seconds=1.0, lock_seconds=1.5),
                  stmt(0, file=TRACKING_FILE, started=2.5, seconds=0.01, lock_seconds=0.5)]
    (m,) = per_migration(statements)
    assert m.tag == "0012_x" and m.statements == 2 and m.seconds == pytest.approx(2.0) and m.longest_lock_seconds == 2.0
    assert m.locks == ("ShareLock on public.users",)


def test_longest_locks_are_the_write_blocking_ones():
    result = RehearsalResult("ok", "", "fp", statements=(
        stmt(1, lock_seconds=9.0, locks=["ShareUpdateExclusiveLock on public.users"]),
        stmt(2, lock_seconds=2.0, locks=["ShareLock on public.users"]),
        stmt(3, lock_seconds=1.0, locks=["AccessExclusiveLock on public.proofs"])))
    assert [s.line for s in result.longest_locks()] == [2, 3]


def test_measured_by_statement_leaves_out_the_tracking_rows():
    record = {"statements": [stmt(1).as_json(), stmt(0, file=TRACKING_FILE).as_json()]}
    assert list(measured_by_statement(record)) == [("0012_x.sql", 1)]
    assert measured_by_statement(None) == {}


def test_lock_findings_use_the_rehearsal_measures_instead_of_estimates():
    from pgrunbook.analyze import lock_estimates
    from pgrunbook.facts import TableFacts
    from pgrunbook.sqlcheck import Policy, analyze_files

    sql = 'CREATE INDEX IF NOT EXISTS "i1" ON "users" ("role");\n--> statement-breakpoint\nANALYZE "users";\n'
    (analysis,) = analyze_files([("0012_x.sql", sql)], Policy.from_dict({}))
    tables = (TableFacts("users", 5, 1_000_000, 200 * 1024 * 1024),)
    (estimate,) = lock_estimates(analysis, tables, set())
    assert "for roughly 3 s (at ~60 MiB/s)" in estimate.message
    measured = {("0012_x.sql", 1): stmt(1, seconds=0.8, lock_seconds=2.5, locks=["ShareLock on public.users"]).as_json(),
                ("0012_x.sql", 3): stmt(3, locks=["ShareUpdateExclusiveLock on public.users"]).as_json()}
    (finding,) = lock_estimates(analysis, tables, set(), measured)  # ANALYZE blocks no write: no finding
    assert finding.line == 1 and "for 2.5 s — measured by the rehearsal" in finding.message and "ShareLock on public.users" in finding.message
    assert "--online" in finding.help


# --------------------------------------------------------------------------- the gate criterion (pure)


def gate_inputs(rehearsal):
    from pgrunbook.analyze import ExpectedState
    from pgrunbook.drizzle.plan import MigrationPlan
    from pgrunbook.gate import Activity, GateInputs, Privileges

    plan = MigrationPlan("A", False, ())
    return GateInputs(database=DB, backup=None, backup_max_age_minutes=120, min_copies=0, plan=plan, evidence=None, analyses=(),
                      privileges=Privileges("u", True, True, True, True, ()), activity=Activity(None, (), ()),
                      controller=(True, "none"), protected={}, expected=ExpectedState((), (), ()), now=datetime.now(timezone.utc),
                      rehearsal=rehearsal)


def plan_fp():
    from pgrunbook.gate import plan_fingerprint

    return plan_fingerprint(gate_inputs(None).plan)


@pytest.mark.parametrize(("result", "status", "words"), [
    (None, None, None),
    (RehearsalResult("skipped", "not run: the gate already says NO-GO on backup", "x"), Status.INFO, "not rehearsed"),
    (RehearsalResult("refused", "the user lacks CREATEDB", "x"), Status.FAIL, "CREATEDB"),
    ("ok-other-plan", Status.FAIL, "another plan"),
    ("failed", Status.FAIL, "fails at 0012_x.sql:3"),
    ("drift", Status.FAIL, "lost 40 row(s)"),
    ("ok", Status.OK, "writes blocked longest by 0012_x.sql:1 held ShareLock on public.users 2.0 s"),
    ("ok-left", Status.WARN, "NOT dropped"),
])
def test_gate_rehearsal_criterion(result, status, words):
    from pgrunbook.gate import rehearsal_checks

    fp = plan_fp()
    measured = (stmt(1, lock_seconds=2.0, locks=["ShareLock on public.users"]),)
    made = {
        "ok-other-plan": RehearsalResult("ok", "fine", "another"),
        "failed": RehearsalResult("failed", "fails on the restored copy at 0012_x.sql:3 x: could not create unique index", fp,
                                  failed_at="0012_x.sql:3 x"),
        "drift": RehearsalResult("drift", "drift", fp, drift=(Drift("public.daily_bonus", "rows-lost", 100, 60, ("0012_x.sql:7 DELETE",)),)),
        "ok": RehearsalResult("ok", "every table's rows kept", fp, statements=measured),
        "ok-left": RehearsalResult("ok", "every table's rows kept", fp, dropped=False, database="s"),
    }
    checks = rehearsal_checks(gate_inputs(made.get(result, result) if isinstance(result, str) else result))
    if status is None:
        assert checks == ()
        return
    (check,) = checks
    assert check.id == "rehearsal" and check.status is status and words in check.summary, check


# --------------------------------------------------------------------------- integration, on the sandbox fixture

SCRATCH_LIKE = "%\\_pgrunbook\\_verify\\_%"


def all_counts(db) -> dict[str, int]:
    from pgrunbook.backup.snapshot import count_rows
    from pgrunbook.config import RoleCount

    with db.connect() as conn:
        return count_rows(conn, RoleCount(table="users", column="role"))["tables"]


def scratch_databases(db) -> list[str]:
    with db.connect() as conn:
        return [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [SCRATCH_LIKE])]


def tracking_rows(db) -> list[tuple]:
    with db.connect() as conn:
        if conn.execute("SELECT to_regclass('drizzle.__drizzle_migrations')").fetchone()[0] is None:
            return []
        return conn.execute("SELECT id, hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id").fetchall()


def indexes(db) -> int:
    with db.connect() as conn:
        return conn.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'").fetchone()[0]


def append_to_pending(db, sql: str) -> int:
    """Add a statement at the end of the pending 0011; returns its line."""
    path = db.drizzle_dir / f"{INDEXES}.sql"
    text = path.read_text().rstrip("\n") + "\n--> statement-breakpoint\n"
    path.write_text(text + sql + "\n")
    return text.count("\n") + 1


def observed_plan(cfg):
    from pgrunbook.pg import connect, read_only
    from pgrunbook.planning import observe_and_plan

    with connect(cfg.inventory.database) as conn, read_only(conn):
        return observe_and_plan(conn, cfg).plan


class Production:
    """What must not change: every table's rows, the tracking rows, the indexes; and no scratch database left."""

    def __init__(self, db) -> None:
        self.db = db
        self.state = self.read()

    def read(self):
        return all_counts(self.db), tracking_rows(self.db), indexes(self.db)

    def assert_untouched(self) -> None:
        assert self.read() == self.state
        assert scratch_databases(self.db) == []


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("state", ["tracked", "legacy"])
def test_a_safe_plan_rehearses_ok_and_production_is_untouched(app_db, state):
    db = app_db(state)
    cfg = backed_up(db.inventory())
    production = Production(db)
    events = []
    run, decision = commands.gate(cfg, events.append, rehearse=True)
    production.assert_untouched()
    check = next(c for c in decision.checks if c.id == "rehearsal")
    assert decision.go and check.status is Status.OK, check
    record = run.read().last(RehearsalEnded)
    assert record.status == "ok" and record.extra["dropped"] and record.plan_fingerprint == decision.plan_fingerprint
    data = record.data()
    assert data["counts_before"]["public.users"] == 68 and data["counts_after"]["public.users"] == 68
    assert set(data["counts_before"]) >= {f"public.{t}" for t in cfg.playbook.expectations.tables}
    assert data["fingerprints_before"]["users"]["md5"] == data["fingerprints_after"]["users"]["md5"]
    migration = next(m for m in data["migrations"] if m["tag"] == INDEXES)
    assert migration["tag"] == INDEXES and migration["statements"] == 54 and migration["seconds"] > 0
    index_users = next(s for s in data["statements"] if s["line"] == 1)
    assert index_users["locks"] == ["ShareLock on public.users"] and index_users["lock_seconds"] >= index_users["seconds"]
    tracking = [s for s in data["statements"] if s["file"] == TRACKING_FILE]
    assert [t["rows"] for t in tracking][-1] == [["drizzle.__drizzle_migrations", 1, 0, 0]]
    assert "longest by 0011_add_performance_indexes.sql:" in check.summary
    phases = {e.phase for e in events if e.message.startswith("rehearsal:")}
    assert phases == {"rehearse"} and any("[copy]" in e.message for e in events)
    # analyze (and the gate's lint) now show the measured lock times of this plan instead of estimates
    report = commands.analyze(cfg, squawk=False)
    findings = [f for m in report.as_json()["migrations"] for f in m["findings"] if f["rule"] == "blocking-index-build"]
    assert findings and all("measured by the rehearsal on a restored copy" in f["message"] for f in findings), findings
    assert any("ShareLock on public.users" in f["message"] for f in findings)


@pytest.mark.integration
def test_online_rehearsal_samples_the_concurrent_builds_locks(app_db):
    db = app_db("tracked")
    cfg = backed_up(db.inventory())
    from pgrunbook.rehearse import rehearse

    result = rehearse(cfg, observed_plan(cfg), _latest(cfg), createdb=True, online=True)
    assert result.outcome == "ok", result.reason
    built = [s for s in result.statements if s.file.startswith(INDEXES) and not s.transactional]
    assert len(built) == 43 and all(s.sampled and s.rows == () for s in built)
    assert any("ShareUpdateExclusiveLock on public.users" in s.locks for s in built)
    assert scratch_databases(db) == []


def _latest(cfg):
    from pgrunbook.backup import latest_backup

    return latest_backup(cfg.inventory.backup.dir, ok_only=False)


@pytest.mark.integration
@pytest.mark.slow
def test_a_plan_that_deletes_rows_is_no_go_from_the_rehearsal(app_db, tmp_path, capsys):
    db = app_db("tracked")
    line = append_to_pending(db, "DELETE FROM daily_bonus WHERE id % 2 = 0;")
    playbook = write_playbook(tmp_path / "playbook.yml", policy={"allow": ["delete"], "rules": {"ban-delete": "allowed"}})
    cfg = backed_up(db.inventory(), playbook)
    production = Production(db)
    run, decision = commands.gate(cfg, rehearse=True)
    production.assert_untouched()
    failing = {c.id: c.summary for c in decision.checks if c.status is Status.FAIL}
    assert not decision.go and list(failing) == ["rehearsal"], failing
    assert "public.daily_bonus lost" in failing["rehearsal"] and f"{INDEXES}.sql:{line} DELETE FROM daily_bonus" in failing["rehearsal"]
    assert run.read().last(RehearsalEnded).status == "drift"
    # the console renders it: exit 3, the drift table naming the statement
    code = cli.gate(str(db.inventory()), str(playbook), run_id=None, backup=None, baseline_until=None, only=None, as_json=False, rehearse=True)
    shown = capsys.readouterr().out
    shown = " ".join(shown.replace("│", " ").split())
    assert code == 3 and "Rehearsal on a restored copy" in shown and "Drift on the copy" in shown and "public.daily_bonus lost" in shown
    production.assert_untouched()


@pytest.mark.integration
@pytest.mark.slow
def test_migrate_prod_honours_the_playbook_switch(app_db, tmp_path):
    from pgrunbook.runner import ProdOptions, migrate_prod

    db = app_db("tracked")
    playbook = write_playbook(tmp_path / "playbook.yml", migrate={"rehearse": True})
    result = migrate_prod(load_config(db.inventory(), playbook), options=ProdOptions(yes=True))
    assert result.outcome == "ok", result.reason
    journal = result.run.read()
    rehearsal = journal.last(RehearsalEnded)
    assert rehearsal.status == "ok" and rehearsal.extra["dropped"]
    gate = journal.last(GateDecided)
    assert any(c["id"] == "rehearsal" and c["status"] == "ok" for c in gate.checks)
    assert [r.phase for r in journal.records].index("rehearse") < [r.phase for r in journal.records].index("migrate")
    assert indexes(db) > 0 and scratch_databases(db) == []
    en, fr = (Path(result.report_paths[lang]).read_text() for lang in ("en", "fr"))  # the report shows it
    assert "- [x] Rehearsal on a restored copy of backup" in en and "**`ok`**" in en and "longest lock: 0011" in en
    assert "- [x] Répétition sur une copie restaurée du backup" in fr


@pytest.mark.integration
@pytest.mark.slow
def test_a_trigger_made_by_hand_before_the_backup_is_caught_on_the_tracking_insert(app_db):
    from pgrunbook.rehearse import rehearse

    db = app_db("tracked")
    with db.connect() as conn:
        conn.execute("""CREATE FUNCTION public.sneaky() RETURNS trigger LANGUAGE plpgsql AS
                        $$BEGIN DELETE FROM public.user_actions WHERE id % 3 = 0; RETURN NEW; END$$""")
        conn.execute("CREATE TRIGGER sneaky AFTER INSERT ON drizzle.__drizzle_migrations FOR EACH ROW EXECUTE FUNCTION public.sneaky()")
    cfg = backed_up(db.inventory())
    production = Production(db)
    result = rehearse(cfg, observed_plan(cfg), _latest(cfg), createdb=True)
    production.assert_untouched()
    assert result.outcome == "drift", result.reason
    # the trigger's DELETE, and the ON DELETE CASCADE it sets off in proofs: both measured on the tracking insert
    assert {d.table: d.kind for d in result.drift} == {"public.user_actions": "rows-lost", "public.proofs": "rows-lost"}
    for drift in result.drift:
        assert drift.statements == (f"{TRACKING_FILE} of {INDEXES} INSERT INTO the tracking table: row of {INDEXES}",)


@pytest.mark.integration
@pytest.mark.slow
def test_a_plan_that_fails_on_the_copy_is_no_go_naming_the_statement_and_the_scratch_is_dropped(app_db):
    from pgrunbook.gate import rehearsal_checks
    from pgrunbook.rehearse import rehearse

    db = app_db("tracked")
    line = append_to_pending(db, 'CREATE UNIQUE INDEX IF NOT EXISTS "idx_users_role_unique" ON "users" ("role");')
    cfg = backed_up(db.inventory())
    production = Production(db)
    plan = observed_plan(cfg)
    result = rehearse(cfg, plan, _latest(cfg), createdb=True)
    production.assert_untouched()
    assert result.outcome == "failed" and result.dropped
    assert result.failed_at.startswith(f"{INDEXES}.sql:{line} CREATE UNIQUE INDEX"), result.failed_at
    assert "could not create unique index" in result.reason
    assert len(result.statements) == 54  # the 54 statements before it ran and were measured
    _, decision = commands.gate(cfg, rehearse=True)  # through the gate: NO-GO, whichever criterion sees it first
    assert not decision.go
    (check,) = rehearsal_checks(SimpleNamespace(rehearsal=result, plan=plan))
    assert check.status is Status.FAIL and f"{INDEXES}.sql:{line}" in check.summary
    production.assert_untouched()


@pytest.mark.integration
def test_ctrl_c_during_the_apply_still_drops_the_scratch_database(app_db, monkeypatch):
    from pgrunbook import executor
    from pgrunbook.rehearse import rehearse

    db = app_db("tracked")
    cfg = backed_up(db.inventory())
    production = Production(db)

    def interrupted(self, *args, **kwargs):
        self.conn.execute("CREATE INDEX idx_halfway ON users (email)")
        raise KeyboardInterrupt

    monkeypatch.setattr(executor.Executor, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        rehearse(cfg, observed_plan(cfg), _latest(cfg), createdb=True)
    production.assert_untouched()


@pytest.mark.integration
def test_no_backup_is_no_go_and_nothing_is_created(app_db):
    db = app_db("tracked")
    run, decision = commands.gate(load_config(db.inventory()), rehearse=True)
    checks = {c.id: c for c in decision.checks}
    assert not decision.go and checks["rehearsal"].status is Status.FAIL and "no backup to restore" in checks["rehearsal"].summary
    assert run.read().last(RehearsalEnded).status == "refused" and scratch_databases(db) == []
