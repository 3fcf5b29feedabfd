"""`inv rollback`: full restore-and-swap (never a DROP of the target), --in-place, index-only.

Real PostgreSQL 18, real pg_restore / psql, the sandbox's real HTTP API started and stopped
by the `command` controller.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import psycopg
import pytest

from psycopg import sql

from pgrunbook.journal import RollbackEnded, RollbackStarted, RollbackStep, RollbackStopped

from pgrunbook import cli, commands
from pgrunbook.config import load_config
from pgrunbook.drizzle.recorder import Recorder
from pgrunbook.errors import MigrationFailed, RuntimeFailure, UsageError
from pgrunbook.events import Event
from pgrunbook.rollback import full_rollback, indexes_only_rollback
from pgrunbook.sandbox.api import health_status
from pgrunbook.sandbox.cluster import free_port
from pgrunbook.sandbox.data import SANDBOX_LOGIN

from .conftest import TEST_PASSWORD
from .phases import backed_up, gone_through_gate
from .servers import stop_sandbox_api

pytestmark = pytest.mark.integration
PY = shlex.quote(sys.executable)


def idx_names(db, dbname: str | None = None) -> set[str]:
    url = db.cluster.url(dbname) if dbname else db.url
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'idx\\_%'")}


def users(db, dbname: str | None = None) -> int:
    with psycopg.connect(db.cluster.url(dbname) if dbname else db.url) as conn:
        return conn.execute("SELECT count(*) FROM users").fetchone()[0]


def databases(db) -> set[str]:
    with psycopg.connect(db.cluster.url("postgres")) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [db.name + "%"])}


@pytest.fixture
def leftovers(pg_cluster):
    """Drop the kept `<db>_before_rollback_*` databases the tests create (the tool never does)."""
    made: list = []
    yield made
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
        for db in made:
            for name in databases(db) - {db.name}:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def assert_no_secret(*things) -> None:
    for thing in things:
        text = thing if isinstance(thing, str) else json.dumps(thing, default=str)
        assert TEST_PASSWORD not in text


def migrated(db, inventory: Path):
    cfg, run = gone_through_gate(inventory)
    _, result = commands.migrate(cfg, yes=True)
    assert len(result.created_indexes) == 43
    return cfg, run


# --------------------------------------------------------------------------- full


@pytest.fixture
def app_running(app_db, leftovers, tmp_path, monkeypatch):
    """(db, inventory, port): the sandbox API serving a fresh legacy database under the command controller."""
    db = app_db("legacy")
    leftovers.append(db)
    port, run_dir = free_port(), tmp_path / "run"
    run_dir.mkdir()
    pidfile = shlex.quote(str(run_dir / "api.pid"))
    # Generous deadlines: bounds for a loaded machine, not expected durations.
    app = {"controller": "command", "health_timeout": 60, "command": {
        "start": f"{PY} -m pgrunbook.sandbox.api start --port {port} --pidfile {pidfile} --timeout 60",
        "stop": f"{PY} -m pgrunbook.sandbox.api stop --pidfile {pidfile}",
        "health": f"{PY} -m pgrunbook.sandbox.api health --port {port} --timeout 2"}}
    api = {"base_url": f"http://127.0.0.1:{port}", "login": {"email": SANDBOX_LOGIN[0], "password": SANDBOX_LOGIN[1]},
           "endpoints": [{"path": "/api/users/all-members", "budget_ms": 2000}], "requests": 3}
    monkeypatch.setenv("PGRUNBOOK_API_DSN", db.url)
    inventory = db.inventory(app=app, api=api)
    from pgrunbook.service import controller_for

    try:
        with controller_for(load_config(inventory).inventory) as ctl:
            ctl.start()
        assert health_status("127.0.0.1", port) == 200
        yield db, inventory, port
    finally:
        stop_sandbox_api(run_dir / "api.pid")  # by pid if `stop` cannot: a failed test leaves no server running


LATE_USER = ("INSERT INTO users (email, password, first_name, last_name, role) "
             "SELECT %s, password, 'Late', 'Writer', role FROM users WHERE role = 'fbo' LIMIT 1")


def test_full_rollback_with_the_app_running(app_running):
    """The sandbox API runs under the command controller: stopped, database swapped, started, checked."""
    db, inventory, port = app_running
    cfg, run = migrated(db, inventory)
    with db.connect() as conn:  # a user written after the backup: it must survive in the kept database
        conn.execute(LATE_USER, ["late@example.com"])
    events: list[Event] = []
    result = full_rollback(cfg, events.append, run=run, yes=True)
    assert result.ok, result.as_json()
    assert result.app_stopped and result.app_started and health_status("127.0.0.1", port) == 200
    assert result.api["login_status"] == 200 and all(list(e["statuses"]) == [200] * 3 for e in result.api["endpoints"])
    assert idx_names(db) == set() and users(db) == 68  # the pre-migration state
    assert result.kept_db in databases(db) and users(db, result.kept_db) == 69 and len(idx_names(db, result.kept_db)) == 43
    assert result.protected_written_after_backup == {"public.users": 1}
    assert result.new_protected_ids == {"public.users": [69]}  # the row the rollback discarded, kept in kept_db
    assert result.restored_db not in databases(db)  # renamed to db.name
    assert run.read().last(RollbackEnded, status="ok").kept_db == result.kept_db
    steps = [r.status for r in run.read().all(RollbackStep)]
    assert steps[:4] == ["create-restore-db", "created-restore-db", "stop-app", "restore"] and "app-started" in steps
    assert_no_secret(run.journal.read_text(), result.as_json(), [repr(e) for e in events])


def test_online_full_rollback_keeps_the_app_serving_during_the_restore(app_running):
    """`--online`: the app serves the current database while the backup is restored beside it, and is stopped
    only for the swap; what it writes during the restore stays in the kept database and is reported."""
    db, inventory, port = app_running
    cfg, run = migrated(db, inventory)
    during: list[int] = []

    def watch(event: Event) -> None:  # the restore is about to start: the app must still answer, and may write
        if event.message.startswith("restoring ") and " into " in event.message:
            during.append(health_status("127.0.0.1", port))
            with db.connect() as conn:
                conn.execute(LATE_USER, ["during-restore@example.com"])

    dry = commands.rollback(cfg, full=True, run_id=run.id, dry_run=True, online=True)
    stops = [i for i, step in enumerate(dry.plan) if step.startswith("stop the app")]
    assert len(stops) == 1 and dry.plan[stops[0] - 1].startswith("count ") and "--online" in dry.plan[stops[0]]
    result = commands.rollback(cfg, watch, full=True, run_id=run.id, yes=True, online=True)
    assert result.ok, result.as_json()
    assert during == [200]
    steps = [r.status for r in run.read().all(RollbackStep)]
    assert steps.index("stop-app") > steps.index("count-restored") and steps.index("stop-app") < steps.index("swap")
    assert run.read().last(RollbackStarted).online is True
    assert idx_names(db) == set() and users(db) == 68 and health_status("127.0.0.1", port) == 200
    assert result.protected_written_after_backup == {"public.users": 1} and users(db, result.kept_db) == 69
    assert result.as_json()["app"]["stopped_for"] == "the swap"
    from pgrunbook.report import write_reports

    assert "only for the swap" in Path(write_reports(cfg, run, ("en",))["en"]).read_text()


def test_online_and_in_place_are_refused_together(app_db):
    db = app_db("legacy")
    code = cli.rollback(str(db.inventory()), None, full=True, indexes_only=False, backup=None, in_place=True, run_id=None,
                        dry_run=True, yes=True, as_json=True, online=True)
    assert code == 2
    with pytest.raises(UsageError, match="--online restores beside") as refused:
        full_rollback(load_config(db.inventory()), in_place=True, online=True, dry_run=True)
    assert refused.value.changed == "nothing was changed" and "--dry-run" in refused.value.next_step


def test_full_rollback_defaults_to_the_backup_taken_before_the_migration(app_db, leftovers):
    """Issue 11.4: after a migration and a newer (post-migration) backup, `rollback --full` without --backup
    restores the pre-migration backup the GO relied on, and says so; never the newest one by default."""
    db = app_db("tracked")
    leftovers.append(db)
    cfg, run = migrated(db, db.inventory())
    before_id = run.read().go.backup_id
    post = commands.backup(cfg)
    assert post.ok and post.manifest.id != before_id
    for chosen_run in (None, run):  # without --run: the newest run that migrated this database
        dry = full_rollback(cfg, run=chosen_run, dry_run=True)
        assert dry.backup_id == before_id, dry.plan
        assert "GO relied on" in dry.plan[0]
    result = full_rollback(cfg, run=run, yes=True)
    assert result.ok and result.backup_id == before_id
    assert idx_names(db) == set()  # the state before the migration, not the post-migration backup's 43 indexes
    assert "GO relied on" in run.read().last(RollbackStarted).backup_why


def test_the_rollbacks_analyze_cannot_run_a_hostile_index_function(app_db, leftovers):
    """An index over a function that deletes rows when evaluated (made by hand, so in the backup): the rollback's
    ANALYZE (vacuumdb -j, read-only) evaluates it, the delete fails, no row is lost, a WARN says why."""
    db = app_db("tracked")
    leftovers.append(db)
    with db.connect() as conn:
        conn.execute("CREATE FUNCTION public.fold(e text) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $$ BEGIN RETURN lower(e); END $$")
        conn.execute("CREATE INDEX users_fold_idx ON users (public.fold(email))")
        conn.execute("CREATE FUNCTION public.gc() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM public.daily_bonus; END $$")
        conn.execute("CREATE OR REPLACE FUNCTION public.fold(e text) RETURNS text IMMUTABLE LANGUAGE plpgsql AS "
                     "$$ BEGIN PERFORM public.gc(); RETURN lower(e); END $$")
        bonus = conn.execute("SELECT count(*) FROM daily_bonus").fetchone()[0]
    # the static line refuses 0011 here (its ANALYZE runs fold()): switched off on purpose, the restore is what is tested
    from .phases import write_playbook

    playbook = write_playbook(db.workdir / "no-static.yml", policy={"rules": {"ban-delete": "off"}})
    cfg, run = gone_through_gate(db.inventory(), playbook)
    commands.migrate(cfg, yes=True)  # 0011's own ANALYZE empties daily_bonus here: what the rollback must undo
    result = full_rollback(cfg, run=run, yes=True)
    warned = {c.id: c for c in result.checks}.get("analyze-read-only")
    assert warned is not None and "read-only" in warned.summary, result.as_json()
    with db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM daily_bonus").fetchone()[0] == bonus > 0


def test_the_backup_carries_statistics_and_the_rollback_analyzes_only_what_lacks_them(app_db, leftovers):
    """Issue 11 (RTO): a PostgreSQL 18 backup holds the planner's statistics (`pg_dump --statistics`); the
    restore loads them, so the rollback's vacuumdb (`--missing-stats-only`) leaves analyzed tables alone and
    still analyzes a table the backup has no statistics for."""
    db = app_db("tracked")
    leftovers.append(db)
    with db.connect() as conn:
        conn.execute("ANALYZE users")
        conn.execute("CREATE TABLE public.notes (id int PRIMARY KEY, body text)")  # no statistics on purpose (too few rows
        conn.execute("INSERT INTO public.notes SELECT g, 'n' FROM generate_series(1, 10) g")  # for autovacuum to analyze)
        conn.commit()
    cfg, run = migrated(db, db.inventory())
    assert cfg.inventory.backup.dir.joinpath(f"{run.read().go.backup_id}.dump").exists()
    from pgrunbook.backup import find_backup

    assert find_backup(cfg.inventory.backup.dir, run.read().go.backup_id).dump["statistics"] is True
    result = full_rollback(cfg, run=run, yes=True)
    assert result.ok, result.as_json()
    with db.connect() as conn:
        stats = dict(conn.execute("SELECT relname, last_analyze IS NOT NULL FROM pg_stat_user_tables "
                                  "WHERE relname IN ('users', 'notes')").fetchall())
        has_stats = {t for (t,) in conn.execute("SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = 'public'")}
    assert "users" in has_stats and stats["users"] is False  # its statistics came from the backup: not analyzed again
    assert "notes" in has_stats and stats["notes"] is True  # none in the backup: analyzed after the restore


def test_full_rollback_with_sessions_connected_plain_dump(app_db, leftovers):
    """Sessions in an open transaction and idle are terminated; the rename is retried; a plain dump goes through psql."""
    db = app_db("tracked")
    leftovers.append(db)
    inventory = db.inventory(backup={"format": "plain", "verify_restore": True})  # counts.scope "all": every table compared
    cfg, run = migrated(db, inventory)
    idle = db.connect()
    busy = psycopg.connect(db.url)  # inside a transaction holding a lock
    busy.execute("SELECT id FROM users ORDER BY id LIMIT 1 FOR SHARE").fetchone()
    result = full_rollback(cfg, run=run, yes=True)
    assert result.ok and idx_names(db) == set()
    for conn in (idle, busy):
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
        conn.close()
    with db.connect() as conn:  # the restored database accepts connections; the kept one too
        assert conn.execute("SELECT datallowconn FROM pg_database WHERE datname = %s", [result.kept_db]).fetchone()[0]
        assert Recorder(conn).rows()[-1].id == 11  # tracking rows as in the backup
    assert result.backup_source.endswith(".sql") and len(result.counts_restored) == 12 == len(result.counts_manifest)


def test_corrupted_newest_backup_is_refused_and_the_good_one_named(app_db, leftovers):
    db = app_db("tracked")
    leftovers.append(db)
    cfg = backed_up(db.inventory())
    from pgrunbook.backup import list_backups

    good = list_backups(cfg.inventory.backup.dir)[0]
    newest = commands.backup(cfg).manifest
    assert newest.id != good.id
    raw = bytearray(newest.dump_path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    newest.dump_path.write_bytes(bytes(raw))
    with pytest.raises(RuntimeFailure) as caught:
        full_rollback(cfg, yes=True)
    err = caught.value
    assert f"refusing backup {newest.id}" in err.what and "sha256" in err.what
    assert f"--backup {good.id}" in err.next_step and "nothing was changed" in err.changed
    assert databases(db) == {db.name}
    result = full_rollback(cfg, backup_ref=good.id, yes=True)  # the named good one restores
    assert result.ok and result.backup_id == good.id


def test_a_corrupt_primary_uses_its_verified_copy_and_a_dry_run_leaves_no_fetched_file(app_db, leftovers, tmp_path):
    """Issue 11.8: `rollback --dry-run` proves the copy usable, then removes what it fetched."""
    db = app_db("tracked")
    leftovers.append(db)
    cfg = backed_up(db.inventory(backup={"min_copies": 1, "targets": [{"name": "d2", "type": "local", "path": str(tmp_path / "d2")}]}))
    from pgrunbook.backup import list_backups

    manifest = list_backups(cfg.inventory.backup.dir)[0]
    raw = bytearray(manifest.dump_path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    manifest.dump_path.write_bytes(bytes(raw))
    before = set(cfg.inventory.backup.dir.iterdir())
    dry = full_rollback(cfg, dry_run=True)
    assert dry.backup_id == manifest.id and ".rollback-fetch-d2" in dry.backup_source
    assert set(cfg.inventory.backup.dir.iterdir()) == before  # nothing fetched is left behind
    result = full_rollback(cfg, yes=True)
    assert result.ok and ".rollback-fetch-d2" in result.backup_source


def test_a_createdb_owner_without_superuser_backs_up_with_statistics_and_rolls_back(app_db, leftovers):
    """Managed-server roles (RDS / Cloud SQL style: CREATEDB, owner of the database and its tables, no superuser):
    the backup carries the statistics, and restoring them needs no more than owning the restored database."""
    db = app_db("tracked")
    leftovers.append(db)
    role = f"rb_owner_{db.name}"
    with db.connect() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB NOSUPERUSER PASSWORD {}").format(sql.Identifier(role), sql.Literal(TEST_PASSWORD)))
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(db.name), sql.Identifier(role)))
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("ALTER SCHEMA drizzle OWNER TO {}").format(sql.Identifier(role)))
        for schema, table in conn.execute("SELECT schemaname, tablename FROM pg_tables WHERE schemaname IN ('public', 'drizzle')").fetchall():
            conn.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(sql.Identifier(schema, table), sql.Identifier(role)))
        conn.execute("ANALYZE")
    url = f"postgresql://{role}:${{PGRB_TEST_PW}}@127.0.0.1:{db.cluster.port}/{db.name}"
    cfg = load_config(db.inventory(database={"url": url}))
    backup = commands.backup(cfg)
    assert backup.ok and backup.manifest.dump["statistics"] is True
    result = full_rollback(cfg, backup_ref=backup.manifest.id, yes=True)
    assert result.ok, result.as_json()
    with db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM pg_stats WHERE schemaname = 'public' AND tablename = 'users'").fetchone()[0] > 0
        assert conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()").fetchone()[0] == role


def test_without_createdb_refuses_and_suggests_in_place(app_db, leftovers):
    db = app_db("tracked")
    role = f"rb_nocreatedb_{db.name}"
    with db.connect() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOCREATEDB PASSWORD {}").format(sql.Identifier(role), sql.Literal(TEST_PASSWORD)))
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(db.name), sql.Identifier(role)))
    try:
        admin_inventory = db.inventory()
        backed_up(admin_inventory)
        url = f"postgresql://{role}:${{PGRB_TEST_PW}}@127.0.0.1:{db.cluster.port}/{db.name}"
        cfg = load_config(db.inventory(database={"url": url}))
        with pytest.raises(UsageError) as caught:
            full_rollback(cfg, yes=True)
        assert "CREATEDB" in caught.value.what and "--in-place" in caught.value.next_step
        assert "nothing was changed" in caught.value.changed and databases(db) == {db.name}
        assert_no_secret(caught.value.what, caught.value.next_step)
    finally:
        with db.connect() as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO postgres").format(sql.Identifier(db.name)))
        with psycopg.connect(db.cluster.url("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_in_place_takes_a_safety_dump_then_restores_all_or_nothing(app_db, leftovers):
    db = app_db("tracked")
    leftovers.append(db)
    cfg, run = migrated(db, db.inventory())
    with db.connect() as conn:
        conn.execute("UPDATE campaigns SET name = name || ' (edited after the backup)' WHERE id = (SELECT min(id) FROM campaigns)")
        conn.execute("INSERT INTO campaigns (name, start_date, end_date, created_by) "
                     "SELECT 'late campaign', start_date, end_date, created_by FROM campaigns LIMIT 1")
    result = full_rollback(cfg, run=run, in_place=True, yes=True)
    assert result.ok, result.as_json()
    assert result.mode == "in-place" and result.safety_backup and result.kept_db is None
    assert databases(db) == {db.name} and idx_names(db) == set()
    with db.connect() as conn:
        assert [r.id for r in Recorder(conn).rows()] == list(range(1, 12))
        assert conn.execute("SELECT count(*) FROM campaigns WHERE name LIKE '%edited after%'").fetchone()[0] == 0
    app_tables = {t: n for t, n in result.written_after_backup.items() if not t.startswith("drizzle.")}  # + the ledger's row
    assert app_tables == {"public.campaigns": 1}  # net: one edited (not counted), one added
    from pgrunbook.backup import find_backup

    safety = find_backup(cfg.inventory.backup.dir, result.safety_backup)
    assert safety.counts["tables"]["public.campaigns"] == result.counts_manifest["public.campaigns"] + 1
    # the safety dump is never picked as "the newest backup" by a later rollback
    again = full_rollback(cfg, in_place=True, dry_run=True)
    assert again.backup_id == result.backup_id != result.safety_backup


def schema_state(db) -> dict:
    """Schemas, relations (any kind) and the ledger: what must equal the backup's after a rollback."""
    with db.connect() as conn:
        schemas = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
                                              "AND nspname <> 'information_schema'")}
        relations = {tuple(r) for r in conn.execute(
            "SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'")}
        ledger = None
        if "drizzle" in schemas:
            ledger = [tuple(r) for r in conn.execute("SELECT id, hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id")]
    return {"schemas": schemas, "relations": relations, "ledger": ledger}


@pytest.mark.parametrize("state", ["legacy", "tracked"])
def test_in_place_rollback_leaves_exactly_the_backups_schema_and_ledger(app_db, leftovers, state):
    """Issue 11.3: after `rollback --full --in-place`, schema, ledger and data equal the backup's, whatever the
    scenario (B: the run created drizzle's schema, which pg_restore --clean does not know about)."""
    db = app_db(state)
    leftovers.append(db)
    before = schema_state(db)
    cfg, run = migrated(db, db.inventory())
    assert schema_state(db) != before
    result = full_rollback(cfg, run=run, in_place=True, yes=True)
    assert result.ok, result.as_json()
    assert schema_state(db) == before
    report = commands.verify(cfg)
    assert report.state.applied_tags == (() if state == "legacy" else report.state.applied_tags)
    assert len(idx_names(db)) == 0


# --------------------------------------------------------------------------- index-only


def test_indexes_only_drops_exactly_this_runs_indexes_and_tracking_rows(app_db):
    db = app_db("legacy")
    with db.connect() as conn:  # pre-existing idx_*: one the migration also names (IF NOT EXISTS skips it), one of its own
        conn.execute('CREATE INDEX "idx_users_role" ON "users" ("role")')
        conn.execute('CREATE INDEX "idx_ops_hand_made" ON "users" ("email", "role")')
    cfg, run = gone_through_gate(db.inventory())
    _, applied = commands.migrate(cfg, yes=True)
    assert len(applied.created_indexes) == 42 and len(idx_names(db)) == 44
    row_ids = [i for _, i in applied.baseline + applied.applied]
    with db.connect() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS drizzle.unrelated ()")
        Recorder(conn).record("f" * 64, 1)  # someone else's tracking row: not this run's
    dry = indexes_only_rollback(cfg, run=run, dry_run=True)
    assert len(idx_names(db)) == 44 and any("left alone: 2 other idx_*" in s for s in dry.plan)
    result = indexes_only_rollback(cfg, run=run, yes=True)
    assert result.ok and len(result.dropped_indexes) == 42
    assert idx_names(db) == {"idx_users_role", "idx_ops_hand_made"}
    assert sorted(result.removed_tracking_rows) == sorted(row_ids)
    with db.connect() as conn:
        assert [r.hash for r in Recorder(conn).rows()] == ["f" * 64]
    assert list(run.read().last(RollbackEnded, status="ok").removed_tracking_rows) == sorted(row_ids)
    again = indexes_only_rollback(cfg, run=run, yes=True)  # idempotent
    assert again.ok and again.dropped_indexes == () and again.removed_tracking_rows == ()
    assert_no_secret(run.journal.read_text())


def _append_migration(db, tag: str, when: int, sql_text: str) -> None:
    journal = db.drizzle_dir / "meta" / "_journal.json"
    data = json.loads(journal.read_text())
    data["entries"].append({"idx": len(data["entries"]), "version": "7", "when": when, "tag": tag, "breakpoints": True})
    journal.write_text(json.dumps(data))
    (db.drizzle_dir / f"{tag}.sql").write_text(sql_text)


def test_indexes_only_after_a_failure_keeps_indexes_that_existed_before_the_run(app_db):
    """Issue 11.1: a migration re-declares existing indexes (IF NOT EXISTS, any name, any schema), a later one
    fails; the rollback derived from the journal drops only what the run created."""
    db = app_db("tracked")
    with db.connect() as conn:
        conn.execute('CREATE SCHEMA ops')
        conn.execute('CREATE INDEX "users_email_lower_ix" ON "users" (lower("email"))')
        conn.execute('CREATE INDEX "ix_roles" ON "users" ("role")')
        conn.execute('CREATE TABLE ops.notes (id int)')
        conn.execute('CREATE INDEX "notes_id" ON ops.notes (id)')
    _append_migration(db, "0012_redeclare", 1900000000000,
                      'CREATE INDEX IF NOT EXISTS "users_email_lower_ix" ON "users" (lower("email"));\n--> statement-breakpoint\n'
                      'CREATE INDEX IF NOT EXISTS "ix_roles" ON "users" ("role");\n--> statement-breakpoint\n'
                      'CREATE INDEX IF NOT EXISTS "notes_id" ON ops.notes (id);\n--> statement-breakpoint\n'
                      'CREATE INDEX IF NOT EXISTS "ix_new_one" ON "users" ("email", "role");\n')
    _append_migration(db, "0013_fails", 1900000000001, 'CREATE INDEX IF NOT EXISTS "idx_broken" ON "users" ("no_such_column");\n')
    cfg, run = gone_through_gate(db.inventory())
    with pytest.raises(MigrationFailed):
        commands.migrate(cfg, yes=True)
    dry = indexes_only_rollback(cfg, run=run, dry_run=True)
    result = indexes_only_rollback(cfg, run=run, yes=True)
    assert result.ok, result.as_json()
    kept = {"users_email_lower_ix", "ix_roles", "notes_id"}
    assert not kept & {n.split(".")[-1] for n in result.dropped_indexes}, result.dropped_indexes
    assert "public.ix_new_one" in result.dropped_indexes and len(result.dropped_indexes) == 44  # 0011's 43 + ix_new_one
    with db.connect() as conn:
        names = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes")}
    assert kept <= names and "ix_new_one" not in names
    assert any('"public"."ix_new_one"' in step for step in dry.plan), dry.plan


def test_indexes_only_needs_confirmation_off_sandbox_and_cli_usage(app_db, capsys):
    db = app_db("tracked")
    inventory = db.inventory()
    cfg, run = migrated(db, inventory)
    with pytest.raises(UsageError, match="not confirmed"):
        indexes_only_rollback(cfg, run=run, confirm=lambda name, url: "nope")
    assert len(idx_names(db)) == 43
    common = dict(backup=None, in_place=False, run_id=run.id, yes=False)
    assert cli.rollback(str(inventory), None, full=True, indexes_only=True, dry_run=True, as_json=False, **common) == 2
    assert cli.rollback(str(inventory), None, full=False, indexes_only=False, dry_run=True, as_json=False, **common) == 2
    capsys.readouterr()
    assert cli.rollback(str(inventory), None, full=True, indexes_only=False, dry_run=True, as_json=False, **common) == 0
    out = capsys.readouterr().out
    assert "dry run: nothing was changed" in out and "RENAME TO" in out and "pg_restore" in out
    assert cli.rollback(str(inventory), None, full=False, indexes_only=True, dry_run=False, as_json=True, **{**common, "yes": True}) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["mode"] == "indexes-only" and len(data["dropped_indexes"]) == 43 and data["removed_tracking_rows"] == [12]
    assert idx_names(db) == set()
    assert_no_secret(captured.out, captured.err, out)


def test_counts_differing_from_the_manifest_stop_before_the_swap(app_db, leftovers):
    """Exit 3; the original is untouched, the restore database dropped (the only DROP), nothing renamed."""
    from pgrunbook.errors import CheckFailed

    db = app_db("tracked")
    leftovers.append(db)
    cfg, run = migrated(db, db.inventory())
    from pgrunbook.backup import latest_backup

    path = latest_backup(cfg.inventory.backup.dir).path
    data = json.loads(path.read_text())
    data["counts"]["tables"]["public.users"] = 999  # the manifest says otherwise than the dump
    path.write_text(json.dumps(data))
    with pytest.raises(CheckFailed) as caught:
        full_rollback(cfg, run=run, yes=True)
    assert caught.value.exit_code == 3 and "public.users: manifest 999, restored 68" in caught.value.what
    assert f"{db.name} was not changed" in caught.value.changed and "was dropped" in caught.value.changed
    assert databases(db) == {db.name} and len(idx_names(db)) == 43
    assert run.read().last(RollbackStopped, status="failed") is not None


def test_a_failed_second_rename_undoes_the_first(app_db, leftovers, monkeypatch):
    from pgrunbook.rollback import dbops

    db = app_db("tracked")
    leftovers.append(db)
    cfg, run = migrated(db, db.inventory())
    real = dbops.rename

    def flaky(conn, old, new, **kw):
        if not old.startswith(db.name + "_restore_"):
            return real(conn, old, new, **kw)
        raise RuntimeFailure("injected: the second rename fails", changed="nothing: injected before the rename")

    monkeypatch.setattr(dbops, "rename", flaky)
    with pytest.raises(RuntimeFailure) as caught:
        full_rollback(cfg, run=run, yes=True)
    assert "the rename of" in caught.value.changed and "was undone" in caught.value.changed
    assert databases(db) == {db.name} and len(idx_names(db)) == 43  # the original, under its name, connectable
    with db.connect() as conn:
        assert conn.execute("SELECT datallowconn FROM pg_database WHERE datname = current_database()").fetchone()[0]
