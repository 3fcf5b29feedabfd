"""The seed's "Rapport de Migration", filled from a run journal (French, English, JSON).

`report_data(run, cfg)` builds one plain dict from the journal's records (pure, apart from
reading the journal and the backup manifest); the Markdown templates
(`templates/report.{fr,en}.md.j2`) only lay it out, and `report_html` draws the same dict.
Every field of the seed's template is present with a value, or with the reason there is
none ("no API configured"); a figure a journal lacks (an older run, a failed phase) is "—".

What the machine knows it states (the header as a table, the real duration, the run's
outcome and pgrunbook's own go/no-go on its own line); what only people can give — the
signatures — it leaves blank. Sizes are in binary units everywhere (KiB, MiB: Kio, Mio in
French), dates are ISO 8601 in UTC, durations human ("2 min 05 s").
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .config import Config
from .journal import (DriftInjected, GateDecided, Journal, MigrationEnded, MigrationStarted, MigrationStopped, Record,
                      RehearsalEnded, RollbackDecided, RollbackEnded, RollbackStarted, RollbackStep, RollbackStopped, RunClosed,
                      RunOpened, Validated, VerifyEnded)
from .runs import Run

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = ("en", "fr")
# "Utilisateurs FBOs" is the seed's own wording; in English a role names the users ("FBO users", never "FBOs users").
ROLE_LABELS = {"fr": {"manager": "managers", "fbo": "FBOs"}, "en": {"manager": "Manager", "fbo": "FBO"}}
MISSING = "—"
FRENCH_UNITS = {"B": "o", "KiB": "Kio", "MiB": "Mio", "GiB": "Gio", "TiB": "Tio", "PiB": "Pio"}  # octets, IEC


# --------------------------------------------------------------------------- human units (pure)


def human_size(size: int | float | None, lang: str = "en") -> str:
    """Bytes in IEC units, as everywhere (`units.size`): 52.4 KiB; in French 52,4 Kio; None: —."""
    from . import units

    if size is None:
        return MISSING
    text = units.size(size)
    if lang == "fr":
        number, unit = text.split(" ")
        text = f"{number} {FRENCH_UNITS.get(unit, unit)}"
    return _decimal(text, lang)


def human_duration(seconds: float | None, lang: str = "en") -> str:
    """3.4 s, 2 min 05 s, 1 h 02 min (fr: 3,4 s); None: —."""
    if seconds is None:
        return MISSING
    if round(seconds, 1) < 60:
        return _decimal(f"{seconds:.1f} s", lang)
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def human_time(ts: str | datetime | None) -> str:
    """ISO 8601 in UTC, to the second, readable: 2026-12-02 15:15:43 UTC; None or empty: —."""
    if not ts:
        return MISSING
    when = ts if isinstance(ts, datetime) else datetime.fromisoformat(ts)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def human_ms(value: float | None, lang: str = "en") -> str:
    if value is None:
        return MISSING
    return _decimal(f"{value:.1f} ms", lang) if value < 10 else f"{value:.0f} ms"


def _decimal(text: str, lang: str) -> str:
    return text.replace(".", ",") if lang == "fr" else text


# --------------------------------------------------------------------------- the data


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
    before = migrate_start.get("before") or {}
    after = validate.get("after") or {}
    seconds = j.duration_seconds()
    outcome = j.closed.status if j.closed else j.outcome
    data = {
        "run": run.id,
        "journal": str(run.journal),
        "target": opened.target,
        "kind": opened.kind,
        "environment": cfg.inventory.title if cfg else "",  # the report's title: the inventory's, never a fixed "Production"
        "date": j.records[0].ts if j.records else "",
        "started": human_time(j.started_at),
        "ended": human_time(j.ended_at),
        "operator": opened.operator,
        "duration_seconds": seconds,  # a run still open has no duration yet
        "duration_minutes": None if seconds is None else round(seconds / 60, 1),
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
            "ended": j.migration_end is not None,
            "started": j.migration_start is not None,
            "online": bool(migrate_start.get("online")),
            "stopped": _stopped(j.migration_stop),
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
        "validation": {"ran": bool(validate), "ok": validate.get("ok"), "drift": validate.get("drift"),
                       "checks": validate.get("checks", [])},
        "api": {"before": migrate_start.get("api_before"), "after": validate.get("api_after"),
                "configured": [e.path for e in cfg.inventory.api.endpoints] if cfg and cfg.inventory.api else []},
        "gate": {"decision": gate.get("decision"), "checks": gate.get("checks", [])},
        "rehearsal": _rehearsal(_data(j.last(RehearsalEnded))),
        "rollback": _rollback(j),
        "rolls_back": opened.rolls_back,  # a rollback run: the run whose migration it undid
        "rolled_back_by": _rolled_back_by(run),
        "rollback_reason": (_data(j.last(RollbackDecided))).get("why"),
        "problems": _problems(j),
        "outcome": outcome,
        "timeline": timeline(j),
    }
    data["same"] = _same(data)
    data["checklist"] = checklist(data)
    return data


def timeline(j: Journal) -> dict[str, Any]:
    """Each phase's span in seconds from the run's start, and what was down when (pure).

    A phase spans its start record to the next end / decision / error of that phase; one that
    never ended (a crash, a run still open) spans to the last record and says so. `down` holds
    the app's stops (a rollback's stop-app to app-started) and a migration that holds write locks
    (not `--online`: CREATE INDEX without CONCURRENTLY blocks writes to its table; a migration that
    ran no statement, a baseline only, blocked nothing).
    """
    origin = j.started_at
    if origin is None:
        return {"phases": [], "down": [], "total": None}
    last = j.last_at or origin

    def at(record: Record) -> float:
        return round(((record.when or origin) - origin).total_seconds(), 3)

    phases, open_ = [], {}
    for r in j.records:
        if r.phase in ("run", "break"):
            continue
        if r.event == "start":
            open_[r.phase] = r
        elif r.event in ("end", "decision", "error") and r.phase in open_:
            begun = open_.pop(r.phase)
            status = r.status or ("failed" if r.event == "error" else "ok")
            ran = not (isinstance(r, MigrationEnded) and (r.nothing_to_do or not (r.statements or r.created_indexes)))
            phases.append({"phase": r.phase, "start": at(begun), "end": at(r), "status": status,
                           "blocking": isinstance(begun, MigrationStarted) and not begun.online and ran})
    for phase, begun in open_.items():
        phases.append({"phase": phase, "start": at(begun), "end": round((last - origin).total_seconds(), 3), "status": "unfinished",
                       "blocking": isinstance(begun, MigrationStarted) and not begun.online})
    phases.sort(key=lambda p: p["start"])
    down = [{"what": "writes", "start": p["start"], "end": p["end"]} for p in phases if p["phase"] == "migrate" and p["blocking"]]
    stop = None
    for r in j.records:
        if isinstance(r, RollbackStep) and r.status == "stop-app":
            stop = r
        elif stop is not None and (isinstance(r, (RollbackEnded, RollbackStopped)) or (isinstance(r, RollbackStep) and r.status == "app-started")):
            down.append({"what": "app", "start": at(stop), "end": at(r), "restarted": r.status == "app-started" or None})
            stop = None
    if stop is not None:
        down.append({"what": "app", "start": at(stop), "end": round((last - origin).total_seconds(), 3), "restarted": False})
    ended = j.ended_at or last
    return {"phases": phases, "down": down, "total": round((ended - origin).total_seconds(), 3)}


def run_metrics(j: Journal) -> dict[str, Any]:
    """The figures `inv runs --html` plots across runs (pure); None where the journal has none (an older or failed run)."""
    backup = j.backup("backup")
    spans = [p for p in timeline(j)["phases"] if p["phase"] == "backup" and p["status"] == "ok"]
    end = j.migration_end
    start = j.migration_start
    validated = j.last(Validated)
    api_after = (validated.api_after if validated else None) or {}
    api_before = (start.api_before if start else None) or {}
    return {
        "backup_size": backup.size if backup else None,
        "backup_seconds": round(spans[-1]["end"] - spans[-1]["start"], 3) if spans else None,
        "migration_seconds": end.seconds if end else None,
        "api_p95_before": {e["path"]: e.get("p95_ms") for e in api_before.get("endpoints") or []},
        "api_p95_after": {e["path"]: e.get("p95_ms") for e in api_after.get("endpoints") or []},
        "api_budget": {e["path"]: e.get("budget_ms") for e in [*(api_before.get("endpoints") or []), *(api_after.get("endpoints") or [])]},
    }


def checklist(data: dict[str, Any]) -> dict[str, bool]:
    """The seed's "Checklist Finale", each item decided from the report's own figures (pure)."""
    copies = data["backup"]["copies"]
    api_after = data["api"]["after"] or {}
    endpoints = api_after.get("endpoints") or []
    migrations = data["migrations"]
    expected = data["expected_performance_indexes"]
    post = data["post_backup"]
    return {
        "backup_secured": bool(data["backup"]["file"]) and sum(1 for c in copies if c.get("verified")) + 1 >= 2,
        "migrations_ok": migrations["ended"] and not migrations["stopped"],
        "indexes_created": expected is not None and len(migrations["created_indexes"]) == expected and migrations["ended"],
        "users_identical": data["after"]["total"] is not None and all(data["same"].values()),
        "api_tested": bool(endpoints) and api_after.get("login_status") in (None, 200)
        and all(e.get("ok") and not e.get("error") for e in endpoints),
        "performance": bool(endpoints) and all(e.get("median_ms") is not None and e.get("budget_ms") is not None
                                               and e["median_ms"] <= e["budget_ms"] for e in endpoints),
        "report": True,  # this document; the signatures below are the people's
        "post_backup": bool(post and post.get("file")),
    }


def write_reports(cfg: Config, run: Run, languages: tuple[str, ...] = LANGUAGES) -> dict[str, str]:
    """report.<lang>.md and report.json in the run's folder (0600); returns their paths."""
    data = report_data(run, cfg)
    paths = {"json": write_private(run.dir / "report.json", json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")}
    for lang in languages:
        paths[lang] = write_private(run.dir / f"report.{lang}.md", render_markdown(data, lang))
    return paths


def environment(lang: str):  # noqa: ANN201 - jinja2 is imported here, not at module load
    """The Jinja environment of the report templates, with the human-unit filters of `lang`."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["role"] = lambda role: ROLE_LABELS.get(lang, {}).get(role, role)
    env.filters["size"] = lambda size: human_size(size, lang)
    env.filters["duration"] = lambda seconds: human_duration(seconds, lang)
    env.filters["ms"] = lambda value: human_ms(value, lang)
    env.filters["num"] = lambda value: MISSING if value is None else _decimal(f"{value:.1f}", lang) if isinstance(value, float) else value
    return env


def render_markdown(data: dict[str, Any], lang: str) -> str:
    return environment(lang).get_template(f"report.{lang}.md.j2").render(**data)


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
        return {"id": None, "file": None, "size": None, "sha256": None, "copies": [], "verified_copies": 0}
    path = str(cfg.inventory.backup.dir / record["file"]) if cfg else record["file"]
    copies = record.get("copies", [])
    return {"id": record.get("id"), "file": path, "size": record.get("size"), "sha256": record.get("sha256"),
            "copies": copies, "verified_copies": sum(1 for c in copies if c.get("verified"))}


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


def _problems(j: Journal) -> list[dict[str, str]]:
    """What went wrong, as the journal words it (English machine text: the reports quote it, never translate it)."""
    problems = []
    for r in j.records:
        if isinstance(r, RunClosed):
            continue  # the outcome, not a problem
        if r.event == "error" or (r.event == "end" and r.status == "failed"):
            data = r.data()
            failed = [c["summary"] for c in data.get("checks", []) if c.get("status") == "fail"]
            problems.append({"phase": r.phase, "message": "; ".join(failed) or data.get("error") or r.status})
        if isinstance(r, DriftInjected):
            problems.append({"phase": "demo", "message": r.note})
        if isinstance(r, RollbackDecided):
            problems.append({"phase": "rollback", "message": r.why})
    return problems


def _rolled_back_by(run: Run) -> list[dict[str, str]]:
    """The later runs that rolled this one back (`inv rollback` of a closed run is a run of its own)."""
    from .runs import list_runs

    later = []
    for other in list_runs(run.dir.parent.parent):
        journal = other.read()
        if other != run and journal.opened is not None and journal.opened.rolls_back == run.id:
            rollback = _rollback(journal) or {}
            later.append({"run": other.id, "outcome": journal.outcome, "mode": rollback.get("mode") or "",
                          "kept_db": rollback.get("kept_db") or ""})
    return later


def _stopped(record: MigrationStopped | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {"status": record.status, "error": record.error, "committed": list(record.committed), "planned": list(record.planned)}


def _rollback(j: Journal) -> dict[str, Any] | None:
    """The rollback as the report shows it: what was restored, the state after it, the kept database (None: no rollback).

    A rollback of a finished run is a run of its own (`RunOpened.rolls_back`); this reads
    whichever journal it is given. Figures a failed or older rollback did not record are None.
    """
    decided, started, ended, stopped = j.last(RollbackDecided), j.last(RollbackStarted), j.last(RollbackEnded), j.last(RollbackStopped)
    if not (decided or started or ended or stopped):
        return None
    end = _data(ended)
    counts = end.get("counts") or {}
    stop = stopped if stopped is not None and j.index(stopped) > j.index(ended) else None
    if stop is not None:
        status = stop.status  # failed | interrupted
    elif ended is not None:
        status = ended.status
    elif decided is not None and decided.status == "declined":
        status = "declined"
    else:
        status = "unfinished"
    mode = (ended.mode if ended else "") or (started.mode if started else "") or (stop.mode if stop else "")
    after, manifest, replaced = counts.get("after") or {}, counts.get("manifest") or {}, counts.get("before") or {}
    return {
        "status": status,
        "decided": decided.status if decided else None,  # auto | confirmed | declined; None: run by hand (`inv rollback`)
        "why": decided.why if decided else None,
        "mode": mode,
        "backup": (end.get("backup") or {}).get("id") or (started.backup if started else None),
        "kept_db": (ended.kept_db if ended else None) or (started.kept_db if started and mode == "full" else None),
        "restored_db": end.get("restored_db") or (started.restore_db if started else None),
        "safety_backup": end.get("safety_backup") or next(iter(j.safety_backups), None),
        "tables": [{"table": t, "manifest": manifest.get(t), "replaced": replaced.get(t), "after": after.get(t),
                    "matches": manifest.get(t) == after.get(t) if manifest else None}
                   for t in sorted(set(after) | set(manifest))],
        "written_after_backup": end.get("written_after_backup") or {},
        "new_protected_ids": end.get("new_protected_ids") or {},
        "dropped_indexes": end.get("dropped_indexes") or [],
        "removed_tracking_rows": end.get("removed_tracking_rows") or (list(ended.removed_tracking_rows) if ended else []),
        "app": end.get("app") or {},
        "api": end.get("api"),
        "checks": end.get("checks") or [],
        "seconds": end.get("seconds"),
        "downtime_seconds": end.get("downtime_seconds"),
        "online": bool(started.online) if started else False,
        "error": stop.error if stop else None,
        "changed": stop.changed if stop else None,
        "next_step": stop.next_step if stop else None,
    }


def _data(record: Record | None) -> dict[str, Any]:
    """A record's data as the JSON report holds it (plain lists and dicts)."""
    return json.loads(json.dumps(record.data(), default=str)) if record is not None else {}


def write_private(path: Path, text: str) -> str:
    """Write a report file readable by its owner only (0600): reports hold facts about users' data."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return str(path)
