"""`inv rollback --indexes-only`: undo exactly what this run's index migration did.

The seed's loop drops every `public.idx_*`, including indexes that existed before the run.
Here the run journal says what this run created (`("migrate", "end", "ok")`: `created_indexes`,
and the tracking rows it recorded, `baseline` + `applied` as [tag, row id]); only those are
touched: `DROP INDEX CONCURRENTLY IF EXISTS` one by one (no write is blocked), then the
tracking rows are deleted through `Recorder.remove_rows` (hash-checked against the plan the
run journaled). The plan is shown and confirmed first. Re-running is harmless (idempotent).

A migration that did more than build indexes (a column, a table) cannot be undone this way:
refused, with `--full` as the next step. After a migrate that failed halfway (no "end"
record), what the run created is derived from the journal: the indexes its committed
migrations name that did not exist before it started, and the tracking rows holding the
hashes of the migrations it planned.
"""

from __future__ import annotations

import time
from typing import Any

from ..config import Config
from ..errors import CheckFailed, LockHeld, RuntimeFailure, UsageError
from ..events import Emit, Event, discard
from ..outcome import Check, Status
from ..runs import Run
from .result import RollbackResult

PHASE = "rollback"


def _what_the_run_did(cfg: Config, run: Run) -> tuple[list[str], list[tuple[str, int]], dict[str, str], str]:
    """(created index names, [(tag, row id)], {tag: hash}, source) from the run journal."""
    start = run.last("migrate", "start")
    if start is None:
        raise UsageError(f"run {run.id} has no migration to roll back", next_step="name the run with --run ID (the folders under <backup dir>/runs, newest last)")
    plan = start["data"].get("plan", [])
    hashes = {p["tag"]: p["hash"] for p in plan}
    end = run.last("migrate", "end", "ok")
    if end is not None and (run.last("migrate", "error") is None or run.records().index(end) > run.records().index(run.last("migrate", "error"))):
        data = end["data"]
        rows = [(str(t), int(i)) for t, i in [*data.get("baseline", []), *data.get("applied", [])]]
        return list(data.get("created_indexes", [])), rows, hashes, "migrate end record"
    error = run.last("migrate", "error")
    if error is None:
        raise UsageError(f"run {run.id}: the migration has no end record (still running, or crashed before recording)",
                         next_step="`inv verify` shows the state; `inv rollback --full` restores the backup")
    return _derived(cfg, start["data"], error["data"], hashes)


def _derived(cfg: Config, start: dict[str, Any], error: dict[str, Any], hashes: dict[str, str]):  # noqa: ANN202
    from ..drizzle import load_migrations
    from ..drizzle.recorder import Recorder
    from ..executor import compile_migration
    from ..pg import connect, read_only

    inv = cfg.inventory
    committed = list(error.get("committed", []))
    local = load_migrations(inv.migrations.dir)
    named = [s.creates_index for tag in committed for s in compile_migration(local.by_tag(tag)) if s.creates_index]
    created = [n for n in named if not _existed_before(n, start, cfg.playbook.expectations.index_prefix)]
    wanted = {(p["hash"], p["when"]) for p in start.get("plan", []) if p["action"] == "baseline" or p["tag"] in committed}
    tag_of = {(p["hash"], p["when"]): p["tag"] for p in start.get("plan", [])}
    with connect(inv.database) as conn, read_only(conn):
        rows = Recorder(conn, inv.migrations.tracking_schema, inv.migrations.tracking_table).rows() or []
    found = [(tag_of[(r.hash, r.created_at)], r.id) for r in rows if (r.hash, r.created_at) in wanted]
    return created, found, hashes, "derived from the journal (the migration failed halfway)"


def _existed_before(index: str, start: dict[str, Any], prefix: str) -> bool:
    """Whether `index` (schema.name) existed when the migration started: never drop what was there before.

    The start record holds every index of the database (`indexes_before`). Journals written
    before it did hold only the public `idx_*` names: there, any other name is kept (we
    cannot prove this run created it).
    """
    if "indexes_before" in start:
        return index in set(start["indexes_before"])
    schema, _, name = index.rpartition(".")
    legacy = set(start.get("before", {}).get("performance_indexes", []))
    return schema not in ("", "public") or not name.startswith(prefix) or name in legacy


def _refuse_non_index(cfg: Config, tags: list[str]) -> None:
    from ..drizzle import load_migrations
    from ..executor import compile_migration

    local = load_migrations(cfg.inventory.migrations.dir)
    for tag in tags:
        try:
            steps = compile_migration(local.by_tag(tag))
        except Exception as exc:  # noqa: BLE001 - a migration we cannot read is not provably index-only
            raise CheckFailed(f"cannot read migration {tag} to check it only builds indexes: {exc}",
                              next_step="`inv rollback --full` restores the backup instead") from None
        other = [s for s in steps if s.creates_index is None and not s.sql.lstrip().upper().startswith("ANALYZE")]
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

    from ..commands import _confirm_target
    from ..drizzle.recorder import Recorder
    from ..executor import LOCK_KEY_SQL, LOCK_NAMESPACE, lock_holder
    from ..pg import connect

    started = time.monotonic()
    inv, pb = cfg.inventory, cfg.playbook

    def say(kind: str, message: str, **data: Any) -> None:
        emit(Event(PHASE, kind, message, data))

    if run is None:
        raise UsageError("--indexes-only needs the run whose migration to undo", next_step="pass --run RUN_ID")
    created, rows, hashes, source = _what_the_run_did(cfg, run)
    applied_tags = sorted({t for t, _ in rows if t in hashes} - {p for p in _baseline_tags(run)})
    _refuse_non_index(cfg, applied_tags)
    ids = [i for _, i in rows]
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
            + [f"left alone: {others} other {pb.expectations.index_prefix}* index(es) that this run did not create"
               + (f"; already absent: {', '.join(absent)}" if absent else "")]
        )
        base = dict(mode="indexes-only", run_id=run.id, plan=plan, absent_indexes=tuple(absent))
        if dry_run:
            return RollbackResult(dry_run=True, seconds=time.monotonic() - started, **base)
        for number, step in enumerate(plan, 1):
            say("plan", f"{number}. {step}")
        _confirm_target(cfg, yes, confirm)
        if not conn.execute(f"SELECT pg_try_advisory_lock({LOCK_KEY_SQL})", [LOCK_NAMESPACE]).fetchone()[0]:
            raise LockHeld(f"another pgrunbook run holds this database's lock: {lock_holder(conn) or 'another session'}",
                           next_step="wait for it to finish, then run `inv rollback --indexes-only` again")
        run.record(PHASE, "start", mode="indexes-only", source=source, indexes=present, absent=absent, rows=ids, plan=list(plan))
        dropped: list[str] = []
        try:
            conn.execute("SELECT set_config('lock_timeout', %s, false)", [pb.migrate.lock_timeout])
            for name in present:
                _drop(conn, name, pb.migrate.lock_retries, pb.migrate.retry_backoff_seconds, say)
                dropped.append(name)
                run.record(PHASE, "step", "dropped-index", index=name)
            removed = recorder.remove_rows(ids, hashes=row_hashes)
            run.record(PHASE, "step", "removed-tracking-rows", ids=removed)
        except BaseException as exc:
            left = [n for n in present if n not in dropped]
            changed = (f"dropped {len(dropped)} index(es) ({', '.join(dropped) or 'none'}); not dropped: {', '.join(left) or 'none'}; "
                       "no tracking row was removed")
            run.record(PHASE, "error", "failed", mode="indexes-only", error=_text(exc), dropped=dropped, left=left)
            if isinstance(exc, Exception):
                import psycopg

                if isinstance(exc, (psycopg.Error, RuntimeFailure, CheckFailed)):
                    raise RuntimeFailure(f"index-only rollback failed: {_text(exc)}", changed=changed,
                                         next_step="fix the cause, then run `inv rollback --indexes-only` again (it resumes: IF EXISTS)") from None
            raise
        finally:
            if not conn.closed and not conn.broken:
                conn.execute(f"SELECT pg_advisory_unlock({LOCK_KEY_SQL})", [LOCK_NAMESPACE])
        counts = {r: n for r, n in conn.execute(
            "SELECT 'indexes_left_of_this_run', count(*) FROM pg_class WHERE oid = ANY(ARRAY(SELECT to_regclass(x) FROM unnest(%s::text[]) x))",
            [present]).fetchall()}
    checks = [Check("indexes-dropped", Status.OK if not counts.get("indexes_left_of_this_run") else Status.FAIL,
                    f"dropped {len(dropped)} index(es) this run created" + (f"; {len(absent)} were already absent" if absent else "")),
              Check("tracking-rows-removed", Status.OK, f"removed tracking row(s) {', '.join(map(str, removed)) or 'none (already gone)'}"),
              Check("other-indexes-kept", Status.OK, f"{others} other {pb.expectations.index_prefix}* index(es) left alone")]
    say("done", f"index-only rollback: {len(dropped)} index(es) dropped, {len(removed)} tracking row(s) removed")
    result = RollbackResult(dropped_indexes=tuple(dropped), removed_tracking_rows=tuple(removed), checks=tuple(checks),
                            seconds=time.monotonic() - started, **base)
    run.record(PHASE, "end", "ok" if result.ok else "failed", **result.as_json())
    return result


def _baseline_tags(run: Run) -> set[str]:
    start = run.last("migrate", "start")
    return {p["tag"] for p in (start or {}).get("data", {}).get("plan", []) if p.get("action") == "baseline"}


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
                raise RuntimeFailure(f"DROP INDEX CONCURRENTLY {name}: lock_timeout after {attempt} attempts (a long transaction holds it)") from None
            say("warn", f"{name}: lock_timeout; retry {attempt}/{retries}")
            time.sleep(backoff * 2 ** (attempt - 1))


def _text(exc: BaseException) -> str:
    from ..errors import PgRunbookError

    if isinstance(exc, PgRunbookError):
        return exc.what
    diag = getattr(exc, "diag", None)
    return (getattr(diag, "message_primary", None) or str(exc) or type(exc).__name__).strip()
