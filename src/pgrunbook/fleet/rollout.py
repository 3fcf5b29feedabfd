"""`inv fleet.migrate-prod` / `fleet.verify` / `fleet.status`: one runbook over many databases, in waves.

Each target runs the very same `runner.migrate_prod` chain (verify → backup → analyze → gate →
migrate → validate → post-backup, automatic rollback) with its own inventory, its own backup
folder and its own run journal. The fleet adds only the order and the limits:

- waves from `policy.plan_waves` (canary first), one after the other; between two waves a
  pause or a confirmation if the policy says so;
- inside a wave, threads: a target starts while fewer than `policy.max_parallel` runs are
  going on overall and fewer than its instance's `max_parallel` on its server (`policy.may_start`);
  the highest concurrency seen per instance is recorded;
- after each target, `policy.stop_reason` decides whether new targets may start (canary
  failure, failure budget, `on_failure: stop`); running targets always finish;
- the fleet journal (`fleet.journal`) records each target's start and end; `--resume FLEET_RUN`
  runs only the targets without an end: one killed mid-run has its own run resumed
  (`migrate-prod --resume`), never a second run opened, and one whose run closed before the
  fleet could record it is recorded from its run journal, not run again.

A fleet run closes when every target has ended; a stopped one stays open for `--resume`
(the operator's decision to go on: targets that ended are not run again, and the budget counts
failures from the resume on).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from ..errors import PgRunbookError, UsageError
from ..events import Emit, Event, discard
from ..journal import Journal, RollbackEnded, Validated, VerifyEnded
from ..runs import Run, list_runs
from .inventory import Fleet, Target, discover
from .journal import (FleetClosed, FleetOpened, FleetResumed, FleetRun, FleetStopped, TargetEnded, TargetStarted, WaveEnded,
                      list_fleet_runs, open_fleet_run, start_fleet_run)
from .policy import Wave, failed, may_start, stop_reason


@dataclass
class FleetOptions:
    resume: str | None = None
    yes: bool = False
    confirm: Callable[[str, str], str | None] | None = None  # (fleet name, what it touches) -> what the operator typed
    ask_wave: Callable[[Wave, str], bool] | None = None  # between_waves: confirm
    online: bool = False
    single_transaction: bool = False
    rehearse: bool | None = None
    after_migrate: Callable[[Target], Callable[[Run], None] | None] | None = None  # tests, demo: drift in some targets
    sleep: Callable[[float], None] = time.sleep
    languages: tuple[str, ...] = ("en", "fr")  # as migrate-prod: the seed's report in both


@dataclass(frozen=True)
class TargetOutcome:
    target: str
    instance: str
    wave: int
    outcome: str  # the run's: ok | warnings | rolled-back | no-go | failed | interrupted
    run: str | None = None
    seconds: float | None = None  # the whole target, as the fleet timed it
    runbook_seconds: float | None = None  # inside runner.migrate_prod
    users_before: int | None = None
    users_after: int | None = None
    backup: str | None = None
    rollback: str | None = None
    reason: str = ""
    report: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass
class FleetResult:
    fleet: FleetRun
    name: str
    waves: tuple[Wave, ...]
    targets: dict[str, TargetOutcome] = field(default_factory=dict)
    outcome: str = "ok"  # ok | failed (some targets failed within the budget) | stopped
    reason: str = ""
    seconds: float = 0.0
    max_concurrency: dict[str, int] = field(default_factory=dict)
    max_overall: int = 0

    @property
    def not_started(self) -> list[str]:
        return [name for wave in self.waves for name in wave.targets if name not in self.targets]

    def wave_totals(self) -> list[dict[str, Any]]:
        rows = []
        for wave in self.waves:
            outcomes: dict[str, int] = {}
            for name in wave.targets:
                outcome = self.targets[name].outcome if name in self.targets else "not started"
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
            seconds = [self.targets[n].seconds or 0 for n in wave.targets if n in self.targets]
            rows.append({"wave": wave.number, "canary": wave.is_canary, "targets": len(wave.targets), "outcomes": outcomes,
                         "target_seconds": round(sum(seconds), 1)})
        return rows

    def as_json(self) -> dict[str, Any]:
        return {"fleet_run": self.fleet.id, "fleet": self.name, "outcome": self.outcome, "reason": self.reason,
                "seconds": round(self.seconds, 1), "journal": str(self.fleet.journal),
                "waves": self.wave_totals(), "max_concurrency": self.max_concurrency, "max_overall": self.max_overall,
                "targets": [self.targets[n].as_json() if n in self.targets else {"target": n, "wave": wave.number, "outcome": "not started"}
                            for wave in self.waves for n in wave.targets]}


# --------------------------------------------------------------------------- scheduling


class _Limits:
    """Who runs where now, and the most seen at once (per instance and overall)."""

    def __init__(self, limits: Mapping[str, int], overall: int) -> None:
        self.limits, self.overall = dict(limits), overall
        self.running: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.peak_overall = 0

    def may_start(self, instance: str) -> bool:
        return may_start(instance, self.running, limits=self.limits, overall=self.overall)

    def started(self, instance: str) -> None:
        self.running[instance] = self.running.get(instance, 0) + 1
        self.peak[instance] = max(self.peak.get(instance, 0), self.running[instance])
        self.peak_overall = max(self.peak_overall, sum(self.running.values()))

    def ended(self, instance: str) -> None:
        self.running[instance] -= 1


def schedule(names: Sequence[str], instance_of: Callable[[str], str], limits: _Limits,
             work: Callable[[str], Any], on_done: Callable[[str, Any], bool]) -> None:
    """Run `work(name)` on threads within `limits`; `on_done` returns False to start nothing more."""
    queue = list(names)
    running: dict[Future, str] = {}
    go_on = True
    with ThreadPoolExecutor(max_workers=max(1, limits.overall), thread_name_prefix="pgrunbook-fleet") as pool:
        while True:
            if go_on:
                for name in list(queue):
                    if limits.may_start(instance_of(name)):
                        limits.started(instance_of(name))
                        running[pool.submit(work, name)] = name
                        queue.remove(name)
            if not running:
                return
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                limits.ended(instance_of(name))
                go_on = on_done(name, future.result()) and go_on


# --------------------------------------------------------------------------- migrate-prod over the fleet


def migrate_prod(fleet: Fleet, emit: Emit = discard, options: FleetOptions | None = None) -> FleetResult:
    options = options or FleetOptions()
    started = time.monotonic()
    policy = fleet.spec.policy
    if options.resume:
        run = open_fleet_run(fleet.dir, options.resume)
        journal = run.read()
        if journal.closed is not None:
            raise UsageError(f"fleet run {run.id} is closed ({journal.closed.status}): every target ended",
                             changed="nothing was changed", next_step="start a new fleet run: `inv fleet.migrate-prod` without --resume")
        opened = journal.opened
        if opened is None:
            raise UsageError(f"fleet run {run.id} has no opening record", changed="nothing was changed",
                             next_step="start a new fleet run")
        waves = _waves_from(opened)
        targets = {name: fleet.target(name) for name in opened.targets}
        _confirm(fleet, targets, options)
        run.append(FleetResumed())
        emit(Event("fleet", "step", f"resuming fleet run {run.id}: {len(journal.ended)} of {len(opened.targets)} target(s) already ended"))
    else:
        names = fleet.target_names(discover(fleet))
        if not names:
            raise UsageError(f"fleet {fleet.spec.name} has no target (no database listed or discovered)",
                             changed="nothing was changed", next_step=f"list databases or set `discover:` in {fleet.path}")
        waves = fleet.waves(names)
        targets = {name: fleet.target(name) for name in names}  # every inventory valid before anything runs
        _confirm(fleet, targets, options)
        run = start_fleet_run(fleet.dir, FleetOpened(
            name=fleet.spec.name, inventory=str(fleet.path), targets=tuple(names), waves=tuple(w.targets for w in waves),
            canary=bool(waves and waves[0].is_canary), policy=policy.model_dump()))
        emit(Event("fleet", "step", f"fleet run {run.id}: {len(names)} target(s) in {len(waves)} wave(s)"
                                    + (f", canary {', '.join(waves[0].targets)}" if waves and waves[0].is_canary else "")))
        journal = run.read()
    result = FleetResult(run, fleet.spec.name, waves)
    previous = journal.ended
    for name, end in previous.items():
        result.targets[name] = _from_record(end, targets[name].instance)
    in_flight = {name: journal.started[name][-1].ts for name in journal.in_flight}  # target -> when its last start was journaled
    outcomes_now: dict[str, str] = {}  # this pass's: the budget counts from the (re)start on
    limits = _Limits(fleet.limits(), policy.max_parallel)
    say = _serialised(emit)
    stop: str | None = None
    ran_a_wave = False
    for wave in waves:
        todo = [name for name in wave.targets if name not in result.targets]
        if not todo:
            continue
        if ran_a_wave and not _between_waves(fleet, wave, options, say):
            stop = f"the operator did not confirm wave {wave.number}"
            break
        ran_a_wave = True
        say(Event("fleet", "step", f"{'canary' if wave.is_canary else f'wave {wave.number}'}: {', '.join(todo)}"))

        def work(name: str, wave: Wave = wave) -> TargetOutcome:
            return _run_target(run, targets[name], wave, options, say, in_flight_since=in_flight.get(name))

        def on_done(name: str, outcome: TargetOutcome, wave: Wave = wave) -> bool:
            nonlocal stop
            result.targets[name] = outcome
            outcomes_now[name] = outcome.outcome
            style = "done" if not failed(outcome.outcome) else "warn"
            say(Event("fleet", style, f"{name}: {outcome.outcome} in {outcome.seconds or 0:.1f}s" + (f" ({outcome.reason})" if outcome.reason else "")))
            stop = stop or stop_reason(outcomes_now, wave, total=len(targets), budget=policy.budget, on_failure=policy.on_failure)
            return stop is None

        try:
            schedule(todo, lambda name: targets[name].instance, limits, work, on_done)
        except KeyboardInterrupt:  # the running targets finished (and journaled their end) before this arrives here
            run.append(FleetStopped(reason="interrupted (Ctrl-C): the running targets finished, no other started"))
            raise
        totals: dict[str, int] = {}
        for name in wave.targets:
            if name in result.targets:
                totals[result.targets[name].outcome] = totals.get(result.targets[name].outcome, 0) + 1
        run.append(WaveEnded(wave=wave.number, outcomes=totals))
        if stop:
            break
    result.max_concurrency, result.max_overall = dict(limits.peak), limits.peak_overall
    result.seconds = time.monotonic() - started
    if stop:
        result.outcome, result.reason = "stopped", stop
        run.append(FleetStopped(reason=stop))
        say(Event("fleet", "warn", f"stopped: {stop}; {len(result.not_started)} target(s) not started "
                                   f"(`inv fleet.migrate-prod --resume {run.id}` goes on)"))
    else:
        failures = [n for n, o in result.targets.items() if failed(o.outcome)]
        result.outcome = "failed" if failures else "ok"
        result.reason = f"{len(failures)} target(s) failed: {', '.join(sorted(failures))}" if failures else ""
        if not result.not_started:
            run.append(FleetClosed(status=result.outcome, reason=result.reason, seconds=round(result.seconds, 1)))
    return result


def _confirm(fleet: Fleet, targets: Mapping[str, Target], options: FleetOptions) -> None:
    """Once for the whole fleet: --yes, or the operator types the fleet's name (sandbox targets need neither)."""
    if options.yes or all(t.config.inventory.sandbox for t in targets.values()):
        return
    typed = options.confirm(fleet.spec.name, f"{len(targets)} database(s) on {len(fleet.spec.instances)} instance(s)") if options.confirm else None
    if typed != fleet.spec.name:
        raise UsageError(f"not confirmed: this would migrate {len(targets)} database(s) of fleet {fleet.spec.name}",
                         next_step="re-run and type the fleet's name when asked, or pass --yes")


def _between_waves(fleet: Fleet, wave: Wave, options: FleetOptions, say: Emit) -> bool:
    policy = fleet.spec.policy
    if policy.between_waves == "pause" and policy.pause_seconds:
        say(Event("fleet", "step", f"pausing {policy.pause_seconds:g}s before wave {wave.number}"))
        options.sleep(policy.pause_seconds)
    if policy.between_waves == "confirm" and not options.yes:
        return bool(options.ask_wave and options.ask_wave(wave, f"start wave {wave.number} ({len(wave.targets)} target(s))?"))
    return True


def _waves_from(opened: FleetOpened) -> tuple[Wave, ...]:
    first = 0 if opened.canary else 1
    return tuple(Wave(first + i, tuple(targets)) for i, targets in enumerate(opened.waves))


def _serialised(emit: Emit) -> Emit:
    lock = threading.Lock()

    def say(event: Event) -> None:
        if event.kind == "progress":
            return  # bars from parallel targets would interleave; the recap says how each ended
        with lock:
            emit(event)

    return say


def _run_target(run: FleetRun, target: Target, wave: Wave, options: FleetOptions, say: Emit, *,
                in_flight_since: str | None) -> TargetOutcome:
    """One target's runbook. `in_flight_since`: this target was started (at that time) by a fleet run that died before
    its end: the migrate-prod run it opened since then is resumed, or read if it closed meanwhile; none opened, or one
    closed as abandoned (nothing changed, superseded), and the runbook starts afresh."""
    from ..runner import ProdOptions
    from ..runner import migrate_prod as runbook

    started = time.monotonic()
    key = target.config.inventory.database.url.key
    resume: str | None = None
    finished: Run | None = None
    if in_flight_since is not None:  # killed mid-run: its own run, resumed or (closed meanwhile) read
        last = next((r for r in list_runs(target.backup_dir, key) if _opened_by_runbook(r, since=in_flight_since)), None)
        if last is not None and last.read().is_closed:
            finished = None if last.read().outcome == "abandoned" else last
        elif last is not None:
            resume = last.id
    run.append(TargetStarted(target=target.name, wave=wave.number, run=resume or (finished.id if finished else None)))
    before = {r.id for r in list_runs(target.backup_dir, key)}
    reason, runbook_seconds = "", None
    if finished is None:
        def emit(event: Event) -> None:
            say(Event(event.phase, event.kind, f"[{target.name}] {event.message}", event.data))

        hook = options.after_migrate(target) if options.after_migrate else None
        prod = ProdOptions(resume=resume, yes=True, online=options.online, single_transaction=options.single_transaction,
                           rehearse=options.rehearse, after_migrate=hook, languages=options.languages)
        t0 = time.monotonic()
        try:
            result = runbook(target.config, emit, prod)
            reason = result.reason
        except PgRunbookError as exc:
            reason = exc.what
        except Exception as exc:  # noqa: BLE001 - one target's bug must not take the fleet down: it fails, named
            reason = f"internal error: {type(exc).__name__}: {exc}"
        runbook_seconds = time.monotonic() - t0
        target_run = _the_run(target, key, resume, before)
    else:
        target_run = finished
    journal = target_run.read() if target_run else Journal("", ())
    outcome = journal.outcome if target_run else "failed"
    if outcome == "in progress":
        outcome = "failed"
    if not reason and journal.closed is not None:
        reason = journal.closed.reason
    seconds = time.monotonic() - started
    summary = _summary(journal, target.config.playbook.expectations.role_count.table)
    report = target_run.dir / f"report.{options.languages[0]}.md" if target_run and options.languages else None
    summary["report"] = str(report) if report is not None and report.exists() else None
    end = TargetEnded(status=outcome, target=target.name, wave=wave.number, run=target_run.id if target_run else None,
                      seconds=round(seconds, 3), reason=reason, **summary)
    run.append(end)
    return TargetOutcome(target.name, target.instance, wave.number, outcome, end.run, seconds, runbook_seconds, reason=reason, **summary)


def _opened_by_runbook(run: Run, *, since: str) -> bool:
    opened = run.read().opened
    return opened is not None and opened.kind == "migrate-prod" and opened.ts >= since


def _the_run(target: Target, key: str, resume: str | None, before: set[str]) -> Run | None:
    runs = list_runs(target.backup_dir, key)
    if resume:
        return next((r for r in runs if r.id == resume), None)
    return next((r for r in runs if r.id not in before and r.read().opened and r.read().opened.kind == "migrate-prod"), None)


def _summary(journal: Journal, users_table: str) -> dict[str, Any]:
    """Users before (verify) and after (validate; after a rollback, the restored database's count), backup, rollback."""
    from ..names import qualified

    verified = journal.last(VerifyEnded)
    validated = journal.last(Validated)
    rolled = journal.last(RollbackEnded)
    backup = journal.backup()
    after = ((validated.after or {}).get("users_by_role") or {}).get("total") if validated else None
    if rolled is not None:
        after = ((rolled.extra.get("counts") or {}).get("after") or {}).get(qualified(users_table))
    return {"users_before": (verified.users or {}).get("total") if verified else None, "users_after": after,
            "backup": backup.id if backup else None, "rollback": f"{rolled.mode} ({rolled.status})" if rolled else None}


def _from_record(end: TargetEnded, instance: str) -> TargetOutcome:
    return TargetOutcome(end.target, instance, end.wave, end.status, end.run, end.seconds, None, end.users_before, end.users_after,
                         end.backup, end.rollback, end.reason, end.report)


# --------------------------------------------------------------------------- status


def status(fleet: Fleet, fleet_id: str | None = None) -> dict[str, Any]:
    """A fleet run (default: the newest) from its journal alone: per target, per wave, and the other runs."""
    runs = list_fleet_runs(fleet.dir)
    if fleet_id:
        chosen = open_fleet_run(fleet.dir, fleet_id)
    elif runs:
        chosen = runs[0]
    else:
        raise UsageError(f"fleet {fleet.spec.name} has no fleet run yet in {fleet.dir}", changed="nothing was changed",
                         next_step="`inv fleet.migrate-prod` starts one")
    journal = chosen.read()
    opened = journal.opened
    if opened is None:
        raise UsageError(f"fleet run {chosen.id} has no opening record", changed="nothing was changed")
    waves = _waves_from(opened)
    result = FleetResult(chosen, opened.name, waves)
    for name, end in journal.ended.items():
        result.targets[name] = _from_record(end, name.partition("/")[0])
    stopped = journal.all(FleetStopped)
    outcome = journal.outcome
    if outcome == "in progress" and stopped and stopped[-1].ts >= max((r.ts for r in journal.all(FleetResumed)), default=""):
        outcome, result.reason = "stopped", stopped[-1].reason
    elif journal.closed:
        result.reason = journal.closed.reason
    result.outcome = outcome
    result.seconds = journal.closed.seconds or 0.0 if journal.closed else 0.0
    data = result.as_json()
    in_flight = set(journal.in_flight)
    for row in data["targets"]:
        if row["target"] in in_flight:
            row["outcome"] = "in flight (resume it)"
    data["timeline"] = _timeline(journal)
    data["runs"] = [{"id": r.id, "outcome": r.read().outcome, "started": r.read().records[0].ts if r.read().records else ""}
                    for r in runs[:10]]
    return data


def _timeline(journal: Any) -> list[dict[str, Any]]:
    """Each target's span in seconds since the fleet run opened (its last start before its end), in start order."""
    from datetime import datetime

    if not journal.records or not journal.records[0].ts:
        return []
    origin = datetime.fromisoformat(journal.records[0].ts)
    ends = journal.ended
    spans = []
    for name, starts in journal.started.items():
        end = ends.get(name)
        start = [s for s in starts if end is None or s.ts <= end.ts][-1]
        spans.append({"target": name, "wave": start.wave, "outcome": end.status if end else "in flight",
                      "start": (datetime.fromisoformat(start.ts) - origin).total_seconds(),
                      "end": (datetime.fromisoformat(end.ts) - origin).total_seconds() if end else None})
    return sorted(spans, key=lambda s: s["start"])


# --------------------------------------------------------------------------- verify (read-only)


@dataclass(frozen=True)
class TargetLedger:
    target: str
    ok: bool
    applied: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()
    stranded: tuple[str, ...] = ()
    unknown_rows: int = 0
    users: int | None = None
    error: str = ""


def verify(fleet: Fleet, emit: Emit = discard) -> dict[str, Any]:
    """Phase 1 on every target (READ ONLY, within the instances' limits), then the drift between tenants."""
    from .. import commands
    from .drift import compare

    names = fleet.target_names(discover(fleet))
    targets = {name: fleet.target(name) for name in names}
    say = _serialised(emit)
    ledgers: dict[str, TargetLedger] = {}

    def work(name: str) -> TargetLedger:
        try:
            report = commands.verify(targets[name].config)
        except PgRunbookError as exc:
            return TargetLedger(name, False, error=exc.what)
        data = report.as_json()
        drizzle = data["drizzle"]
        return TargetLedger(name, report.ok, tuple(a["tag"] for a in drizzle["applied"]), tuple(drizzle["pending"]),
                            tuple(s["tag"] for s in drizzle["stranded"]), len(drizzle["unknown_rows"]), data["users"]["total"])

    def on_done(name: str, ledger: TargetLedger) -> bool:
        ledgers[name] = ledger
        say(Event("fleet", "done" if ledger.ok else "warn", f"{name}: verify {'ok' if ledger.ok else 'failed'}"
                                                            + (f" ({ledger.error})" if ledger.error else "")))
        return True

    schedule(names, lambda name: targets[name].instance, _Limits(fleet.limits(), fleet.spec.policy.max_parallel), work, on_done)
    ordered = [ledgers[name] for name in names]
    drift = compare(ordered)
    return {"fleet": fleet.spec.name, "targets": [ledger.__dict__ for ledger in ordered], **drift.as_json()}
