"""Phase 3 verdict: what is pending, is every statement allowed, what exactly would run (pure).

`AnalysisReport` gathers the plan (scenario A/B/C), the lint of each migration to apply
(our parse-tree rules merged with squawk's lock rules and our own lock-time estimates
from the live table sizes), the baseline evidence, the expected post-state that
validation checks afterwards, and the exact SQL of the dry run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .drizzle.history import History
from .drizzle.plan import MigrationPlan
from .models import Evidence, TableFacts
from .outcome import Check, Status, failed
from .units import mib, size
from .sqlcheck import FileAnalysis, Finding, ObjectState, Operation, Verdict, plan_contains

if TYPE_CHECKING:  # an adapter's result type: analyze only reads what it measured
    from .preflight import PreflightReport

# A rough heap-scan + sort rate for a plain CREATE INDEX on this machine class; the
# estimate says "roughly" and names the rate, it is not a promise.
INDEX_BUILD_MB_PER_SECOND = 60.0
LOCK_ESTIMATE_RULE = "blocking-index-build"


@dataclass(frozen=True)
class ExpectedState:
    """What validation checks after the migration: indexes (name, table), tables and columns."""

    indexes: tuple[tuple[str, str], ...]  # (schema.index, schema.table)
    tables: tuple[str, ...]
    columns: tuple[str, ...]  # schema.table.column

    @classmethod
    def from_objects(cls, state: ObjectState) -> ExpectedState:
        return cls(
            indexes=tuple((f"{o.schema}.{o.name}", f"{o.schema}.{o.table}") for o in state.indexes),
            tables=tuple(f"{o.schema}.{o.name}" for o in state.tables),
            columns=tuple(o.qualified for o in state.of_kind("column")),
        )


@dataclass(frozen=True)
class AnalysisReport:
    target: dict[str, Any]
    plan: MigrationPlan
    baseline_source: str  # "option", "playbook", "evidence" (auto-detected) or "" (not scenario B)
    analyses: tuple[FileAnalysis, ...]  # the migrations to apply, lint merged
    evidence: Evidence | None
    expected: ExpectedState
    sql: str
    checks: tuple[Check, ...]
    preflight: PreflightReport | None = None  # the live-data checks of the statements to apply
    history: History | None = None  # drizzle 1.0's graph of migrations (prevIds): diverging branches

    @property
    def ok(self) -> bool:
        return not failed(self.checks)

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "scenario": self.plan.scenario,
            "create_tracking": self.plan.create_tracking,
            "baseline": [{"tag": s.tag, "when": s.when, "hash": s.hash} for s in self.plan.baseline],
            "baseline_source": self.baseline_source,
            "apply": [{"tag": s.tag, "when": s.when, "hash": s.hash, "stranded": s.stranded, "why": s.why} for s in self.plan.apply],
            "migrations": [_analysis_json(a) for a in self.analyses],
            "evidence": None if self.evidence is None else {
                "checked": len(self.evidence.checked),
                "missing": [str(o) for o in self.evidence.missing],
                "missing_implicit": [str(o) for o in self.evidence.missing_implicit],
                "unverifiable": [str(o) for o in self.evidence.unverifiable],
            },
            "expected": {
                "indexes": [{"name": n, "table": t} for n, t in self.expected.indexes],
                "tables": list(self.expected.tables),
                "columns": list(self.expected.columns),
            },
            "ledger_upgrade": None if not self.plan.upgrade else {
                "table": self.plan.ledger, "columns": ["name", "applied_at"],
                "rows": [{"id": m.row.id, "hash": m.row.hash, "created_at": m.row.created_at, "name": m.name,
                          "matched_by": m.why, "why": m.explained} for m in self.plan.upgrade],
            },
            "sql": self.sql,
            "checks": [c.as_dict() for c in self.checks],
            "preflight": None if self.preflight is None else self.preflight.as_json(),
            "history": None if self.history is None else self.history.as_json(),
            "verdict": "allowed" if self.ok else "refused",
        }


def _analysis_json(a: FileAnalysis) -> dict[str, Any]:
    return {
        "file": a.file,
        "verdict": a.verdict.value,
        "statements": len(a.statements),
        "findings": [_finding_json(f) for f in a.findings],
        "exceptions": [_finding_json(f) for f in a.exceptions],
        "contains": dict(plan_contains((a,))),
    }


def _finding_json(f: Finding) -> dict[str, Any]:
    return {"rule": f.rule_id, "verdict": f.verdict.value, "file": f.file, "line": f.line, "statement": f.statement,
            "message": f.message, "help": f.help, "excepted": f.excepted, "objects": list(f.objects)}


# --------------------------------------------------------------------------- lock estimates


def lock_estimates(analysis: FileAnalysis, tables: tuple[TableFacts, ...], new_tables: set[str],
                   measured: dict[tuple[str, int], dict[str, Any]] | None = None) -> tuple[Finding, ...]:
    """Non-concurrent index builds on existing tables block writes for roughly size / rate (longest first).

    `measured` ((file, line) -> statement measures of a rehearsal of this very plan, from the
    run journal): those statements get the write-blocking locks and the time the rehearsal
    measured on the restored copy instead of an estimate.
    """
    by_name = {t.qualified: t for t in tables}
    findings: list[tuple[float, Finding]] = []
    for statement in analysis.statements:
        seen = (measured or {}).get((analysis.file, statement.line))
        if seen is not None:
            finding = _measured_lock(analysis, statement, seen, new_tables)
            if finding is not None:
                findings.append((seen["lock_seconds"], finding))
            continue
        for op in statement.operations:
            table = _index_table(op)
            if table is None or op.has("concurrently") or table in new_tables or table not in by_name:
                continue
            facts = by_name[table]
            mb = mib(facts.total_bytes)
            seconds = mb / INDEX_BUILD_MB_PER_SECOND
            findings.append((seconds, Finding(
                LOCK_ESTIMATE_RULE, Verdict.INFO,
                f"{op.summary} blocks writes to {table} ({max(facts.rows_estimate, 0):,} rows, {size(facts.total_bytes)}) "
                f"for roughly {_duration(seconds)} (at ~{INDEX_BUILD_MB_PER_SECOND:.0f} MiB/s)",
                "`inv migrate --online` builds it with CREATE INDEX CONCURRENTLY: no write is blocked",
                analysis.file, statement.line, statement.sql,
            )))
    return tuple(f for _, f in sorted(findings, key=lambda pair: -pair[0]))  # the longest lock first


def _measured_lock(analysis: FileAnalysis, statement: Any, seen: dict[str, Any], new_tables: set[str]) -> Finding | None:
    from .rehearse import WRITE_BLOCKING

    blocking = [lock for lock in seen["locks"] if lock.split(" on ")[0] in WRITE_BLOCKING and lock.split(" on ")[-1] not in new_tables]
    if not blocking:
        return None
    tables = ", ".join(dict.fromkeys(lock.split(" on ")[-1] for lock in blocking))
    plain_index_build = any(op.kind == "create-index" and not op.has("concurrently") for op in statement.operations)
    return Finding(
        LOCK_ESTIMATE_RULE, Verdict.INFO,
        f"blocks writes to {tables} for {_measured(seen['lock_seconds'])} — measured by the rehearsal on a restored copy "
        f"({', '.join(blocking)}; the statement itself {_measured(seen['seconds'])})",
        "`inv migrate --online` builds it with CREATE INDEX CONCURRENTLY: no write is blocked" if plain_index_build
        else "run it when writes can wait (the lock is held until its migration's transaction commits)",
        analysis.file, statement.line, statement.sql,
    )


def _measured(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else _duration(seconds) if seconds >= 120 else f"{seconds:.1f} s"


def _index_table(op: Operation) -> str | None:
    if op.kind != "create-index" or op.target is None or op.target.table is None:
        return None
    return f"{op.target.schema}.{op.target.table}"


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "under a second"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


# --------------------------------------------------------------------------- checks


def evaluate(plan: MigrationPlan, analyses: tuple[FileAnalysis, ...], evidence: Evidence | None, baseline_source: str,
             preflight: PreflightReport | None = None, history: History | None = None) -> tuple[Check, ...]:
    checks = [_plan_check(plan, baseline_source)]
    if history is not None:
        checks.append(history_check(history))
    if plan.upgrade:
        checks.append(upgrade_check(plan))
    if preflight is not None:
        checks.append(preflight.as_check())
    if evidence is not None:
        checks.append(_evidence_check(evidence))
    for analysis in analyses:
        checks.append(_lint_check(analysis))
    stale = getattr(analyses, "stale_exceptions", ())  # a PlanLint (planning.lint_plan) carries them
    if stale:
        checks.append(Check("exceptions", Status.WARN, "; ".join(stale),
                            "remove or fix the playbook exceptions that match nothing (a stale exception hides intent)"))
    stranded = [s.tag for s in plan.apply if s.stranded]
    if stranded:
        checks.append(Check("stranded-planned", Status.WARN, f"stranded, planned anyway: {', '.join(stranded)}",
                            "drizzle's migrator would skip them (their `when` is below max(created_at)); "
                            "we apply them and record created_at = their `when`, which keeps drizzle consistent"))
    return tuple(checks)


def _plan_check(plan: MigrationPlan, baseline_source: str) -> Check:
    if plan.empty:
        return Check("plan", Status.OK, "nothing to do: every journal entry is recorded as applied")
    parts = []
    if plan.baseline:
        source = {"evidence": "auto-detected from the evidence", "playbook": "from the playbook", "option": "from --baseline-until"}.get(baseline_source, "")
        parts.append(f"baseline {plan.baseline[0].tag}..{plan.baseline[-1].tag} ({len(plan.baseline)}, {source})")
    elif plan.scenario == "B" and baseline_source == "new database":
        parts.append("a new database: nothing to baseline, every migration applied from the first")
    if plan.upgrade:
        parts.append(f"upgrade the ledger to drizzle 1.0's shape ({len(plan.upgrade)} row(s) named)")
    if plan.apply:
        parts.append(f"apply {', '.join(s.tag for s in plan.apply)}")
    return Check("plan", Status.INFO, f"scenario {plan.scenario}: " + "; ".join(parts))


def history_check(history: History) -> Check:
    """drizzle 1.0's history graph: migrations generated on diverging branches refuse the plan (analyze and the gate).

    A NO-GO, not a review: each case means the database would end in a schema no snapshot describes
    (two branches' SQL, each written without the other's, or a child run before its parent), which
    drizzle-kit's own CLI refuses and its migrator does not check. The fix is cheap and in the repository.
    """
    unchecked = f"; {len(history.unchecked)} folder(s) without a snapshot not checked ({', '.join(history.unchecked[:3])})" \
        if history.unchecked else ""
    if history.issues:
        return Check("migration-history", Status.FAIL, "generated on diverging branches: " + "; ".join(i.message for i in history.issues)
                     + unchecked, "merge the branches in the repository: `drizzle-kit generate` (1.0) on the merged code writes "
                     "a merge migration (prevIds: both heads) or reports the conflict; restore a missing folder from git")
    status = Status.WARN if history.unchecked else Status.OK
    return Check("migration-history", status, f"one line of history: {history.checked} snapshot(s), head "
                 f"{history.heads[0] if history.heads else '-'}{unchecked}")


def upgrade_check(plan: MigrationPlan) -> Check:
    """drizzle 1.0's ledger upgrade, planned: every old row, the name it gets and why (the UPDATEs are in the plan's SQL)."""
    rows = "; ".join(f"id {m.row.id} -> {m.name} ({m.explained})" for m in plan.upgrade)
    return Check("ledger-upgrade", Status.INFO, f"{plan.ledger} is drizzle 0.45's ledger and drizzle 1.0 runs next: first "
                 f"ADD COLUMN name, applied_at, then {len(plan.upgrade)} row(s) named: {rows}",
                 "the ledger's own change, done by pgrunbook's recorder in one transaction after the backup; "
                 "a row matching no folder would have been refused")


def _evidence_check(evidence: Evidence) -> Check:
    if evidence.missing:
        listed = ", ".join(str(o) for o in evidence.missing[:12]) + (" …" if len(evidence.missing) > 12 else "")
        return Check("baseline-evidence", Status.FAIL, f"{len(evidence.missing)} object(s) the baselined migrations create are missing: {listed}",
                     "the existing schema is not what those migrations produce: baseline an earlier migration (--baseline-until) or fix the schema")
    extra = []
    if evidence.missing_implicit:
        extra.append(f"{len(evidence.missing_implicit)} PostgreSQL-named object(s) not found under the expected name")
    if evidence.unverifiable:
        extra.append(f"{len(evidence.unverifiable)} object(s) of kinds we cannot look up")
    status = Status.WARN if extra else Status.OK
    return Check("baseline-evidence", status, f"{len(evidence.checked)} objects checked, all present" + (f"; {'; '.join(extra)}" if extra else ""))


def _lint_check(analysis: FileAnalysis) -> Check:
    blocking = analysis.blocking
    if not blocking:
        excepted = f"; {len(analysis.exceptions)} reviewed exception(s)" if analysis.exceptions else ""
        return Check(f"lint:{analysis.file}", Status.OK, f"allowed ({len(analysis.statements)} statements){excepted}")
    worst = analysis.verdict.value
    listed = "; ".join(f"line {f.line} [{f.rule_id}] {f.message}" for f in blocking[:6])
    more = f" (+{len(blocking) - 6} more)" if len(blocking) > 6 else ""
    return Check(f"lint:{analysis.file}", Status.FAIL, f"{worst}: {listed}{more}", blocking[0].help)
