"""Phase 4: the seed's go/no-go checklist, evaluated (pure).

Every criterion is a `Check` that states why it holds or not; one FAIL is a NO-GO (the
seed: "Si UNE SEULE de ces conditions"). The decision is recorded in the run journal with
the plan's fingerprint and the backup it relies on, and `inv migrate` acts only on a GO
whose plan is still the plan it finds under its lock.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .analyze import ExpectedState, history_check
from .drizzle.history import History
from .backup.manifest import Manifest
from .drizzle.plan import MigrationPlan
from .models import Activity, Evidence, Privileges  # Activity, Privileges: also imported from here by callers
from .outcome import Check, Status, failed
from .sqlcheck import FileAnalysis, plan_contains

if TYPE_CHECKING:  # adapters' result types: the gate only reads what they measured
    from .preflight import PreflightReport
    from .rehearse import RehearsalResult


@dataclass(frozen=True)
class GateInputs:
    database: dict[str, Any]  # name, host, port of the target
    backup: Manifest | None
    backup_max_age_minutes: int
    min_copies: int
    plan: MigrationPlan
    evidence: Evidence | None
    analyses: tuple[FileAnalysis, ...]
    privileges: Privileges
    activity: Activity
    controller: tuple[bool, str]  # (ok, reason) from the app controller's preflight
    protected: dict[str, Any]  # the counts recorded now (users by role, critical tables)
    expected: ExpectedState
    now: datetime
    needs_rollback_db: bool = True  # full rollback restores into a new database (CREATEDB)
    rehearsal: RehearsalResult | None = None  # `inv gate --rehearse`: the plan applied to the restored backup
    preflight: PreflightReport | None = None  # live-data checks: duplicates, NULLs, orphans, CHECKs (criterion data-preflight)
    statement_bounds: Check | None = None  # migrate's statement timeouts (WARN when "0": unbounded)
    live_counts: dict[str, int] | None = None  # every table's rows now, to compare with the backup's (criterion backup-current)
    max_rows_changed_since_backup: int = 1000
    restore_problem: str | None = None  # why this server's pg_restore cannot restore the backup (pg.restore_problem), if so
    restore_tools: str = ""  # "pg_restore 15.18 -> PostgreSQL 15": the pair a rollback would use
    history: History | None = None  # drizzle 1.0's graph of migrations (criterion migration-history); None: a 0.45 folder


@dataclass(frozen=True)
class GateDecision:
    go: bool
    checks: tuple[Check, ...]
    plan_fingerprint: str
    backup_id: str | None
    steps: list[list] = field(default_factory=list)  # [tag, action, hash] approved

    def as_json(self) -> dict[str, Any]:
        return {"decision": "GO" if self.go else "NO-GO", "plan_fingerprint": self.plan_fingerprint,
                "backup_id": self.backup_id, "steps": self.steps, "checks": [c.as_dict() for c in self.checks]}


def plan_fingerprint(plan: MigrationPlan) -> str:
    """What migrate compares: the same steps (tag, action, hash) in the same order (drizzle 1.0's ledger upgrade first)."""
    steps = [(s.tag, s.action, s.hash) for s in plan.steps]
    parts = [plan.scenario, plan.create_tracking, steps] + ([list(plan.upgrade_step)] if plan.upgrade_step else [])
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def plan_steps(plan: MigrationPlan) -> list[list]:
    """The steps a GO approves: [tag, action, hash]; the ledger upgrade is [ledger, "upgrade-ledger", digest of its rows]."""
    upgrade = [list(plan.upgrade_step)] if plan.upgrade_step else []
    return upgrade + [[s.tag, s.action, s.hash] for s in plan.steps]


def within_approved(plan: MigrationPlan, approved_steps: list[list]) -> bool:
    """Every step left to do was approved by the GO; steps missing since are recorded as done.

    This lets a resumed migrate (some migrations committed before a crash) continue on
    the same GO, while any new or changed migration needs a new gate.
    """
    approved = {tuple(step) for step in approved_steps}
    return all(tuple(step) in approved for step in plan_steps(plan))


def decide(inputs: GateInputs) -> GateDecision:
    checks = (
        _backup(inputs),
        _protected(inputs),
        _tracking(inputs),
        *_ledger_upgrade(inputs),
        *((history_check(inputs.history),) if inputs.history is not None else ()),
        _policy(inputs),
        _privileges(inputs),
        _rollback_ready(inputs),
        _no_other_run(inputs),
        _no_blockers(inputs),
    )
    checks += (_backup_current(inputs),) if inputs.live_counts is not None and inputs.backup is not None else ()
    checks += rehearsal_checks(inputs)
    checks += tuple(c for c in (inputs.preflight.as_check() if inputs.preflight else None, inputs.statement_bounds) if c)
    return GateDecision(not failed(checks), checks, plan_fingerprint(inputs.plan), inputs.backup.id if inputs.backup else None,
                        plan_steps(inputs.plan))


def _backup(i: GateInputs) -> Check:
    b = i.backup
    if b is None:
        return Check("backup", Status.FAIL, "no backup of this database", "run `inv backup` first (the seed: Backup OBLIGATOIRE)")
    age = b.age_seconds(i.now) / 60
    problems = []
    if b.database.get("name") != i.database["name"] or b.database.get("host") != i.database["host"] or b.database.get("port") != i.database["port"]:
        problems.append(f"it is of {b.database.get('name')}@{b.database.get('host')}:{b.database.get('port')}, not of this database")
    if not b.ok:
        problems.append("its status is failed: " + "; ".join(b.problems))
    if age > i.backup_max_age_minutes:
        problems.append(f"it is {age:.0f} min old (limit {i.backup_max_age_minutes} min, playbook backup.max_age_minutes)")
    if b.verified_copies < i.min_copies:
        problems.append(f"{b.verified_copies} verified copies, {i.min_copies} required")
    if problems:
        return Check("backup", Status.FAIL, f"backup {b.id}: " + "; ".join(problems), "run `inv backup` again")
    return Check("backup", Status.OK, f"{b.id}: {age:.0f} min old, {b.verified_copies} verified copies (≥ {i.min_copies}), integrity ok")


def _protected(i: GateInputs) -> Check:
    roles = i.protected.get("users_by_role") or {}
    if roles.get("by_role") is None:
        return Check("protected-counts", Status.FAIL, "users by role cannot be counted", "fix expectations.role_count in the playbook")
    counts = ", ".join(f"{r} {n}" for r, n in roles["by_role"].items())
    return Check("protected-counts", Status.OK, f"recorded now: {counts}, total {roles['total']}; "
                 + ", ".join(f"{t} {n}" for t, n in i.protected.get("tables", {}).items()))


def _tracking(i: GateInputs) -> Check:
    if i.plan.scenario == "A":
        return Check("drizzle-tracking", Status.OK, "case A: drizzle tracking present")
    if i.evidence is None:
        return Check("drizzle-tracking", Status.OK, f"scenario {i.plan.scenario}: no baseline needed")
    if not i.evidence.ok:
        return Check("drizzle-tracking", Status.FAIL, f"baseline refused: {len(i.evidence.missing)} object(s) missing "
                     f"({', '.join(str(o) for o in i.evidence.missing[:5])})", "run `inv analyze` for the list")
    return Check("drizzle-tracking", Status.OK, f"case B: baseline of {len(i.plan.baseline)} migration(s) with evidence "
                 f"({len(i.evidence.checked)} objects present)")


def _ledger_upgrade(i: GateInputs) -> tuple[Check, ...]:
    """drizzle 1.0's ledger upgrade, a step of the plan: the ledger's own change (not a migration, not linted as user data).

    Every row is named by drizzle 1.0's own rule (a row matching nothing was refused by the plan itself);
    the GO approves these very names (`plan_steps`): a row changed since makes migrate refuse.
    """
    p = i.plan
    if not p.upgrade:
        return ()
    by = {}
    for m in p.upgrade:
        by[m.why] = by.get(m.why, 0) + 1
    how = ", ".join(f"{n} by {why}" for why, n in by.items())
    return (Check("ledger-upgrade", Status.OK, f"{p.ledger} gets drizzle 1.0's columns (name, applied_at) and its {len(p.upgrade)} "
                  f"row(s) their names ({how}), in one transaction before any migration, after the backup; "
                  "`inv analyze` shows each UPDATE"),)


def _policy(i: GateInputs) -> Check:
    blocking = [(a.file, f) for a in i.analyses for f in a.blocking]
    if blocking:
        listed = "; ".join(f"{file}:{f.line} [{f.rule_id}]" for file, f in blocking[:6])
        return Check("migrations-allowed", Status.FAIL, f"not allowed by policy: {listed}", "run `inv analyze` for the details and remedies")
    # Say what the plan contains (issue 12 item 5), never a fixed "no DROP...": allowed ones and exceptions included.
    contains = plan_contains(i.analyses)
    what = ("runs " + ", ".join(f"{verb} ×{n}" for verb, n in contains)) if contains else "no DROP, DELETE, TRUNCATE, UPDATE or seeding"
    exceptions = [f for a in i.analyses for f in a.exceptions]
    if exceptions:
        playbook = sum(1 for f in exceptions if "(playbook exception" in (f.excepted or ""))
        ids = ", ".join(sorted({f.rule_id for f in exceptions}))
        what += f"; {len(exceptions)} reviewed exception(s) ({playbook} from the playbook, {len(exceptions) - playbook} in the SQL): {ids}"
    stale = getattr(i.analyses, "stale_exceptions", ())
    if stale:
        return Check("migrations-allowed", Status.WARN, f"{len(i.analyses)} migration(s) to apply, all allowed: {what}; "
                     + "; ".join(stale), "remove or fix the playbook exceptions that match nothing")
    return Check("migrations-allowed", Status.OK, f"{len(i.analyses)} migration(s) to apply, all allowed: {what}")


def _privileges(i: GateInputs) -> Check:
    p = i.privileges
    missing = []
    if not p.superuser:
        if i.plan.create_tracking and not p.create_on_database:
            missing.append("CREATE on the database (for schema drizzle)")
        if i.expected.tables and not p.create_on_public:
            missing.append("CREATE on schema public")
        if p.unowned_tables:
            missing.append(f"ownership of {', '.join(p.unowned_tables)} (CREATE INDEX needs it)")
        if i.needs_rollback_db and not p.createdb:
            missing.append("CREATEDB (a full rollback restores beside, into a new database; without it, set "
                           "`rollback.strategy: in-place` in the playbook: a safety dump, then an in-place restore)")
    if missing:
        return Check("privileges", Status.FAIL, f"{p.user} lacks: " + "; ".join(missing), "grant them, or run as the owner / a superuser")
    return Check("privileges", Status.OK, f"{p.user}: " + ("superuser" if p.superuser else "owner of the tables to index, CREATE and CREATEDB"))


def _backup_current(i: GateInputs) -> Check:
    """The data-loss window, stated: what a full rollback to this backup would discard, table by table."""
    backup_counts = i.backup.counts.get("tables", {})
    changed = {t: i.live_counts.get(t, 0) - n for t, n in backup_counts.items() if i.live_counts.get(t, 0) != n}
    changed |= {t: n for t, n in i.live_counts.items() if t not in backup_counts and n}
    total = sum(abs(n) for n in changed.values())
    listed = ", ".join(f"{t} {n:+d}" for t, n in sorted(changed.items(), key=lambda kv: -abs(kv[1]))[:6])
    if total > i.max_rows_changed_since_backup:
        return Check("backup-current", Status.FAIL, f"{total} rows changed since backup {i.backup.id} ({listed}): a rollback would "
                     f"discard them (limit {i.max_rows_changed_since_backup}, playbook gate.max_rows_changed_since_backup)",
                     "take a new backup (`inv backup`), then run the gate again")
    if total:
        return Check("backup-current", Status.WARN, f"{total} rows changed since backup {i.backup.id} ({listed}): a rollback would "
                     "discard them (kept in the replaced database)")
    return Check("backup-current", Status.OK, f"every table's rows equal backup {i.backup.id}'s ({len(backup_counts)} tables)")


def _rollback_ready(i: GateInputs) -> Check:
    ok, reason = i.controller
    restorable = i.backup is not None and i.backup.ok
    if not restorable:
        return Check("rollback-ready", Status.FAIL, "no restorable backup for a rollback", "run `inv backup`")
    proven = i.backup.restore_verification is not None and i.backup.restore_verification.ok
    if i.restore_problem and not proven:
        return Check("rollback-ready", Status.FAIL, f"backup {i.backup.id} cannot be restored on this server: {i.restore_problem}",
                     "install the server's own client tools or set tools.bin_dir to them, then `inv backup` again")
    if not ok:
        return Check("rollback-ready", Status.FAIL, f"app controller not ready: {reason}",
                     "fix app.controller in the inventory; a rollback must be able to stop and start the app")
    how = ("its restore test passed on this server" if proven
           else f"{i.restore_tools}, a known-compatible pair" if i.restore_tools else "restorable")
    return Check("rollback-ready", Status.OK, f"backup {i.backup.id}: {how}; app controller: {reason}")


def _no_other_run(i: GateInputs) -> Check:
    if i.activity.lock_holder:
        return Check("no-other-run", Status.FAIL, f"another pgrunbook run holds the lock: {i.activity.lock_holder}", "wait for it to finish")
    return Check("no-other-run", Status.OK, "no other pgrunbook run on this database")


def _no_blockers(i: GateInputs) -> Check:
    found = i.activity.long_transactions + i.activity.lock_holders_on_targets
    if found:
        return Check("no-blockers", Status.FAIL, "sessions that would block DDL (or be blocked by it): " + "; ".join(found[:5]),
                     "wait for them to finish or end them (pg_terminate_backend) before migrating")
    return Check("no-blockers", Status.OK, "no long-open transaction and no lock holder on the tables to alter")


def rehearsal_checks(i: GateInputs) -> tuple[Check, ...]:
    """The rehearsal criterion, when one was asked for (the rehearsal itself ran before: an input)."""
    r = i.rehearsal
    if r is None:
        return ()
    if r.outcome == "skipped":
        return (Check("rehearsal", Status.INFO, f"not rehearsed: {r.reason}"),)
    if r.outcome == "refused":
        return (Check("rehearsal", Status.FAIL, f"cannot rehearse: {r.reason}", "fix that, then `inv gate --rehearse` again"),)
    if r.plan_fingerprint != plan_fingerprint(i.plan):
        return (Check("rehearsal", Status.FAIL, "the rehearsal was of another plan", "`inv gate --rehearse` again"),)
    where = f"on a copy of backup {r.backup_id}"
    if r.outcome == "failed":
        return (Check("rehearsal", Status.FAIL, f"{where}: the plan fails at {r.failed_at}: {r.reason.split(': ', 1)[-1]}",
                      "the same statement would fail in production: fix the migration (or the data), then rehearse again"),)
    if r.outcome == "drift":
        return (Check("rehearsal", Status.FAIL, f"{where}: " + "; ".join(d.summary for d in r.drift),
                      "the plan loses or changes rows the runbook protects: fix the migration (the statements are named)"),)
    longest = "; ".join(f"{s.where} held {', '.join(s.locks)} {_seconds(s.lock_seconds)}" for s in r.longest_locks(2))
    timing = f"restore {r.seconds.get('restore', 0):.1f}s, apply {r.seconds.get('apply', 0):.1f}s"
    status = Status.OK if r.dropped else Status.WARN
    left = "" if r.dropped else f"; the scratch database {r.database} was NOT dropped: drop it by hand"
    return (Check("rehearsal", status, f"{where} ({timing}): {r.reason}" + (f"; writes blocked longest by {longest}" if longest else "") + left),)


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"
