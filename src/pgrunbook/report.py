"""The seed's "Rapport de Migration", filled from a run journal (French, English, JSON).

`report_data(run, cfg)` builds one plain dict from the journal's records (pure, apart from
reading the journal and the backup manifest); the Markdown templates
(`templates/report.{fr,en}.md.j2`) only lay it out. Every section of the seed's template
is present with a value, or with the reason there is none ("no API configured").
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .config import Config
from .journal import (DriftInjected, GateDecided, Journal, MigrationEnded, Record, RehearsalEnded, RollbackDecided, RollbackEnded,
                      RunClosed, RunOpened, Validated, VerifyEnded)
from .runs import Run

TEMPLATES = Path(__file__).parent / "templates"
ROLE_LABELS = {"fr": {"manager": "managers", "fbo": "FBOs"}, "en": {"manager": "managers", "fbo": "FBOs"}}


def report_data(run: Run, cfg: Config | None = None) -> dict[str, Any]:
    j = run.read()
    opened = j.opened or RunOpened()
    verify = _data(j.last(VerifyEnded))
    migrate_start = _data(j.migration_start)
    migrate_end = j.last(MigrationEnded, status="ok") or MigrationEnded()
    validate = _data(j.last(Validated))
    backup = _data(j.backup("backup"))
    post_backup = _data(j.backup("post-backup"))
    gate = _data(j.last(GateDecided))
    rollback_end = _data(j.last(RollbackEnded))
    before = migrate_start.get("before") or {}
    after = validate.get("after") or {}
    seconds = j.duration_seconds()
    return {
        "run": run.id,
        "journal": str(run.journal),
        "target": opened.target,
        "environment": cfg.inventory.title if cfg else "",  # the report's title: the inventory's, never a fixed "Production"
        "date": j.records[0].ts if j.records else "",
        "operator": opened.operator,
        "duration_minutes": None if seconds is None else round(seconds / 60, 1),  # a run still open has no duration yet
        "before": {
            "by_role": (before.get("users_by_role") or verify.get("users", {})).get("by_role") or {},
            "total": (before.get("users_by_role") or verify.get("users", {})).get("total"),
            "indexes_total": verify.get("indexes", {}).get("total", migrate_start.get("indexes_total_before")),
            "performance_indexes": len(before.get("performance_indexes", [])) if before else verify.get("indexes", {}).get("performance"),
            "tracking_rows": verify.get("tracking_rows", migrate_start.get("tracking_rows_before")),
            "tables": before.get("tables", {}),
        },
        "backup": _backup(backup or _gate_backup(gate, cfg), cfg),
        "post_backup": _backup(post_backup, cfg) if post_backup else None,
        "migrations": {
            "applied": [tag for tag, _ in migrate_end.applied],
            "baseline": [tag for tag, _ in migrate_end.baseline],
            "created_indexes": list(migrate_end.created_indexes),
            "seconds": migrate_end.seconds,
            "nothing_to_do": migrate_end.nothing_to_do,
        },
        "after": {
            "by_role": (after.get("users_by_role") or {}).get("by_role") or {},
            "total": (after.get("users_by_role") or {}).get("total"),
            "performance_indexes": len(after.get("performance_indexes", [])) if after else None,
            "tracking_rows": validate.get("tracking_rows"),
            "tables": after.get("tables", {}),
        },
        "table_rows": _table_rows(before, after, cfg),
        "expected_performance_indexes": cfg.playbook.expectations.performance_indexes if cfg else None,
        "validation": {"ok": validate.get("ok"), "drift": validate.get("drift"), "checks": validate.get("checks", [])},
        "api": {"before": migrate_start.get("api_before"), "after": validate.get("api_after"),
                "configured": [e.path for e in cfg.inventory.api.endpoints] if cfg and cfg.inventory.api else []},
        "gate": {"decision": gate.get("decision"), "checks": gate.get("checks", [])},
        "rehearsal": _rehearsal(_data(j.last(RehearsalEnded))),
        "rollback": rollback_end or None,
        "rollback_reason": (_data(j.last(RollbackDecided))).get("why"),
        "problems": _problems(j),
        "outcome": j.closed.status if j.closed else "in progress",
    }


def write_reports(cfg: Config, run: Run, languages: tuple[str, ...] = ("en", "fr")) -> dict[str, str]:
    """report.<lang>.md and report.json in the run's folder (0600); returns their paths."""
    data = report_data(run, cfg)
    paths = {"json": _write(run.dir / "report.json", json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")}
    for lang in languages:
        paths[lang] = _write(run.dir / f"report.{lang}.md", render_markdown(data, lang))
    return paths


def render_markdown(data: dict[str, Any], lang: str) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["role"] = lambda role: ROLE_LABELS.get(lang, {}).get(role, role)
    env.filters["mb"] = lambda size: f"{(size or 0) / 1024 / 1024:.1f}"
    env.filters["ms"] = lambda value: "—" if value is None else f"{value:.0f}"
    return env.get_template(f"report.{lang}.md.j2").render(**data, same=_same(data))


def _same(data: dict[str, Any]) -> dict[str, bool]:
    before, after = data["before"]["by_role"], data["after"]["by_role"]
    return {role: before.get(role) == after.get(role) for role in set(before) | set(after)} | {
        "total": data["before"]["total"] == data["after"]["total"]}


def _table_rows(before: dict[str, Any], after: dict[str, Any], cfg: Config | None) -> dict[str, Any]:
    """Every table's rows before (migrate) and after (validate): the tables that changed, and how many were counted."""
    from .validate import table_changes

    if before.get("all_tables") is None or after.get("all_tables") is None:
        return {"compared": None, "changed": []}
    allowed = cfg.playbook.validate_.allow_row_loss if cfg else ()
    changes = table_changes(before["all_tables"], after["all_tables"], allowed)
    return {"compared": len(before["all_tables"]),
            "changed": [{"table": c.table, "before": c.before, "after": c.after, "lost": c.lost, "allowed": c.allowed} for c in changes]}


def _backup(record: dict[str, Any], cfg: Config | None) -> dict[str, Any]:
    if not record:
        return {"id": None, "file": None, "size": 0, "copies": []}
    path = str(cfg.inventory.backup.dir / record["file"]) if cfg else record["file"]
    return {"id": record.get("id"), "file": path, "size": record.get("size", 0), "sha256": record.get("sha256"),
            "copies": record.get("copies", [])}


def _gate_backup(gate: dict[str, Any], cfg: Config | None) -> dict[str, Any]:
    """Phases run one by one journal no backup step: the backup is the one the GO relied on."""
    from .backup import find_backup
    from .errors import PgRunbookError

    if not gate.get("backup_id") or cfg is None:
        return {}
    try:
        m = find_backup(cfg.inventory.backup.dir, gate["backup_id"])
    except PgRunbookError:
        return {}
    return {"id": m.id, "file": m.dump["file"], "size": m.dump["size"], "sha256": m.dump["sha256"],
            "copies": [{"target": c.target, "location": c.location, "verified": c.verified} for c in m.copies]}


def _rehearsal(record: dict[str, Any]) -> dict[str, Any] | None:
    """The rehearsal on a restored copy, as the report shows it: outcome, time, what it found, the longest write-blocking lock."""
    if not record:
        return None
    migrations = record.get("migrations") or []
    longest = max(migrations, key=lambda m: m.get("longest_lock_seconds") or 0, default=None)
    seconds = record.get("seconds") or {}  # restore, count_before, apply, count_after, drop, total
    return {"outcome": record.get("outcome"), "reason": record.get("reason") or "", "seconds": seconds.get("total"),
            "backup_id": record.get("backup_id"), "drift": [d.get("summary", "") for d in record.get("drift") or []],
            "failed_at": record.get("failed_at"),
            "longest_lock": None if not longest or not longest.get("longest_lock_seconds") else
            {"tag": longest["tag"], "seconds": longest["longest_lock_seconds"], "locks": longest.get("locks") or []}}


def _problems(j: Journal) -> list[str]:
    problems = []
    for r in j.records:
        if isinstance(r, RunClosed):
            continue  # the outcome, not a problem
        if r.event == "error" or (r.event == "end" and r.status == "failed"):
            data = r.data()
            failed = [c["summary"] for c in data.get("checks", []) if c.get("status") == "fail"]
            problems.append(f"{r.phase}: " + ("; ".join(failed) or data.get("error") or r.status))
        if isinstance(r, DriftInjected):
            problems.append(f"demo: {r.note}")
        if isinstance(r, RollbackDecided):
            problems.append(f"rollback ({r.status}): {r.why}")
    return problems


def _data(record: Record | None) -> dict[str, Any]:
    """A record's data as the JSON report holds it (plain lists and dicts)."""
    return json.loads(json.dumps(record.data(), default=str)) if record is not None else {}


def _write(path: Path, text: str) -> str:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return str(path)
