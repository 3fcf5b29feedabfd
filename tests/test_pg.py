"""Every session pgrunbook opens runs SQL as the analysis parsed it (issue 9.3), whatever the database says."""

from __future__ import annotations

import pytest

from pgrunbook import commands, pg
from pgrunbook.config import MigratePolicy, load_config
from pgrunbook.drizzle import load_migrations, reconcile
from pgrunbook.drizzle.plan import make_plan
from pgrunbook.drizzle.recorder import Recorder
from pgrunbook.errors import ConnectionFailure, MigrationFailed
from pgrunbook.executor import Executor, Step
from pgrunbook.outcome import Status

pytestmark = pytest.mark.integration
INDEXES = "0011_add_performance_indexes"
FAST = MigratePolicy(lock_timeout="200ms", lock_retries=0, retry_backoff_seconds=0)
# One literal when standard_conforming_strings is on (what pglast assumes: `\''` is a backslash
# then a doubled quote); with it off, `\'` escapes the quote, the literal ends at the next one,
# and a tracking insert with a far-future created_at and a DELETE follow.
TRICK = ("SELECT 'a\\''; INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ($h$x$h$, 99999999999999); "
         "DELETE FROM daily_bonus; --';\n")


def settings_off(db) -> None:
    with db.connect() as conn:
        conn.execute(f'ALTER DATABASE "{db.name}" SET standard_conforming_strings = off')
        conn.execute(f'ALTER DATABASE "{db.name}" SET search_path = pg_temp, public')
        conn.execute(f'ALTER DATABASE "{db.name}" SET check_function_bodies = off')


def bonus_rows(db) -> int:
    with db.connect() as conn:
        return conn.execute("SELECT count(*) FROM public.daily_bonus").fetchone()[0]


def test_the_trick_is_real_in_a_session_that_takes_the_database_settings(app_db):
    db = app_db("tracked")
    settings_off(db)
    import psycopg

    with psycopg.connect(db.url) as conn:  # not autocommit: rolled back at the end
        assert conn.execute("SHOW standard_conforming_strings").fetchone()[0] == "off"
        conn.execute(TRICK)
        assert conn.execute("SELECT count(*) FROM public.daily_bonus").fetchone()[0] == 0
        conn.rollback()
    assert bonus_rows(db) > 0


def test_connect_pins_the_settings_over_database_level_ones(app_db):
    db = app_db("tracked")
    settings_off(db)
    cfg = load_config(db.inventory())
    with pg.connect(cfg.inventory.database) as conn:
        assert conn.info.transaction_status.name == "IDLE"  # read_only() can follow
        values = pg.session_settings(conn)
    assert values["standard_conforming_strings"] == "on" and values["check_function_bodies"] == "on"
    assert values["search_path"].replace(" ", "") == "public,pg_temp" and values["client_encoding"] == "UTF8"


def test_a_library_preloaded_at_database_level_is_not_loaded_into_our_sessions(app_db, pg_cluster):
    import psycopg

    db = app_db("tracked")
    with db.connect() as conn:
        conn.execute(f'ALTER DATABASE "{db.name}" SET local_preload_libraries = \'pgrunbook_no_such_library\'')
    with pytest.raises(psycopg.OperationalError, match="pgrunbook_no_such_library"):
        psycopg.connect(db.url).close()  # a session that takes the database's settings loads it
    cfg = load_config(db.inventory())
    with pg.connect(cfg.inventory.database) as conn:
        assert pg.session_settings(conn)["local_preload_libraries"] == ""
    report = commands.verify(cfg)
    assert "local_preload_libraries = 'pgrunbook_no_such_library'" in next(c for c in report.checks if c.id == "session-settings").summary
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{db.name}" RESET local_preload_libraries')


def test_a_session_that_did_not_take_them_is_a_clear_error(app_db, monkeypatch):
    """As behind a pooler that drops startup options."""
    db = app_db("tracked")
    settings_off(db)
    monkeypatch.setattr(pg, "startup_options", lambda existing=None: existing or "-c application_name=x")
    with pytest.raises(ConnectionFailure, match="standard_conforming_strings = 'off' \\(pinned 'on'\\)") as exc:
        pg.connect(load_config(db.inventory()).inventory.database)
    assert "pooler" in exc.value.next_step


def test_the_executor_runs_the_trick_as_the_one_select_it_was_analysed_as(app_db):
    db = app_db("tracked")
    settings_off(db)
    (db.drizzle_dir / f"{INDEXES}.sql").write_text(TRICK)
    before = bonus_rows(db)
    with db.connect() as conn:  # a session with the database's settings: the executor pins it itself
        local = load_migrations(db.drizzle_dir)
        plan = make_plan(local, reconcile(local, Recorder(conn).rows()))
        Executor(conn, Recorder(conn), FAST).run(plan, local)
        assert conn.execute("SELECT count(*) FROM drizzle.__drizzle_migrations WHERE hash = 'x'").fetchone()[0] == 0
    assert bonus_rows(db) == before


def test_a_step_the_server_would_read_as_two_statements_is_refused(app_db):
    db = app_db("tracked")
    with db.connect() as conn:
        executor = Executor(conn, Recorder(conn), FAST)
        executor.set_timeouts()
        with pytest.raises(MigrationFailed, match="multiple commands"):
            executor._with_retries("m", lambda: executor._execute(Step("m", "SELECT 1; DELETE FROM daily_bonus", 1, True)))
    assert bonus_rows(db) > 0


@pytest.mark.parametrize("change", [
    "SET standard_conforming_strings = off",
    "SELECT set_config('search_path', 'pg_temp, public', false)",
    "DO $$ BEGIN PERFORM set_config('statement_timeout', '0', false); END $$",
    "SET lock_timeout = 0",
])
def test_a_migration_changing_a_pinned_setting_or_a_bound_stops_before_the_next_statement(app_db, change):
    db = app_db("tracked")
    (db.drizzle_dir / f"{INDEXES}.sql").write_text(f"{change};\n--> statement-breakpoint\n{TRICK}")
    before = bonus_rows(db)
    with db.connect() as conn:
        local = load_migrations(db.drizzle_dir)
        plan = make_plan(local, reconcile(local, Recorder(conn).rows()))
        with pytest.raises(MigrationFailed, match="changed") as exc:
            Executor(conn, Recorder(conn), FAST).run(plan, local)
        assert "0011_add_performance_indexes:1" in exc.value.what
        assert conn.execute("SHOW standard_conforming_strings").fetchone()[0] == "on"  # rolled back with its transaction
    assert bonus_rows(db) == before


@pytest.mark.parametrize("unlock", ["pg_advisory_unlock_all()", "pg_advisory_unlock(hashtext('pgrunbook' || current_database())::bigint)"])
def test_a_migration_releasing_the_run_lock_stops_there(app_db, unlock):
    db = app_db("tracked")
    (db.drizzle_dir / f"{INDEXES}.sql").write_text(f"DO $$ BEGIN PERFORM {unlock}; END $$;\n--> statement-breakpoint\nANALYZE users;\n")
    with db.connect() as conn:
        local = load_migrations(db.drizzle_dir)
        plan = make_plan(local, reconcile(local, Recorder(conn).rows()))
        executor = Executor(conn, Recorder(conn), FAST)
        executor.acquire_lock()
        with pytest.raises(MigrationFailed, match="run lock released"):
            executor.run(plan, local)
        assert reconcile(local, Recorder(conn).rows()).pending == (INDEXES,)


def test_statement_timeout_bounds_a_do_block_that_lifts_it(app_db):
    db = app_db("tracked")
    (db.drizzle_dir / f"{INDEXES}.sql").write_text("DO $$ BEGIN SET LOCAL statement_timeout = 0; PERFORM pg_sleep(30); END $$;\n")
    with db.connect() as conn:
        local = load_migrations(db.drizzle_dir)
        plan = make_plan(local, reconcile(local, Recorder(conn).rows()))
        policy = MigratePolicy(lock_timeout="200ms", statement_timeout="300ms", lock_retries=0)
        with pytest.raises(MigrationFailed, match="statement timeout"):
            Executor(conn, Recorder(conn), policy).run(plan, local)


def test_verify_names_database_and_role_level_overrides(app_db):
    db = app_db("tracked")
    settings_off(db)
    with db.connect() as conn:
        conn.execute(f'ALTER ROLE postgres IN DATABASE "{db.name}" SET backslash_quote = on')
    try:
        report = commands.verify(load_config(db.inventory()))
    finally:
        with db.connect() as conn:
            conn.execute(f'ALTER ROLE postgres IN DATABASE "{db.name}" RESET backslash_quote')
    check = next(c for c in report.checks if c.id == "session-settings")
    assert check.status is Status.WARN
    for text in ("standard_conforming_strings = 'off'", "search_path = 'pg_temp, public'", "check_function_bodies = 'off'",
                 f"backslash_quote = 'on' (database {db.name}, role postgres"):
        assert text in check.summary
    assert report.as_json()["setting_overrides"][0]["applies_to_us"] is True


def test_verify_and_a_clean_database(app_db):
    report = commands.verify(load_config(app_db("tracked").inventory()))
    checks = {c.id: c.status for c in report.checks}
    assert checks["session-settings"] is Status.OK and checks["statement-timeout"] is Status.OK


def test_tool_env_pins_client_tools_and_keeps_extra_options(app_db):
    db = app_db("tracked")
    cfg = load_config(db.inventory())
    env = pg.tool_env(cfg.inventory.database)
    assert "-c standard_conforming_strings=on" in env["PGOPTIONS"] and "-c search_path=public,pg_temp" in env["PGOPTIONS"]
    merged = pg.with_pgoptions(env, "-c lock_timeout=60s")
    assert merged["PGOPTIONS"].startswith(env["PGOPTIONS"]) and merged["PGOPTIONS"].endswith("-c lock_timeout=60s")


def test_client_tools_authenticate_as_pgrunbook_does_with_the_callers_passfile(app_db, tmp_path, monkeypatch):
    """A URL without a password and PGPASSFILE in the environment: libpq reads it for pgrunbook's own sessions,
    so pg_dump / pg_restore / psql get it too (found by the README's worked example: verify passed, the backup's
    pg_dump had no password). The inventory's own passfile wins; other PG* variables are still not passed on."""
    from .conftest import TEST_PASSWORD

    db = app_db("tracked")
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{db.cluster.port}:*:postgres:{TEST_PASSWORD}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    monkeypatch.setenv("PGDATABASE", "elsewhere")
    cfg = load_config(db.inventory(database={"url": f"postgresql://postgres@127.0.0.1:{db.cluster.port}/{db.name}"}))
    env = pg.tool_env(cfg.inventory.database)
    assert env["PGPASSFILE"] == str(passfile) and "PGDATABASE" not in env and "PGPASSWORD" not in env
    assert commands.backup(cfg).ok


def test_a_whole_run_on_a_database_with_hostile_settings_goes_as_on_a_clean_one(app_db):
    """backup (pg_dump with PGOPTIONS), gate, migrate, validate: the pinned sessions change nothing that matters."""
    from .phases import gone_through_gate

    db = app_db("legacy")
    settings_off(db)
    cfg, run = gone_through_gate(db.inventory())
    _, result = commands.migrate(cfg, yes=True)
    assert len(result.applied) == 1 and len(result.created_indexes) == 43 and len(result.baseline) == 11
    _, report = commands.validate(cfg)
    assert report.ok, report.as_json()
    with db.connect() as conn:
        assert conn.execute("SHOW standard_conforming_strings").fetchone()[0] == "off"  # the database's own, untouched


def test_startup_options_keep_those_of_the_url_and_pin_after_them(app_db):
    db = app_db("tracked")
    url = f"postgresql://postgres:${{PGRB_TEST_PW}}@127.0.0.1:{db.cluster.port}/{db.name}?options=-c%20work_mem%3D7MB"
    cfg = load_config(db.inventory(database={"url": url}))
    with pg.connect(cfg.inventory.database, autocommit=True) as conn:
        assert conn.execute("SHOW work_mem").fetchone()[0] == "7MB"
        assert conn.execute("SHOW standard_conforming_strings").fetchone()[0] == "on"


def test_statement_bounds_are_checked_and_zero_is_warned():
    from pgrunbook.verify import statement_bounds

    assert statement_bounds(MigratePolicy()).status is Status.OK
    warned = statement_bounds(MigratePolicy(statement_timeout=0))
    assert warned.status is Status.WARN and "migrate.statement_timeout = 0" in warned.summary
    with pytest.raises(ValueError, match="not a PostgreSQL duration"):
        MigratePolicy(statement_timeout="forever")


def test_concurrent_builds_get_their_own_bound_in_the_plan_sql(app_db):
    from pgrunbook.drizzle.journal import load_migrations as load
    from pgrunbook.executor import compile_migration, plan_sql

    db = app_db("tracked")
    (db.drizzle_dir / f"{INDEXES}.sql").write_text('CREATE INDEX CONCURRENTLY IF NOT EXISTS "i" ON "users" ("role");\n'
                                                   "--> statement-breakpoint\nCREATE INDEX IF NOT EXISTS j ON users (email);\n")
    local = load(db.drizzle_dir)
    with db.connect() as conn:
        plan = make_plan(local, reconcile(local, Recorder(conn).rows()))
    steps = compile_migration(local.by_tag(INDEXES))
    assert [s.concurrent for s in steps] == [True, False]
    sql = plan_sql(plan, {INDEXES: steps}, MigratePolicy())
    build = sql.index('CREATE INDEX CONCURRENTLY IF NOT EXISTS "i"')
    assert sql.rindex("SET statement_timeout = '4h';", 0, build) > sql.index("SET statement_timeout = '30min';")
    assert "SET statement_timeout = '30min';" in sql[build:]
