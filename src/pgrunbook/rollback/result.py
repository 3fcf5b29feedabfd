"""What a rollback did (or, for a dry run, would do): pure data, JSON-ready."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..outcome import Check, Status


@dataclass(frozen=True)
class RollbackResult:
    mode: str  # "full" | "in-place" | "indexes-only"
    run_id: str | None
    dry_run: bool = False
    plan: tuple[str, ...] = ()  # the steps, in order, as shown before acting (no secrets)
    backup_id: str | None = None
    backup_source: str | None = None  # the dump file restored (primary, or a fetched verified copy)
    restored_db: str | None = None  # full: the restore database, now named <db>
    kept_db: str | None = None  # full: the replaced database, kept under this name
    safety_backup: str | None = None  # in-place: the dump taken just before
    counts_manifest: dict[str, int] = field(default_factory=dict)
    counts_before: dict[str, int] = field(default_factory=dict)  # the replaced database (= the kept one)
    counts_restored: dict[str, int] = field(default_factory=dict)  # checked before the swap
    counts_after: dict[str, int] = field(default_factory=dict)  # <db> after the rollback
    written_after_backup: dict[str, int] = field(default_factory=dict)  # table: net rows (kept/safety - manifest), nonzero only
    new_protected_ids: dict[str, list] = field(default_factory=dict)  # protected table: ids kept, absent from the restored db
    protected_tables: tuple[str, ...] = ()
    dropped_indexes: tuple[str, ...] = ()
    absent_indexes: tuple[str, ...] = ()  # already gone (IF EXISTS)
    removed_tracking_rows: tuple[int, ...] = ()
    app_stopped: bool = False
    app_started: bool = False
    app_controller: str = ""
    api: dict[str, Any] | None = None
    checks: tuple[Check, ...] = ()
    seconds: float = 0.0
    downtime_seconds: float | None = None  # app stopped -> app healthy again
    online: bool = False  # full: the app was stopped only for the swap (it served the old database during the restore)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(c.status is Status.FAIL for c in self.checks)

    @property
    def protected_written_after_backup(self) -> dict[str, int]:
        return {t: n for t, n in self.written_after_backup.items() if t in self.protected_tables}

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode, "ok": self.ok, "dry_run": self.dry_run, "run": self.run_id, "plan": list(self.plan),
            "backup": {"id": self.backup_id, "source": self.backup_source},
            "restored_db": self.restored_db, "kept_db": self.kept_db, "safety_backup": self.safety_backup,
            "counts": {"manifest": self.counts_manifest, "before": self.counts_before, "restored": self.counts_restored,
                       "after": self.counts_after},
            "written_after_backup": self.written_after_backup,
            "protected_written_after_backup": self.protected_written_after_backup,
            "new_protected_ids": self.new_protected_ids,
            "protected_tables": list(self.protected_tables),
            "dropped_indexes": list(self.dropped_indexes), "absent_indexes": list(self.absent_indexes),
            "removed_tracking_rows": list(self.removed_tracking_rows),
            "app": {"controller": self.app_controller, "stopped": self.app_stopped, "started": self.app_started,
                    "stopped_for": "the swap" if self.online else "the restore and the swap"},
            "api": self.api,
            "checks": [c.as_dict() for c in self.checks],
            "seconds": round(self.seconds, 3),
            "downtime_seconds": None if self.downtime_seconds is None else round(self.downtime_seconds, 3),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


def api_check(api: dict[str, Any] | None) -> Check | None:
    """The API after the rollback: login and every endpoint answering 200 (budgets are a warning here)."""
    if api is None:
        return None
    if api.get("error"):
        return Check("api", Status.FAIL, f"the API check could not run: {api['error']}")
    if api.get("login_status") not in (None, 200) or api.get("login_error"):
        return Check("api", Status.FAIL, f"login answered {api.get('login_status')} {api.get('login_error') or ''}".strip())
    bad = [e for e in api.get("endpoints", []) if e.get("error") or any(s != 200 for s in e.get("statuses", ()))]
    if bad:
        return Check("api", Status.FAIL, "endpoint(s) failing: " + ", ".join(f"{e['path']} {e.get('error') or e.get('statuses')}" for e in bad))
    slow = [e for e in api.get("endpoints", []) if not e.get("ok")]
    summary = ", ".join(f"{e['path']} {e['median_ms']:.0f} ms" for e in api.get("endpoints", []))
    if slow:
        return Check("api", Status.WARN, f"the API answers, some over budget: {summary}",
                     "statistics are rebuilt by the ANALYZE after the restore; re-check with `inv validate`")
    return Check("api", Status.OK, f"login ok, endpoints answer 200: {summary}" if summary else "login ok")


def ended(result: RollbackResult):  # noqa: ANN201
    """The journal record of a finished rollback (`journal.RollbackEnded`)."""
    from ..journal import RollbackEnded

    data = result.as_json()
    return RollbackEnded(status="ok" if result.ok else "failed", mode=result.mode, kept_db=result.kept_db,
                         removed_tracking_rows=tuple(result.removed_tracking_rows),
                         extra={k: v for k, v in data.items() if k not in ("mode", "kept_db", "removed_tracking_rows")})
