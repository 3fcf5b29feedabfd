"""The recap of a run, as Ansible's PLAY RECAP: read at a glance at the end of every run.

`build(journal)` turns a run journal into one `PhaseLine` per phase (its verdict, its duration
and the one figure that matters for it), then the run's verdict. It reads the journal only
(the same records the report reads), so the recap of `inv demo`, of `inv migrate-prod` and of
a phase run alone agree with `inv runs` and `inv report`. Pure: the caller (`console`) adds
the next step and the paths, and renders it.

    verify       ok     0.1s  users 68 (fbo 60, manager 8)
    backup       ok     0.1s  52.4 KiB, 2/2 copies verified
    …
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .journal import (
    AnalyzeEnded,
    BackupEnded,
    GateDecided,
    Journal,
    MigrationEnded,
    MigrationStarted,
    MigrationStopped,
    PhaseStarted,
    Record,
    RollbackDecided,
    RollbackEnded,
    RollbackStarted,
    RollbackStopped,
    Validated,
    VerifyEnded,
)
from .units import size

# The runbook's phases in their order (runner.PHASES without the demo's `break`), then rollback.
ORDER = ("verify", "backup", "analyze", "gate", "migrate", "validate", "post-backup", "rollback")


@dataclass(frozen=True)
class PhaseLine:
    phase: str
    verdict: str  # ok | GO | NO-GO | failed | warnings | skipped | not run | done | declined | …
    seconds: float | None
    figure: str

    @property
    def good(self) -> bool | None:
        """True green, False red, None neutral (not run, skipped)."""
        if self.verdict in ("ok", "GO", "done", "not needed"):
            return True
        if self.verdict in ("not run", "skipped", "–"):
            return None
        return False


@dataclass(frozen=True)
class Recap:
    run_id: str
    target: str
    kind: str
    outcome: str  # the journal's: ok, warnings, rolled-back, no-go, failed, interrupted, in progress
    reason: str
    seconds: float | None
    phases: tuple[PhaseLine, ...]
    next_step: str = ""
    reports: dict[str, str] = field(default_factory=dict)
    look: tuple[str, ...] = ()  # the commands to look at what the run did

    def as_json(self) -> dict[str, Any]:
        return {"run": self.run_id, "target": self.target, "kind": self.kind, "outcome": self.outcome, "reason": self.reason,
                "seconds": None if self.seconds is None else round(self.seconds, 1),
                "phases": [{"phase": p.phase, "verdict": p.verdict, "seconds": None if p.seconds is None else round(p.seconds, 2),
                            "figure": p.figure} for p in self.phases],
                "next": self.next_step, "reports": self.reports, "look": list(self.look)}


def build(journal: Journal, *, next_step: str = "", reports: dict[str, str] | None = None, look: tuple[str, ...] = (),
          full_chain: bool | None = None) -> Recap:
    """The recap of `journal`. `full_chain` lists every runbook phase, those never reached as
    `not run` (default: when the run is a migrate-prod); else only the phases the run reached."""
    opened = journal.opened
    kind = opened.kind if opened else ""
    chain = kind == "migrate-prod" if full_chain is None else full_chain
    lines = []
    for phase in ORDER:
        line = _phase(journal, phase)
        if line is None:
            if chain and phase != "rollback":
                line = PhaseLine(phase, "not run", None, "")
            elif chain and phase == "rollback" and journal.migration_start is not None:
                line = PhaseLine(phase, "not needed", None, "")
            else:
                continue
        lines.append(line)
    reason = journal.closed.reason if journal.closed else ""
    return Recap(journal.run_id, journal.target, kind, journal.outcome, reason, journal.duration_seconds(), tuple(lines),
                 next_step, dict(reports or {}), look)


# --------------------------------------------------------------------------- each phase


def _phase(journal: Journal, phase: str) -> PhaseLine | None:
    if phase == "rollback":
        return _rollback(journal)
    end = _end(journal, phase)
    started = journal.last(PhaseStarted, phase=phase) or (journal.last(MigrationStarted) if phase == "migrate" else None)
    if end is None:
        if started is None:
            return None
        failed = _failure_after(journal, started)
        return PhaseLine(phase, "failed" if failed else "interrupted", None, failed or "stopped before it ended")
    seconds = _between(started, end)
    verdict = {"go": "GO", "no-go": "NO-GO"}.get(end.status, end.status or "done")
    return PhaseLine(phase, verdict, seconds, _figure(journal, phase, end))


def _end(journal: Journal, phase: str) -> Record | None:
    kinds: dict[str, type[Record]] = {"verify": VerifyEnded, "backup": BackupEnded, "post-backup": BackupEnded,
                                      "analyze": AnalyzeEnded, "gate": GateDecided, "validate": Validated}
    if phase == "migrate":
        end, stop = journal.last(MigrationEnded), journal.last(MigrationStopped)
        return stop if stop is not None and journal.index(stop) > journal.index(end) else end
    return journal.last(kinds[phase], phase=phase)


def _between(start: Record | None, end: Record) -> float | None:
    if start is None or start.when is None or end.when is None or start.when > end.when:
        return None
    return (end.when - start.when).total_seconds()


def _failure_after(journal: Journal, started: Record) -> str:
    from .journal import RunFailed

    failure = journal.last(RunFailed)
    if failure is not None and journal.index(failure) > journal.index(started):
        return _short(failure.error or failure.status, 90)
    return ""


def _figure(journal: Journal, phase: str, end: Record) -> str:
    if isinstance(end, VerifyEnded):
        return _users(end.users)
    if isinstance(end, BackupEnded):
        verified = sum(1 for c in end.copies if c.get("verified"))
        text = f"{size(end.size)}, {verified}/{len(end.copies)} copies verified"
        return text + (f"; {_short(end.problems[0], 60)}" if end.problems else "")
    if isinstance(end, AnalyzeEnded):
        baseline, apply = len(end.baseline or ()), len(end.apply or ())
        return f"scenario {end.scenario or '?'}: {apply} to apply" + (f", {baseline} to baseline" if baseline else "")
    if isinstance(end, GateDecided):
        if end.go:
            return f"{len(end.checks)} criteria hold" + (f"; backup {end.backup_id}" if end.backup_id else "")
        failed = [c.get("id", "?") for c in end.checks if c.get("status") == "fail"]
        return "failed: " + ", ".join(failed)
    if isinstance(end, MigrationStopped):
        committed = ", ".join(end.committed) or "nothing"
        return f"stopped: {_short(end.error, 70)}; committed before: {committed}"
    if isinstance(end, MigrationEnded):
        if end.nothing_to_do:
            return "nothing to do"
        parts = [f"{len(end.created_indexes)} indexes created", f"{len(end.applied)} applied"]
        if end.baseline:
            parts.append(f"{len(end.baseline)} baselined")
        if end.dropped_invalid:
            parts.append(f"{len(end.dropped_invalid)} INVALID dropped")
        return ", ".join(parts)
    if isinstance(end, Validated):
        return _validated(journal, end)
    return ""


def _users(users: Any) -> str:
    if not users or users.get("total") is None:
        return ""
    roles = users.get("by_role") or {}
    return f"users {users['total']}" + (" (" + ", ".join(f"{k} {v}" for k, v in roles.items()) + ")" if roles else "")


def _validated(journal: Journal, end: Validated) -> str:
    start = journal.migration_start
    parts = []
    before = _total(start.before.get("users_by_role")) if isinstance(start, MigrationStarted) else None
    after = _total(end.after.get("users_by_role"))
    if after is not None:
        parts.append(f"users {before if before is not None else '?'} → {after}")
    api_before = _p95(start.api_before if isinstance(start, MigrationStarted) else None)
    api_after = _p95(end.api_after)
    if api_after is not None:
        p95_after, budget = api_after
        shown_before = f"{api_before[0]:.1f}" if api_before is not None else "?"
        parts.append(f"API p95 {shown_before} → {p95_after:.1f} ms (budget {budget:.0f})")
    failed = [c.get("id", "?") for c in end.checks if c.get("status") == "fail"]
    if failed:
        parts.append("failed: " + ", ".join(failed))
    return "; ".join(parts)


def _total(users: Any) -> int | None:
    return users.get("total") if isinstance(users, dict) else None


def _p95(api: Any) -> tuple[float, float] | None:
    """The worst endpoint's p95 and its budget."""
    if not api:
        return None
    measured = [(e.get("p95_ms"), e.get("budget_ms") or 0.0) for e in api.get("endpoints", []) if e.get("p95_ms") is not None]
    return max(measured) if measured else None


def _rollback(journal: Journal) -> PhaseLine | None:
    decided = journal.last(RollbackDecided)
    ended = journal.last(RollbackEnded)
    stopped = journal.last(RollbackStopped)
    if decided is None and ended is None and stopped is None:
        return None
    if stopped is not None and journal.index(stopped) > journal.index(ended):
        return PhaseLine("rollback", "failed", None, _short(stopped.error, 90))
    if ended is not None:
        started = journal.last(RollbackStarted) or decided
        kept = f"; replaced database kept as {ended.kept_db}" if ended.kept_db else ""
        state = {"indexes-only": "this run's indexes and tracking rows removed"}.get(ended.mode, "the backup restored")
        return PhaseLine("rollback", ended.status or "done", _between(started, ended), f"{ended.mode}: {state}{kept}")
    if decided is not None and decided.status == "declined":
        return PhaseLine("rollback", "declined", None, f"policy {decided.policy}: {_short(decided.why, 70)}")
    return PhaseLine("rollback", "interrupted", None, _short(decided.why, 90) if decided else "")


def _short(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
