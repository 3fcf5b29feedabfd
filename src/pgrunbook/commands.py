"""Service functions: one per task, called by tasks.py through `cli`.

Each observes, plans, acts, then observes again; none prints. They take a loaded
`Config` and an `emit` callback, and return a result object the console renders.
"""

from __future__ import annotations

from .config import Config
from .drizzle import load_migrations, reconcile
from .events import Emit, Event, discard
from .verify import VerifyReport, evaluate


def verify(cfg: Config, emit: Emit = discard) -> VerifyReport:
    """Phase 1: read-only facts, checked against the playbook's expectations."""
    from .facts import gather
    from .pg import connect, locate_tool, read_only

    inv, exp = cfg.inventory, cfg.playbook.expectations
    emit(Event("verify", "step", f"reading the drizzle journal in {inv.migrations.dir}"))
    local = load_migrations(inv.migrations.dir)
    tools = tuple(locate_tool(name, inv.tools.bin_dir) for name in ("pg_dump", "pg_restore"))
    emit(Event("verify", "step", f"connecting to {inv.database.url} (READ ONLY)"))
    with connect(inv.database) as conn, read_only(conn):
        facts = gather(conn, exp, inv.migrations)
    state = reconcile(local, None if facts.tracking_rows is None else list(facts.tracking_rows))
    target = {"inventory": inv.name, "url": str(inv.database.url), "database": inv.database.dbname, "sandbox": inv.sandbox}
    return VerifyReport(target, facts, local, state, tools, exp, evaluate(facts, local, state, tools, exp))


def backup(cfg: Config, emit: Emit = discard, *, format: str | None = None, verify_restore: bool | None = None, jobs: int | None = None):  # noqa: A002
    """Phase 2: dump + integrity + manifest + verified copies (+ restore test). Returns a `BackupResult`."""
    from .backup import BackupOptions, run_backup

    return run_backup(cfg, emit, BackupOptions(format=format, verify_restore=verify_restore, jobs=jobs))


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
    from .analyze import AnalysisReport, ExpectedState, evaluate, lock_estimates
    from .executor import compile_migration, plan_sql
    from .pg import connect, read_only
    from .planning import existing_tables, observe_and_plan
    from .sqlcheck import Policy, analyze_files, objects_after, run_squawk, with_findings

    inv = cfg.inventory
    emit(Event("analyze", "step", f"connecting to {inv.database.url} (READ ONLY)"))
    with connect(inv.database) as conn, read_only(conn):
        seen = observe_and_plan(conn, cfg, baseline_until=baseline_until, only=only)
    plan, local = seen.plan, seen.local
    policy = Policy.from_dict(cfg.playbook.policy)
    to_apply = [local.by_tag(s.tag) for s in plan.apply]
    emit(Event("analyze", "step", f"linting {len(to_apply)} migration(s) to apply" + (" (+ squawk)" if squawk else "")))
    analyses = analyze_files([(m.filename, m.text) for m in to_apply], policy)
    lock_findings = run_squawk([m.path for m in to_apply], in_transaction=not online) if squawk and to_apply else ()
    new_tables = {f"{o.schema}.{o.name}" for a in analyses for o in a.created if o.kind == "table"}
    tables = existing_tables(seen.facts)
    analyses = tuple(
        with_findings(a, [f for f in lock_findings if f.file.endswith(a.file)] + list(lock_estimates(a, seen.facts.tables, new_tables)), policy)
        for a in analyses
    )
    compiled = {m.tag: compile_migration(m, online=online, existing_tables=tables) for m in to_apply}
    applied_tags = {s.tag for s in plan.apply}
    expected = ExpectedState.from_objects(objects_after(a for m, a in zip(local.entries, seen.analyses) if m.tag in applied_tags))
    target = {"inventory": inv.name, "url": str(inv.database.url), "database": inv.database.dbname, "sandbox": inv.sandbox}
    return AnalysisReport(
        target, plan, seen.baseline_source, analyses, seen.evidence, expected,
        plan_sql(plan, compiled, cfg.playbook.migrate, single_transaction=single_transaction),
        evaluate(plan, analyses, seen.evidence, seen.baseline_source),
    )
