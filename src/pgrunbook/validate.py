"""Phase 6: post-validation, strict (pure).

The seed checks 43 `idx_*` indexes, the same users per role as in phase 1.2, the API
answering 200 under 100 ms. We check every expected index by name, on the right table,
valid; the `idx_*` total; a tracking row for each applied migration; the protected counts
against the snapshot migrate took under its lock, under the playbook's drift policy
(`exact`: same numbers and the same fingerprint of the protected table, `expectations.fingerprint`;
`no-loss`: counts may grow, no pre-existing row may disappear — counted below the serial key's
high-water mark, or, for any other key, by count only, with a WARN saying so); every table's rows against the same snapshot, whatever
the policy: a table with fewer rows than before — or gone — is drift unless the playbook
lists it in `validate.allow_row_loss` (tables created by the run have no "before" and are
ignored; growth is never drift here); the API (median and p95 over N requests, against the
measurement before); and the hot queries' plans before and after.

`ValidationReport.drift` is what triggers the automatic rollback of `inv migrate-prod`.

Validation compares against the *expected* post-state (`ExpectedChanges`): the columns the plan
the gate approved drops or adds, and the tables it drops. migrate computes them from the
approved migrations (`expected_changes`) and records them in its snapshot (`before["expected"]`),
taking the protected table's fingerprint over the columns the plan keeps; a dropped column of the
plan is then named as expected, not drift, and so is a table the plan drops. Anything else (a
column dropped by someone else, a changed row) is still drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .names import qualified
from .outcome import Check, Status, failed

DRIFT_CHECKS = frozenset({"protected-counts", "users-fingerprint", "table-rows"})


@dataclass(frozen=True)
class ExpectedChanges:
    """What the approved plan changes in the tables' shape: columns dropped and added (`schema.table.column`),
    tables dropped (`schema.table`). Empty: the plan changes no existing column (or the journal predates this)."""

    dropped_columns: tuple[str, ...] = ()
    added_columns: tuple[str, ...] = ()
    dropped_tables: tuple[str, ...] = ()
    created_tables: tuple[str, ...] = ()  # tables absent before that the plan creates (a new database: all of them)

    _KEYS = ("dropped_columns", "added_columns", "dropped_tables", "created_tables")

    def as_json(self) -> dict[str, list[str]]:
        return {k: list(getattr(self, k)) for k in self._KEYS}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ExpectedChanges:
        data = data or {}
        return cls(*(tuple(data.get(k) or ()) for k in cls._KEYS))

    def dropped_of(self, table: str) -> tuple[str, ...]:
        """The columns the plan drops from `table` (`schema.table`)."""
        return tuple(c.rpartition(".")[2] for c in self.dropped_columns if c.rpartition(".")[0] == table)

    def added_to(self, table: str) -> tuple[str, ...]:
        return tuple(c.rpartition(".")[2] for c in self.added_columns if c.rpartition(".")[0] == table)

    def kept(self, table: str, columns: list[str]) -> list[str]:
        """`columns` of `table` without those the plan drops: what a fingerprint taken before it can compare after."""
        dropped = set(self.dropped_of(table))
        return [c for c in columns if c not in dropped]


def expected_changes(present: Any, absent: Any, existing_tables: Any = ()) -> ExpectedChanges:
    """From the object state after the approved migrations (`sqlcheck.objects_after(...).present / .absent`):
    columns absent afterwards are dropped (or renamed away), columns present are added; a table absent
    afterwards is dropped. `existing_tables` (`schema.table`): only columns of tables that exist before the
    plan are reported as added (a new table's columns are not a change of anything)."""
    existing = set(existing_tables)

    def name(o: Any) -> str:
        return f"{o.schema}.{o.table}.{o.name}"

    dropped = sorted({name(o) for o in absent if o.kind == "column"})
    added = sorted({name(o) for o in present if o.kind == "column" and (not existing or f"{o.schema}.{o.table}" in existing)})
    tables = sorted({f"{o.schema}.{o.name}" for o in absent if o.kind == "table"})
    created = sorted({f"{o.schema}.{o.name}" for o in present if o.kind == "table"} - existing)
    return ExpectedChanges(tuple(dropped), tuple(added), tuple(tables), tuple(created))


@dataclass(frozen=True)
class ValidationInputs:
    expected_indexes: tuple[tuple[str, str], ...]  # (schema.index, schema.table)
    index_details: dict[str, dict]  # name -> {table, valid}
    performance_indexes: int  # idx_* count now
    expected_performance_indexes: int | None
    applied_tags: tuple[str, ...]  # what migrate recorded
    recorded_tags: tuple[str, ...]  # what the tracking table says now
    drift_policy: str  # exact | no-loss
    before: dict[str, Any]  # snapshot_protected() under migrate's lock
    after: dict[str, Any]
    preexisting_rows_left: int | None  # no-loss: rows with a serial key <= before's max key, now (None: not a serial key)
    api_before: dict | None
    api_after: dict | None
    allow_row_loss: tuple[str, ...] = ()  # playbook validate.allow_row_loss: schema.table names that may lose rows
    expected: ExpectedChanges = ExpectedChanges()  # what the approved plan changes (from migrate's snapshot in the journal)


@dataclass(frozen=True)
class ValidationReport:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return not failed(self.checks)

    @property
    def drift(self) -> bool:
        return any(c.id in DRIFT_CHECKS for c in failed(self.checks))

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "drift": self.drift, "checks": [c.as_dict() for c in self.checks]}


def evaluate(i: ValidationInputs) -> ValidationReport:
    checks = [_indexes(i), _index_total(i), _tracking(i), _counts(i), _table_rows(i)]
    if i.drift_policy == "exact":
        checks.append(_fingerprint(i))
    if i.api_after is not None:
        checks.append(_api(i))
    if i.after.get("hot_queries"):
        checks.append(_hot_queries(i))
    return ValidationReport(tuple(checks))


def _indexes(i: ValidationInputs) -> Check:
    problems = []
    for name, table in i.expected_indexes:
        found = i.index_details.get(name)
        if found is None:
            problems.append(f"{name} missing")
        elif found["table"] != table:
            problems.append(f"{name} is on {found['table']}, expected {table}")
        elif not found["valid"]:
            problems.append(f"{name} is INVALID")
    if problems:
        return Check("expected-indexes", Status.FAIL, "; ".join(problems[:8]) + (" …" if len(problems) > 8 else ""),
                     "re-run `inv migrate` (IF NOT EXISTS makes it idempotent); drop an INVALID index and rebuild it")
    return Check("expected-indexes", Status.OK, f"{len(i.expected_indexes)} expected indexes present, on the right tables, valid")


def _index_total(i: ValidationInputs) -> Check:
    if i.expected_performance_indexes is None:
        return Check("performance-indexes", Status.INFO, f"{i.performance_indexes} performance indexes")
    if i.performance_indexes != i.expected_performance_indexes:
        return Check("performance-indexes", Status.FAIL, f"{i.performance_indexes} performance indexes, expected {i.expected_performance_indexes}",
                     "compare `inv verify --json` .indexes.performance_names with the migration")
    return Check("performance-indexes", Status.OK, f"{i.performance_indexes} performance indexes, as expected")


def _tracking(i: ValidationInputs) -> Check:
    missing = [t for t in i.applied_tags if t not in i.recorded_tags]
    if missing:
        return Check("tracking-rows", Status.FAIL, f"applied but not recorded: {', '.join(missing)}",
                     "drizzle would run them again: re-run `inv migrate` (it records what is missing)")
    return Check("tracking-rows", Status.OK, f"a tracking row for each of the {len(i.applied_tags)} migration(s) of the plan")


def _counts(i: ValidationInputs) -> Check:
    before, after = _flat(i.before, i.expected), _flat(i.after, i.expected)
    changed = {k: (before.get(k), after.get(k)) for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}
    if i.drift_policy == "exact":
        if changed:
            return Check("protected-counts", Status.FAIL, "counts changed: " + ", ".join(f"{k} {a} → {b}" for k, (a, b) in changed.items()),
                         "the seed: ROLLBACK IMMÉDIAT — `inv rollback --full` (automatic under `inv migrate-prod`)")
        return Check("protected-counts", Status.OK, "identical to before the migration: " + ", ".join(f"{k} {v}" for k, v in after.items()))
    lost = {k: v for k, v in changed.items() if (v[1] or 0) < (v[0] or 0)}
    before_rows = i.before.get("fingerprint", {}).get("count")
    gone = before_rows - i.preexisting_rows_left if before_rows is not None and i.preexisting_rows_left is not None else 0
    if lost or gone > 0:
        detail = ", ".join(f"{k} {a} → {b}" for k, (a, b) in lost.items())
        return Check("protected-counts", Status.FAIL, f"rows lost: {detail}" + (f"; {gone} pre-existing users rows gone" if gone > 0 else ""),
                     "`inv rollback --full` restores the backup; rows written since remain in the kept database")
    grown = ", ".join(f"{k} {a} → {b}" for k, (a, b) in changed.items())
    summary = "no loss" + (f" (grew: {grown})" if grown else ", identical")
    unchecked = _rows_unchecked(i.before.get("fingerprint"))
    if unchecked:
        return Check("protected-counts", Status.WARN, f"{summary}; {unchecked}",
                     "a pre-existing row deleted while as many were inserted would not show here (every table's count still "
                     "must not drop); under `drift: exact` the fingerprint compares every row's content")
    return Check("protected-counts", Status.OK, summary)


def _rows_unchecked(fingerprint: dict | None) -> str:
    """Why the no-loss check cannot count the pre-existing rows of the protected table ("" when it can)."""
    if not fingerprint or fingerprint.get("count") is None or fingerprint.get("max_pk") is not None:
        return ""
    key = fingerprint.get("key")
    keys = [key] if isinstance(key, str) else list(key or [])
    why = f"its key ({', '.join(keys)}) is not serial" if keys else "it has no primary key"
    return (f"pre-existing rows of {fingerprint.get('table')} compared by count only: {why}, so new rows cannot be told "
            "from old ones by a high-water mark")


@dataclass(frozen=True)
class TableChange:
    table: str  # schema.table
    before: int
    after: int | None  # None: the table is gone (dropped, or renamed: rows under this name are lost)
    allowed: bool = False  # listed in validate.allow_row_loss
    planned: bool = False  # the approved plan drops the table

    @property
    def lost(self) -> bool:
        return self.after is None or self.after < self.before

    def describe(self) -> str:
        note = " (dropped by the approved plan)" if self.planned and self.after is None else " (allowed)" if self.allowed else ""
        return f"{self.table} {self.before} → {'dropped' if self.after is None else self.after}" + note


def table_changes(before: dict[str, int], after: dict[str, int], allow_row_loss: tuple[str, ...] | list[str] = (),
                  dropped_tables: tuple[str, ...] | list[str] = ()) -> tuple[TableChange, ...]:
    """The tables of `before` whose row count differs in `after` (or that are gone), by name.

    A table only in `after` was created by the run: it has no "before" and is not a change.
    A dropped table is gone even when it was empty (safer: the DROP itself is the loss), unless the
    approved plan drops it (`dropped_tables`): then it is expected (its rows are in the backup).
    """
    allowed = set(allow_row_loss)
    planned = set(dropped_tables)
    changes = []
    for table, n in sorted(before.items()):
        now = after.get(table)
        if now != n:
            changes.append(TableChange(table, n, now, table in allowed or (now is None and table in planned), now is None and table in planned))
    return tuple(changes)


def _table_rows(i: ValidationInputs) -> Check:
    before, after = i.before.get("all_tables"), i.after.get("all_tables")
    if before is None or after is None:
        return Check("table-rows", Status.INFO, "every table's rows not compared: the pre-migration snapshot has no per-table counts",
                     "journaled by an older pgrunbook; only the protected counts were compared")
    changes = table_changes(before, after, i.allow_row_loss, i.expected.dropped_tables)
    lost = [c for c in changes if c.lost and not c.allowed]
    waived = [c for c in changes if c.lost and c.allowed and not c.planned]
    planned = [c for c in changes if c.planned]
    grown = [c for c in changes if not c.lost]
    if lost:
        return Check("table-rows", Status.FAIL, f"rows lost in {len(lost)} table(s): " + ", ".join(c.describe() for c in lost),
                     "a migration (or a writer) removed rows: `inv rollback --full` restores the backup (automatic under "
                     "`inv migrate-prod`); a table that may lose rows goes in the playbook's validate.allow_row_loss")
    parts = [f"no table lost rows ({len(before)} tables compared)"]
    if grown:
        parts.append("grew: " + ", ".join(c.describe() for c in grown[:10]) + (" …" if len(grown) > 10 else ""))
    if waived:
        parts.append("lost, allowed by validate.allow_row_loss: " + ", ".join(c.describe() for c in waived))
    if planned:
        parts.append("expected: " + ", ".join(c.describe() for c in planned))
    return Check("table-rows", Status.WARN if waived or planned else Status.OK, "; ".join(parts))


def _flat(snapshot: dict[str, Any], expected: ExpectedChanges | None = None) -> dict[str, int]:
    """The protected counts as one mapping; those of tables the approved plan creates are left out (no "before")."""
    created = set(expected.created_tables) if expected else set()
    users = snapshot.get("users_by_role") or {}
    roles = {} if users.get("table") in created else users.get("by_role") or {}
    out = {f"{role} users": n for role, n in roles.items()}
    out.update({table: n for table, n in (snapshot.get("tables") or {}).items() if qualified(table) not in created})
    return out


def _fingerprint(i: ValidationInputs) -> Check:
    b, a = i.before.get("fingerprint", {}), i.after.get("fingerprint") or {}
    if b is None:
        return Check("users-fingerprint", Status.INFO, "no content fingerprint (expectations.fingerprint: false in the playbook); "
                     "row counts are still compared")
    table = qualified(str(a.get("table") or b.get("table") or ""))
    if table in i.expected.created_tables and b.get("count") is None:
        return Check("users-fingerprint", Status.INFO, f"{a.get('table')} is created by the approved plan: no content before to "
                     f"compare ({a.get('count')} rows now)")
    if a.get("missing_columns"):
        return Check("users-fingerprint", Status.FAIL, f"columns of {a.get('table')} gone since before: {', '.join(a['missing_columns'])}"
                     + (" (the approved plan drops none of them)" if i.expected.dropped_columns else ""),
                     "a column of the protected table was dropped or renamed outside the approved plan: rollback, then investigate")
    if b.get("md5") != a.get("md5"):
        return Check("users-fingerprint", Status.FAIL, f"the content of {a.get('table')} changed ({b.get('count')} rows before, {a.get('count')} now)",
                     "a migration or a writer changed user rows: rollback, then investigate")
    how = "md5 in key order" if a.get("method", "key-order-md5") == "key-order-md5" else "row hash"
    planned = [f"{', '.join(cols)} {verb} by the approved plan" for verb, cols in
               (("dropped", i.expected.dropped_of(table)), ("added", i.expected.added_to(table))) if cols]
    return Check("users-fingerprint", Status.OK, f"{a.get('table')}: same {a.get('count')} rows, same content in its "
                 f"{len(a.get('columns', []))} pre-existing columns ({how})"
                 + (f"; expected: {'; '.join(planned)} (not compared)" if planned else ""))


def _api(i: ValidationInputs) -> Check:
    after = i.api_after or {}
    if after.get("login_error"):
        return Check("api", Status.FAIL, f"login failed: {after['login_error']}", "check the app (and api.login credentials)")
    before = {e["path"]: e for e in (i.api_before or {}).get("endpoints", [])}
    parts, bad = [], []
    for e in after.get("endpoints", []):
        was = before.get(e["path"])
        trend = f" (before {was['median_ms']:.0f})" if was and was.get("median_ms") else ""
        parts.append(f"{e['path']} median {e['median_ms']:.0f} ms{trend}, p95 {e['p95_ms']:.0f} ms / {e['budget_ms']:.0f}")
        if not e["ok"]:
            statuses = sorted(set(e["statuses"]))
            bad.append(f"{e['path']}: " + (e["error"] or (f"status {statuses}" if statuses != [200] else f"over budget ({e['p95_ms']:.0f} ms p95)")))
    if bad:
        return Check("api", Status.FAIL, "; ".join(bad), "check the app's logs and the hot queries' plans")
    return Check("api", Status.OK, "login ok; " + "; ".join(parts))


def _hot_queries(i: ValidationInputs) -> Check:
    before = {q["query"]: q for q in i.before.get("hot_queries", [])}
    parts = []
    for q in i.after["hot_queries"]:
        was = before.get(q["query"], {})
        new = sorted(set(q["indexes"]) - set(was.get("indexes", [])))
        parts.append(f"{q['query'][:50]}…: {was.get('ms', 0):.1f} → {q['ms']:.1f} ms" + (f", now uses {', '.join(new)}" if new else ""))
    return Check("hot-queries", Status.INFO, "; ".join(parts))
