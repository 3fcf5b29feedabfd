"""Phase 1 verdict: the seed's read-only verification, as checks (pure, no I/O).

`evaluate()` turns gathered facts, the local journal and the reconciled tracking state
into `Check`s; `VerifyReport.as_json()` is the documented `inv verify --json` shape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .config import Expectations, MigratePolicy
from .drizzle import LocalMigrations, TrackingState
from .drizzle.history import History
from .drizzle.state import ledger_gaps
from .models import Facts, Tool, restore_problem, server_major
from .names import qualified
from .outcome import Check, Status, failed
from .session_settings import PINNED_SETTINGS, WATCHED_SETTINGS, setting_differs


@dataclass(frozen=True)
class VerifyReport:
    target: dict[str, Any]  # inventory name, redacted url, database
    facts: Facts
    local: LocalMigrations
    state: TrackingState
    tools: tuple[Tool, ...]
    expectations: Expectations
    checks: tuple[Check, ...]
    history: History | None = None  # drizzle 1.0's graph of migrations (prevIds); None for a 0.45 folder

    @property
    def ok(self) -> bool:
        return not failed(self.checks)

    @property
    def scenario(self) -> str:
        """The seed's case A (tracking present) or B (absent: baseline needed)."""
        return "A" if self.state.tracking_present and self.state.rows else "B"

    def as_json(self) -> dict[str, Any]:
        f, s = self.facts, self.state
        when = {m.tag: m.when for m in self.local.entries}
        expected = self.expectations.tables
        present = {t.qualified for t in f.tables}
        return {
            "target": self.target,
            "server": asdict(f.server),
            "users": {"table": f.roles.table, "column": f.roles.column, "by_role": f.roles.by_role, "total": f.roles.total},
            "drizzle": {
                "schema_present": f.drizzle_schema,
                "tracking_table_present": s.tracking_present,
                "scenario": self.scenario,
                "rows": [asdict(r) for r in s.rows],
                "applied": [{"tag": a.tag, "id": a.row.id, "hash": a.row.hash, "created_at": a.row.created_at, "matched_by": a.matched_by} for a in s.applied],
                "pending": list(s.pending),
                "stranded": [{"tag": t, "when": when[t], "mark": s.drizzle_mark} for t in s.stranded],
                "unknown_rows": [asdict(r) for r in s.unknown_rows],
                "duplicate_rows": [asdict(r) for r in s.duplicate_rows],
                "edited_after_applied": list(s.edited),
                "line_endings_only": list(s.line_endings_only),
                "drizzle_mark": s.drizzle_mark,
                "drizzle_would_apply": list(s.drizzle_would_apply(self.local)),
                "format": self.local.format,
                "runs_next": s.drizzle,
                "ledger_version": s.ledger_version,
                "renamed": [{"folder": tag, "recorded_as": old} for tag, old in s.renamed],
                "nameless_rows": [asdict(r) for r in s.nameless_rows],
                "needs_upgrade": s.needs_upgrade,
                "upgrade": [{"id": u.row.id, "name": u.name, "matched_by": u.why} for u in s.upgrade],
                "upgrade_blocked": s.upgrade_blocked,
                "sequence": None if f.sequence is None else {**asdict(f.sequence), "behind": f.sequence.behind},
            },
            "history": None if self.history is None else self.history.as_json(),
            "local_migrations": {
                "dir": str(self.local.dir),
                "count": len(self.local.entries),
                "format": self.local.format,
                "entries": [{"idx": m.idx, "tag": m.tag, "when": m.when, "hash": m.hash} for m in self.local.entries],
                "files_not_in_journal": list(self.local.files_not_in_journal),
                "entries_without_file": list(self.local.entries_without_file),
            },
            "indexes": {
                "total": f.indexes_total,
                "prefix": self.expectations.index_prefix,
                "performance": len(f.performance_indexes),
                "performance_names": [i.name for i in f.performance_indexes],
                "invalid": [i.name for i in f.performance_indexes if not i.valid],
            },
            "tables": [asdict(t) for t in f.tables],
            "expected_tables": {
                "expected": len(expected),
                "present": sum(1 for t in expected if qualified(t) in present),
                "missing": [t for t in expected if qualified(t) not in present],
            },
            "tools": {t.name: {"path": str(t.path), "version": t.version} for t in self.tools},
            "setting_overrides": [{"name": o.name, "value": o.value, "database": o.database, "role": o.role,
                                   "applies_to_us": o.applies_to_us} for o in f.setting_overrides],
            "checks": [c.as_dict() for c in self.checks],
            "verdict": "ok" if self.ok else "failed",
        }


def evaluate(facts: Facts, local: LocalMigrations, state: TrackingState, tools: tuple[Tool, ...], exp: Expectations,
             migrate: MigratePolicy | None = None, preapplied: tuple[str, ...] = (), app_stopped: str | None = None,
             created_by_plan: frozenset[str] = frozenset()) -> tuple[Check, ...]:
    """`preapplied`: pending migrations whose named objects all exist (see `commands.verify`); `app_stopped`:
    why the app is known to be left stopped by an interrupted run (`rollback.recover.app_left_stopped`);
    `created_by_plan`: tables (`schema.table`) absent now that the migrations to apply create (a new database,
    or a pending migration adding one of the playbook's tables): expected absent, not missing."""
    bounds = () if migrate is None else (statement_bounds(migrate),)
    stopped = () if app_stopped is None else (Check("app-left-stopped", Status.FAIL, app_stopped,
                                                    "`inv rollback --full` completes the interrupted rollback and starts the app"),)
    return (
        *stopped,
        _connection(facts),
        _roles(facts, exp, created_by_plan),
        _tracking(facts, state),
        _journal(local, exp),
        _drizzle_format(local, state),
        _applied(state),
        _ledger_gaps(state, local, preapplied),
        _pending(state),
        _stranded(state, local),
        _null_mark(state),
        _sequence(facts),
        _indexes(facts, exp),
        _expected_tables(facts, exp, created_by_plan),
        _tools(facts, tools),
        _setting_overrides(facts),
        *bounds,
    )


def statement_bounds(m: MigratePolicy) -> Check:
    """Every migration statement is bounded unless the playbook says "0" explicitly (shared with the gate)."""
    if m.unbounded:
        return Check("statement-timeout", Status.WARN, "no limit: " + ", ".join(f"migrate.{n} = 0" for n in m.unbounded),
                     "a statement that never ends (pg_sleep, a lock held in a DO block, a runaway scan) then holds its locks "
                     "until someone ends it: set a duration (the default is 30min, 4h for CONCURRENTLY builds)")
    return Check("statement-timeout", Status.OK, f"statements bounded: {m.statement_timeout} "
                 f"({m.concurrent_statement_timeout} for CONCURRENTLY builds), idle in transaction {m.idle_in_transaction_timeout}, "
                 f"lock_timeout {m.lock_timeout}")


def _setting_overrides(f: Facts) -> Check:
    """ALTER DATABASE / ROLE ... SET of a setting that changes how SQL parses or resolves."""
    wanted = {name.lower(): value for name, value in WATCHED_SETTINGS}
    found = [o for o in f.setting_overrides if setting_differs(o.name, wanted.get(o.name.lower(), ""), o.value)]
    if not found:
        return Check("session-settings", Status.OK, "no database- or role-level override of the settings pgrunbook pins "
                     "(standard_conforming_strings, search_path, …)")
    pinned = {name.lower() for name, _ in PINNED_SETTINGS}
    listed = "; ".join(f"{o.name} = {o.value!r} ({o.scope}{'' if o.name.lower() in pinned else ', not overridable by pgrunbook'})"
                       for o in found[:8])
    return Check("session-settings", Status.WARN, f"set at database or role level: {listed}",
                 "pgrunbook's sessions pin these, but drizzle's migrator, psql and the app run with them: the same SQL can "
                 "parse or resolve otherwise there (`'a\\''; DELETE …` is one literal or two statements). "
                 "`ALTER DATABASE … RESET <setting>` / `ALTER ROLE … RESET <setting>` unless it is deliberate")


def _connection(f: Facts) -> Check:
    short = " ".join(f.server.version.split()[:2])
    return Check("connection", Status.OK, f"connected to {f.server.database} as {f.server.user}: {short}")


def _roles(f: Facts, exp: Expectations, created_by_plan: frozenset[str] = frozenset()) -> Check:
    r = f.roles
    if r.by_role is None and qualified(r.table) in created_by_plan and qualified(r.table) not in {t.qualified for t in f.tables}:
        return Check("users-by-role", Status.OK, f"{qualified(r.table)} does not exist yet: created by the plan (no rows to count)")
    if r.by_role is None:
        return Check("users-by-role", Status.FAIL, f"cannot count users by role: {r.problem}",
                     "set expectations.role_count in the playbook to the table and column holding roles")
    if r.column is None:
        return Check("users-by-role", Status.OK, f"{qualified(r.table)}: {r.total} rows (no role column)")
    # An expected role without rows is a count of 0, not a failure: a new app, or one not yet used by that role.
    counts = {**r.by_role, **{role: 0 for role in exp.roles if role not in r.by_role}}
    listed = ", ".join(f"{role} {n}" for role, n in counts.items()) or "no rows"
    return Check("users-by-role", Status.OK, f"{r.table}.{r.column}: {listed}; total {r.total}")


def _tracking(f: Facts, s: TrackingState) -> Check:
    if s.tracking_present and s.rows:
        return Check("drizzle-tracking", Status.OK, f"case A: drizzle tracking present, {len(s.rows)} rows")
    if s.tracking_present:
        return Check("drizzle-tracking", Status.WARN, "case B: drizzle's tracking table exists but is empty: a baseline is needed",
                     "drizzle would re-run every migration; `inv analyze` plans the baseline with evidence")
    detail = "schema `drizzle` exists but has no tracking table" if f.drizzle_schema else "schema `drizzle` is absent"
    return Check("drizzle-tracking", Status.WARN, f"case B: {detail}: a baseline is needed before migrating",
                 "`inv analyze` plans the baseline with evidence that its objects exist")


def _journal(local: LocalMigrations, exp: Expectations) -> Check:
    """drizzle runs what meta/_journal.json lists: an entry without its file makes it fail; a file it does not list, it ignores."""
    if local.entries_without_file:
        return Check("local-journal", Status.FAIL,
                     f"journal entries without a .sql file (drizzle fails): {', '.join(local.entries_without_file)}",
                     "regenerate the journal with drizzle-kit or restore the files")
    stray = local.files_not_in_journal
    if stray:
        summary = (f"{len(local.entries)} local migrations; {'file' if len(stray) == 1 else 'files'} not in the journal, which drizzle "
                   f"never runs (nor does pgrunbook): {', '.join(stray)}")
        why = ("if it was meant to be a migration, its changes will never reach the database: generate it with drizzle-kit so the "
               "journal lists it; if it is a leftover, delete it. expectations.files_not_in_journal: fail makes this a failure")
        return Check("local-journal", Status.FAIL if exp.files_not_in_journal == "fail" else Status.WARN, summary, why)
    return Check("local-journal", Status.OK, f"{len(local.entries)} local migrations in {local.dir}")


def _drizzle_format(local: LocalMigrations, s: TrackingState) -> Check:
    """Which drizzle the folder is for, which ledger the database has, and what drizzle 1.0 would get wrong."""
    ledgers = {None: "no ledger rows", 0: "0.45 ledger (id, hash, created_at)", 1: "1.0 ledger (+ name, applied_at)"}
    found = f"drizzle {local.format} folder, {ledgers[s.ledger_version]}"
    problems = []
    if s.renamed:
        problems.append("renamed (drizzle 1.0 would run them again): "
                        + ", ".join(f"{tag} (row: {old or 'no name'})" for tag, old in s.renamed))
    if s.nameless_rows:
        problems.append("rows without a name (drizzle 1.0 ignores them): id " + ", ".join(str(r.id) for r in s.nameless_rows))
    if s.upgrade_blocked:
        problems.append("rows drizzle 1.0's ledger upgrade cannot name (it throws): id "
                        + ", ".join(str(u.row.id) for u in s.upgrade if u.name is None))
    if problems:
        return Check("drizzle-format", Status.FAIL, f"{found}; " + "; ".join(problems),
                     "give renamed folders back their recorded names and restore missing ones before any migrate")
    if s.needs_upgrade:
        return Check("drizzle-format", Status.WARN, f"{found}: drizzle 1.0 upgrades this ledger on its next run (every row "
                     "matched: " + ", ".join(f"id {u.row.id} by {u.why}" for u in s.upgrade[:3]) + (" …)" if len(s.upgrade) > 3 else ")"),
                     "rows pgrunbook records keep the table's shape; drizzle 1.0 names them in its upgrade")
    return Check("drizzle-format", Status.OK, found)


def _applied(s: TrackingState) -> Check:
    if not s.tracking_present:
        return Check("applied-migrations", Status.INFO, "no tracking table: nothing recorded as applied")
    problems = []
    if s.unknown_rows:
        problems.append("rows matching no local file: " + ", ".join(f"id {r.id} ({r.hash[:12]}…)" for r in s.unknown_rows))
    if s.edited:
        problems.append(f"files edited after they were applied (same `when`, other hash): {', '.join(s.edited)}")
    if problems:
        return Check("applied-migrations", Status.FAIL, "; ".join(problems),
                     "the database and this checkout disagree: check out the branch that was deployed before migrating")
    note = f"; {', '.join(s.line_endings_only)} differ only in line endings (CRLF/LF)" if s.line_endings_only else ""
    dup = f"; duplicate rows: {', '.join(str(r.id) for r in s.duplicate_rows)}" if s.duplicate_rows else ""
    status = Status.WARN if note or dup else Status.OK
    return Check("applied-migrations", status, f"{len(s.applied)} applied, all matching local files{note}{dup}")


def _ledger_gaps(s: TrackingState, local: LocalMigrations, preapplied: tuple[str, ...]) -> Check:
    """drizzle's next deploy, read from the ledger: would it run something already in the schema?"""
    gaps = ledger_gaps(local, set(s.applied_tags)) if s.rows else ()
    rerun = [t for t in s.drizzle_would_apply(local) if t in gaps and t in preapplied]
    if rerun:
        return Check("ledger-consistent", Status.FAIL,
                     f"{', '.join(rerun)} {'is' if len(rerun) == 1 else 'are'} in the schema but not recorded, while a later migration is: "
                     "drizzle's next deploy would re-run it and fail"
                     + (f"; {len(gaps) - len(rerun)} other unrecorded migration(s) before it would be skipped forever" if len(gaps) > len(rerun) else ""),
                     "a partial run recorded migrations out of order: `inv rollback --full` to the backup taken before it, "
                     "then migrate without --only")
    if gaps:
        return Check("ledger-consistent", Status.WARN, f"unrecorded before a recorded migration: {', '.join(gaps[:6])}",
                     "`inv migrate` applies them (their objects do not all exist yet)")
    return Check("ledger-consistent", Status.OK, "recorded migrations form a prefix of the journal")


def _pending(s: TrackingState) -> Check:
    if not s.pending:
        return Check("pending-migrations", Status.OK, "no pending migration")
    return Check("pending-migrations", Status.INFO, f"{len(s.pending)} pending: {', '.join(s.pending)}")


def _stranded(s: TrackingState, local: LocalMigrations) -> Check:
    if not s.stranded:
        return Check("stranded-migrations", Status.OK, "no stranded migration")
    when = {m.tag: m.when for m in local.entries}
    listed = ", ".join(f"{t} (when {when[t]})" for t in s.stranded)
    return Check(
        "stranded-migrations", Status.WARN,
        f"stranded: {listed} <= max(created_at) {s.drizzle_mark}: drizzle's migrator would skip them silently, forever",
        "`inv migrate` applies them and records created_at = their journal `when`, so drizzle stays consistent",
    )


def _null_mark(s: TrackingState) -> Check:
    if s.null_created_at:
        ids = ", ".join(str(r.id) for r in s.rows if r.created_at is None)
        return Check("tracking-created-at", Status.FAIL, f"tracking rows with NULL created_at (id {ids}): drizzle sorts them first and would re-run every migration",
                     "record the journal `when` of those migrations in created_at before any drizzle migrate")
    return Check("tracking-created-at", Status.OK, "every tracking row has a created_at")


def _sequence(f: Facts) -> Check:
    seq = f.sequence
    if seq is None:
        return Check("tracking-sequence", Status.INFO, "no tracking sequence yet")
    if seq.next_value is None:
        return Check("tracking-sequence", Status.INFO, f"{seq.name}: this role may not read it (no SELECT privilege); not checked")
    if seq.behind:
        return Check("tracking-sequence", Status.FAIL,
                     f"{seq.name} would hand out id {seq.next_value} but max(id) is {seq.max_id}: the next tracking insert would collide",
                     f"after a backup: SELECT setval('{seq.name}', (SELECT max(id) FROM {seq.name.rsplit('_id_seq', 1)[0]}));")
    return Check("tracking-sequence", Status.OK, f"next id {seq.next_value} > max(id) {seq.max_id}")


def _indexes(f: Facts, exp: Expectations) -> Check:
    invalid = [i.name for i in f.performance_indexes if not i.valid]
    summary = f"{f.indexes_total} indexes in public, {len(f.performance_indexes)} `{exp.index_prefix}*`"
    if invalid:
        return Check("indexes", Status.WARN, f"{summary}; INVALID (a failed concurrent build): {', '.join(invalid)}",
                     "an invalid index is not used but slows writes; rebuild it with REINDEX INDEX CONCURRENTLY")
    return Check("indexes", Status.INFO, summary)


def _expected_tables(f: Facts, exp: Expectations, created_by_plan: frozenset[str] = frozenset()) -> Check:
    present = {t.qualified for t in f.tables}
    absent = [t for t in exp.tables if qualified(t) not in present]
    planned = [t for t in absent if qualified(t) in created_by_plan]
    missing = [t for t in absent if t not in planned]
    found = len(exp.tables) - len(absent)
    if missing:
        return Check("expected-tables", Status.FAIL, f"{found} of {len(exp.tables)} expected tables; missing: {', '.join(missing)}",
                     "the database is not in the state the runbook expects (a name without a schema is looked up in public; "
                     "write `schema.table` for another): NO-GO until explained")
    public = sum(1 for t in f.tables if t.schema == "public")
    others = len(f.tables) - public
    later = f"; {len(planned)} created by the plan: {', '.join(planned)}" if planned else ""
    return Check("expected-tables", Status.OK, f"{found} of {len(exp.tables)} expected tables present ({public} tables in public"
                 + (f", {others} in the other schemas named" if others else "") + f"){later}")


def _tools(f: Facts, tools: tuple[Tool, ...]) -> Check:
    server = server_major(f.server.version_num)
    old = [t for t in tools if t.major < server]
    listed = ", ".join(f"{t.name} {t.version}" for t in tools)
    if old:
        return Check("client-tools", Status.FAIL, f"{listed}: older than the server ({server}); pg_dump cannot dump a newer server",
                     "set tools.bin_dir to PostgreSQL client tools of version >= the server's")
    problems = [p for t in tools if t.name == "pg_restore" and (p := restore_problem(t.major, server))]
    if problems:
        return Check("client-tools", Status.FAIL, f"{listed} (server {server}): {problems[0]}",
                     f"install PostgreSQL {server}'s client tools (Debian: postgresql-client-{server}) or set tools.bin_dir to them")
    return Check("client-tools", Status.OK, f"{listed} (server {server})")
