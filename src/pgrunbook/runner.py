"""`inv migrate-prod`: the whole runbook, phase after phase, with automatic rollback.

    verify → backup (+ restore test) → analyze → gate → migrate → validate → post-migration backup → report

Each phase is journaled before and after it runs (`runs.Run`), so a crash, Ctrl-C or a
lost connection leaves a journal from which `--resume RUN_ID` continues: phases that
ended ok are not run again, and migrate re-plans from the tracking table under its lock
(the GO approved the steps; those already recorded are skipped). The advisory lock makes
a second run against the same database fail while the first holds it.

Automatic rollback (playbook `rollback.on_drift` / `on_failure`: auto, ask, never):
- drift after migrate — the protected counts, the users fingerprint, or any table with fewer
  rows than before (validate's `table-rows`, waived only by `validate.allow_row_loss`) → full
  rollback (restore the backup of this run; the current database is renamed and kept);
- a migration failing halfway → back to the pre-state: index-only rollback when what this
  run committed is only indexes and tracking rows, else full rollback.
The run then ends with exit 4 (`RolledBack`), saying why.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .config import Config
from .errors import CheckFailed, MigrationFailed, PgRunbookError, RolledBack
from .events import Emit, Event, discard
from .outcome import failed
from .runs import Run, open_run, start_run
from .validate import DRIFT_CHECKS

PHASES = ("verify", "backup", "analyze", "gate", "migrate", "validate", "post-backup", "report")


@dataclass
class ProdOptions:
    resume: str | None = None
    yes: bool = False
    confirm: Callable[[str, str], str | None] | None = None
    online: bool = False
    single_transaction: bool = False
    ask: Callable[[str], bool] | None = None  # for the `ask` rollback policy
    after_migrate: Callable[[Run], None] | None = None  # demo --break: inject drift here
    rehearse: bool | None = None  # the gate rehearses the plan on a restored copy (default: playbook migrate.rehearse)
    languages: tuple[str, ...] = ("en", "fr")


@dataclass
class ProdResult:
    run: Run
    outcome: str  # "ok", "warnings", "rolled-back", "failed"
    reason: str = ""
    report_paths: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {"run": self.run.id, "outcome": self.outcome, "reason": self.reason, "reports": self.report_paths,
                "seconds": round(self.seconds, 1), "journal": str(self.run.journal)}


def migrate_prod(cfg: Config, emit: Emit = discard, options: ProdOptions | None = None) -> ProdResult:
    options = options or ProdOptions()
    inv = cfg.inventory
    run = open_run(inv.backup.dir, options.resume) if options.resume else start_run(inv.backup.dir, inv.database.url.key, kind="migrate-prod")
    started = time.monotonic()
    if options.resume:
        run.record("run", "resume", pid=_pid())
    from .commands import _confirm_target

    _confirm_target(cfg, options.yes, options.confirm)  # once, up front: then the run goes on by itself
    result = ProdResult(run, "ok")
    try:
        _phases(cfg, run, emit, options, result)
    except RolledBack as exc:
        result.outcome, result.reason = "rolled-back", exc.what
        raise
    except PgRunbookError as exc:
        result.outcome, result.reason = "failed", exc.what
        run.record("run", "error", "failed", error=exc.what, next_step=exc.next_step)
        raise
    except KeyboardInterrupt:
        run.record("run", "error", "interrupted", next_step=f"inv migrate-prod --resume {run.id}")
        raise
    finally:
        result.seconds = time.monotonic() - started
        if result.outcome in ("ok", "warnings", "rolled-back"):
            run.record("run", "end", result.outcome, reason=result.reason, seconds=round(result.seconds, 1))
        result.report_paths = _write_reports(cfg, run, options.languages)
    return result


def _phases(cfg: Config, run: Run, emit: Emit, options: ProdOptions, result: ProdResult) -> None:
    from . import commands

    def phase(name: str, action: Callable[[], Any]) -> Any:
        if _done(run, name):
            emit(Event(name, "done", f"already done in run {run.id}: skipped"))
            return None
        emit(Event(name, "step", f"phase {PHASES.index(name) + 1}/{len(PHASES)}: {name}"))
        if name != "gate":  # the gate journals its own start and decision
            run.record(name, "start")
        return action()

    phase("verify", lambda: _check(run, "verify", commands.verify(cfg, emit), "verify failed"))
    phase("backup", lambda: _backup(cfg, run, emit, "backup"))
    phase("analyze", lambda: _check(run, "analyze", commands.analyze(cfg, emit, online=options.online,
                                                                     single_transaction=options.single_transaction), "analysis refused"))
    phase("gate", lambda: _gate(cfg, run, emit, options))
    if not _done(run, "migrate"):
        emit(Event("migrate", "step", "phase 5/8: migrate"))
        _migrate(cfg, run, emit, options)
    if options.after_migrate is not None and run.last("break", "fact") is None:
        options.after_migrate(run)
        run.record("break", "fact", note="drift injected on purpose (inv demo --break)")
    if not _done(run, "validate"):
        emit(Event("validate", "step", "phase 6/8: validate"))
        _, report = commands.validate(cfg, emit, run_id=run.id)
        if report.drift:
            _roll_back(cfg, run, emit, options, policy=cfg.playbook.rollback.on_drift,
                       why="validation found drift: " + "; ".join(c.summary for c in failed(report.checks) if c.id in DRIFT_CHECKS))
        if not report.ok:
            result.outcome = "warnings"
            result.reason = "validation failed (no drift): " + ", ".join(c.id for c in failed(report.checks))
    phase("post-backup", lambda: _backup(cfg, run, emit, "post-backup"))


def _done(run: Run, phase: str) -> bool:
    if phase == "gate":
        return run.last("gate", "decision", "go") is not None
    return run.last(phase, "end", "ok") is not None


def _check(run: Run, phase: str, report: Any, what: str) -> Any:
    failing = [c.id for c in failed(report.checks)]
    run.record(phase, "end", "ok" if report.ok else "failed", **_summary(phase, report))
    if not report.ok:
        raise CheckFailed(f"{what}: {', '.join(failing)}", changed="nothing was changed (the database was only read)",
                          next_step=f"`inv {phase}` shows the details; fix, then `inv migrate-prod --resume {run.id}`")
    return report


def _summary(phase: str, report: Any) -> dict[str, Any]:
    data = report.as_json()
    if phase == "verify":
        return {k: data[k] for k in ("users", "indexes", "expected_tables", "checks")} | {"tracking_rows": len(data["drizzle"]["rows"]),
                                                                                        "scenario": data["drizzle"]["scenario"]}
    return {k: data[k] for k in ("scenario", "baseline", "apply", "checks", "verdict")}


def _backup(cfg: Config, run: Run, emit: Emit, phase: str) -> None:
    from . import commands

    result = commands.backup(cfg, emit)
    m = result.manifest
    run.record(phase, "end", "ok" if result.ok else "failed", id=m.id, file=m.dump["file"], size=m.dump["size"], sha256=m.dump["sha256"],
               copies=[{"target": c.target, "location": c.location, "verified": c.verified} for c in m.copies],
               counts=m.counts, problems=list(m.problems))
    if not result.ok:
        raise CheckFailed(f"{phase}: " + "; ".join(m.problems or ["integrity failed"]),
                          changed="nothing was changed in the database" if phase == "backup" else "the migration is applied and validated; only the post-migration backup failed",
                          next_step=f"fix the backup targets, then `inv migrate-prod --resume {run.id}`")


def _gate(cfg: Config, run: Run, emit: Emit, options: ProdOptions) -> None:
    from . import commands

    backup_id = (run.last("backup", "end", "ok") or {}).get("data", {}).get("id")
    rehearse = cfg.playbook.migrate.rehearse if options.rehearse is None else options.rehearse
    _, decision = commands.gate(cfg, emit, run_id=run.id, backup_ref=backup_id or None, rehearse=rehearse,
                                online=options.online, single_transaction=options.single_transaction)
    if not decision.go:
        raise CheckFailed("NO-GO: " + "; ".join(f"{c.id}: {c.summary}" for c in failed(decision.checks)),
                          changed="nothing was changed in the database",
                          next_step=f"fix what the gate names, then `inv migrate-prod --resume {run.id}`")


def _migrate(cfg: Config, run: Run, emit: Emit, options: ProdOptions) -> None:
    from . import commands

    try:  # yes=True: the operator confirmed the target once, when the run started
        commands.migrate(cfg, emit, run_id=run.id, online=options.online, single_transaction=options.single_transaction, yes=True)
    except MigrationFailed as exc:
        _roll_back(cfg, run, emit, options, policy=cfg.playbook.rollback.on_failure, why=f"a migration failed halfway: {exc.what}",
                   failure=exc)
        raise


def _roll_back(cfg: Config, run: Run, emit: Emit, options: ProdOptions, *, policy: str, why: str, failure: Exception | None = None) -> None:
    """Apply the rollback policy; raise RolledBack when the rollback ran."""
    if policy == "never" or (policy == "ask" and not (options.ask and options.ask(why))):
        run.record("rollback", "decision", "declined", why=why, policy=policy)
        if failure is not None:
            return
        raise CheckFailed(f"{why}; rollback not run (policy {policy})", changed="the migration is applied",
                          next_step="`inv rollback --full` restores the backup of this run")
    from . import rollback

    run.record("rollback", "decision", "auto" if policy == "auto" else "confirmed", why=why, policy=policy)
    emit(Event("rollback", "warn", f"rolling back: {why}"))
    if failure is not None and _only_indexes_committed(cfg, run):
        outcome = rollback.indexes_only_rollback(cfg, emit, run=run, yes=True)
    else:  # the backup this run's GO relied on (rollback.pre_migration_backup)
        outcome = rollback.full_rollback(cfg, emit, run=run, yes=True, in_place=cfg.playbook.rollback.strategy == "in-place")
    if not outcome.ok:
        raise PgRunbookError(f"{why}; the rollback itself failed: see the run journal {run.journal}",
                             changed="see the rollback steps above", next_step="`inv rollback --full` by hand, with `--dry-run` first")
    raise RolledBack(f"rolled back: {why}", changed="the database is back to its state before the migration (the replaced one is kept, renamed)",
                     next_step=f"`inv report --run {run.id}` for the report; investigate before retrying")


def _only_indexes_committed(cfg: Config, run: Run) -> bool:
    """Whether what this run committed is only index builds, ANALYZE and tracking rows."""
    from .drizzle import load_migrations
    from .executor import compile_migration

    committed = [r["data"].get("committed", []) for r in run.records() if r["phase"] == "migrate" and r["event"] == "error"]
    tags = {t for group in committed for t in group}
    local = load_migrations(cfg.inventory.migrations.dir)
    for tag in tags:
        for step in compile_migration(local.by_tag(tag)):
            if step.creates_index is None and not step.sql.lstrip().upper().startswith("ANALYZE"):
                return False
    return True


def _write_reports(cfg: Config, run: Run, languages: tuple[str, ...]) -> dict[str, str]:
    from .report import write_reports

    try:
        return write_reports(cfg, run, languages)
    except PgRunbookError:
        return {}


def _pid() -> int:
    import os

    return os.getpid()
