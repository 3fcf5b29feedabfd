"""`inv rollback --full [--backup ID] [--in-place]`: restore a verified backup; never drop the database.

Order of work (each step journaled before it runs):

    choose the backup (newest of this database, or --backup) and verify its sha256;
    check privileges (CREATEDB + ownership; else refuse and suggest --in-place), the app
    controller's preflight, the client tools; show the plan; confirm (non-sandbox)
    CREATE DATABASE <db>_restore_<ts> (template0, same encoding/locale/owner, settings, grants)
    stop the app
    pg_restore -j N into it (plain: psql --single-transaction); count the manifest's tables = manifest?
    ALTER DATABASE <db> ALLOW_CONNECTIONS false; terminate its sessions
    ALTER DATABASE <db> RENAME TO <db>_before_rollback_<ts>      (kept: nothing is lost)
    ALTER DATABASE <db>_restore_<ts> RENAME TO <db>; allow connections on both
    start the app (waits for its health check)
    ANALYZE; counts of <db> vs the manifest; rows written after the backup (kept - manifest); API

Failure handling: before the swap the original database is untouched; the restore database
is dropped (guarded: only the exact one this run created) and the app restarted. If the
second rename fails, the first is undone. `--in-place` takes a safety dump first (the backup
engine), then `pg_restore --clean --if-exists --single-transaction`: all or nothing.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from ..config import Config, Inventory
from ..errors import CheckFailed, ControllerError, PgRunbookError, RuntimeFailure, ToolError, UsageError
from ..events import Emit, Event, discard
from ..outcome import Check, Status
from ..pg import error_message, restore_argv, run_restore, table_data_items
from ..models import DatabaseRights
from ..journal import Journal, MigrationStarted, RollbackStarted, RollbackStep, RollbackStopped
from ..runs import Run, list_runs, migrated_runs, start_run, writable
from . import dbops
from .result import RollbackResult, api_check

PHASE = "rollback"


def plan_names(dbname: str, ts: str | None = None) -> tuple[str, str]:
    """(restore database, kept database) names for a rollback of `dbname` at `ts`."""
    ts = ts or dbops.stamp()
    return dbops.restore_name(dbname, ts), dbops.kept_name(dbname, ts)


# --------------------------------------------------------------------------- choosing the backup


def _dump_problem(manifest, path: Path | None = None) -> str | None:  # noqa: ANN001
    """None when the dump on disk matches its manifest (sha256 of the file, or of each file of a directory dump)."""
    from ..targets.base import hash_file

    if not manifest.integrity.get("ok"):
        failed = [c["summary"] for c in manifest.integrity.get("checks", []) if c.get("status") == "fail"]
        return "its integrity checks failed when it was taken: " + ("; ".join(failed) or "see its manifest")
    dump = manifest.dump
    root = path or manifest.dump_path
    items = [(root / f["path"], f["sha256"]) for f in dump.get("files", [])] if dump["format"] == "directory" else [(root, dump["sha256"])]
    for file, sha in items:
        try:
            digest, _ = hash_file(file)
        except OSError as exc:
            return f"{file} cannot be read ({exc.strerror})"
        if digest != sha:
            return f"{file} does not match its manifest (sha256 {digest[:12]}… instead of {sha[:12]}…): it is corrupt or was changed"
    return None


def _safety_ids(backup_dir: Path) -> set[str]:
    """Backups taken by `--in-place` just before restoring: never picked as "the newest backup"."""
    return {backup for run in list_runs(backup_dir) for backup in run.read().safety_backups}


def _fetch_copy(inv: Inventory, manifest, say) -> Path | None:  # noqa: ANN001
    """The primary dump is bad: fetch a verified copy (single-file dumps) and check its sha256."""
    from ..targets import open_target

    if manifest.dump["format"] == "directory":
        return None
    configured = {t.name: t for t in inv.backup.targets}
    for copy in manifest.copies:
        if not copy.verified or copy.target not in configured:
            continue
        dest = manifest.dump_path.parent / f".rollback-fetch-{copy.target}-{manifest.dump['file']}"
        target = open_target(configured[copy.target], inv)
        try:
            say("step", f"fetching the verified copy of {manifest.id} from {copy.target} ({copy.location})")
            target.fetch(manifest.dump["file"], dest)
            dest.chmod(0o600)
            if _dump_problem(manifest, dest) is None:
                return dest
            dest.unlink(missing_ok=True)
        except Exception as exc:  # noqa: BLE001 - a copy that cannot be fetched is just not usable
            say("warn", f"copy {copy.target} not usable: {getattr(exc, 'what', exc)}")
            dest.unlink(missing_ok=True)
        finally:
            target.close()
    return None


def pre_migration_backup(inv: Inventory, run: Run | None) -> tuple[str | None, str]:
    """(backup id, why) a rollback restores when no --backup is named: the one taken before the migration.

    The newest backup is the wrong default: after a successful migrate-prod it is the
    post-migration one, and "rolling back" to it restores the migrated state. The backup
    a run's GO relied on was taken before that run migrated; without --run, the newest run
    of this database that migrated is the one being rolled back.
    """
    runs = [run] if run is not None else migrated_runs(inv.backup.dir, inv.database.url.key)
    for candidate in runs:
        go = candidate.read().go
        backup_id = go.backup_id if go else None
        if backup_id:
            return backup_id, f"the backup run {candidate.id}'s GO relied on, taken before its migration"
    if run is not None:
        return None, f"run {run.id} has no GO naming a backup: the newest backup of this database"
    return None, "no pgrunbook run migrated this database: the newest backup of this database"


def restore_tools(inv: Inventory, fmt: str, server_major: int, manifest) -> tuple[Any, Any]:  # noqa: ANN001
    """(pg_restore, psql or None) able to restore `manifest`'s dump into this server; refused before anything is touched."""
    from ..pg import locate_tool, restore_tool

    pg_restore, problem = restore_tool(inv.tools.bin_dir, server_major, manifest.dumped_by_major)
    psql = locate_tool("psql", inv.tools.bin_dir, server_major=server_major) if fmt == "plain" else None
    if problem and fmt != "plain":
        raise ToolError(f"cannot restore backup {manifest.id} into PostgreSQL {server_major}: {problem}",
                        changed="nothing was changed (the app and the database were not touched)",
                        next_step=f"install PostgreSQL {server_major}'s client tools (Debian: postgresql-client-{server_major}) "
                                  "or set tools.bin_dir to them; a backup taken with them restores")
    return pg_restore, psql


def choose_backup(inv: Inventory, ref: str | None, say) -> tuple[Any, Path]:  # noqa: ANN001
    """(manifest, verified dump path): `ref`, else the newest backup of this database. A bad one is refused."""
    from ..backup import find_backup, list_backups

    directory, dbname = inv.backup.dir, inv.database.dbname
    if ref:
        chosen = find_backup(directory, ref)
        if chosen.database.get("name") != dbname:
            raise UsageError(f"backup {chosen.id} is of database {chosen.database.get('name')!r}, not {dbname!r}",
                             next_step="`inv backup.list` shows the backups; name one of this database with --backup")
        others = []
    else:
        skip = _safety_ids(directory)
        mine = [m for m in list_backups(directory) if m.database.get("name") == dbname and m.id not in skip]
        if not mine:
            raise UsageError(f"no backup of {dbname} in {directory}", next_step="name one with --backup ID (`inv backup.list`), or take one with `inv backup`")
        chosen, others = mine[0], mine[1:]
    say("step", f"verifying backup {chosen.id}: sha256 of {chosen.dump['file']} against its manifest")
    problem = _dump_problem(chosen)
    if problem is None:
        return chosen, chosen.dump_path
    say("warn", f"backup {chosen.id}: {problem}")
    fetched = _fetch_copy(inv, chosen, say) if chosen.integrity.get("ok") else None
    if fetched is not None:
        say("done", f"backup {chosen.id}: using its verified copy (sha256 matches the manifest)")
        return chosen, fetched
    good = next((m for m in others if _dump_problem(m) is None), None)
    if good is not None:
        hint = (f"the newest good backup is {good.id} (taken {good.created_at}, sha256 verified now): "
                f"`inv rollback --full --backup {good.id}` (check first that it is recent enough for you)")
    else:
        hint = "no other backup of this database verifies: restore from an off-site copy by hand, or take a new backup if the database is sound"
    raise RuntimeFailure(f"refusing backup {chosen.id}: {problem}", changed="nothing was changed (the app and the database were not touched)",
                         next_step=hint)


# --------------------------------------------------------------------------- the plan


def _plan(inv: Inventory, manifest, dump: Path, restore: str, kept: str, *, in_place: bool, controller: str,  # noqa: ANN001
          commands: dict[str, tuple[str, ...]], argv: list[str], why: str, online: bool = False) -> tuple[str, ...]:
    import shlex

    db = inv.database.dbname
    stop = " ".join(commands["stop"]) if "stop" in commands else controller
    start = " ".join(commands["start"]) if "start" in commands else controller
    shown = shlex.join(argv)
    steps = [f"verify backup {manifest.id} ({why}): sha256 of {dump} matches its manifest (done)"]
    if in_place:
        steps += [f"stop the app: {stop}",
                  f"safety dump of {db} now (the backup engine, {inv.backup.format}) so that nothing is lost",
                  f"end other sessions on {db}; restore in place, all or nothing: {shown}",
                  f"count {db}'s tables and compare with the manifest ({len(manifest.counts.get('tables', {}))} tables counted by the backup)"]
    else:
        counted = len(manifest.counts.get("tables", {}))
        steps += [f'CREATE DATABASE "{restore}" TEMPLATE template0 (encoding, locale, owner, settings and grants of {db})',
                  *([] if online else [f"stop the app: {stop}"]),
                  f"restore: {shown}" + (f" (--online: the app keeps serving {db} meanwhile)" if online else ""),
                  f"count {restore}'s tables and compare with the manifest ({counted} tables counted by the backup); "
                  + (f"on any difference stop here and drop {restore} (the app was not stopped)" if online
                     else f"on any difference stop here, drop {restore}, restart the app"),
                  *([f"stop the app: {stop} (--online: only now, for the swap)"] if online else []),
                  f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS false; pg_terminate_backend() on its sessions',
                  f'ALTER DATABASE "{db}" RENAME TO "{kept}" (kept, never dropped: rows written after the backup stay there)',
                  f'ALTER DATABASE "{restore}" RENAME TO "{db}"; ALTER DATABASE "{kept}" ALLOW_CONNECTIONS true']
    steps += [f"start the app: {start} (wait for its health check)",
              f"ANALYZE {db}; counts vs the manifest; rows written after the backup; "
              + ("API check (login + endpoints)" if inv.api else "no API configured")]
    return tuple(steps)


# --------------------------------------------------------------------------- entry point


def full_rollback(cfg: Config, emit: Emit = discard, *, backup_ref: str | None = None, in_place: bool = False,
                  run: Run | None = None, yes: bool = False, confirm=None, dry_run: bool = False,  # noqa: ANN001
                  online: bool = False) -> RollbackResult:
    """`online`: the app keeps serving during the restore and is stopped only for the swap (restore-beside only)."""
    from ..confirm import confirm_target
    from ..pg import server_major
    from ..service import controller_for

    started = time.monotonic()
    inv = cfg.inventory
    db = inv.database.dbname
    mode = "in-place" if in_place else "full"
    if in_place and online:
        raise UsageError("--online restores beside the database while the app uses it; --in-place restores into it: choose one",
                         changed="nothing was changed", next_step="`inv rollback --full --online --dry-run` shows the plan (it needs CREATEDB)")

    def say(kind: str, message: str, **data: Any) -> None:
        emit(Event(PHASE, kind, message, data))

    resume = None
    pending = None if in_place or dry_run else _interrupted(inv, run)
    if pending is not None:  # an earlier rollback was killed: complete or undo it first (rollback.recover)
        run, resume = pending.run, _settle(inv, pending, say)
    why = "named with --backup"
    if resume:
        backup_ref, why = pending.start.backup, f"resuming the rollback run {run.id} began (interrupted during the swap)"
    elif backup_ref is None:
        backup_ref, why = pre_migration_backup(inv, run)
    say("step", f"restoring {backup_ref or 'the newest backup'}: {why}")
    manifest, dump = choose_backup(inv, backup_ref, say)
    fmt = manifest.dump["format"]
    restore, kept = (pending.start.restore_db, pending.start.kept_db) if resume else plan_names(db, dbops.stamp())
    with dbops.admin(inv.database) as conn:
        privs = dbops.privileges(conn, kept if resume == "complete" else db)
        taken = [] if resume else [n for n in (restore, kept) if dbops.exists(conn, n)]
        major = server_major(int(conn.execute("SELECT current_setting('server_version_num')").fetchone()[0]))
    pg_restore, psql = restore_tools(inv, fmt, major, manifest)
    if not in_place:
        missing = privs.full_missing()
        if missing:
            raise UsageError(
                f"{privs.user} cannot do a full rollback of {db} by restore-and-rename: it lacks " + " and ".join(missing),
                changed="nothing was changed (the app and the database were not touched)",
                next_step=f"grant it (ALTER ROLE {privs.user} CREATEDB) and make it the database's owner, or, where the server forbids "
                          "CREATE/RENAME DATABASE (managed databases), use `inv rollback --full --in-place` (a safety dump first, then "
                          "pg_restore --clean --if-exists --single-transaction)")
        if taken:
            raise UsageError(f"database(s) {', '.join(taken)} already exist", next_step="wait a second and run again")
    target_db = db if in_place else restore
    argv = restore_argv(fmt, inv.database.url.with_dbname(target_db).without_password(), dump, pg_restore=pg_restore, psql=psql,
                              jobs=inv.backup.jobs, no_owner=not privs.superuser, in_place=in_place)

    with ExitStack() as stack:
        app = stack.enter_context(controller_for(inv, emit=emit, phase=PHASE))
        plan = _plan(inv, manifest, dump, restore, kept, in_place=in_place, controller=app.describe(), commands=app.commands(), argv=argv, why=why,
                     online=online)
        base = dict(mode=mode, backup_id=manifest.id, backup_source=str(dump), restored_db=None if in_place else restore,
                    kept_db=None if in_place else kept, counts_manifest=dict(manifest.counts.get("tables", {})),
                    protected_tables=_protected(cfg), app_controller=app.describe(), online=online and not in_place)
        if dry_run:
            if dump != manifest.dump_path:  # a verified copy was fetched to prove it usable: a dry run leaves nothing behind
                dump.unlink(missing_ok=True)
            return RollbackResult(run_id=run.id if run else None, dry_run=True, plan=plan, seconds=time.monotonic() - started, **base)
        for number, step in enumerate(plan, 1):
            say("plan", f"{number}. {step}")
        confirm_target(cfg, yes, confirm)
        pre = app.preflight()
        if not pre.ok:
            raise ControllerError(f"the app controller is not ready: {pre.reason}", changed="nothing was changed",
                                  next_step=pre.next_step or "fix app: in the inventory, or run with controller none and stop the app yourself")
        source = run if run is not None else next(iter(migrated_runs(inv.backup.dir, inv.database.url.key)), None)  # the run whose migration this undoes
        run = writable(source, inv.database.url.key) if source is not None else start_run(inv.backup.dir, inv.database.url.key, kind="rollback")
        run.append(RollbackStarted(mode=mode, backup=manifest.id, backup_why=why, dump=str(dump), restore_db=None if in_place else restore,
                                   kept_db=None if in_place else kept, plan=tuple(plan), target=str(inv.database.url), resumed=resume,
                                   online=online))
        work = (_InPlace if in_place else _Swap)(cfg, app, run, manifest, dump, argv, say, privs, restore, kept, pg_restore)
        work.online = online
        work.source = source.read() if source is not None else Journal(run.id, ())
        try:
            result = work.resume(resume) if resume else work.go()
        except PgRunbookError as exc:
            run.append(RollbackStopped(status="failed", mode=mode, error=exc.what, changed=exc.changed, next_step=exc.next_step))
            raise
        except BaseException as exc:
            run.append(RollbackStopped(status="interrupted", mode=mode, error=type(exc).__name__))
            raise
    from dataclasses import replace

    from .result import ended

    result = replace(result, run_id=run.id, plan=plan, seconds=time.monotonic() - started, **base)
    run.append(ended(result))
    return result


def _interrupted(inv: Inventory, run: Run | None):  # noqa: ANN202
    from .recover import find_unfinished, unfinished

    return unfinished(run) if run is not None else find_unfinished(inv.backup.dir, inv.database.url.key)


def _settle(inv: Inventory, pending, say) -> str | None:  # noqa: ANN001
    """Apply `recover.decide` to an interrupted rollback: undo what cannot be completed; returns
    "complete" / "finish" when the swap is to be resumed, None when a fresh rollback follows."""
    from ..owned import readopt
    from .recover import decide

    db, restore, kept = inv.database.dbname, pending.start.restore_db, pending.start.kept_db
    with dbops.admin(inv.database) as conn:
        present = {name: dbops.exists(conn, name) for name in (db, restore, kept)}
        action = decide(db=present[db], restore=present[restore], kept=present[kept], renamed_away=pending.renamed_away)
        say("warn", f"run {pending.run.id}'s rollback was interrupted ({db} {'present' if present[db] else 'missing'}, "
                    f"{restore} {'present' if present[restore] else 'absent'}, {kept} {'present' if present[kept] else 'absent'}): {action}")
        if action == "abandon":
            if present[restore]:
                owned = readopt(conn, restore, pending.token or "", "rollback restore")
                if owned is None:
                    raise CheckFailed(f"refusing to drop {restore}: its comment does not carry the token run {pending.run.id} journaled",
                                      changed="nothing was changed", next_step=f"check {restore} and drop it by hand if it is debris")
                dbops.drop_restore_db(conn, db, owned, kept=kept)
            dbops.allow_connections(conn, db, True)
        elif action == "undo":
            dbops.rename(conn, kept, db)
            dbops.allow_connections(conn, db, True)
    pending.run.append(RollbackStopped(status="interrupted", mode="full", recovered=action,
                                       error="an earlier rollback was interrupted; recovered by the next one"))
    return action if action in ("complete", "finish") else None


def _protected(cfg: Config) -> tuple[str, ...]:
    exp = cfg.playbook.expectations
    names = [exp.role_count.table, *exp.critical_tables]
    return tuple(dict.fromkeys(n if "." in n else f"public.{n}" for n in names))


# --------------------------------------------------------------------------- the two ways


class _Work:
    def __init__(self, cfg: Config, app, run: Run, manifest, dump: Path, argv: list[str], say, privs: DatabaseRights,  # noqa: ANN001
                 restore: str, kept: str, pg_restore) -> None:  # noqa: ANN001
        self.cfg, self.inv, self.app, self.run, self.manifest, self.dump, self.argv, self.say = cfg, cfg.inventory, app, run, manifest, dump, argv, say
        self.db = cfg.inventory.database.dbname
        self.privs, self.restore, self.kept, self.pg_restore = privs, restore, kept, pg_restore
        self.timings: dict[str, float] = {}
        self.stopped = self.started = False
        self.really_stopped = self.really_started = False  # False for the `none` controller (skipped)
        self.stopped_at: float | None = None
        self.downtime: float | None = None
        self.analyze_problem: str | None = None  # ANALYZE ran code that tried to write (see analyze())
        self.source: Journal = Journal(run.id, ())  # the journal of the run whose migration this undoes
        self.online = False  # restore-beside only: stop the app for the swap, not before the restore

    def step(self, step_name: str, **data: Any) -> float:
        self.run.append(RollbackStep(status=step_name, extra=data))
        return time.monotonic()

    def took(self, name: str, since: float) -> None:
        self.timings[name] = time.monotonic() - since

    def stop_app(self) -> None:
        t = self.step("stop-app")
        action = self.app.stop()
        # The app stops answering during its stop command, not when the controller has seen it stopped:
        # the downtime counts from the command's launch (an upper bound, not the wait's end).
        began = action.began_at if action.began_at and not action.skipped else time.monotonic()
        self.stopped, self.stopped_at, self.really_stopped = True, began, not action.skipped
        self.took("stop_app", t)

    def start_app(self, *, after: str) -> None:
        t = self.step("start-app")
        try:
            action = self.app.start()
        except ControllerError as exc:
            raise ControllerError(f"{exc.what}", changed=f"{after}; the app did not start ({exc.changed})", next_step=exc.next_step) from None
        self.started, self.really_started = True, not action.skipped
        self.step("app-started")  # the intent ("start-app") is not the fact: verify reads this one
        self.took("start_app", t)
        if self.stopped_at is not None:
            self.downtime = time.monotonic() - self.stopped_at

    def restart_after_failure(self) -> str:
        """Best effort: the database is as before, so the app may run again."""
        if not self.stopped:
            return "the app was not stopped"
        try:
            self.app.start()
            self.started = True
            self.step("app-started")
            return "the app was started again"
        except PgRunbookError as exc:
            return f"the app could NOT be started again ({exc.what}): start it by hand"

    @property
    def all_counted(self) -> bool:
        """Whether the manifest counted every table (scope "all"; older manifests did), or only the critical ones."""
        return self.manifest.counts.get("scope", "all") == "all"

    def counts(self, dbname: str) -> dict[str, int]:
        only = None if self.all_counted else sorted(self.manifest.counts.get("tables", {}))
        return dbops.count_tables(self.inv.database, dbname, self.cfg.playbook.expectations.role_count, only)

    def restore_meter(self, dbname: str):  # noqa: ANN201
        """The restore's progress while the downtime lasts: tables whose data is in, of the dump's (a total, for an ETA).
        Only progress: the counts are taken after the whole restore (see `go`)."""
        if self.manifest.dump["format"] == "plain" or not any(a.startswith("--jobs=") for a in self.argv):
            return None
        total = len(table_data_items(self.pg_restore, self.dump)) or None
        done: set[int] = set()

        def table_done(dump_id: int, tag: str) -> None:
            done.add(dump_id)
            self.say("progress", f"restoring {dbname}: table data {len(done)}/{total or '?'}", task="restore", unit="tables",
                     done=len(done), total=total, level="detail")

        return table_done

    def mismatches(self, counts: dict[str, int]) -> list[str]:
        expected = self.manifest.counts.get("tables", {})
        return [f"{t}: manifest {n}, restored {counts.get(t, 'missing')}" for t, n in sorted(expected.items()) if counts.get(t) != n]

    def analyze(self) -> None:
        """ANALYZE every table in parallel (`vacuumdb --analyze-only -j backup.jobs`, a tool that exists,
        not a loop of ours), read-only: ANALYZE evaluates index expressions and statistics on sampled
        rows, and a function there may write (delete rows of another table). Here such code fails.

        With PostgreSQL 18's vacuumdb, only what lacks statistics (`--missing-stats-only`): a backup
        taken with 18's pg_dump carries them (`backup.dump.with_statistics`) and the restore loaded them."""
        import subprocess

        from ..pg import dies_with_parent, locate_tool, tool_env, with_pgoptions

        t = time.monotonic()
        vacuumdb = locate_tool("vacuumdb", self.pg_restore.path.parent)
        url = self.inv.database.url
        argv = [str(vacuumdb.path), "--analyze-only", f"--jobs={max(1, self.inv.backup.jobs)}", "--no-password",
                *(["--missing-stats-only"] if vacuumdb.major >= 18 else []), f"--dbname={url.without_password()}"]
        env = with_pgoptions(tool_env(self.inv.database, url), "-c default_transaction_read_only=on")
        result = subprocess.run(argv, capture_output=True, text=True, env=env, cwd="/", preexec_fn=dies_with_parent)
        if result.returncode != 0:
            errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
            self.analyze_problem = "; ".join(errors[:2]) or f"vacuumdb exited {result.returncode}"
        self.took("analyze", t)

    def measure_api(self) -> dict[str, Any] | None:
        if self.inv.api is None:
            return None
        from ..apicheck import measure

        t = self.step("api-check")
        try:
            return measure(self.inv.api).as_json()
        except Exception as exc:  # noqa: BLE001 - an unreachable API is a failed check, not a crash
            return {"error": f"{exc.__class__.__name__}: {exc}"}
        finally:
            self.took("api_check", t)

    def written_after(self, newer: dict[str, int]) -> dict[str, int]:
        expected = self.manifest.counts.get("tables", {})
        diff = {t: newer.get(t, 0) - expected.get(t, 0) for t in sorted(set(newer) | set(expected))}
        return {t: n for t, n in diff.items() if n}

    def after_checks(self, after: dict[str, int], *, holder: str) -> tuple[list[Check], dict[str, Any] | None]:
        checks = []
        if self.analyze_problem:
            checks.append(Check("analyze-read-only", Status.WARN, f"ANALYZE did not complete: {self.analyze_problem}; statistics "
                                "may be stale (code that tries to write while ANALYZE evaluates it is stopped: read-only)",
                                "the backup holds a function that writes when an index or statistic is evaluated: every write to "
                                "that table runs it too; remove it before the app writes"))
        bad = self.mismatches(after)
        extra = sorted(set(after) - set(self.manifest.counts.get("tables", {}))) if self.all_counted else []
        if bad:
            checks.append(Check("counts-after", Status.FAIL, f"{len(bad)} table(s) of {self.db} differ from the manifest: " + "; ".join(bad[:5]),
                                f"the previous state is in {holder}; inspect before anything else"))
        else:
            scope = "all" if self.all_counted else "the backup's counted (critical)"
            checks.append(Check("counts-after", Status.OK, f"{scope} {len(self.manifest.counts.get('tables', {}))} tables of {self.db} match the "
                                                           f"manifest of {self.manifest.id}"))
        if extra:
            checks.append(Check("tables-not-in-backup", Status.WARN, f"{len(extra)} table(s) not in the backup remain in {self.db}: {', '.join(extra[:8])}",
                                "they were created after the backup; review them, then drop them by hand if unwanted"))
        api = self.measure_api()
        check = api_check(api)
        if check is not None:
            checks.append(check)
        return checks, api


class _Swap(_Work):
    """Restore into <db>_restore_<ts>, then swap names; the replaced database is kept."""

    def go(self) -> RollbackResult:
        db, restore, kept, database = self.db, self.restore, self.kept, self.inv.database
        created: dbops.RestoreDb | None = None
        with dbops.admin(database) as conn:
            profile = dbops.database_profile(conn, db)  # before stopping the app: a failure here must leave it running
            try:
                # The empty restore database is made while the app still runs: its CREATE DATABASE (a checkpoint's
                # worth of work, 0.05-0.3 s) is not downtime, and a failure there leaves the app untouched.
                t = self.step("create-restore-db", name=restore)
                created = dbops.create_restore_db(conn, restore, profile, set_owner=self.privs.superuser)
                self.step("created-restore-db", name=restore, token=created.token)  # lets a crashed run's debris be dropped
                problems = dbops.copy_database_settings(conn, restore, profile)
                for p in problems:
                    self.say("warn", f"database setting not copied: {p}")
                self.took("create_db", t)
                if not self.online:
                    self.stop_app()
                t = self.step("restore", argv=self.argv)
                self.say("step", f"restoring {self.dump.name} into {restore} ({self.manifest.dump['format']}, "
                                 f"-j {self.inv.backup.jobs})")
                run_restore(database, restore, self.argv, on_table_data=self.restore_meter(restore))
                self.took("restore", t)
                # Counted once the whole restore is done, never table by table as its data arrives: code the restore
                # runs afterwards (an index's function, evaluated by CREATE INDEX) may still change rows of any table.
                t = self.step("count-restored")
                restored = self.counts(restore)
                self.took("count_restored", t)
                bad = self.mismatches(restored)
                if bad:
                    raise CheckFailed(f"the restored database {restore} does not match the manifest of {self.manifest.id}: {'; '.join(bad[:5])}",
                                      next_step="`inv backup.verify ID` re-checks the backup; try another with --backup ID")
                self.say("done", f"{restore}: all {len(restored)} table counts match the manifest")
                counted = dbops.oid(conn, restore)
                if self.online:  # --online: the app served `db` during the restore; the downtime starts here
                    self.stop_app()
            except BaseException as exc:
                left = self._drop(conn, created)
                again = self.restart_after_failure()
                changed = f"{db} was not changed; {left}; {again}"
                if isinstance(exc, PgRunbookError):
                    exc.changed = changed
                    raise
                if _is_db_error(exc):
                    raise RuntimeFailure(f"database error while preparing the restore: {error_message(exc)}", changed=changed,
                                         next_step="fix the cause, then run `inv rollback --full` again") from None
                raise

            # ----------------------------------------------------------- the swap
            t = self.step("swap", db=db, kept=kept, restored=restore)
            ended = self._swap(conn, created, profile)
            self.took("swap", t)
            same = counted is not None and dbops.oid(conn, db) == counted
        return self.after_swap(restored, ended, counted_is_db=same)

    def resume(self, action: str) -> RollbackResult:
        """Finish a swap an interrupted run began (`recover`): the restored copy was counted before it."""
        db, restore, kept = self.db, self.restore, self.kept
        with dbops.admin(self.inv.database) as conn:
            if action == "complete":
                comment = dbops.database_profile(conn, kept).get("comment")
                dbops.rename(conn, restore, db)
                self.step("renamed", old=restore, new=db)
                dbops.set_comment(conn, db, comment)
            dbops.allow_connections(conn, kept, True)
        self.stopped = True  # the interrupted run stopped the app; it is started below
        return self.after_swap(self.counts(db), 0)

    def after_swap(self, restored: dict[str, int], ended: int, *, counted_is_db: bool = False) -> RollbackResult:
        """Start the app, then ANALYZE and count the kept database (rows written after the backup) side by side.

        `counted_is_db`: the database now named `db` is the very one counted against the manifest
        before the swap (same oid; renames keep it, and no session could write to it before the app
        started): its counts are not taken a second time, on the app's downtime-critical path."""
        db, kept = self.db, self.kept
        self.say("done", f"{db} is now the restored backup {self.manifest.id}; the previous database is kept as {kept}"
                         + (f" ({ended} session(s) ended)" if ended else ""))
        self.start_app(after=f"{db} was rolled back (restored from {self.manifest.id}); the previous database is kept as {kept}")
        # ANALYZE (statistics for the app's queries) and the two counts are independent: run them side by side
        from concurrent.futures import ThreadPoolExecutor

        t = self.step("analyze-and-count")
        with ThreadPoolExecutor(max_workers=3) as pool:
            analyzed = pool.submit(self.analyze)
            after_f = None if counted_is_db else pool.submit(self.counts, db)
            before = pool.submit(self.counts, kept).result()
            after = restored if after_f is None else after_f.result()
            self.took("count_after", t)
            analyzed.result()
        checks, api = self.after_checks(after, holder=kept)
        written = self.written_after(before)
        new_ids = self.new_protected_ids(written)
        if written:
            self.say("warn", f"{kept} holds rows written after the backup (net, per table): "
                             + ", ".join(f"{t_} {n:+d}" for t_, n in written.items())
                             + "".join(f"; {t_} ids {', '.join(map(str, ids))}" for t_, ids in new_ids.items())
                             + f". They are kept there: copy them back with `pg_dump -d {kept} -t TABLE --data-only` filtered on "
                               "those ids (or INSERT ... SELECT over a dblink/postgres_fdw) once the cause is understood")
        return RollbackResult(mode="full", run_id=None, counts_before=before, counts_restored=restored, counts_after=after,
                              written_after_backup=written, app_stopped=self.really_stopped, app_started=self.really_started, api=api,
                              checks=tuple(checks), downtime_seconds=self.downtime, timings=self.timings, new_protected_ids=new_ids)

    def new_protected_ids(self, written: dict[str, int], limit: int = 20) -> dict[str, list]:
        """For protected tables that grew since the backup: the ids in the kept database above the
        restored one's highest id (rows the rollback discarded), first `limit` of them."""
        from psycopg import errors, sql

        from ..pg import connect

        found: dict[str, list] = {}
        grown = [t for t, n in written.items() if n > 0 and t in _protected(self.cfg)]
        if not grown:
            return found
        url_kept, url_db = self.inv.database.url.with_dbname(self.kept), self.inv.database.url
        with connect(self.inv.database, url=url_db) as restored, connect(self.inv.database, url=url_kept) as kept:
            for table in grown:
                schema, name = table.split(".", 1)
                ident = sql.Identifier(schema, name)
                try:
                    top = restored.execute(sql.SQL("SELECT max(id) FROM {}").format(ident)).fetchone()[0]
                    query = sql.SQL("SELECT id FROM {} WHERE %s IS NULL OR id > %s ORDER BY id LIMIT %s").format(ident)
                    found[table] = [r[0] for r in kept.execute(query, [top, top, limit])]
                except (errors.UndefinedColumn, errors.UndefinedFunction):  # no comparable `id`: counts only
                    restored.rollback()
                    kept.rollback()
        return found

    def _drop(self, conn, created: dbops.RestoreDb | None) -> str:  # noqa: ANN001
        if created is None:
            return "no restore database was created"
        try:
            dbops.drop_restore_db(conn, self.db, created, kept=self.kept)
            self.step("dropped-restore-db", name=created.name)
            return f"the restore database {created.name} was dropped"
        except Exception as exc:  # noqa: BLE001
            return f"the restore database {created.name} could NOT be dropped ({exc}): drop it by hand"

    def _swap(self, conn, created: dbops.RestoreDb, profile: dict[str, Any]) -> int:  # noqa: ANN001
        db, restore, kept = self.db, self.restore, self.kept
        blocked = renamed = False
        try:
            dbops.allow_connections(conn, db, False)
            blocked = True
            ended = dbops.rename(conn, db, kept)
            renamed = True
            self.step("renamed", old=db, new=kept)
            dbops.rename(conn, restore, db)
            self.step("renamed", old=restore, new=db)
        except BaseException as exc:
            undo = []
            try:
                if renamed:
                    dbops.rename(conn, kept, db)
                    undo.append(f"the rename of {db} was undone")
                if blocked:
                    dbops.allow_connections(conn, db, True)
                    undo.append(f"connections to {db} are allowed again")
            except Exception as undo_exc:  # noqa: BLE001
                raise RuntimeFailure(
                    f"the swap failed ({error_message(exc)}) and could not be undone ({error_message(undo_exc)})",
                    changed=f"the previous database is {'named ' + kept if renamed else 'still ' + db} (connections may be blocked); "
                            f"the restored backup is in {restore}",
                    next_step=f'by hand: ALTER DATABASE "{kept}" RENAME TO "{db}"; ALTER DATABASE "{db}" ALLOW_CONNECTIONS true; '
                              "then start the app") from None
            left = self._drop(conn, created)
            again = self.restart_after_failure()
            changed = f"{db} is unchanged: " + ", ".join(undo or ["nothing was renamed"]) + f"; {left}; {again}"
            if isinstance(exc, Exception):
                raise RuntimeFailure(f"the swap of {db} failed: {error_message(exc)}", changed=changed,
                                     next_step="end the sessions named above (or ask their owners), then run `inv rollback --full` again") from None
            raise
        dbops.forget(created)
        dbops.set_comment(conn, db, profile.get("comment"))
        dbops.allow_connections(conn, kept, True)
        return ended


class _InPlace(_Work):
    """Servers that forbid CREATE / RENAME DATABASE: safety dump, then restore into <db> in one transaction."""

    def go(self) -> RollbackResult:
        from ..backup import BackupOptions, run_backup
        from ..pg import connect

        db, database = self.db, self.inv.database
        self.stop_app()
        try:
            t = self.step("safety-dump")
            self.say("step", f"--in-place: taking a safety dump of {db} first (the state this rollback replaces)")
            safety = run_backup(self.cfg, self.say_backup, BackupOptions())
            self.took("safety_dump", t)
            if not safety.ok:
                failed = [c.summary for c in safety.checks if c.status is Status.FAIL] or list(safety.manifest.problems)
                raise CheckFailed(f"the safety dump {safety.manifest.id} is not ok: {'; '.join(failed[:3])}",
                                  next_step="fix the backup (targets, space), then run `inv rollback --full --in-place` again")
            self.step("safety-dump", safety_backup=safety.manifest.id)
            t = self.step("restore-in-place", argv=self.argv)
            with connect(database, autocommit=True) as conn:
                try:
                    dbops.terminate(conn, db)
                except Exception:  # noqa: BLE001, S110 - best effort: a session left makes the restore wait, then fail cleanly
                    pass
            run_restore(database, db, self.argv, extra_env={"PGOPTIONS": "-c lock_timeout=60s"})
            self.took("restore", t)
            extras_check = self.remove_what_the_run_created()
        except BaseException as exc:
            again = self.restart_after_failure()
            changed = f"{db} was not changed (the restore is one transaction); {again}"
            if isinstance(exc, PgRunbookError):
                exc.changed = changed
            elif _is_db_error(exc):
                raise RuntimeFailure(f"database error during the in-place restore: {error_message(exc)}", changed=changed,
                                     next_step="fix the cause, then run `inv rollback --full --in-place` again") from None
            raise
        safety_id = safety.manifest.id
        self.start_app(after=f"{db} was restored in place from {self.manifest.id} (the state before is in the safety dump {safety_id})")
        self.analyze()
        t = self.step("count-after")
        after = self.counts(db)
        self.took("count_after", t)
        checks, api = self.after_checks(after, holder=f"the safety dump {safety_id}")
        checks.append(extras_check)
        before = {t: n for t, n in safety.manifest.counts.get("tables", {}).items() if self.all_counted or t in self.manifest.counts.get("tables", {})}
        written = self.written_after(before)
        return RollbackResult(mode="in-place", run_id=None, safety_backup=safety_id, counts_before=before, counts_after=after,
                              written_after_backup=written, app_stopped=self.really_stopped, app_started=self.really_started, api=api,
                              checks=tuple(checks), downtime_seconds=self.downtime, timings=self.timings)

    def remove_what_the_run_created(self) -> Check:
        """pg_restore --clean leaves what the backup does not hold: drop what this run created (see `extras`)."""
        from ..backup.dump import listing
        from ..pg import connect
        from . import extras

        if self.manifest.dump["format"] == "plain":
            return Check("backup-objects", Status.WARN, "plain-format backup: objects created after it cannot be listed; "
                         "compare the schema by hand", "prefer backup.format custom")
        code, toc, err = listing(self.pg_restore, self.dump)
        if code != 0:
            return Check("backup-objects", Status.FAIL, f"cannot list the backup's objects: {err.strip()[:200]}",
                         "compare the schema with the backup by hand")
        backup = extras.toc_objects(toc)
        start = self.source.migration_start or MigrationStarted()
        created_tracking = start.scenario == "B" and extras.DbObject("schema", self.inv.migrations.tracking_schema,
                                                                          self.inv.migrations.tracking_schema) not in backup
        with connect(self.inv.database, autocommit=True) as conn:
            extra = extras.extra_objects(extras.live_objects(conn), backup)
            mine = extras.created_by_run(extra, self._run_created(start), self.inv.migrations.tracking_schema if created_tracking else None)
            statements = extras.drop_statements(mine)
            if statements:
                with conn.transaction():
                    for statement in statements:
                        conn.execute(statement)
                self.step("dropped-objects-not-in-backup", objects=[str(o) for o in mine], sql=statements)
                self.say("step", f"dropped {len(mine)} object(s) this run created that the backup does not hold: "
                                 + ", ".join(map(str, mine)))
        others = [o for o in extra if o not in mine]
        if others:
            return Check("backup-objects", Status.WARN, f"{len(others)} object(s) not in the backup and not created by this run, kept: "
                         + ", ".join(map(str, others[:8])), "someone created them after the backup; drop them by hand if unwanted "
                         "(the safety dump holds them)")
        dropped = f"; dropped {len(mine)} this run created" if mine else ""
        return Check("backup-objects", Status.OK, f"schemas, tables, views and sequences are the backup's{dropped}")

    def _run_created(self, start: MigrationStarted) -> frozenset:
        from ..drizzle import load_migrations
        from ..sqlcheck import analyze_files, objects_after
        from . import extras

        tags = set(start.tags("apply"))
        if not tags:
            return frozenset()
        local = load_migrations(self.inv.migrations.dir)
        applied = [m for m in local.entries if m.tag in tags]
        return extras.run_created_objects(objects_after(analyze_files([(m.filename, m.text) for m in applied])).present)

    def say_backup(self, event: Event) -> None:
        self.say(event.kind if event.kind != "progress" else "progress", f"safety dump: {event.message}", **event.data)


def _is_db_error(exc: BaseException) -> bool:
    import psycopg

    return isinstance(exc, psycopg.Error)
