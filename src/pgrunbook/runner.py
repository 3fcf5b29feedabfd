"""`inv migrate-prod`: the whole runbook, phase after phase, with automatic rollback.

    verify → backup (+ restore test) → analyze → gate → migrate → validate → post-migration backup → report

The runner is a loop over `PHASES` (name, the service, what its failure triggers); each
service journals itself in the run (`commands`), exactly as when it runs alone, so a
crash, Ctrl-C or a lost connection leaves a journal from which `--resume RUN_ID`
continues: phases that ended ok are not run again, and migrate re-plans from the tracking table under its lock
(the GO approved the steps; those already recorded are skipped). The advisory lock makes
a second run against the same database fail while the first holds it.

Automatic rollback (playbook `rollback.on_drift` / `on_failure`: auto, ask, never):
- drift after migrate — the protected counts, the users fingerprint, or any table with fewer
  rows than before (validate's `table-rows`, waived only by `validate.allow_row_loss`) → full
  rollback (restore the backup of this run; the current database is renamed and kept);
- a migration failing halfway → back to the pre-state: index-only rollback when what this
  run committed is only indexes and tracking rows, else full rollback.
The run then ends with exit 4 (`RolledBack`), saying why.

The run closes (`runs.close`) when the chain ends: ok, warnings, rolled-back, or no-go. A
phase that fails otherwise leaves it open for `--resume` (`RunFailed` says why).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .config import Config
from .errors import CheckFailed, MigrationFailed, PgRunbookError, RolledBack
from .events import PHASE, SUMMARY, Emit, Event, discard
from .journal import DriftInjected, RollbackDecided, RunFailed, RunResumed
from .outcome import failed
from .runs import Run, close, open_run, start_run
from .validate import DRIFT_CHECKS


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
    on_end: Callable[[ProdResult], None] | None = None  # the recap: called once the run ended, reports written, even when it failed


@dataclass
class ProdResult:
    run: Run
    outcome: str  # "ok", "warnings", "rolled-back", "no-go", "failed"
    reason: str = ""
    report_paths: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        from .recap import build

        return {"run": self.run.id, "outcome": self.outcome, "reason": self.reason, "reports": self.report_paths,
                "seconds": round(self.seconds, 1), "journal": str(self.run.journal),
                "recap": build(self.run.read(), reports=self.report_paths).as_json()}


@dataclass(frozen=True)
class Step:
    """One entry of the chain: the service (journaling itself in the run) and whether it applies to these options."""

    name: str
    act: Callable[[Config, Run, Emit, ProdOptions, ProdResult], None]
    applies: Callable[[ProdOptions], bool] = lambda options: True


def migrate_prod(cfg: Config, emit: Emit = discard, options: ProdOptions | None = None) -> ProdResult:
    from .confirm import confirm_target

    options = options or ProdOptions()
    inv = cfg.inventory
    run = open_run(inv.backup.dir, options.resume) if options.resume else start_run(inv.backup.dir, inv.database.url.key, kind="migrate-prod")
    started = time.monotonic()
    if options.resume:
        run.append(RunResumed(pid=os.getpid()))
    confirm_target(cfg, options.yes, options.confirm)  # once, up front: then the run goes on by itself
    result = ProdResult(run, "ok")
    try:
        _chain(cfg, run, emit, options, result)
    except RolledBack as exc:
        result.outcome, result.reason = "rolled-back", exc.what
        raise
    except _NoGo as exc:
        result.outcome, result.reason = "no-go", exc.what
        raise exc.error from None
    except PgRunbookError as exc:
        result.outcome, result.reason = "failed", exc.what
        run.append(RunFailed(status="failed", error=exc.what, next_step=exc.next_step))
        raise
    except KeyboardInterrupt:
        result.outcome = "interrupted"
        run.append(RunFailed(status="interrupted", next_step=f"inv migrate-prod --resume {run.id}"))
        raise
    except Exception as exc:  # a bug: the run failed, it is never closed "ok" (its report and `inv runs` would say so)
        result.outcome, result.reason = "failed", f"internal error: {type(exc).__name__}: {exc}"
        run.append(RunFailed(status="failed", error=result.reason, next_step=f"report the bug; then `inv migrate-prod --resume {run.id}`"))
        raise
    finally:
        result.seconds = time.monotonic() - started
        if result.outcome in ("ok", "warnings", "rolled-back", "no-go"):
            close(run, result.outcome, result.reason)
        result.report_paths = _write_reports(cfg, run, options.languages)
        if options.on_end is not None:
            options.on_end(result)
    return result


def _chain(cfg: Config, run: Run, emit: Emit, options: ProdOptions, result: ProdResult) -> None:
    steps = [s for s in PHASES if s.applies(options)]
    numbered = [s for s in steps if s.name != "break"]
    for step in steps:
        if _done(run, step.name):
            emit(Event(step.name, "done", f"already done in run {run.id}: skipped", {"level": SUMMARY}))
            continue
        if step.name != "break":
            emit(Event(step.name, "step", f"phase {numbered.index(step) + 1}/{len(numbered) + 1}: {step.name}",
                       {"level": PHASE, "index": numbered.index(step) + 1, "of": len(numbered) + 1}))
        step.act(cfg, run, emit, options, result)


def _done(run: Run, phase: str) -> bool:
    journal = run.read()
    if phase == "break":
        return journal.last(DriftInjected) is not None
    return journal.done(phase)


# --------------------------------------------------------------------------- the steps


def _verify(cfg: Config, run: Run, emit: Emit, options: ProdOptions, result: ProdResult) -> None:
    from . import commands

    _require_ok(run, "verify", commands.verify(cfg, emit, run=run), "verify failed")


def _backup(cfg: Config, run: Run, emit: Emit, options: ProdOptions, result: ProdResult, phase: str = "backup") -> None:
    from . import commands

    backup = commands.backup(cfg, emit, run=run, phase=phase)
    if not backup.ok:
        raise CheckFailed(f"{phase}: " + "; ".join(backup.manifest.problems or ["integrity failed"]),
                          changed="nothing was changed in the database" if phase == "backup" else "the migration is applied and validated; only the post-migration backup failed",
                          next_step=f"fix the backup targets, then `inv migrate-prod --resume {run.id}`")


def _post_backup(cfg: Config, run: Run, emit: Emit, options: ProdOptions, result: ProdResult) -> None:
    _backup(cfg, run, emit, options, result, phase="post-backup")


def _analyze(cfg: Config, run: Run, emit: Emit, options: ProdOptions, result: ProdResult) -> None:
    from . import commands

    report = commands.analyze(cfg, emit, online=options.online, single_transaction=options.single_transaction, run=run)
    _require_ok(run, "analyze", report, "analysis refused")


def _gate(cfg: Config, run: Run, emit: Emit, options: ProdOptions, result: ProdResult) -> None:
    from . import commands

    rehearse = cfg.playbook.migrate.rehearse if options.rehearse is None else options.rehearse
    _, decision = commands.gate(cfg, emit, run=run, rehearse=rehearse, online=options.online, single_transaction=options.single_transaction)
    if not decision.go:
        what = "NO-GO: " + "; ".join(f"{c.id}: {c.summary}" for c in failed(decision.checks))
        raise _NoGo(what, CheckFailed(what, changed="nothing was changed in the database",
                                      next_step="fix what the gate names, then `inv migrate-prod` again (a new run, with a fresh backup)"))


def _migrate(cfg: Config, run: Run, emit: Emit, options: ProdOptions, result: ProdResult) -> None:
    from . import commands

    try:  # yes=True: the operator confirmed the target once, when the run started
        commands.migrate(cfg, emit, run=run, online=options.online, single_transaction=options.single_transaction, yes=True)
    except MigrationFailed as exc:
        _roll_back(cfg, run, emit, options, policy=cfg.playbook.rollback.on_failure, why=f"a migration failed halfway: {exc.what}",
                   failure=exc)
        raise


def _break(cfg: Config, run: Run, emit: Emit, options: ProdOptions, result: ProdResult) -> None:
    options.after_migrate(run)
    run.append(DriftInjected(note="drift injected on purpose (inv demo --break)"))


def _validate(cfg: Config, run: Run, emit: Emit, options: ProdOptions, result: ProdResult) -> None:
    from . import commands

    _, report = commands.validate(cfg, emit, run=run)
    if report.drift:
        _roll_back(cfg, run, emit, options, policy=cfg.playbook.rollback.on_drift,
                   why="validation found drift: " + "; ".join(c.summary for c in failed(report.checks) if c.id in DRIFT_CHECKS))
    if not report.ok:
        result.outcome = "warnings"
        result.reason = "validation failed (no drift): " + ", ".join(c.id for c in failed(report.checks))


PHASES: tuple[Step, ...] = (
    Step("verify", _verify),
    Step("backup", _backup),
    Step("analyze", _analyze),
    Step("gate", _gate),  # a NO-GO closes the run
    Step("migrate", _migrate),  # a failure halfway: rollback.on_failure
    Step("break", _break, lambda options: options.after_migrate is not None),
    Step("validate", _validate),  # drift: rollback.on_drift; a failed check without drift: outcome "warnings"
    Step("post-backup", _post_backup),
)


class _NoGo(Exception):
    """The gate said NO-GO: the run closes as such (carries the CheckFailed the caller sees)."""

    def __init__(self, what: str, error: CheckFailed) -> None:
        super().__init__(what)
        self.what, self.error = what, error


def _require_ok(run: Run, phase: str, report: Any, what: str) -> None:
    if not report.ok:
        raise CheckFailed(f"{what}: {', '.join(c.id for c in failed(report.checks))}", changed="nothing was changed (the database was only read)",
                          next_step=f"`inv {phase}` shows the details; fix, then `inv migrate-prod --resume {run.id}`")


# --------------------------------------------------------------------------- rollback


def _roll_back(cfg: Config, run: Run, emit: Emit, options: ProdOptions, *, policy: str, why: str, failure: Exception | None = None) -> None:
    """Apply the rollback policy; raise RolledBack when the rollback ran."""
    if policy == "never" or (policy == "ask" and not (options.ask and options.ask(why))):
        run.append(RollbackDecided(status="declined", why=why, policy=policy))
        if failure is not None:
            return
        raise CheckFailed(f"{why}; rollback not run (policy {policy})", changed="the migration is applied",
                          next_step="`inv rollback --full` restores the backup of this run")
    from . import rollback

    run.append(RollbackDecided(status="auto" if policy == "auto" else "confirmed", why=why, policy=policy))
    emit(Event("rollback", "warn", f"rolling back: {why}"))
    if failure is not None and rollback.only_indexes_committed(cfg, run.read()):
        outcome = rollback.indexes_only_rollback(cfg, emit, run=run, yes=True)
    else:  # the backup this run's GO relied on (rollback.pre_migration_backup)
        policy = cfg.playbook.rollback
        outcome = rollback.full_rollback(cfg, emit, run=run, yes=True, in_place=policy.strategy == "in-place",
                                         online=policy.online)
    if not outcome.ok:
        raise PgRunbookError(f"{why}; the rollback itself failed: see the run journal {run.journal}",
                             changed="see the rollback steps above", next_step="`inv rollback --full` by hand, with `--dry-run` first")
    raise RolledBack(f"rolled back: {why}", changed="the database is back to its state before the migration (the replaced one is kept, renamed)",
                     next_step=f"`inv report --run {run.id}` for the report; investigate before retrying")


def _write_reports(cfg: Config, run: Run, languages: tuple[str, ...]) -> dict[str, str]:
    from .report import write_reports

    try:
        return write_reports(cfg, run, languages)
    except PgRunbookError:
        return {}
