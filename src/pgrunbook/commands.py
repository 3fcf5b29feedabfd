"""Service functions: one per task, called by tasks.py through `cli`.

Each observes, plans, acts, then observes again; none prints. They take a loaded
`Config` and an `emit` callback, and return a result object the console renders.
"""

from __future__ import annotations

from .config import Config
from .drizzle import load_migrations, reconcile
from .events import Emit, Event, discard
from .outcome import failed
from .verify import VerifyReport, evaluate


def verify(cfg: Config, emit: Emit = discard) -> VerifyReport:
    """Phase 1: read-only facts, checked against the playbook's expectations."""
    from .facts import gather
    from .pg import locate_tool, read_only, server_major

    inv, exp = cfg.inventory, cfg.playbook.expectations
    emit(Event("verify", "step", f"reading the drizzle journal in {inv.migrations.dir}"))
    local = load_migrations(inv.migrations.dir)
    emit(Event("verify", "step", f"connecting to {inv.database.url} (READ ONLY)"))
    with _connect_or_recovery_hint(cfg) as conn, read_only(conn):
        facts = gather(conn, exp, inv.migrations)
        state = reconcile(local, None if facts.tracking_rows is None else list(facts.tracking_rows))
        preapplied = _pending_already_in_schema(conn, local, state)
    major = server_major(facts.server.version_num)
    tools = tuple(locate_tool(name, inv.tools.bin_dir, server_major=major) for name in ("pg_dump", "pg_restore"))
    target = {"inventory": inv.name, "url": str(inv.database.url), "database": inv.database.dbname, "sandbox": inv.sandbox}
    from .rollback.recover import app_left_stopped

    stopped = app_left_stopped(inv.backup.dir, inv.database.url.key)
    checks = evaluate(facts, local, state, tools, exp, cfg.playbook.migrate, preapplied=preapplied, app_stopped=stopped)
    return VerifyReport(target, facts, local, state, tools, exp, checks)


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
           compress: str | None = None):
    """Phase 2: dump + integrity + manifest + verified copies (+ restore test). Returns a `BackupResult`."""
    from .backup import BackupOptions, run_backup

    return run_backup(cfg, emit, BackupOptions(format=format, verify_restore=verify_restore, jobs=jobs, compress=compress))


def backup_list(cfg: Config) -> list[dict]:
    """Every backup in backup.dir, newest first (age, size, copies, verified)."""
    from .backup import backup_rows

    return backup_rows(cfg)


def backup_verify(cfg: Config, ref: str, emit: Emit = discard):
    """Re-check a backup's primary dump and every copy's checksum now; returns a `BackupResult`."""
    from .backup import verify_backup

    return verify_backup(cfg, ref, emit)


def analyze(cfg: Config, emit: Emit = discard, *, baseline_until: str | None = None, only: str | None = None,
            online: bool = False, single_transaction: bool = False, squawk: bool = True):
    """Phase 3: pending migrations, their lint (ours + squawk + lock estimates), the plan and its exact SQL."""
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
        evaluate(plan, analyses, seen.evidence, seen.baseline_source, data), data,
    )


def _preflight(conn, cfg: Config, seen, emit: Emit, phase: str):  # noqa: ANN001, ANN202
    """The live-data checks of the statements to apply, in the caller's READ ONLY transaction."""
    from .preflight import preflight_plan

    files = [(m.filename, m.text) for m in (seen.local.by_tag(s.tag) for s in seen.plan.apply)]
    emit(Event(phase, "step", f"pre-flight: measuring the live data the {len(files)} migration(s) to apply depend on "
               f"(each count bounded by {cfg.playbook.gate.preflight_timeout})"))
    return preflight_plan(conn, files, timeout=cfg.playbook.gate.preflight_timeout)


def gate(cfg: Config, emit: Emit = discard, *, run_id: str | None = None, backup_ref: str | None = None,
         baseline_until: str | None = None, only: str | None = None, rehearse: bool = False, online: bool = False,
         single_transaction: bool = False):
    """Phase 4: the go/no-go checklist, evaluated now and recorded in the run journal.

    `rehearse`: the plan is also applied to a restored copy of the gate's backup (`online` and
    `single_transaction` as migrate will run it), one more criterion.
    """
    from datetime import datetime, timezone

    from .analyze import ExpectedState
    from .backup import find_backup, latest_backup
    from .backup.snapshot import count_rows
    from .executor import compile_migration, lock_holder
    from .facts import blocking_sessions, privileges, protected_counts
    from .gate import Activity, GateInputs, Privileges, decide
    from .pg import connect, read_only
    from .planning import lint_plan, observe_and_plan
    from .runs import current_or_new
    from .sqlcheck import objects_after
    from .verify import statement_bounds

    inv, pb = cfg.inventory, cfg.playbook
    run = current_or_new(inv.backup.dir, inv.database.url.key, run_id)
    run.record("gate", "start")
    backup = find_backup(inv.backup.dir, backup_ref) if backup_ref else latest_backup(inv.backup.dir, ok_only=False)
    emit(Event("gate", "step", f"evaluating the go/no-go criteria on {inv.database.url} (READ ONLY)"))
    with connect(inv.database) as conn, read_only(conn):
        seen = observe_and_plan(conn, cfg, baseline_until=baseline_until, only=only)
        to_apply = [seen.local.by_tag(s.tag) for s in seen.plan.apply]
        index_tables = sorted({s.on_table for m in to_apply for s in compile_migration(m) if s.on_table})
        privs = privileges(conn, index_tables)
        long_open, holders = blocking_sessions(conn, index_tables, pb.gate.max_transaction_seconds)
        activity = Activity(lock_holder(conn), long_open, holders)
        protected = protected_counts(conn, pb.expectations)
        data = _preflight(conn, cfg, seen, emit, "gate")
        live = count_rows(conn, pb.expectations.role_count)["tables"] if backup is not None else None
    restore_problem, restore_tools = _restore_tools(cfg, seen.facts, backup)
    tags = {s.tag for s in seen.plan.apply}
    inputs = GateInputs(
        database={"name": inv.database.dbname, "host": inv.database.url.host, "port": inv.database.url.port},
        backup=backup, backup_max_age_minutes=pb.backup.max_age_minutes, min_copies=inv.backup.min_copies,
        plan=seen.plan, evidence=seen.evidence,
        analyses=lint_plan(seen, cfg),
        privileges=Privileges(**privs), activity=activity, controller=_controller_status(cfg),
        protected=protected,
        expected=ExpectedState.from_objects(objects_after(a for m, a in zip(seen.local.entries, seen.analyses) if m.tag in tags)),
        now=datetime.now(timezone.utc), preflight=data, statement_bounds=statement_bounds(pb.migrate),
        live_counts=live, max_rows_changed_since_backup=pb.gate.max_rows_changed_since_backup,
        needs_rollback_db=pb.rollback.strategy == "restore-beside",
        restore_problem=restore_problem, restore_tools=restore_tools,
    )
    if rehearse:
        inputs = _rehearsed(cfg, run, emit, inputs, online=online, single_transaction=single_transaction,
                            baseline_until=baseline_until, only=only)
    decision = decide(inputs)
    run.record("gate", "decision", "go" if decision.go else "no-go", **decision.as_json(), protected=protected)
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
    run.record("rehearse", "start", backup=inputs.backup.id if inputs.backup else None)
    try:
        result = rehearse(cfg, inputs.plan, inputs.backup, emit, createdb=p.createdb or p.superuser, failing=failing, **options)
    except BaseException as exc:  # Ctrl-C, a lost server: the scratch database is dropped already, the journal says where we stopped
        run.record("rehearse", "error", "interrupted", error=type(exc).__name__)
        raise
    run.record("rehearse", "end", result.outcome, **result.as_json())
    return replace(inputs, rehearsal=result)


def _controller_status(cfg: Config) -> tuple[bool, str]:
    """The app controller's preflight, for the gate: can a rollback stop and start the app?"""
    if cfg.inventory.app.controller == "none":
        return True, "none configured (a rollback will not stop or start the app)"
    from .service import controller_for

    with controller_for(cfg.inventory) as app:
        return app.preflight().as_gate()


def migrate(cfg: Config, emit: Emit = discard, *, run_id: str | None = None, backup_ref: str | None = None,
            online: bool = False, single_transaction: bool = False, yes: bool = False,
            confirm=None, baseline_until: str | None = None, only: str | None = None):
    """Phase 5: apply the plan a GO approved, under the run's advisory lock; observe again after."""
    from .errors import CheckFailed, MigrationFailed
    from .executor import Executor
    from .facts import index_names, snapshot_protected
    from .gate import within_approved
    from .pg import connect, read_only
    from .planning import existing_tables, observe_and_plan
    from .runs import current_or_new

    inv, pb = cfg.inventory, cfg.playbook
    run = current_or_new(inv.backup.dir, inv.database.url.key, run_id)
    go = _require_go(cfg, run, emit, backup_ref=backup_ref, baseline_until=baseline_until, only=only)
    _confirm_target(cfg, yes, confirm)
    with connect(inv.database, autocommit=True) as conn:
        from .drizzle.recorder import Recorder

        executor = Executor(conn, Recorder(conn, inv.migrations.tracking_schema, inv.migrations.tracking_table), pb.migrate, emit)
        executor.acquire_lock()
        with read_only(conn):
            seen = observe_and_plan(conn, cfg, baseline_until=baseline_until, only=only)
            before = snapshot_protected(conn, pb.expectations, pb.validate_.hot_queries)
            indexes_before = index_names(conn)  # every index, any name or schema: what a rollback must keep
        if not within_approved(seen.plan, go["steps"]):
            raise CheckFailed("the plan changed since the GO (a migration was added or edited, or another tool migrated)",
                              next_step="run `inv gate` again, then `inv migrate`")
        tags = [s.tag for s in seen.plan.apply]
        run.record("migrate", "start", plan=[{"tag": s.tag, "action": s.action, "when": s.when, "hash": s.hash} for s in seen.plan.steps],
                   scenario=seen.plan.scenario, online=online, single_transaction=single_transaction, before=before,
                   tracking_rows_before=len(seen.facts.tracking_rows or ()), indexes_total_before=seen.facts.indexes_total,
                   indexes_before=sorted(indexes_before),
                   api_before=_measure_api(cfg))
        if seen.plan.empty:
            run.record("migrate", "end", "ok", nothing_to_do=True, baseline=[], applied=[], created_indexes=[])
            return run, None
        try:
            result = executor.run(seen.plan, seen.local, online=online, single_transaction=single_transaction,
                                  existing_tables=existing_tables(seen.facts))
        except MigrationFailed as exc:
            run.record("migrate", "error", "failed", error=exc.what, committed=list(exc.applied), planned=tags)
            raise
        except BaseException as exc:  # Ctrl-C, lost connection: the journal must say where we stopped
            run.record("migrate", "error", "interrupted", error=type(exc).__name__, planned=tags)
            raise
        finally:
            if not conn.closed and not conn.broken:
                executor.release_lock()
    run.record("migrate", "end", "ok", baseline=[list(b) for b in result.baseline], applied=[list(a) for a in result.applied],
               created_indexes=list(result.created_indexes), dropped_invalid=list(result.dropped_invalid_indexes),
               seconds=round(result.seconds, 3), lock_waits=list(result.lock_waits),
               statements=[{"migration": s.migration, "line": s.line, "ms": round(s.seconds * 1000, 1), "online": s.online} for s in result.steps])
    return run, result


def _confirm_target(cfg: Config, yes: bool, confirm) -> None:
    """Touching a non-sandbox target needs --yes or the operator typing the database name."""
    from .errors import UsageError

    inv = cfg.inventory
    if inv.sandbox or yes:
        return
    typed = confirm(inv.database.dbname, str(inv.database.url)) if confirm else None
    if typed != inv.database.dbname:
        raise UsageError(f"not confirmed: this would change {inv.database.url} (inventory {inv.name})",
                         next_step="re-run and type the database name when asked, or pass --yes")


def _require_go(cfg: Config, run, emit: Emit, *, backup_ref, baseline_until, only) -> dict:
    """The GO this migrate acts on: recorded in the run, recent; or re-evaluated now with --backup."""
    from datetime import datetime

    from .errors import CheckFailed
    from .runs import now

    if backup_ref:
        run, decision = gate(cfg, emit, run_id=run.id, backup_ref=backup_ref, baseline_until=baseline_until, only=only)
        if not decision.go:
            raise CheckFailed("the gate re-evaluated with --backup says NO-GO: " + ", ".join(c.id for c in failed(decision.checks)),
                              next_step="`inv gate --backup ID` shows each criterion and why")
        return decision.as_json()
    record = run.last("gate", "decision")
    if record is None or record["status"] != "go":
        state = "no gate decision" if record is None else "the last gate decision is NO-GO"
        raise CheckFailed(f"{state} in run {run.id}: migrate only acts on a GO",
                          next_step="run `inv backup` and `inv gate` first (or `inv migrate --backup ID` to re-evaluate the gate now)")
    age = (now() - datetime.fromisoformat(record["ts"])).total_seconds() / 60
    if age > cfg.playbook.gate.max_go_age_minutes:
        raise CheckFailed(f"the GO of run {run.id} is {age:.0f} min old (limit {cfg.playbook.gate.max_go_age_minutes} min)",
                          next_step="run `inv gate` again")
    return record["data"]


def _measure_api(cfg: Config) -> dict | None:
    if cfg.inventory.api is None:
        return None
    from .apicheck import measure

    return measure(cfg.inventory.api).as_json()


def validate(cfg: Config, emit: Emit = discard, *, run_id: str | None = None):
    """Phase 6: indexes, tracking rows, protected counts and every table's rows against migrate's snapshot, API, hot queries."""
    from .drizzle.recorder import Recorder
    from .errors import CheckFailed
    from .facts import index_details, rows_up_to, snapshot_protected
    from .pg import connect, read_only
    from .runs import current_or_new
    from .sqlcheck import Policy, analyze_files, objects_after
    from .validate import ValidationInputs, evaluate

    inv, pb = cfg.inventory, cfg.playbook
    run = current_or_new(inv.backup.dir, inv.database.url.key, run_id)
    start = run.first("migrate", "start")  # the earliest snapshot: a resumed migrate must not move the baseline of the comparison
    if start is None:
        raise CheckFailed(f"run {run.id} has no migration to validate", next_step="run `inv migrate` first (or name the run with --run)")
    plan = start["data"]["plan"]
    local = load_migrations(inv.migrations.dir)
    tags = {p["tag"] for p in plan if p["action"] == "apply"}
    analyses = analyze_files([(m.filename, m.text) for m in local.entries], Policy.from_dict(pb.policy))
    expected = objects_after(a for m, a in zip(local.entries, analyses) if m.tag in tags).indexes
    expected_pairs = tuple((f"{o.schema}.{o.name}", f"{o.schema}.{o.table}") for o in expected)
    before = start["data"]["before"]
    emit(Event("validate", "step", f"checking {len(expected_pairs)} expected indexes, tracking rows, protected counts and every table's rows (READ ONLY)"))
    with connect(inv.database) as conn, read_only(conn):
        after = snapshot_protected(conn, pb.expectations, pb.validate_.hot_queries, before["fingerprint"].get("columns"))
        details = index_details(conn, [n for n, _ in expected_pairs])
        state = reconcile(local, Recorder(conn, inv.migrations.tracking_schema, inv.migrations.tracking_table).rows())
        fp = before["fingerprint"]
        left = rows_up_to(conn, fp["table"], fp["key"], fp["max_pk"]) if pb.validate_.drift == "no-loss" and fp["max_pk"] is not None else None
    emit(Event("validate", "step", "measuring the API" if inv.api else "no API configured"))
    api_after = _measure_api(cfg)
    report = evaluate(ValidationInputs(
        expected_indexes=expected_pairs, index_details=details, performance_indexes=len(after["performance_indexes"]),
        expected_performance_indexes=pb.expectations.performance_indexes,
        applied_tags=tuple(p["tag"] for p in plan), recorded_tags=state.applied_tags,
        drift_policy=pb.validate_.drift, before=before, after=after, preexisting_rows_left=left,
        api_before=start["data"].get("api_before"), api_after=api_after, allow_row_loss=tuple(pb.validate_.allow_row_loss),
    ))
    run.record("validate", "end", "ok" if report.ok else "failed", **report.as_json(), after=after, api_after=api_after,
               tracking_rows=len(state.rows))
    return run, report
