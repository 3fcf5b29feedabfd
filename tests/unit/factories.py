"""Small builders of the pure core's inputs: valid defaults, one keyword to change what a case is about.

No server, no file, no subprocess: every value is built in memory (SQL is parsed by pglast).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pgrunbook.analyze import ExpectedState
from pgrunbook.backup.manifest import CopyRecord, Manifest, RestoreVerification
from pgrunbook.drizzle.journal import LocalMigrations, Migration, drizzle_hash, folder_name_v1
from pgrunbook.drizzle.plan import MigrationPlan, PlannedMigration
from pgrunbook.drizzle.state import TrackingRow, TrackingState, reconcile
from pgrunbook.gate import GateInputs
from pgrunbook.models import (
    Activity,
    Evidence,
    Facts,
    IndexFacts,
    Privileges,
    RoleCounts,
    SequenceState,
    ServerFacts,
    SettingOverride,
    TableFacts,
    Tool,
)
from pgrunbook.sqlcheck import CreatedObject, FileAnalysis, analyze_sql
from pgrunbook.validate import ValidationInputs

NOW = datetime(2025, 10, 4, 12, 0, tzinfo=UTC)
DATABASE = {"name": "app", "host": "db.internal", "port": 5432}
INDEX_SQL = 'CREATE INDEX IF NOT EXISTS "idx_users_role" ON "users" ("role");'


# --------------------------------------------------------------------------- drizzle


def migration(idx: int, sql: str | None = None, *, when: int | None = None) -> Migration:
    """0.45 journal entry `000<idx>_m<idx>` (its own SQL unless given), its `when` 1000 * (idx + 1) unless given."""
    tag = f"{idx:04d}_m{idx}"
    sql = f"CREATE TABLE t{idx} (id int);\n" if sql is None else sql
    when = 1000 * (idx + 1) if when is None else when
    lf = sql.replace("\r\n", "\n")
    return Migration(idx=idx, tag=tag, when=when, breakpoints=True, path=Path(f"/drizzle/{tag}.sql"), text=sql,
                     hash=drizzle_hash(sql.encode()),
                     line_ending_hashes=frozenset(drizzle_hash(v.encode()) for v in (lf, lf.replace("\n", "\r\n"))),
                     name_v1=folder_name_v1(when, tag))


def local(*entries: Migration, files_not_in_journal: tuple[str, ...] = (), entries_without_file: tuple[str, ...] = ()) -> LocalMigrations:
    return LocalMigrations(Path("/drizzle"), tuple(entries), files_not_in_journal, entries_without_file)


ITS_WHEN, ITS_NAME = object(), object()


def row(id: int, m: Migration, *, hash: str | None = None, created_at: int | None | object = ITS_WHEN,
        name: str | None | object = None, v1: bool | None = None) -> TrackingRow:
    """The tracking row drizzle 0.45 writes for `m` (its hash, created_at = its `when`), or another hash / created_at;
    with a `name` (ITS_NAME: `m`'s) or `v1=True` (a NULL name), a row of drizzle 1.0's ledger."""
    return TrackingRow(id, m.hash if hash is None else hash, m.when if created_at is ITS_WHEN else created_at,  # type: ignore[arg-type]
                       m.name_v1 if name is ITS_NAME else name, v1=name is not None if v1 is None else v1)  # type: ignore[arg-type]


def state(migrations: LocalMigrations, rows: list[TrackingRow] | None, drizzle: str | None = None) -> TrackingState:
    """The ledger reconciled under the rules of the drizzle that runs next (default: the folder's)."""
    return reconcile(migrations, rows, drizzle)  # type: ignore[arg-type]


def step(tag: str, action: str = "apply", *, when: int = 1000, stranded: bool = False) -> PlannedMigration:
    return PlannedMigration(tag, when, f"hash-{tag}", action, stranded)  # type: ignore[arg-type]


def plan(*steps: PlannedMigration, scenario: str = "A", create_tracking: bool = False) -> MigrationPlan:
    return MigrationPlan(scenario, create_tracking, steps)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- facts


def server(**overrides: Any) -> ServerFacts:
    values = {"version": "PostgreSQL 18.1 on x86_64-pc-linux-gnu", "version_num": 180001, "database": "app", "user": "owner",
              "superuser": False, "createdb": True, "can_create_in_public": True, "can_create_in_database": True}
    return ServerFacts(**{**values, **overrides})


def facts(**overrides: Any) -> Facts:
    values = {
        "server": server(),
        "roles": RoleCounts("users", "role", {"fbo": 60, "manager": 8}),
        "tables": (TableFacts("users", 12, 68, 64 * 1024), TableFacts("campaigns", 8, 10, 16 * 1024)),
        "indexes_total": 5,
        "performance_indexes": (IndexFacts("idx_users_role", "users", True),),
        "drizzle_schema": True,
        "tracking_rows": (),
        "sequence": SequenceState("drizzle.__drizzle_migrations_id_seq", 12, 11),
        "setting_overrides": (),
    }
    return Facts(**{**values, **overrides})


def override(name: str, value: str, *, database: str | None = "app", role: str | None = None) -> SettingOverride:
    return SettingOverride(name, value, database, role, applies_to_us=True)


def tool(name: str, version: str = "18.1") -> Tool:
    return Tool(name, Path(f"/usr/lib/postgresql/{version.split('.')[0]}/bin/{name}"), version)


TOOLS = (tool("pg_dump"), tool("pg_restore"), tool("psql"))


# --------------------------------------------------------------------------- sqlcheck, evidence


def analysis(sql: str = INDEX_SQL, file: str = "0011_indexes.sql") -> FileAnalysis:
    return analyze_sql(sql, file=file)


def created(kind: str, name: str, *, table: str | None = None, implicit: bool = False) -> CreatedObject:
    return CreatedObject(kind, "public", table, name, implicit=implicit)


def evidence(*, checked: int = 3, missing: tuple[CreatedObject, ...] = (), implicit: tuple[CreatedObject, ...] = (),
             unverifiable: tuple[CreatedObject, ...] = ()) -> Evidence:
    present = tuple(created("table", f"t{i}") for i in range(checked))
    return Evidence(present + missing + implicit + unverifiable, missing, implicit, unverifiable)


def expected(**overrides: Any) -> ExpectedState:
    values = {"indexes": (("public.idx_users_role", "public.users"),), "tables": (), "columns": ()}
    return ExpectedState(**{**values, **overrides})


# --------------------------------------------------------------------------- backup


def copy(verified: bool = True) -> CopyRecord:
    return CopyRecord("offsite", "local", "/mnt/b/b1.dump", 100, "ab" * 32, verified)


def manifest(*, age_minutes: float = 10, **overrides: Any) -> Manifest:
    """An ok backup of DATABASE, `age_minutes` before NOW, one verified copy, every table counted."""
    values = {
        "id": "app_backup_1", "status": "ok", "created_at": (NOW - timedelta(minutes=age_minutes)).isoformat(),
        "finished_at": NOW.isoformat(), "inventory": "prod", "database": dict(DATABASE),
        "dump": {"file": "b1.dump", "format": "custom", "pg_dump": {"path": "/bin/pg_dump", "version": "18.1"}},
        "counts": {"tables": {"public.users": 68, "public.campaigns": 10}}, "integrity": {"ok": True, "checks": []},
        "min_copies": 1, "copies": (copy(),),
    }
    return Manifest(**{**values, **overrides})


def restore_test(ok: bool = True) -> RestoreVerification:
    return RestoreVerification(ok, "app_restore_test", True, 2)


# --------------------------------------------------------------------------- gate


def privileges(**overrides: Any) -> Privileges:
    values = {"user": "owner", "superuser": False, "createdb": True, "create_on_database": True, "create_on_public": True,
              "unowned_tables": ()}
    return Privileges(**{**values, **overrides})


def activity(**overrides: Any) -> Activity:
    return replace(Activity(None, (), ()), **overrides)


PROTECTED = {"users_by_role": {"by_role": {"fbo": 60, "manager": 8}, "total": 68}, "tables": {"users": 68}}


def gate_inputs(**overrides: Any) -> GateInputs:
    """Inputs on which every criterion holds (a GO); the optional criteria stay off unless given."""
    values = {
        "database": dict(DATABASE), "backup": manifest(), "backup_max_age_minutes": 120, "min_copies": 1,
        "plan": plan(step("0011_indexes")), "evidence": None, "analyses": (analysis(),), "privileges": privileges(), "activity": activity(),
        "controller": (True, "none (nothing to stop)"), "protected": PROTECTED, "expected": expected(), "now": NOW,
    }
    return GateInputs(**{**values, **overrides})


# --------------------------------------------------------------------------- validate


def snapshot(**overrides: Any) -> dict[str, Any]:
    """What `facts.snapshot_protected` records: counts, every table's rows, the users fingerprint, indexes, hot queries."""
    values = {
        "users_by_role": {"by_role": {"fbo": 60, "manager": 8}, "total": 68},
        "tables": {"users": 68, "campaigns": 10},
        "all_tables": {"public.users": 68, "public.campaigns": 10, "drizzle.__drizzle_migrations": 11},
        "fingerprint": {"table": "users", "key": "id", "columns": ["id", "email"], "count": 68, "max_pk": 68, "md5": "f" * 32},
        "performance_indexes": ["idx_users_role"],
        "hot_queries": [],
    }
    return {**values, **overrides}


def endpoint(path: str = "/api/campaigns", *, median_ms: float = 12, p95_ms: float = 20, budget_ms: float = 100,
             statuses: tuple[int, ...] = (200, 200), error: str | None = None) -> dict[str, Any]:
    ok = error is None and set(statuses) == {200} and p95_ms <= budget_ms
    return {"path": path, "median_ms": median_ms, "p95_ms": p95_ms, "budget_ms": budget_ms, "statuses": list(statuses),
            "error": error, "ok": ok}


def validation_inputs(**overrides: Any) -> ValidationInputs:
    """Inputs of a clean migration under the `exact` policy: every check passes, no API."""
    values = {
        "expected_indexes": (("public.idx_users_role", "public.users"),),
        "index_details": {"public.idx_users_role": {"table": "public.users", "valid": True}},
        "performance_indexes": 1, "expected_performance_indexes": 1,
        "applied_tags": ("0011_indexes",), "recorded_tags": ("0010_x", "0011_indexes"),
        "drift_policy": "exact", "before": snapshot(), "after": snapshot(), "preexisting_rows_left": None,
        "api_before": None, "api_after": None,
    }
    return ValidationInputs(**{**values, **overrides})
