"""Service functions: one per task, called by tasks.py through `cli` and by `runner`.

Each observes, plans, acts, then observes again; none prints. They take a loaded
`Config` and an `emit` callback, and return a result object the console renders.

Each phase journals itself, the same way, in the `run` it is given (`runner` gives the
migrate-prod run). Given none, the phase runs alone: verify opens a new run; backup, gate,
migrate and validate join the open run of their database if it is still the database that
run observed (`runs.join`; `run_id` names one, `new_run` starts one); validate and a
NO-GO close the run they ran in alone. analyze alone is a read-only preview that journals
nothing.
"""

from __future__ import annotations

from .config import Config
from .drizzle import load_migrations, reconcile
from .events import Emit, Event, discard
from .journal import (AnalyzeEnded, BackupEnded, GateDecided, MigrationEnded, MigrationStarted, MigrationStopped, PhaseStarted,
                      LedgerUpgraded, PlanStep, RehearsalEnded, RehearsalStarted, RehearsalStopped, Validated, VerifyEnded)
from .outcome import failed
from .runs import Run, close, join, migrated_runs, observed, start_run
from .verify import VerifyReport, evaluate


def phase_run(cfg: Config, phase: str, *, run_id: str | None = None, new_run: bool = False) -> Run:
    """The run a phase run alone journals into: joined if the database is still the one it observed, else new or refused."""
    from .facts import run_state
    from .pg import read_only

    inv = cfg.inventory
    with _connect_or_recovery_hint(cfg) as conn, read_only(conn):
        state = run_state(conn, cfg.playbook.expectations, inv.migrations)
    run = join(inv.backup.dir, inv.database.url.key, state, phase=phase, run_id=run_id, new_run=new_run,
               tolerance=cfg.playbook.gate.max_rows_changed_since_backup)
    if run.read().state is None:
        observed(run, phase, state)
    return run


def verify(cfg: Config, emit: Emit = discard, *, run: Run | None = None) -> VerifyReport:
    """Phase 1: read-only facts, checked against the playbook's expectations. Alone, it opens a new run."""
    from .analyze import history_check
    from .facts import gather, run_state
    from .pg import locate_tool, read_only, server_major

    inv, exp = cfg.inventory, cfg.playbook.expectations
    emit(Event("verify", "step", f"reading the drizzle migrations in {inv.migrations.dir}"))
    local = load_migrations(inv.migrations.dir, inv.migrations.drizzle)
    run = run or start_run(inv.backup.dir, inv.database.url.key, kind="phases")
    run.append(PhaseStarted(phase="verify"))
    emit(Event("verify", "step", f"connecting to {inv.database.url} (READ ONLY)"))
    with _connect_or_recovery_hint(cfg) as conn, read_only(conn):
        facts = gather(conn, exp, inv.migrations)
        state = reconcile(local, None if facts.tracking_rows is None else list(facts.tracking_rows))
        preapplied = _pending_already_in_schema(conn, local, state)
        created = _tables_the_plan_creates(conn, local, state, facts, exp)
        seen = run_state(conn, exp, inv.migrations)
    major = server_major(facts.server.version_num)
    tools = tuple(locate_tool(name, inv.tools.bin_dir, server_major=major) for name in ("pg_dump", "pg_restore"))
    target = {"inventory": inv.name, "url": str(inv.database.url), "database": inv.database.dbname, "sandbox": inv.sandbox}
    from .rollback.recover import app_left_stopped

    stopped = app_left_stopped(inv.backup.dir, inv.database.url.key)
    checks = evaluate(facts, local, state, tools, exp, cfg.playbook.migrate, preapplied=preapplied, app_stopped=stopped,
                      created_by_plan=created)
    history = _history(local, state)
    checks += () if history is None else (history_check(history),)
    report = VerifyReport(target, facts, local, state, tools, exp, checks, history)
    data = report.as_json()
    run.append(VerifyEnded(status="ok" if report.ok else "failed", users=data["users"], indexes=data["indexes"],
                           expected_tables=data["expected_tables"], checks=tuple(data["checks"]),
                           tracking_rows=len(data["drizzle"]["rows"]), scenario=data["drizzle"]["scenario"]))
    observed(run, "verify", seen)
    return report


def _history(local, state):  # noqa: ANN001, ANN202
    """drizzle 1.0's history graph (prevIds) against the ledger: diverging branches, said in phase 1 already."""
    from .drizzle.history import history_of

    return history_of(local, state.applied_tags)


def _tables_the_plan_creates(conn, local, state, facts, exp) -> frozenset[str]:  # noqa: ANN001
    """The playbook's tables (and role table) that are absent now and that the migrations to apply create: every
    migration's on a new database (nothing of the app here, no ledger rows), the pending ones' otherwise. Read only
    when one of them is absent (a parse of the migrations)."""
    from .names import qualified
    from .planning import is_new_database
    from .sqlcheck import analyze_files, objects_after

    present = {t.qualified for t in facts.tables}
    absent = {qualified(t) for t in (*exp.tables, exp.role_count.table)} - present
    if not absent:
        return frozenset()
    if state.rows:
        entries = [m for m in local.entries if m.tag in set(state.pending)]
        analyses = analyze_files([(m.filename, m.text) for m in entries], strict=False)
    else:
        analyses = analyze_files([(m.filename, m.text) for m in local.entries], strict=False)
        if not is_new_database(conn, tuple(analyses)):
            return frozenset()
    created = {f"{t.schema}.{t.name}" for t in objects_after(analyses).tables}
    return frozenset(absent & created)


def _pending_already_in_schema(conn, local, state) -> tuple[str, ...]:  # noqa: ANN001
    """Unrecorded migrations before a recorded one whose named objects all exist: drizzle would re-run them."""
    from .drizzle.state import ledger_gaps
    from .evidence import check_objects
    from .sqlcheck import analyze_sql

    found = []
    for tag in ledger_gaps(local, set(state.applied_tags)) if state.rows else ():
        migration = local.by_tag(tag)
        named = [o for o in analyze_sql(migration.text, file=migration.filename).created if not o.implicit]
        evidence = check_objects(conn, named) if named else None
        if evidence is not None and not evidence.missing and not evidence.unverifiable:
            found.append(tag)
    return tuple(found)


def _connect_or_recovery_hint(cfg: Config):  # noqa: ANN202
    """connect(); a database missing because a rollback was interrupted mid-swap names the recovery command."""
    from .errors import ConnectionFailure
    from .pg import connect

    inv = cfg.inventory
    try:
        return connect(inv.database)
    except ConnectionFailure as exc:
        if "does not exist" in exc.what:
            from .rollback.recover import recovery_hint

            exc.next_step = recovery_hint(inv.backup.dir, inv.database.url.key, inv.database.dbname) or exc.next_step
        raise


def backup(cfg: Config, emit: Emit = discard, *, format: str | None = None, verify_restore: bool | None = None, jobs: int | None = None,  # noqa: A002
           compress: str | None = None, run: Run | None = None, run_id: str | None = None, new_run: bool = False,
           phase: str = "backup"):
    """Phase 2 (or the post-migration backup): dump + integrity + manifest + verified copies (+ restore test).

    Returns a `BackupResult`; journaled in the run (`phase` "backup" or "post-backup").
    """
    from .backup import BackupOptions, run_backup

    if run is None:
        run = phase_run(cfg, phase, run_id=run_id, new_run=new_run)
        if run.read().migration_start is not None:
            phase = "post-backup"  # taken after this run migrated: not the backup its GO relied on
    run.append(PhaseStarted(phase=phase))
    result = run_backup(cfg, emit, BackupOptions(format=format, verify_restore=verify_restore, jobs=jobs, compress=compress))
    m = result.manifest
    run.append(BackupEnded(phase=phase, status="ok" if result.ok else "failed", id=m.id, file=m.dump["file"], size=m.dump["size"],
                           sha256=m.dump["sha256"], counts=m.counts, problems=tuple(m.problems),
                           copies=tuple({"target": c.target, "location": c.location, "verified": c.verified} for c in m.copies)))
    return result


def backup_list(cfg: Config) -> list[dict]:
    """Every backup in backup.dir, newest first (age, size, copies, verified)."""
    from .backup import backup_rows

    return backup_rows(cfg)


def backup_verify(cfg: Config, ref: str, emit: Emit = discard):
    """Re-check a backup's primary dump and every copy's checksum now; returns a `BackupResult`."""
    from .backup import verify_backup

    return verify_backup(cfg, ref, emit)


def analyze(cfg: Config, emit: Emit = discard, *, baseline_until: str | None = None, only: str | None = None,
            online: bool = False, single_transaction: bool = False, squawk: bool = True, run: Run | None = None):
    """Phase 3: pending migrations, their lint (ours + squawk + lock estimates), the plan and its exact SQL.

    Journaled in `run` when given; alone it is a read-only preview that journals nothing.
    """
    if run is not None:
        run.append(PhaseStarted(phase="analyze"))
    report = _analysis(cfg, emit, baseline_until=baseline_until, only=only, online=online,
                       single_transaction=single_transaction, squawk=squawk)
    if run is not None:
        data = report.as_json()
        run.append(AnalyzeEnded(status="ok" if report.ok else "failed", scenario=data["scenario"], baseline=data["baseline"],
                                apply=data["apply"], checks=tuple(data["checks"]), verdict=data["verdict"]))
    return report


def _analysis(cfg: Config, emit: Emit, *, baseline_until: str | None, only: str | None, online: bool,
              single_transaction: bool, squawk: bool):  # noqa: ANN202
    from .analyze import AnalysisReport, ExpectedState, evaluate
    from .executor import compile_migration, plan_sql
    from .pg import connect, read_only
    from .planning import existing_tables, lint_plan, observe_and_plan
    from .sqlcheck import objects_after

    inv = cfg.inventory
    emit(Event("analyze", "step", f"connecting to {inv.database.url} (READ ONLY)"))
    with connect(inv.database) as conn, read_only(conn):
        seen = observe_and_plan(conn, cfg, baseline_until=baseline_until, only=only)
        data = _preflight(conn, cfg, seen, emit, "analyze")
    plan, local = seen.plan, seen.local
    to_apply = [local.by_tag(s.tag) for s in plan.apply]
    emit(Event("analyze", "step", f"linting {len(to_apply)} migration(s) to apply" + (" (+ squawk)" if squawk else "")))
    analyses = lint_plan(seen, cfg, online=online, squawk=squawk)
    tables = existing_tables(seen.facts)
    compiled = {m.tag: compile_migration(m, online=online, existing_tables=tables) for m in to_apply}
    applied_tags = {s.tag for s in plan.apply}
    expected = ExpectedState.from_objects(objects_after(a for m, a in zip(local.entries, seen.analyses) if m.tag in applied_tags))
    target = {"inventory": inv.name, "url": str(inv.database.url), "database": inv.database.dbname, "sandbox": inv.sandbox}
    return AnalysisReport(
        target, plan, seen.baseline_source, analyses, seen.evidence, expected,
        plan_sql(plan, compiled, cfg.playbook.migrate, single_transaction=single_transaction),
        evaluate(plan, analyses, seen.evidence, seen.baseline_source, data, seen.history), data, seen.history,
    )


def _preflight(conn, cfg: Config, seen, emit: Emit, phase: str):  # noqa: ANN001, ANN202
    """The live-data checks of the statements to apply, in the caller's READ ONLY transaction."""
    from .preflight import preflight_plan

    files = [(m.filename, m.text) for m in (seen.local.by_tag(s.tag) for s in seen.plan.apply)]
    emit(Event(phase, "step", f"pre-flight: measuring the live data the {len(files)} migration(s) to apply depend on "
               f"(each count bounded by {cfg.playbook.gate.preflight_timeout})"))
    return preflight_plan(conn, files, timeout=cfg.playbook.gate.preflight_timeout)


def gate(cfg: Config, emit: Emit = discard, *, run: Run | None = None, run_id: str | None = None, new_run: bool = False,
         backup_ref: str | None = None, baseline_until: str | None = None, only: str | None = None, rehearse: bool = False,
         online: bool = False, single_transaction: bool = False):
    """Phase 4: the go/no-go checklist, evaluated now and recorded in the run journal.

    The backup judged: `backup_ref`, else the run's own backup, else the newest. `rehearse`:
    the plan is also applied to a restored copy of that backup (`online` and
    `single_transaction` as migrate will run it), one more criterion. Alone, a NO-GO closes the run.
    """
    alone = run is None
    run = run or phase_run(cfg, "gate", run_id=run_id, new_run=new_run)
    run, decision = _gate(cfg, emit, run, backup_ref=backup_ref, baseline_until=baseline_until, only=only, rehearse=rehearse,
                          online=online, single_transaction=single_transaction)
    if alone and not decision.go:
        close(run, "no-go", "; ".join(c.id for c in failed(decision.checks)))
    return run, decision


def _gate(cfg: Config, emit: Emit, run: Run, *, backup_ref: str | None, baseline_until: str | None, only: str | None,
          rehearse: bool, online: bool, single_transaction: bool):  # noqa: ANN202
    from datetime import datetime, timezone

    from .analyze import ExpectedState
    from .backup import find_backup, latest_backup
    from .backup.snapshot import count_rows
    from .executor import compile_migration, lock_holder
    from .facts import blocking_sessions, privileges, protected_counts
    from .gate import Activity, GateInputs, decide
    from .pg import connect, read_only
    from .planning import lint_plan, observe_and_plan
    from .sqlcheck import objects_after
    from .verify import statement_bounds

    inv, pb = cfg.inventory, cfg.playbook
    run.append(PhaseStarted(phase="gate"))
    own = run.read().backup()
    backup_ref = backup_ref or (own.id if own is not None and own.status == "ok" else None)
    backup = find_backup(inv.backup.dir, backup_ref) if backup_ref else latest_backup(inv.backup.dir, ok_only=False)
    emit(Event("gate", "step", f"evaluating the go/no-go criteria on {inv.database.url} (READ ONLY)"))
    with connect(inv.database) as conn, read_only(conn):
        seen = observe_and_plan(conn, cfg, baseline_until=baseline_until, only=only)
        to_apply = [seen.local.by_tag(s.tag) for s in seen.plan.apply]
        index_tables = sorted({s.on_table for m in to_apply for s in compile_migration(m) if s.on_table})
        privs = privileges(conn, index_tables)
        long_open, holders = blocking_sessions(conn, index_tables, pb.gate.max_transaction_seconds)
        activity = Activity(lock_holder(conn), long_open, holders)
        protected = protected_counts(conn, pb.expectations, created_by_plan=_created_by_plan(seen))
        data = _preflight(conn, cfg, seen, emit, "gate")
        live = count_rows(conn, pb.expectations.role_count)["tables"] if backup is not None else None
    restore_problem, restore_tools = _restore_tools(cfg, seen.facts, backup)
    tags = {s.tag for s in seen.plan.apply}
    inputs = GateInputs(
        database={"name": inv.database.dbname, "host": inv.database.url.host, "port": inv.database.url.port},
        backup=backup, backup_max_age_minutes=pb.backup.max_age_minutes, min_copies=inv.backup.min_copies,
        plan=seen.plan, evidence=seen.evidence,
        analyses=lint_plan(seen, cfg, online=online),  # the lint analyze showed for this plan and options
        privileges=privs, activity=activity, controller=_controller_status(cfg),
        protected=protected,
        expected=ExpectedState.from_objects(objects_after(a for m, a in zip(seen.local.entries, seen.analyses) if m.tag in tags)),
        now=datetime.now(timezone.utc), preflight=data, statement_bounds=statement_bounds(pb.migrate),
        live_counts=live, max_rows_changed_since_backup=pb.gate.max_rows_changed_since_backup,
        needs_rollback_db=pb.rollback.strategy == "restore-beside",
        restore_problem=restore_problem, restore_tools=restore_tools, history=seen.history,
    )
    if rehearse:
        inputs = _rehearsed(cfg, run, emit, inputs, online=online, single_transaction=single_transaction,
                            baseline_until=baseline_until, only=only)
    decision = decide(inputs)
    data = decision.as_json()
    run.append(GateDecided(status="go" if decision.go else "no-go", decision=data["decision"], plan_fingerprint=data["plan_fingerprint"],
                           backup_id=data["backup_id"], steps=tuple(tuple(s) for s in data["steps"]), checks=tuple(data["checks"]),
                           protected=protected))
    return run, decision


def _restore_tools(cfg: Config, facts, backup) -> tuple[str | None, str]:  # noqa: ANN001
    """(why a rollback's restore would fail on this server, or None; the tool pair), for the gate's rollback-ready."""
    from .errors import ToolError
    from .pg import restore_tool, server_major

    major = server_major(facts.server.version_num)
    try:
        tool, problem = restore_tool(cfg.inventory.tools.bin_dir, major, backup.dumped_by_major if backup is not None else None)
    except ToolError as exc:
        return exc.what, ""
    return problem, f"pg_restore {tool.version} -> PostgreSQL {major}"


def _rehearsed(cfg: Config, run, emit: Emit, inputs, **options):  # noqa: ANN001, ANN202
    """The rehearsal of the plan on a restored copy, journaled; its result is one more gate input."""
    from dataclasses import replace

    from .gate import decide
    from .rehearse import rehearse

    p = inputs.privileges
    failing = [c.id for c in failed(decide(inputs).checks)]
    run.append(RehearsalStarted(backup=inputs.backup.id if inputs.backup else None))
    try:
        result = rehearse(cfg, inputs.plan, inputs.backup, emit, createdb=p.createdb or p.superuser, failing=failing, **options)
    except BaseException as exc:  # Ctrl-C, a lost server: the scratch database is dropped already, the journal says where we stopped
        run.append(RehearsalStopped(status="interrupted", error=type(exc).__name__))
        raise
    data = result.as_json()
    run.append(RehearsalEnded(status=result.outcome, plan_fingerprint=data.get("plan_fingerprint"), online=bool(data.get("online")),
                              extra={k: v for k, v in data.items() if k not in ("plan_fingerprint", "online")}))
    return replace(inputs, rehearsal=result)


def _controller_status(cfg: Config) -> tuple[bool, str]:
    """The app controller's preflight, for the gate: can a rollback stop and start the app?"""
    if cfg.inventory.app.controller == "none":
        return True, "none configured (a rollback will not stop or start the app)"
    from .service import controller_for

    with controller_for(cfg.inventory) as app:
        return app.preflight().as_gate()


def migrate(cfg: Config, emit: Emit = discard, *, run: Run | None = None, run_id: str | None = None, new_run: bool = False,
            backup_ref: str | None = None, online: bool = False, single_transaction: bool = False, yes: bool = False,
            confirm=None, baseline_until: str | None = None, only: str | None = None):
    """Phase 5: apply the plan a GO approved, under the run's advisory lock; observe again after."""
    from .confirm import confirm_target
    from .errors import CheckFailed, MigrationFailed
    from .executor import Executor
    from .facts import index_names, snapshot_protected
    from .gate import within_approved
    from .pg import connect, read_only
    from .planning import existing_tables, observe_and_plan

    inv, pb = cfg.inventory, cfg.playbook
    run = run or phase_run(cfg, "migrate", run_id=run_id, new_run=new_run)
    go = _require_go(cfg, run, emit, backup_ref=backup_ref, baseline_until=baseline_until, only=only)
    confirm_target(cfg, yes, confirm)
    with connect(inv.database, autocommit=True) as conn:
        from .drizzle.recorder import Recorder

        recorder = Recorder(conn, inv.migrations.tracking_schema, inv.migrations.tracking_table)
        executor = Executor(conn, recorder, pb.migrate, emit, on_ledger_upgraded=lambda named: run.append(ledger_upgraded(recorder, named)))
        executor.acquire_lock()
        with read_only(conn):
            seen = observe_and_plan(conn, cfg, baseline_until=baseline_until, only=only)
            expected = _expected_changes(seen)
            before = {**snapshot_protected(conn, pb.expectations, pb.validate_.hot_queries, expected=expected),
                      "expected": expected.as_json()}
            indexes_before = index_names(conn)  # every index, any name or schema: what a rollback must keep
        if not within_approved(seen.plan, [list(s) for s in go.steps]):
            raise CheckFailed("the plan changed since the GO (a migration was added or edited, or another tool migrated)",
                              next_step="run `inv gate` again, then `inv migrate`")
        tags = tuple(s.tag for s in seen.plan.apply)
        run.append(MigrationStarted(
            plan=tuple(PlanStep(s.tag, s.action, s.when, s.hash) for s in seen.plan.steps), scenario=seen.plan.scenario,
            online=online, single_transaction=single_transaction, before=before,
            tracking_rows_before=len(seen.facts.tracking_rows or ()), indexes_total_before=seen.facts.indexes_total,
            indexes_before=tuple(sorted(indexes_before)), api_before=_measure_api(cfg),
            ledger_upgrade=_upgrade_rows(seen.plan.upgrade)))
        if seen.plan.empty:
            run.append(MigrationEnded(status="ok", nothing_to_do=True))
            return run, None
        try:
            result = executor.run(seen.plan, seen.local, online=online, single_transaction=single_transaction,
                                  existing_tables=existing_tables(seen.facts))
        except MigrationFailed as exc:
            run.append(MigrationStopped(status="failed", error=exc.what, committed=tuple(exc.applied), planned=tags))
            _observe_after(conn, cfg, run)
            raise
        except BaseException as exc:  # Ctrl-C, lost connection: the journal must say where we stopped
            run.append(MigrationStopped(status="interrupted", error=type(exc).__name__, planned=tags))
            raise
        finally:
            if not conn.closed and not conn.broken:
                executor.release_lock()
        run.append(MigrationEnded(
            status="ok", baseline=tuple(result.baseline), applied=tuple(result.applied), created_indexes=tuple(result.created_indexes),
            dropped_invalid=tuple(result.dropped_invalid_indexes), seconds=round(result.seconds, 3), lock_waits=tuple(result.lock_waits),
            statements=tuple({"migration": s.migration, "line": s.line, "ms": round(s.seconds * 1000, 1), "online": s.online}
                             for s in result.steps)))
        _observe_after(conn, cfg, run)
    return run, result


def _created_by_plan(seen) -> frozenset[str]:  # noqa: ANN001
    """The tables (`schema.table`) the plan to apply creates."""
    from .sqlcheck import objects_after

    tags = {s.tag for s in seen.plan.apply}
    state = objects_after(a for m, a in zip(seen.local.entries, seen.analyses) if m.tag in tags)
    return frozenset(f"{t.schema}.{t.name}" for t in state.tables)


def _expected_changes(seen):  # noqa: ANN001, ANN202
    """The columns and tables the plan to apply drops or adds (validate.ExpectedChanges): the plan is checked against
    the GO's approved steps right after, so this is the approved plan's expected post-state."""
    from .sqlcheck import objects_after
    from .validate import expected_changes

    tags = {s.tag for s in seen.plan.apply}
    state = objects_after(a for m, a in zip(seen.local.entries, seen.analyses) if m.tag in tags)
    return expected_changes(state.present, state.absent, {t.qualified for t in seen.facts.tables})


def ledger_upgraded(recorder, named) -> LedgerUpgraded:  # noqa: ANN001
    """The journal record of drizzle 1.0's ledger upgrade, committed (`rollback --indexes-only` undoes it from this)."""
    from .drizzle.recorder import Recorder

    return LedgerUpgraded(status="ok", table=recorder.qualified_name, columns=tuple(c for c, _ in Recorder.V1_COLUMNS),
                          rows=_upgrade_rows(named))


def _upgrade_rows(matches) -> tuple[dict, ...]:  # noqa: ANN001
    return tuple({"id": m.row.id, "hash": m.row.hash, "created_at": m.row.created_at, "name": m.name, "matched_by": m.why}
                 for m in matches)


def _observe_after(conn, cfg: Config, run: Run) -> None:  # noqa: ANN001
    """The ledger moved: what the run observes now, so that the next phase run alone can join it."""
    from .facts import run_state
    from .pg import read_only

    if conn.closed or conn.broken:
        return
    with read_only(conn):
        observed(run, "migrate", run_state(conn, cfg.playbook.expectations, cfg.inventory.migrations))


def _require_go(cfg: Config, run: Run, emit: Emit, *, backup_ref, baseline_until, only) -> GateDecided:  # noqa: ANN001
    """The GO this migrate acts on: recorded in the run, recent; or re-evaluated now with --backup."""
    from .errors import CheckFailed
    from .runs import now

    if backup_ref:
        run, decision = _gate(cfg, emit, run, backup_ref=backup_ref, baseline_until=baseline_until, only=only, rehearse=False,
                              online=False, single_transaction=False)
        if not decision.go:
            raise CheckFailed("the gate re-evaluated with --backup says NO-GO: " + ", ".join(c.id for c in failed(decision.checks)),
                              next_step="`inv gate --backup ID` shows each criterion and why")
    record = run.read().last(GateDecided)
    if record is None or not record.go:
        state = "no gate decision" if record is None else "the last gate decision is NO-GO"
        if record is None:
            state += _previous_no_go(cfg, run)
        raise CheckFailed(f"{state} in run {run.id}: migrate only acts on a GO",
                          next_step="run `inv backup` and `inv gate` first (or `inv migrate --backup ID` to re-evaluate the gate now)")
    age = (now() - record.when).total_seconds() / 60
    if age > cfg.playbook.gate.max_go_age_minutes:
        raise CheckFailed(f"the GO of run {run.id} is {age:.0f} min old (limit {cfg.playbook.gate.max_go_age_minutes} min)",
                          next_step="run `inv gate` again")
    return record


def _previous_no_go(cfg: Config, run: Run) -> str:
    """A NO-GO closed the previous run: say so (the operator ran `inv gate`, then `inv migrate`)."""
    from .runs import list_runs

    for other in list_runs(cfg.inventory.backup.dir, cfg.inventory.database.url.key):
        decision = other.read().last(GateDecided) if other != run else None
        if decision is not None:
            return f" (the last gate decision, in run {other.id}, is NO-GO and closed it)" if not decision.go else ""
    return ""


def _measure_api(cfg: Config) -> dict | None:
    if cfg.inventory.api is None:
        return None
    from .apicheck import measure

    return measure(cfg.inventory.api).as_json()


def validate(cfg: Config, emit: Emit = discard, *, run: Run | None = None, run_id: str | None = None, new_run: bool = False):
    """Phase 6: indexes, tracking rows, protected counts and every table's rows against migrate's snapshot, API, hot queries.

    Alone, it closes the run: ok, warnings (a check failed without drift) or failed (drift). Run
    again after that, it validates the newest run that migrated (closed, read-only) once more,
    recording the result in a new run.
    """
    alone = run is None
    run = run or phase_run(cfg, "validate", run_id=run_id, new_run=new_run)
    source = run
    if alone and run.read().migration_start is None:
        source = next(iter(migrated_runs(cfg.inventory.backup.dir, cfg.inventory.database.url.key)), run)
    report = _validation(cfg, emit, run, source)
    if alone:
        close(run, "ok" if report.ok else "failed" if report.drift else "warnings")
    return run, report


def _validation(cfg: Config, emit: Emit, run: Run, source: Run):  # noqa: ANN202
    from .drizzle.recorder import Recorder
    from .errors import CheckFailed
    from .facts import index_details, rows_up_to, snapshot_protected
    from .pg import connect, read_only
    from .sqlcheck import Policy, analyze_files, objects_after
    from .validate import ExpectedChanges, ValidationInputs, evaluate

    inv, pb = cfg.inventory, cfg.playbook
    start = source.read().migration_start  # the earliest snapshot: a resumed migrate must not move the baseline of the comparison
    if start is None:
        raise CheckFailed(f"run {run.id} has no migration to validate", next_step="run `inv migrate` first (or name the run with --run)")
    run.append(PhaseStarted(phase="validate"))
    local = load_migrations(inv.migrations.dir)
    tags = set(start.tags("apply"))
    analyses = analyze_files([(m.filename, m.text) for m in local.entries], Policy.from_dict(pb.policy))
    expected = objects_after(a for m, a in zip(local.entries, analyses) if m.tag in tags).indexes
    expected_pairs = tuple((f"{o.schema}.{o.name}", f"{o.schema}.{o.table}") for o in expected)
    before = start.before
    emit(Event("validate", "step", f"checking {len(expected_pairs)} expected indexes, tracking rows, protected counts and every table's rows (READ ONLY)"))
    with connect(inv.database) as conn, read_only(conn):
        after = snapshot_protected(conn, pb.expectations, pb.validate_.hot_queries, like=before)
        fp = before.get("fingerprint") or {}
        details = index_details(conn, [n for n, _ in expected_pairs])
        state = reconcile(local, Recorder(conn, inv.migrations.tracking_schema, inv.migrations.tracking_table).rows())
        left = (rows_up_to(conn, fp["table"], fp["key"], fp["max_pk"])
                if pb.validate_.drift == "no-loss" and fp.get("max_pk") is not None else None)
    emit(Event("validate", "step", "measuring the API" if inv.api else "no API configured"))
    api_after = _measure_api(cfg)
    report = evaluate(ValidationInputs(
        expected_indexes=expected_pairs, index_details=details, performance_indexes=len(after["performance_indexes"]),
        expected_performance_indexes=pb.expectations.performance_indexes,
        applied_tags=tuple(p.tag for p in start.plan), recorded_tags=state.applied_tags,
        drift_policy=pb.validate_.drift, before=before, after=after, preexisting_rows_left=left,
        api_before=start.api_before, api_after=api_after, allow_row_loss=tuple(pb.validate_.allow_row_loss),
        expected=ExpectedChanges.from_json(before.get("expected")),
    ))
    data = report.as_json()
    run.append(Validated(status="ok" if report.ok else "failed", ok=data.get("ok"), drift=data.get("drift"),
                         checks=tuple(data.get("checks", ())), after=after, api_after=api_after, tracking_rows=len(state.rows),
                         of_run=source.id, extra={k: v for k, v in data.items() if k not in ("ok", "drift", "checks")}))
    return report


def rollback(cfg: Config, emit: Emit = discard, *, full: bool, backup_ref: str | None = None, in_place: bool = False,
             run_id: str | None = None, yes: bool = False, confirm=None, dry_run: bool = False, online: bool = False):  # noqa: ANN001, ANN201
    """`inv rollback --full | --indexes-only` alone: undo the migration of run `run_id` (default: the newest that migrated).

    The rollback journals in that run while it is open, else in a new run naming it; that run
    closes as rolled-back (or failed) when the rollback ends.
    """
    from .errors import UsageError
    from .rollback import full_rollback, indexes_only_rollback
    from .runs import open_run

    inv = cfg.inventory
    run = open_run(inv.backup.dir, run_id) if run_id else None
    if full:
        policy = cfg.playbook.rollback
        restore_in_place = in_place or policy.strategy == "in-place"  # the playbook's strategy is the default
        result = full_rollback(cfg, emit, backup_ref=backup_ref, in_place=restore_in_place, run=run, yes=yes, confirm=confirm, dry_run=dry_run,
                               online=online or (policy.online and not restore_in_place))
    else:
        run = run or next(iter(migrated_runs(inv.backup.dir, inv.database.url.key)), None)
        if run is None:
            raise UsageError(f"no run of {inv.database.url} migrated anything: nothing for --indexes-only to undo",
                             next_step="`inv runs` lists the runs; `inv rollback --full --dry-run` shows a restore of the newest backup")
        result = indexes_only_rollback(cfg, emit, run=run, yes=yes, confirm=confirm, dry_run=dry_run)
    if not result.dry_run and result.run_id:
        close(open_run(inv.backup.dir, result.run_id), "rolled-back" if result.ok else "failed", f"rollback ({result.mode})")
    return result


def report_run(cfg: Config, run_id: str | None) -> Run:
    """The run `inv report` shows: the one named, else the newest closed run of this database (an open run is still growing)."""
    from .errors import UsageError
    from .runs import list_runs, open_run

    inv = cfg.inventory
    if run_id:
        return open_run(inv.backup.dir, run_id)
    runs = list_runs(inv.backup.dir, inv.database.url.key)
    closed = [r for r in runs if r.read().is_closed and r.read().closed.status != "abandoned"]
    if closed:
        return closed[0]
    if runs:
        raise UsageError(f"no closed run of {inv.database.url} yet (the newest, {runs[0].id}, is {runs[0].read().outcome})",
                         next_step=f"finish it (`inv validate`), or report on it as it stands: `inv report --run {runs[0].id}`")
    raise UsageError(f"no run of {inv.database.url} in {inv.backup.dir / 'runs'}",
                     next_step="run `inv migrate-prod` (or the phases one by one) first")


def runs_list(cfg: Config) -> list[dict]:
    """`inv runs`: every run of this database, newest first (id, kind, started, duration, phases, outcome)."""
    from .runs import list_runs

    inv = cfg.inventory
    return [run_summary(r) for r in list_runs(inv.backup.dir, inv.database.url.key)]


def runs_history(cfg: Config) -> list[dict]:
    """`inv runs --html`: every run of this database, newest first, each with the figures the history plots."""
    from .report import run_metrics
    from .runs import list_runs

    inv = cfg.inventory
    return [{**run_summary(r), "metrics": run_metrics(r.read())} for r in list_runs(inv.backup.dir, inv.database.url.key)]


def run_summary(run: Run) -> dict:
    j = run.read()
    opened = j.opened
    return {"id": run.id, "target": j.target, "kind": opened.kind if opened else "", "started": j.records[0].ts if j.records else "",
            "seconds": j.duration_seconds(), "phases": j.phases, "outcome": j.outcome,
            "reason": j.closed.reason if j.closed else "", "rolls_back": opened.rolls_back if opened else None,
            "format": j.format, "journal": str(run.journal)}
