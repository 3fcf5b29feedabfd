"""`inv rollback --indexes-only`: undo exactly what this run's index migration did.

The seed's loop drops every `public.idx_*`, including indexes that existed before the run.
Here the run journal says what this run created (`MigrationEnded`: `created_indexes`, and
the tracking rows it recorded, `baseline` + `applied` as (tag, row id)); only those are
touched: `DROP INDEX CONCURRENTLY IF EXISTS` one by one (no write is blocked), then the
tracking rows are deleted through `Recorder.remove_rows` (hash-checked against the plan the
run journaled), and drizzle 1.0's ledger upgrade the run did (`LedgerUpgraded`) is undone
(`Recorder.restore_v0_shape`: only when the two columns hold nothing but what it wrote; else
kept, and the rollback says so with a WARN). The plan is shown and confirmed first. Re-running is harmless (idempotent).

A migration that did more than build indexes (a column, a table) cannot be undone this way:
refused, with `--full` as the next step. After a migrate that failed halfway (no "end"
record), what the run created is derived from the journal: the indexes its committed
migrations name that did not exist before it started, and the tracking rows holding the
hashes of the migrations it planned. The rollback's own records go to the run it undoes if
that run is still open, else to a new run (`kind` rollback) that names it: a closed run is
read-only.
"""

from __future__ import annotations

import time
from typing import Any

from ..config import Config
from ..errors import CheckFailed, RuntimeFailure, UsageError
from ..events import Emit, Event, discard
from ..outcome import Check, Status
from ..journal import Journal, MigrationStarted, MigrationStopped, RollbackStarted, RollbackStep, RollbackStopped
from ..pg import error_message
from ..runs import Run, writable
from .result import RollbackResult, ended

PHASE = "rollback"


def _what_the_run_did(cfg: Config, journal: Journal) -> tuple[list[str], list[tuple[str, int]], dict[str, str], str]:
    """(created index names, [(tag, row id)], {tag: hash}, source) from the run journal."""
    start = journal.last(MigrationStarted)
    if start is None:
        raise UsageError(f"run {journal.run_id} has no migration to roll back", next_step="`inv runs` lists the runs; name one with --run ID")
    end = journal.migration_end
    if end is not None:
        return list(end.created_indexes), end.tracking_rows, start.hashes, "migrate end record"
    error = journal.migration_stop
    if error is None:
        raise UsageError(f"run {journal.run_id}: the migration has no end record (still running, or crashed before recording)",
                         next_step="`inv verify` shows the state; `inv rollback --full` restores the backup")
    return _derived(cfg, start, error, start.hashes)


def _derived(cfg: Config, start: MigrationStarted, error: MigrationStopped, hashes: dict[str, str]):  # noqa: ANN202
    from ..drizzle import load_migrations
    from ..drizzle.recorder import Recorder
    from ..executor import compile_migration
    from ..pg import connect, read_only

    inv = cfg.inventory
    committed = list(error.committed)
    local = load_migrations(inv.migrations.dir)
    named = [s.creates_index for tag in committed for s in compile_migration(local.by_tag(tag)) if s.creates_index]
    created = [n for n in named if not _existed_before(n, start, cfg.playbook.expectations.index_prefix)]
    wanted = {(p.hash, p.when) for p in start.plan if p.action == "baseline" or p.tag in committed}
    tag_of = {(p.hash, p.when): p.tag for p in start.plan}
    with connect(inv.database) as conn, read_only(conn):
        rows = Recorder(conn, inv.migrations.tracking_schema, inv.migrations.tracking_table).rows() or []
    found = [(tag_of[(r.hash, r.created_at)], r.id) for r in rows if (r.hash, r.created_at) in wanted]
    return created, found, hashes, "derived from the journal (the migration failed halfway)"


def _existed_before(index: str, start: MigrationStarted, prefix: str) -> bool:
    """Whether `index` (schema.name) existed when the migration started: never drop what was there before.

    The start record holds every index of the database (`indexes_before`). Journals written
    before it did hold only the public `idx_*` names: there, any other name is kept (we
    cannot prove this run created it).
    """
    if start.indexes_before is not None:
        return index in set(start.indexes_before)
    schema, _, name = index.rpartition(".")
    legacy = set(start.before.get("performance_indexes", []))
    return schema not in ("", "public") or not name.startswith(prefix) or name in legacy


def only_indexes_committed(cfg: Config, journal: Journal) -> bool:
    """Whether what the run's failed migrate committed is only index builds, ANALYZE and tracking rows."""
    try:
        return not any(_non_index_steps(cfg, journal.committed_tags).values())
    except Exception:  # noqa: BLE001 - a migration we cannot read is not provably index-only
        return False


def _non_index_steps(cfg: Config, tags: list[str]) -> dict[str, list]:
    """Per migration, its steps that are neither an index build nor ANALYZE (the one definition of "index-only")."""
    from ..drizzle import load_migrations
    from ..executor import compile_migration

    local = load_migrations(cfg.inventory.migrations.dir)
    return {tag: [s for s in compile_migration(local.by_tag(tag))
                  if s.creates_index is None and not s.sql.lstrip().upper().startswith("ANALYZE")] for tag in tags}


def _refuse_non_index(cfg: Config, tags: list[str]) -> None:
    try:
        others = _non_index_steps(cfg, tags)
    except Exception as exc:  # noqa: BLE001 - a migration we cannot read is not provably index-only
        raise CheckFailed(f"cannot read the migrations {', '.join(tags)} to check they only build indexes: {exc}",
                          next_step="`inv rollback --full` restores the backup instead") from None
    for tag, other in others.items():
        if other:
            s = other[0]
            raise CheckFailed(f"migration {tag} does more than build indexes ({tag}:{s.line}: {s.first_line}): an index-only rollback "
                              "would leave it half undone", changed="nothing was changed",
                              next_step="`inv rollback --full` restores the backup taken before the run")


def _resolve(conn, names: list[str]) -> tuple[list[str], list[str]]:  # noqa: ANN001
    """(present, schema-qualified and quoted-ready as 'schema.name'; absent) — only real indexes."""
    from psycopg import sql

    present, absent = [], []
    for name in names:
        schema, _, rel = name.rpartition(".")
        ident = sql.Identifier(schema, rel) if schema else sql.Identifier(rel)
        row = conn.execute("SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                           "WHERE c.oid = to_regclass(%s)", [ident.as_string(conn)]).fetchone()
        if row is None:
            absent.append(name)
        elif row[2] not in ("i", "I"):
            raise CheckFailed(f"{name} is a {'table' if row[2] == 'r' else 'relation of kind ' + row[2]}, not an index: refusing to touch it")
        else:
            present.append(f"{row[0]}.{row[1]}")
    return present, absent


def indexes_only_rollback(cfg: Config, emit: Emit = discard, *, run: Run, yes: bool = False, confirm=None,  # noqa: ANN001
                          dry_run: bool = False) -> RollbackResult:
    from psycopg import sql

    from ..confirm import confirm_target
    from ..drizzle.recorder import Recorder
    from ..executor import drop_lock, take_lock
    from ..pg import connect

    started = time.monotonic()
    inv, pb = cfg.inventory, cfg.playbook

    def say(kind: str, message: str, **data: Any) -> None:
        emit(Event(PHASE, kind, message, data))

    if run is None:
        raise UsageError("--indexes-only needs the run whose migration to undo", next_step="pass --run RUN_ID")
    journal = run.read()
    created, rows, hashes, source = _what_the_run_did(cfg, journal)
    applied_tags = sorted({t for t, _ in rows if t in hashes} - set(journal.last(MigrationStarted).tags("baseline")))
    _refuse_non_index(cfg, applied_tags)
    ids = [i for _, i in rows]
    upgraded = journal.ledger_upgrade_names  # committed (LedgerUpgraded), else as planned (MigrationStarted)
    row_hashes = {i: hashes[t] for t, i in rows if t in hashes}
    with connect(inv.database, autocommit=True) as conn:
        recorder = Recorder(conn, inv.migrations.tracking_schema, inv.migrations.tracking_table)
        present, absent = _resolve(conn, created)
        existing_rows = {r.id for r in (recorder.rows() or [])}
        others = conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname LIKE %s AND schemaname || '.' || indexname <> ALL(%s)",
                              [pb.expectations.index_prefix.replace("_", "\\_") + "%", present]).fetchone()[0]
        table = recorder.qualified_name
        rows_now = [i for i in ids if i in existing_rows]
        plan = tuple(
            [f"DROP INDEX CONCURRENTLY IF EXISTS {sql.Identifier(*n.split('.', 1)).as_string(conn)};" for n in present]
            + ([f"DELETE FROM {table} WHERE id IN ({', '.join(map(str, rows_now))});  -- rows this run recorded: "
                + ", ".join(f"{t} (id {i})" for t, i in rows if i in existing_rows)] if rows_now else [])
            + ([f"ALTER TABLE {table} DROP COLUMN applied_at, DROP COLUMN name;  -- undo this run's drizzle 1.0 ledger upgrade "
                f"({len(upgraded)} row(s) it named), only if they hold nothing else: else the 1.0 shape is kept and said"]
               if upgraded is not None and recorder.ledger_version() == 1 else [])
            + [f"left alone: {others} other {pb.expectations.index_prefix}* index(es) that this run did not create"
               + (f"; already absent: {', '.join(absent)}" if absent else "")]
        )
        base = dict(mode="indexes-only", run_id=run.id, plan=plan, absent_indexes=tuple(absent))
        if dry_run:
            return RollbackResult(dry_run=True, seconds=time.monotonic() - started, **base)
        for number, step in enumerate(plan, 1):
            say("plan", f"{number}. {step}")
        confirm_target(cfg, yes, confirm)
        take_lock(conn, next_step="wait for it to finish, then run `inv rollback --indexes-only` again")
        source_run, run = run, writable(run, inv.database.url.key)
        base["run_id"] = run.id
        run.append(RollbackStarted(mode="indexes-only", plan=tuple(plan), extra={"source": source, "indexes": present, "absent": absent,
                                                                                 "rows": ids, "rolls_back": source_run.id}))
        dropped: list[str] = []
        removed: list[int] | None = None
        try:
            conn.execute("SELECT set_config('lock_timeout', %s, false)", [pb.migrate.lock_timeout])
            for name in present:
                _drop(conn, name, pb.migrate.lock_retries, pb.migrate.retry_backoff_seconds, say)
                dropped.append(name)
                run.append(RollbackStep(status="dropped-index", extra={"index": name}))
            removed = recorder.remove_rows(ids, hashes=row_hashes)
            run.append(RollbackStep(status="removed-tracking-rows", extra={"ids": removed}))
            ledger = _ledger_shape(recorder, upgraded, run, say)
        except BaseException as exc:
            left = [n for n in present if n not in dropped]
            changed = (f"dropped {len(dropped)} index(es) ({', '.join(dropped) or 'none'}); not dropped: {', '.join(left) or 'none'}; "
                       + ("no tracking row was removed" if removed is None else
                          f"tracking row(s) {', '.join(map(str, removed)) or 'none'} removed; the ledger's columns unchanged"))
            run.append(RollbackStopped(status="failed", mode="indexes-only", error=error_message(exc), extra={"dropped": dropped, "left": left}))
            if isinstance(exc, Exception):
                import psycopg

                if isinstance(exc, (psycopg.Error, RuntimeFailure, CheckFailed)):
                    raise RuntimeFailure(f"index-only rollback failed: {error_message(exc)}", changed=changed,
                                         next_step="fix the cause, then run `inv rollback --indexes-only` again (it resumes: IF EXISTS)") from None
            raise
        finally:
            drop_lock(conn)
        counts = {r: n for r, n in conn.execute(
            "SELECT 'indexes_left_of_this_run', count(*) FROM pg_class WHERE oid = ANY(ARRAY(SELECT to_regclass(x) FROM unnest(%s::text[]) x))",
            [present]).fetchall()}
    checks = [Check("indexes-dropped", Status.OK if not counts.get("indexes_left_of_this_run") else Status.FAIL,
                    f"dropped {len(dropped)} index(es) this run created" + (f"; {len(absent)} were already absent" if absent else "")),
              Check("tracking-rows-removed", Status.OK, f"removed tracking row(s) {', '.join(map(str, removed)) or 'none (already gone)'}"),
              Check("other-indexes-kept", Status.OK, f"{others} other {pb.expectations.index_prefix}* index(es) left alone")]
    if ledger is not None:
        checks.append(ledger)
    say("done", f"index-only rollback: {len(dropped)} index(es) dropped, {len(removed)} tracking row(s) removed")
    result = RollbackResult(dropped_indexes=tuple(dropped), removed_tracking_rows=tuple(removed), checks=tuple(checks),
                            seconds=time.monotonic() - started, **base)
    run.append(ended(result))
    return result


def _ledger_shape(recorder, upgraded: dict[int, str] | None, run: Run, say) -> Check | None:  # noqa: ANN001
    """Undo this run's drizzle 1.0 ledger upgrade ({row id: name}, journal `LedgerUpgraded`, else as `MigrationStarted`
    planned it) once its rows are removed: the app rolled back may be drizzle 0.45, whose rows in a 1.0-shaped ledger
    would have no name (drizzle 1.0 re-runs those later).

    The columns are dropped only when they hold nothing but what the upgrade wrote; otherwise kept, and the
    reason journaled and said (WARN). None: the run planned no upgrade.
    """
    if upgraded is None:
        return None
    if recorder.ledger_version() != 1:
        return Check("ledger-shape", Status.OK, "the ledger has drizzle 0.45's shape (this run's upgrade undone before, "
                     "or never committed)")
    kept = recorder.restore_v0_shape(upgraded)
    if kept:
        run.append(RollbackStep(status="ledger-shape-kept", extra={"why": kept}))
        say("warn", f"ledger kept in drizzle 1.0's shape: {kept}")
        return Check("ledger-shape", Status.WARN, kept, "drizzle 0.45's migrator still works on this ledger, but its new rows "
                     "would have no name, which drizzle 1.0 re-runs: deploy drizzle 1.0 next, not 0.45")
    run.append(RollbackStep(status="ledger-shape-restored", extra={"columns": ["applied_at", "name"]}))
    say("progress", "ledger upgrade undone: drizzle 0.45's shape again")
    return Check("ledger-shape", Status.OK, "the ledger has drizzle 0.45's shape again (this run's upgrade undone: columns "
                 "name and applied_at dropped)")


def _drop(conn, name: str, retries: int, backoff: float, say) -> None:  # noqa: ANN001
    import psycopg
    from psycopg import sql

    schema, rel = name.split(".", 1)
    statement = sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(schema, rel))
    for attempt in range(1, retries + 2):
        try:
            conn.execute(statement)
            say("progress", f"dropped {name}")
            return
        except psycopg.errors.LockNotAvailable:
            if attempt > retries:
                raise RuntimeFailure(f"DROP INDEX CONCURRENTLY {name}: lock_timeout after {attempt} attempts (a long transaction holds it)", changed=f"{name} was not dropped (the indexes dropped before it stay dropped)") from None
            say("warn", f"{name}: lock_timeout; retry {attempt}/{retries}")
            time.sleep(backoff * 2 ** (attempt - 1))
