"""The executor against a real PostgreSQL: drizzle-compatible rows, transactions, locks, --online."""

from __future__ import annotations

import threading
import time

import pytest

from pgrunbook.config import MigratePolicy
from pgrunbook.drizzle import load_migrations, reconcile
from pgrunbook.drizzle.plan import make_plan
from pgrunbook.drizzle.recorder import Recorder
from pgrunbook.errors import LockHeld, MigrationFailed, UsageError
from pgrunbook.executor import Executor, add_concurrently, compile_migration

pytestmark = pytest.mark.integration
FAST = MigratePolicy(lock_timeout="200ms", lock_retries=2, retry_backoff_seconds=0.05)
INDEXES = "0011_add_performance_indexes"


def plan_for(conn, db, **kwargs):
    local = load_migrations(db.drizzle_dir)
    state = reconcile(local, Recorder(conn).rows())
    return local, make_plan(local, state, **kwargs)


def idx_count(conn) -> int:
    return conn.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE 'idx\\_%'").fetchone()[0]


def test_scenario_a_applies_the_stranded_migration_with_created_at_when(app_db):
    db = app_db("tracked")
    with db.connect() as conn:
        local, plan = plan_for(conn, db)
        assert [p.tag for p in plan.apply] == [INDEXES] and plan.apply[0].stranded
        result = Executor(conn, Recorder(conn), FAST).run(plan, local)
        assert idx_count(conn) == 43 and len(result.created_indexes) == 43
        row = conn.execute("SELECT hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id DESC LIMIT 1").fetchone()
        m = local.by_tag(INDEXES)
        assert row == (m.hash, m.when)
        assert reconcile(local, Recorder(conn).rows()).pending == ()


def test_scenario_b_baseline_then_apply(app_db):
    db = app_db("legacy")
    with db.connect() as conn:
        local, plan = plan_for(conn, db, baseline_until="0010")
        assert plan.scenario == "B" and len(plan.baseline) == 11 and [p.tag for p in plan.apply] == [INDEXES]
        result = Executor(conn, Recorder(conn), FAST).run(plan, local)
        assert len(result.baseline) == 11 and len(result.applied) == 1
        rows = conn.execute("SELECT hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id").fetchall()
        assert rows == [(m.hash, m.when) for m in local.entries]


def test_online_turns_plain_index_builds_concurrent(app_db):
    db = app_db("tracked")
    with db.connect() as conn:
        local, plan = plan_for(conn, db)
        tables = frozenset(f"public.{r[0]}" for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        result = Executor(conn, Recorder(conn), FAST).run(plan, local, online=True, existing_tables=tables)
        online = [s for s in result.steps if s.online]
        assert len(online) == 43 and all("CONCURRENTLY" in s.sql for s in online)
        assert idx_count(conn) == 43
        assert conn.execute("SELECT bool_and(indisvalid) FROM pg_index").fetchone()[0]
        # the recorded hash is the file's, not the rewritten SQL's
        assert conn.execute("SELECT hash FROM drizzle.__drizzle_migrations ORDER BY id DESC LIMIT 1").fetchone()[0] == local.by_tag(INDEXES).hash


def test_failing_migration_rolls_back_and_records_nothing(app_db):
    db = app_db("tracked")
    path = db.drizzle_dir / f"{INDEXES}.sql"
    path.write_text(path.read_text() + '\n--> statement-breakpoint\nCREATE INDEX IF NOT EXISTS "idx_broken" ON "users" ("no_such_column");\n')
    with db.connect() as conn:
        local, plan = plan_for(conn, db)
        with pytest.raises(MigrationFailed) as exc:
            Executor(conn, Recorder(conn), FAST).run(plan, local)
        assert "no_such_column" in str(exc.value) and "rolled back" in exc.value.changed
        assert idx_count(conn) == 0
        assert reconcile(local, Recorder(conn).rows()).pending == (INDEXES,)


def test_lock_held_elsewhere_retries_then_fails_cleanly(app_db):
    db = app_db("tracked")
    with db.connect() as blocker, db.connect() as conn:
        blocker.execute("BEGIN")
        blocker.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        local, plan = plan_for(conn, db)
        executor = Executor(conn, Recorder(conn), FAST)
        with pytest.raises(MigrationFailed) as exc:
            executor.run(plan, local)
        assert "lock_timeout" in str(exc.value) and "pid" in str(exc.value) and "after 3 attempts" in str(exc.value)
        blocker.execute("ROLLBACK")
        assert idx_count(conn) == 0 and reconcile(local, Recorder(conn).rows()).pending == (INDEXES,)


def test_lock_released_during_backoff_succeeds(app_db):
    db = app_db("tracked")
    with db.connect() as blocker, db.connect() as conn, db.connect() as watcher:
        blocker.execute("BEGIN")
        blocker.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")

        def release_once_waited_for() -> None:  # not after a fixed delay: a loaded machine reaches users later
            for _ in range(3000):
                if watcher.execute("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s", [conn.info.backend_pid]).fetchone()[0]:
                    break
                time.sleep(0.01)
            time.sleep(0.5)  # past lock_timeout (200 ms): the executor has backed off at least once
            blocker.execute("ROLLBACK")

        timer = threading.Thread(target=release_once_waited_for)
        timer.start()
        local, plan = plan_for(conn, db)
        policy = MigratePolicy(lock_timeout="200ms", lock_retries=4, retry_backoff_seconds=0.2)
        result = Executor(conn, Recorder(conn), policy).run(plan, local)
        timer.join()
        assert result.lock_waits and idx_count(conn) == 43


def test_second_run_is_refused_while_the_lock_is_held(app_db):
    db = app_db("tracked")
    with db.connect() as first, db.connect() as second:
        Executor(first, Recorder(first), FAST).acquire_lock()
        with pytest.raises(LockHeld) as exc:
            Executor(second, Recorder(second), FAST).acquire_lock()
        assert "pid" in str(exc.value)


def test_failed_concurrent_build_leaves_no_invalid_index(app_db):
    db = app_db("tracked")
    path = db.drizzle_dir / f"{INDEXES}.sql"
    # roles repeat: the unique build fails after creating the index entry, leaving it INVALID
    path.write_text('CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "idx_dup" ON "users" ("role");\n')
    with db.connect() as conn:
        local, plan = plan_for(conn, db)
        executor = Executor(conn, Recorder(conn), FAST)
        with pytest.raises(MigrationFailed):
            executor.run(plan, local)
        assert conn.execute("SELECT to_regclass('public.idx_dup')").fetchone()[0] is None
        assert executor._dropped == ["public.idx_dup"]


def test_single_transaction_refuses_concurrent_statements(app_db):
    db = app_db("tracked")
    with db.connect() as conn:
        local, plan = plan_for(conn, db)
        tables = frozenset({"public.users"})
        with pytest.raises(UsageError, match="single-transaction"):
            Executor(conn, Recorder(conn), FAST).run(plan, local, online=True, single_transaction=True, existing_tables=tables)


def test_single_transaction_like_drizzle(app_db):
    db = app_db("legacy")
    with db.connect() as conn:
        local, plan = plan_for(conn, db, baseline_until="0010")
        result = Executor(conn, Recorder(conn), FAST).run(plan, local, single_transaction=True)
        assert len(result.row_ids) == 12 and idx_count(conn) == 43


def test_add_concurrently_only_touches_the_keyword():
    sql = 'CREATE UNIQUE INDEX /* index */ IF NOT EXISTS "idx_a" ON "users" ("email")'
    assert add_concurrently(sql) == 'CREATE UNIQUE INDEX CONCURRENTLY /* index */ IF NOT EXISTS "idx_a" ON "users" ("email")'


def test_compile_marks_non_transactional_statements(tmp_path):
    from pathlib import Path

    from pgrunbook.drizzle.journal import Migration, _line_ending_hashes

    text = "CREATE INDEX CONCURRENTLY i ON t (a);\nVACUUM t;\nANALYZE t;\nCREATE INDEX j ON s.t (b);\n"
    m = Migration(0, "0000_x", 1, True, Path("0000_x.sql"), text, "h", _line_ending_hashes(text))
    steps = compile_migration(m)
    assert [s.transactional for s in steps] == [False, False, True, True]
    assert steps[3].creates_index == "s.j" and steps[3].on_table == "s.t"
    online = compile_migration(m, online=True, existing_tables=frozenset({"s.t"}))
    assert online[3].online and "CONCURRENTLY" in online[3].sql and not online[3].transactional
