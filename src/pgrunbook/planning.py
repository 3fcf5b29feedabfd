"""Observing the database and planning the migration: shared by analyze, gate and migrate.

`observe_and_plan()` reads (in the caller's READ ONLY transaction, or under migrate's
lock) the facts, the tracking rows and, in scenario B, the evidence for the baseline, then
makes the plan. Migrate calls it again under its advisory lock: it re-plans from the
tracking table as it is now, so a resumed or repeated run never applies twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .drizzle import LocalMigrations, TrackingState, load_migrations, reconcile
from .drizzle.history import History, history_of
from .drizzle.plan import MigrationPlan, make_plan
from .errors import CheckFailed
from .evidence import Evidence, check_objects
from .facts import Facts, gather
from .catalog import read_code_catalog
from .sqlcheck import (
    CodeCatalog,
    FileAnalysis,
    PinnedFile,
    PlanLint,
    Policy,
    ReviewedException,
    analyze_files,
    apply_exceptions,
    objects_after,
    parse_exceptions,
)

if TYPE_CHECKING:
    import psycopg

    from .config import Config


@dataclass(frozen=True)
class Observed:
    local: LocalMigrations
    facts: Facts
    state: TrackingState
    plan: MigrationPlan
    baseline_source: str  # "option" | "playbook" | "evidence" | "new database" | ""
    evidence: Evidence | None
    analyses: tuple[FileAnalysis, ...]  # every journal entry, in order (one sequence)
    catalog: CodeCatalog | None = None  # the code already in the database (functions, triggers, rules...)
    # Tables a pending CREATE TABLE IF NOT EXISTS names that the database lacks: new and empty, as without IF NOT EXISTS.
    absent_tables: frozenset[tuple[str, str]] = frozenset()
    # The live types (text / varchar / varchar(n)) of the columns a pending ALTER COLUMN TYPE changes.
    column_types: tuple[tuple[tuple[str, str, str], str], ...] = ()
    history: History | None = None  # drizzle 1.0's graph (prevIds) against the ledger; None for a 0.45 folder


def observe_and_plan(conn: psycopg.Connection, cfg: Config, *, baseline_until: str | None = None, only: str | None = None) -> Observed:
    inv, pb = cfg.inventory, cfg.playbook
    local = load_migrations(inv.migrations.dir, inv.migrations.drizzle)
    _refuse_entries_without_file(local)
    policy = lint_policy(cfg)
    catalog = read_code_catalog(conn)  # what pending migrations may run without containing it
    journal = tuple((m.hash, m.when) for m in local.entries)
    # Every entry, as one sequence (baseline evidence, expected state); a file already applied that
    # our parser rejects must not block the others (PostgreSQL ran it): kept with its error.
    analyses = analyze_files([(m.filename, m.text) for m in local.entries], policy, catalog=catalog, journal=journal,
                             strict=False)
    facts = gather(conn, pb.expectations, inv.migrations)
    state = reconcile(local, None if facts.tracking_rows is None else list(facts.tracking_rows))
    source = ""
    if not (state.tracking_present and state.rows) and not only:
        baseline_until, source = _baseline_choice(conn, local, analyses, baseline_until, pb.migrate.baseline_until)
    plan = make_plan(local, state, baseline_until=baseline_until, only=only, fresh=source == "new database",
                     tracking_schema=inv.migrations.tracking_schema, tracking_table=inv.migrations.tracking_table)
    _refuse_invalid_utf8(local, plan)
    _refuse_unparsed(local, analyses, plan)
    evidence = None
    if plan.baseline:
        tags = {s.tag for s in plan.baseline}
        evidence = check_objects(conn, objects_after(a for m, a in zip(local.entries, analyses) if m.tag in tags).present)
    pending = [a for m, a in zip(local.entries, analyses) if m.tag in {s.tag for s in plan.apply}]
    return Observed(local, facts, state, plan, source, evidence, analyses, catalog, absent_tables(conn, pending),
                    column_types(conn, pending), history_of(local, state.applied_tags))


def _refuse_entries_without_file(local: LocalMigrations) -> None:
    """drizzle's migrator fails on a journal entry whose file is missing: so does every phase that plans."""
    if local.entries_without_file:
        from .errors import ConfigError

        raise ConfigError(f"journal entries without a .sql file: {', '.join(local.entries_without_file)} (drizzle's migrator "
                          f"fails on them)", source=f"{local.dir}/meta/_journal.json",
                          next_step="restore the missing files from version control, or remove their entries; `inv verify` lists them")


def _refuse_invalid_utf8(local: LocalMigrations, plan: MigrationPlan) -> None:
    """A pending file that is not UTF-8 would run as drizzle decodes it (U+FFFD), not as written."""
    from .errors import SqlParseError

    for step in plan.apply:
        migration = local.by_tag(step.tag)
        if migration.invalid_utf8:
            line, column = migration.invalid_utf8
            raise SqlParseError("not valid UTF-8 text: drizzle would run it with the bytes replaced by U+FFFD",
                                file=str(migration.path), line=line, column=column)


def absent_tables(conn: psycopg.Connection, analyses: list[FileAnalysis]) -> frozenset[tuple[str, str]]:
    """The tables the analyses create with IF NOT EXISTS that do not exist in the database now (one query)."""
    wanted = sorted({(op.target.schema, op.target.name) for a in analyses for op in a.operations
                     if op.kind == "create-table" and op.has("if_not_exists") and op.target is not None and op.executed})
    if not wanted:
        return frozenset()
    rows = conn.execute("SELECT s, t FROM unnest(%s::text[], %s::text[]) AS w(s, t) "
                        "WHERE to_regclass(format('%%I.%%I', s, t)) IS NULL",
                        ([s for s, _ in wanted], [t for _, t in wanted])).fetchall()
    return frozenset((s, t) for s, t in rows)


def column_types(conn: psycopg.Connection, analyses: list[FileAnalysis]) -> tuple[tuple[tuple[str, str, str], str], ...]:
    """The live string types of the columns the analyses change with ALTER COLUMN TYPE (one query)."""
    from .sqlcheck.ddl import catalog_type

    wanted = sorted({(op.target.schema, op.target.table, op.target.name) for a in analyses for op in a.operations
                     if op.kind == "alter-column-type" and op.target is not None and op.target.table})
    if not wanted:
        return ()
    rows = conn.execute(
        "SELECT w.s, w.t, w.c, format_type(a.atttypid, a.atttypmod) FROM unnest(%s::text[], %s::text[], %s::text[]) AS w(s, t, c) "
        "JOIN pg_namespace n ON n.nspname = w.s JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.t "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = w.c AND a.attnum > 0 AND NOT a.attisdropped",
        ([s for s, _, _ in wanted], [t for _, t, _ in wanted], [c for _, _, c in wanted])).fetchall()
    return tuple(sorted(((s, t, c), kind) for s, t, c, formatted in rows if (kind := catalog_type(formatted)) is not None))


def _refuse_unparsed(local: LocalMigrations, analyses: tuple[FileAnalysis, ...], plan: MigrationPlan) -> None:
    """A file the plan applies or baselines must parse: its statements are checked, or its objects are the evidence."""
    planned = {s.tag for s in (*plan.baseline, *plan.apply)}
    for migration, analysis in zip(local.entries, analyses):
        if migration.tag in planned and analysis.parse_error is not None:
            raise analysis.parse_error


def lint_policy(cfg: Config) -> Policy:
    """The playbook's policy, knowing the inventory's tracking table as pgrunbook's ledger too."""
    migrations = cfg.inventory.migrations
    return Policy.from_dict(cfg.playbook.policy).with_tracking_table(migrations.tracking_schema, migrations.tracking_table)


def _baseline_choice(conn, local, analyses, option: str | None, playbook: str | None) -> tuple[str | None, str]:
    if option:
        return option, "option"
    if playbook:
        return playbook, "playbook"
    detected = detect_baseline(conn, local, analyses)
    if detected is None:
        if is_new_database(conn, analyses):
            return None, "new database"  # a plan too: apply everything from the first migration
        raise CheckFailed(
            "no drizzle tracking rows, and some but not all of the first migration's objects exist: neither a baseline nor a "
            "new database",
            next_step="check that migrations.dir is this database's app, or name the baseline with --baseline-until TAG",
        )
    return detected, "evidence"


def is_new_database(conn: psycopg.Connection, analyses: tuple[FileAnalysis, ...]) -> bool:
    """No object named by any migration exists (and there is at least one to look up): nothing of this app is here yet.

    One object found means part of the app is here: applying from the first migration would collide
    with it (or worse, run a data statement twice), so that case stays a refusal.
    """
    named = [o for a in analyses for o in a.created if not o.implicit]
    evidence = check_objects(conn, named)
    verifiable = [o for o in named if o not in evidence.unverifiable]
    return bool(verifiable) and len(evidence.missing) == len(verifiable)


def detect_baseline(conn: psycopg.Connection, local: LocalMigrations, analyses: tuple[FileAnalysis, ...]) -> str | None:
    """The last migration of the longest journal prefix whose named objects all exist.

    A migration that creates nothing we can look up (only ALTER COLUMN TYPE, only data)
    ends the prefix: absence of evidence is not evidence.
    """
    last = None
    for migration, analysis in zip(local.entries, analyses):
        named = [o for o in analysis.created if not o.implicit]
        evidence = check_objects(conn, named)
        if not named or evidence.missing or evidence.unverifiable:
            break
        last = migration.tag
    return last


def existing_tables(facts: Facts) -> frozenset[str]:
    return frozenset(t.qualified for t in facts.tables)


# Our executor runs CONCURRENTLY statements outside any transaction, and --single-transaction
# refuses them up front: squawk's "in a transaction" rule for them describes drizzle's
# migrator, not ours.
SQUAWK_EXCLUDED = ("ban-concurrent-index-creation-in-transaction",)


def lint_exceptions(cfg: Config) -> tuple[ReviewedException, ...]:
    """The playbook's reviewed exceptions (rule ids checked: ConfigError)."""
    return parse_exceptions(e.model_dump() for e in getattr(cfg.playbook, "exceptions", ()))


# The plan's lint, computed once: analyze and the gate of one migrate-prod (one process) get the very same
# result for the same plan and inputs, instead of two computations that might disagree.
_LINTS: dict[object, PlanLint] = {}
_LINTS_KEPT = 8


def lint_plan(seen: Observed, cfg: Config, *, online: bool = False, squawk: bool = True) -> PlanLint:
    """The one lint of the migrations a plan applies, for analyze and the gate alike.

    Our parse-tree rules (with the live catalog of existing code and the journal), squawk's
    findings (their verdicts set by the playbook's `rules` like ours) and the lock-time
    estimates (measured by a rehearsal when there is one), merged per file; then the
    playbook's reviewed exceptions, each pinned to its file's hash (a changed file voids it,
    one that lifts nothing is stale). Computed once per plan and inputs (`_LINTS`). The gate
    calls it with migrate's options, so it decides on what analyze showed.
    """
    from .analyze import lock_estimates
    from .gate import plan_fingerprint
    from .sqlcheck import run_squawk, with_findings

    policy = lint_policy(cfg)
    exceptions = lint_exceptions(cfg)
    to_apply = [seen.local.by_tag(s.tag) for s in seen.plan.apply]
    measured = rehearsed_measures(cfg, seen.plan, online=online)
    journal = tuple((m.hash, m.when) for m in seen.local.entries)
    key = _lint_key(plan_fingerprint(seen.plan), tuple((m.tag, m.hash, m.text, str(m.path)) for m in to_apply), journal, online, squawk,
                    policy, exceptions, seen.catalog, measured, tuple(seen.facts.tables), seen.absent_tables,
                    seen.column_types)
    if key is not None and key in _LINTS:
        return _LINTS[key]
    analyses = analyze_files([(m.filename, m.text) for m in to_apply], policy, catalog=seen.catalog, journal=journal,
                             absent_tables=seen.absent_tables, column_types=dict(seen.column_types))
    lock_findings = run_squawk([m.path for m in to_apply], in_transaction=not online, exclude=SQUAWK_EXCLUDED) if squawk and to_apply else ()
    new_tables = {f"{o.schema}.{o.name}" for a in analyses for o in a.created if o.kind == "table"}
    merged = tuple(
        with_findings(a, [f for f in lock_findings if f.file.endswith(a.file)] + list(lock_estimates(a, seen.facts.tables, new_tables, measured)),
                      policy)
        for a in analyses
    )
    pinned = tuple(PinnedFile(m.tag, m.filename, m.hash) for m in to_apply)
    lifted, stale = apply_exceptions(merged, pinned, exceptions)
    result = PlanLint(lifted, stale)
    if key is not None:
        while len(_LINTS) >= _LINTS_KEPT:
            _LINTS.pop(next(iter(_LINTS)))
        _LINTS[key] = result
    return result


def _lint_key(*parts: object) -> object | None:
    """A hashable key of every input of the lint, None when one of them is not hashable (then: no cache)."""
    import json

    try:
        key = tuple(json.dumps(p, sort_keys=True, default=str) if isinstance(p, dict) else p for p in parts)
        hash(key)
    except TypeError:
        return None
    return key


def rehearsed_measures(cfg: Config, plan: MigrationPlan, *, online: bool) -> dict:
    """(file, line) -> what the newest rehearsal of this very plan measured (run journal): lock findings use it, not estimates."""
    from .gate import plan_fingerprint
    from .rehearse import latest_rehearsal, measured_by_statement

    inv = cfg.inventory
    return measured_by_statement(latest_rehearsal(inv.backup.dir, inv.database.url.key, plan_fingerprint(plan), online=online))