"""Rendering for humans (rich) and machines (JSON). The only module that prints.

Errors are rendered as three parts: what failed, what was changed, the next safe step.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from rich.table import Table

from .errors import PgRunbookError
from .events import Event
from .outcome import Check, Status

PIPED_WIDTH = 200  # tables' width when the output is a pipe or a log file


class _Console(Console):
    """A terminal gets lines wrapped to its width. A pipe, a log file or a test's capture gets each
    line whole (soft wrap) and tables laid out PIPED_WIDTH wide, whatever COLUMNS says: a command
    cut in two no longer greps, nor pastes back into a shell.

    Decided at each print, from where the output goes now (`sys.stdout` may be replaced)."""

    def _on_tty(self) -> bool:
        isatty = getattr(self.file, "isatty", None)
        try:
            return bool(isatty and isatty())
        except ValueError:  # closed
            return False

    @property  # type: ignore[override]
    def soft_wrap(self) -> bool:
        return self._soft_wrap or not self._on_tty()

    @soft_wrap.setter
    def soft_wrap(self, value: bool) -> None:
        self._soft_wrap = value

    @property
    def size(self) -> ConsoleDimensions:
        measured = super().size
        return measured if self._on_tty() else ConsoleDimensions(PIPED_WIDTH, measured.height)


out = _Console(highlight=False)
err = _Console(stderr=True, highlight=False)

_MARK = {Status.OK: "[green]✔[/]", Status.INFO: "[blue]•[/]", Status.WARN: "[yellow]![/]", Status.FAIL: "[red]✘[/]"}


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def show_event(event: Event) -> None:
    """Progress goes to stderr, so `--json` output on stdout stays machine-readable."""
    style = {"warn": "yellow", "done": "green"}.get(event.kind, "dim")
    err.print(f"[{style}]{event.phase}: {event.message}[/]")


def show_error(error: PgRunbookError) -> None:
    err.print(f"[bold red]error:[/] {error.what}")
    err.print(f"[dim]changed:[/] {error.changed}")
    if error.next_step:
        err.print(f"[dim]next:[/] {error.next_step}")


def show_checks(checks: tuple[Check, ...] | list[Check], *, title: str) -> None:
    table = Table(title=title, show_header=True, header_style="bold", expand=False)
    table.add_column("", width=1)
    table.add_column("check")
    table.add_column("result", overflow="fold")
    for check in checks:  # our text is data, not markup: `[ban-drop]` must print as written
        text = escape(check.summary) + (f"\n[dim]{escape(check.detail)}[/]" if check.detail and check.status in (Status.WARN, Status.FAIL) else "")
        table.add_row(_MARK[check.status], escape(check.id), text)
    out.print(table)


def verdict_line(ok: bool, *, good: str, bad: str) -> None:
    out.print(f"[bold green]✔ {good}[/]" if ok else f"[bold red]✘ {bad}[/]")


def show_verify(report: Any) -> None:
    data = report.as_json()
    users = data["users"]
    roles = Table(title="Users by role (phase 1.2)", header_style="bold")
    roles.add_column(users["column"])
    roles.add_column("count", justify="right")
    for role, n in (users["by_role"] or {}).items():
        roles.add_row(role, str(n))
    roles.add_row("[bold]total[/]", f"[bold]{users['total']}[/]")
    out.print(roles)

    tables = Table(title="Tables (phase 1.5)", header_style="bold")
    for col, just in (("table", "left"), ("columns", "right"), ("rows (est.)", "right"), ("size", "right"), ("expected", "center")):
        tables.add_column(col, justify=just)  # type: ignore[arg-type]
    expected = set(report.expectations.tables)
    for t in data["tables"]:
        tables.add_row(t["name"], str(t["columns"]), str(max(t["rows_estimate"], 0)), _size(t["total_bytes"]), "✔" if t["name"] in expected else "")
    for name in data["expected_tables"]["missing"]:
        tables.add_row(f"[red]{name}[/]", "", "", "", "[red]missing[/]")
    out.print(tables)

    drizzle = data["drizzle"]
    ledger = {None: "no ledger rows", 0: "0.45 ledger", 1: "1.0 ledger"}[drizzle.get("ledger_version")]
    applied = Table(title=f"Drizzle migrations (phase 1.3, case {drizzle['scenario']}; drizzle {drizzle.get('format', '0.45')} "
                          f"folder, {ledger})", header_style="bold")
    for col in ("journal entry", "when", "status", "row id", "hash"):
        applied.add_column(col)
    by_tag = {a["tag"]: a for a in drizzle["applied"]}
    stranded = {s["tag"] for s in drizzle["stranded"]}
    for entry in data["local_migrations"]["entries"]:
        row = by_tag.get(entry["tag"])
        status = "applied" if row else ("[yellow]pending, stranded[/]" if entry["tag"] in stranded else "pending")
        applied.add_row(entry["tag"], str(entry["when"]), status, str(row["id"]) if row else "", (row or entry)["hash"][:12] + "…")
    for r in drizzle["unknown_rows"]:
        applied.add_row("[red]? no local file[/]", str(r["created_at"]), "[red]unknown[/]", str(r["id"]), r["hash"][:12] + "…")
    out.print(applied)
    show_checks(report.checks, title="Checks")
    verdict_line(report.ok, good="verify: every expectation holds", bad="verify: " + "; ".join(c.id for c in report.checks if c.status is Status.FAIL) + " failed")


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def discard_if(quiet: bool):
    """The event handler for a task: silent under --json, progress on stderr otherwise."""
    from .events import discard

    return discard if quiet else show_event


# --------------------------------------------------------------------------- backups


class BackupView:
    """Renders backup events: rich progress bars (bytes, rate, ETA) for `progress` events,
    one line per other event. Thread-safe (copies run concurrently)."""

    def __init__(self) -> None:
        import threading

        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                                 TimeRemainingColumn(), console=err, transient=False)
        self.tasks: dict[str, Any] = {}
        self.lock = threading.Lock()
        self.started = False

    def __call__(self, event: Event) -> None:
        with self.lock:
            if event.kind != "progress":
                if self.started:
                    style = {"warn": "yellow", "done": "green"}.get(event.kind, "dim")
                    self.progress.console.print(f"[{style}]{event.phase}: {event.message}[/]")
                else:
                    show_event(event)
                return
            if not self.started:
                self.progress.start()
                self.started = True
            key = event.data.get("task", event.message)
            total = event.data.get("total")
            if key not in self.tasks:
                self.tasks[key] = self.progress.add_task(event.message, total=total)
            self.progress.update(self.tasks[key], completed=event.data.get("done", 0), total=total)

    def close(self) -> None:
        with self.lock:
            if self.started:
                for task_id in self.tasks.values():
                    task = self.progress.tasks[task_id] if isinstance(task_id, int) and task_id < len(self.progress.tasks) else None
                    if task is not None and task.total is None:
                        self.progress.update(task_id, total=task.completed)
                self.progress.stop()
                self.started = False


class _Silent:
    def __call__(self, event: Event) -> None:
        pass

    def close(self) -> None:
        pass


def backup_view(quiet: bool):
    """A context manager yielding the event handler for `inv backup` (silent under --json)."""
    from contextlib import contextmanager

    @contextmanager
    def view():
        handler = _Silent() if quiet else BackupView()
        try:
            yield handler
        finally:
            handler.close()

    return view()


def show_backup(result: Any) -> None:
    m = result.manifest
    data = m.as_json()
    title = "Backup re-check" if result.action == "verify" else "Backup (phase 2)"
    summary = Table(title=f"{title}: {m.id}", show_header=False)
    summary.add_column("", style="bold")
    summary.add_column("", overflow="fold")
    dump = data["dump"]
    summary.add_row("dump", f"{m.dump_path if m.path else dump['file']} ({dump['format']}, {_size(dump['size'])})")
    summary.add_row("sha256", dump["sha256"])
    summary.add_row("manifest", str(m.path))
    summary.add_row("database", f"{data['database']['name']} on {data['database']['host']}:{data['database']['port']} (PostgreSQL {data['database']['server_version']})")
    summary.add_row("pg_dump", f"{dump['pg_dump']['version']} ({dump['run_on']}), snapshot {dump['snapshot']}, {dump['seconds']}s")
    roles = (data["counts"].get("users_by_role") or {})
    if roles.get("by_role") is not None:
        summary.add_row("users by role", ", ".join(f"{k} {v}" for k, v in roles["by_role"].items()) + f" (total {roles['total']})")
    critical = data["counts"]["tables"]
    summary.add_row("critical tables", ", ".join(f"{t} {critical.get(t if '.' in t else 'public.' + t, '?')}" for t in data["counts"]["critical_tables"]))
    out.print(summary)
    if m.copies:
        copies = Table(title="Copies", header_style="bold")
        for col in ("target", "type", "location", "verified", "how"):
            copies.add_column(col, overflow="fold")
        for c in m.copies:
            copies.add_row(c.target, c.type, c.location, "[green]yes[/]" if c.verified else "[red]NO[/]",
                           c.method if c.verified else f"[red]{c.error or ''}[/]")
        out.print(copies)
    show_checks(result.checks, title="Checks")
    verdict_line(result.ok, good=f"backup {m.id}: {m.status}, {m.verified_copies} verified copies",
                 bad=f"backup {m.id}: FAILED — " + "; ".join(m.problems or [c.summary for c in result.checks if c.status is Status.FAIL]))


def show_backup_list(rows: list[dict[str, Any]], directory: Any) -> None:
    if not rows:
        out.print(f"no backups in {directory} (take one with `inv backup`)")
        return
    table = Table(title=f"Backups in {directory}", header_style="bold")
    for col, just in (("id", "left"), ("age", "right"), ("format", "left"), ("size", "right"), ("copies", "right"),
                      ("restore test", "center"), ("status", "left")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in rows:
        copies = f"{r['verified_copies']}/{r['copies']} verified (min {r['min_copies']})"
        restore = {None: "-", True: "[green]ok[/]", False: "[red]failed[/]"}[r["restore_verified"]]
        status = "[green]ok[/]" if r["status"] == "ok" else f"[red]{r['status']}[/]"
        if r["status"] == "corrupt":
            status = f"[red]corrupt[/]: {r['manifest']}: {r['problems'][0]}"
        age = _age(r["age_seconds"]) if r["age_seconds"] is not None else "?"
        table.add_row(r["id"], age, r["format"] or "?", _size(r["size"] or 0), copies, restore, status)
    out.print(table)


def show_runs(rows: list[dict[str, Any]]) -> None:
    """`inv runs`: one line per run, newest first (as Flyway's `info`)."""
    if not rows:
        out.print("no runs of this database yet (`inv verify` opens one, `inv migrate-prod` runs one through)")
        return
    table = Table(title=f"Runs of {rows[0]['target']}", header_style="bold")
    for col, just in (("run", "left"), ("kind", "left"), ("started", "left"), ("duration", "right"), ("phases", "left"),
                      ("outcome", "left")):
        table.add_column(col, justify=just, no_wrap=col in ("run", "started"))  # type: ignore[arg-type]  # ids are copied
    for r in rows:
        table.add_row(r["id"], r["kind"] + (f" of {r['rolls_back']}" if r["rolls_back"] else ""), r["started"][:19].replace("T", " "),
                      "open" if r["seconds"] is None else _age(r["seconds"]), ", ".join(r["phases"]) or "-", _outcome(r))
    out.print(table)


def show_run(summary: dict[str, Any], records: list[dict[str, Any]]) -> None:
    """`inv runs show ID`: the run's summary, then its journal one record per line."""
    show_runs([summary])
    for r in records:
        status = f" {r['status']}" if r["status"] else ""
        out.print(escape(f"{r['ts'][11:23]}  {r['phase']:<11} {r['event']:<9}{status}"), soft_wrap=True)
    out.print(escape(f"journal: {summary['journal']} (format {summary['format']})"), soft_wrap=True)


def _outcome(row: dict[str, Any]) -> str:
    colour = {"ok": "green", "rolled-back": "yellow", "warnings": "yellow", "in progress": "cyan", "abandoned": "dim"}.get(row["outcome"], "red")
    reason = f": {row['reason']}" if row["reason"] else ""
    return f"[{colour}]{escape(row['outcome'])}[/]{escape(reason)}"


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def print_sql(sql: str) -> None:
    """The dry run: plain SQL on stdout, pipeable into a file or a reviewer's editor."""
    sys.stdout.write(sql)
    sys.stdout.flush()


def show_analysis(report: Any) -> None:
    data = report.as_json()
    plan = Table(title=f"Plan (phase 3, scenario {data['scenario']})", header_style="bold")
    for col in ("migration", "action", "why"):
        plan.add_column(col)
    baseline = report.plan.baseline
    if baseline:
        span = baseline[0].tag if len(baseline) == 1 else f"{baseline[0].tag} … {baseline[-1].tag} ({len(baseline)})"
        plan.add_row(escape(span), "baseline", escape(baseline[0].why))
    for step in report.plan.apply:
        plan.add_row(escape(step.tag), "apply", escape(step.why))
    if not report.plan.steps:
        plan.add_row("—", "nothing", "every journal entry is recorded as applied")
    out.print(plan)
    _show_findings(data["migrations"])
    expected = data["expected"]
    out.print(f"Expected after migration: {len(expected['indexes'])} new indexes, {len(expected['tables'])} new tables, "
              f"{len(expected['columns'])} new columns. `inv analyze --sql` prints the exact SQL, `--json` every finding.")
    show_checks(report.checks, title="Checks")
    verdict_line(report.ok, good="analyze: every migration to apply is allowed",
                 bad="analyze: refused — " + "; ".join(c.id for c in report.checks if c.status is Status.FAIL))


def _show_findings(migrations: list[dict]) -> None:
    """Blocking findings and exceptions one by one; informational ones counted per rule."""
    table = Table(title="Findings (migrations to apply)", header_style="bold")
    for col in ("where", "verdict", "rule", "consequence / remedy"):
        table.add_column(col, overflow="fold")
    for migration in migrations:
        info: dict[str, list[dict]] = {}
        for f in migration["findings"]:
            if f["verdict"] in ("info", "allowed") and not f["excepted"]:
                info.setdefault(f["rule"], []).append(f)
                continue
            verdict = "allowed (excepted: " + f["excepted"] + ")" if f["excepted"] else f["verdict"]
            style = {"forbidden": "red", "review": "yellow"}.get(f["verdict"], "green")
            table.add_row(escape(f"{f['file']}:{f['line']}"), f"[{style}]{escape(verdict)}[/]", escape(f["rule"]),
                          f"{escape(f['message'])}\n[dim]{escape(f['help'])}[/]")
        for rule, found in info.items():
            example = found[0]  # rules list their worst case first (e.g. the largest table)
            where = f"{migration['file']} ×{len(found)}" if len(found) > 1 else f"{example['file']}:{example['line']}"
            table.add_row(escape(where), "[dim]info[/]", escape(rule), f"{escape(example['message'])}\n[dim]{escape(example['help'])}[/]")
    if table.row_count:
        out.print(table)


def ask_database_name(dbname: str, url: str) -> str | None:
    """The confirmation for a non-sandbox target: the operator types the database name."""
    if not sys.stdin.isatty():
        return None
    err.print(f"[bold yellow]This changes {url}.[/] Type the database name ([bold]{dbname}[/]) to continue:")
    try:
        return input("> ").strip()
    except EOFError:
        return None


def show_migrate(run: Any, result: Any) -> None:
    if result is None:
        out.print(f"[green]✔ migrate: nothing to do[/] — every planned migration is already recorded (run {run.id})")
        return
    out.print(f"[bold green]✔ migrate:[/] scenario {result.scenario}: {len(result.baseline)} baselined, "
              f"{len(result.applied)} applied ({', '.join(t for t, _ in result.applied)}), "
              f"{len(result.created_indexes)} indexes created, in {result.seconds:.1f}s (run {run.id})")
    if result.dropped_invalid_indexes:
        out.print(f"[yellow]dropped INVALID indexes this run created:[/] {', '.join(result.dropped_invalid_indexes)}")
    out.print("next: `inv validate`")


def ask_rollback(why: str) -> bool:
    """The `ask` rollback policy: the operator decides, at the terminal."""
    if not sys.stdin.isatty():
        return False
    err.print(f"[bold red]{why}[/]\nRoll back now (restore this run's backup; the current database is kept, renamed)? [y/N]")
    try:
        return input("> ").strip().lower() in ("y", "yes", "o", "oui")
    except EOFError:
        return False


def show_prod(result: Any) -> None:
    style = {"ok": "bold green", "warnings": "bold yellow", "rolled-back": "bold red"}.get(result.outcome, "bold red")
    out.print(f"[{style}]migrate-prod: {result.outcome}[/] in {result.seconds:.1f}s (run {result.run.id})"
              + (f"\n{result.reason}" if result.reason else ""))
    for lang, path in result.report_paths.items():
        out.print(f"report ({lang}): {path}")
    out.print(f"journal: {result.run.journal}")


def show_rollback(result: Any) -> None:
    """`inv rollback`: the plan (dry run), or what was done, the counts and what the kept database holds."""
    data = result.as_json()
    if result.dry_run:
        out.print(f"[bold]Rollback plan ({result.mode}, dry run: nothing was changed)[/]")
        for number, step in enumerate(result.plan, 1):
            out.print(f"  {number}. {step}", markup=False)
        return
    if result.mode == "indexes-only":
        out.print(f"index-only rollback (run {result.run_id}): dropped {len(result.dropped_indexes)} index(es) this run created"
                  + (f", {len(result.absent_indexes)} already absent" if result.absent_indexes else "")
                  + f"; removed tracking row(s) {', '.join(map(str, result.removed_tracking_rows)) or 'none'}")
    else:
        summary = Table(title=f"Rollback ({result.mode}) — run {result.run_id}", show_header=False)
        summary.add_column("", style="bold")
        summary.add_column("", overflow="fold")
        summary.add_row("backup", f"{result.backup_id} ({result.backup_source})")
        if result.mode == "full":
            summary.add_row("now serving", f"the restored backup (restored into {result.restored_db}, then renamed)")
            summary.add_row("kept", f"{result.kept_db} (the replaced database, never dropped)")
        if result.safety_backup:
            summary.add_row("safety dump", f"{result.safety_backup} (the state this rollback replaced)")
        summary.add_row("app", f"{result.app_controller}: " + ("stopped and started" if result.app_started else "not stopped/started by pgrunbook"))
        if result.downtime_seconds is not None:
            summary.add_row("downtime", f"{result.downtime_seconds:.1f}s (total {result.seconds:.1f}s)")
        out.print(summary)
        counts = Table(title="Rows per table", header_style="bold")
        for col in ("table", "backup (manifest)", "before rollback", "after rollback"):
            counts.add_column(col, justify="left" if col == "table" else "right")
        before, after = data["counts"]["before"], data["counts"]["after"]
        for table in sorted(set(result.counts_manifest) | set(before) | set(after)):
            mark = " [dim](protected)[/]" if table in result.protected_tables else ""
            counts.add_row(table + mark, str(result.counts_manifest.get(table, "-")), str(before.get(table, "-")), str(after.get(table, "-")))
        out.print(counts)
        written = result.protected_written_after_backup
        holder = result.kept_db or f"the safety dump {result.safety_backup}"
        if written:
            out.print("[yellow]rows written after the backup in protected tables (net), kept in "
                      f"{holder}:[/] " + ", ".join(f"{t} {n:+d}" for t, n in written.items()))
        else:
            out.print(f"no net change in protected tables since the backup (other tables: "
                      f"{', '.join(f'{t} {n:+d}' for t, n in result.written_after_backup.items()) or 'none'})")
    show_checks(result.checks, title="Checks")
    verdict_line(result.ok, good=f"rollback ({result.mode}) done in {result.seconds:.1f}s",
                 bad="rollback: " + "; ".join(c.summary for c in result.checks if c.status is Status.FAIL))


def show_gate(run: Any, decision: Any) -> None:
    show_checks(decision.checks, title=f"Go / No-Go (phase 4) — run {run.id}")
    if any(c.id == "rehearsal" for c in decision.checks):
        from .journal import RehearsalEnded

        record = run.read().last(RehearsalEnded)
        if record is not None and record.extra.get("database"):
            show_rehearsal(record.data())
    verdict_line(decision.go, good="GO: every criterion holds",
                 bad="NO-GO: " + escape(", ".join(c.id for c in decision.checks if c.status is Status.FAIL)))


def show_validation(run: Any, report: Any) -> None:
    show_checks(report.checks, title=f"Post-validation (phase 6) — run {run.id}")
    verdict_line(report.ok, good="validate: every check holds",
                 bad="validate: " + ", ".join(c.id for c in report.checks if c.status is Status.FAIL) + " failed")


def show_rehearsal(data: dict[str, Any]) -> None:
    """The rehearsal as journaled: each migration's measured time and locks, then the tables that drifted."""
    seconds = data.get("seconds", {})
    title = (f"Rehearsal on a restored copy of backup {data['backup_id']} — restore {seconds.get('restore', 0):.1f}s, "
             f"apply {seconds.get('apply', 0):.1f}s, total {seconds.get('total', 0):.1f}s")
    table = Table(title=title, header_style="bold")
    for column in ("migration", "statements", "time", "writes blocked longest", "locks taken"):
        table.add_column(column, overflow="fold")
    statements = data.get("statements", [])
    for m in data.get("migrations", []):
        mine = [s for s in statements if s["migration"] == m["tag"] and s["line"]]
        worst = max(mine, key=lambda s: s["lock_seconds"], default=None)
        longest = f"{worst['file']}:{worst['line']} {worst['lock_seconds']:.2f}s" if worst and worst["locks"] else "–"
        locks = ", ".join(m["locks"][:4]) + (f" (+{len(m['locks']) - 4})" if len(m["locks"]) > 4 else "")
        table.add_row(m["tag"], str(m["statements"]), f"{m['seconds']:.2f}s", longest, locks or "–")
    out.print(table)
    if data.get("failed_at"):
        out.print(f"[red]fails on the copy at {data['failed_at']}[/]")
    if data.get("drift"):
        drift = Table(title="Drift on the copy (rows per table before → after the plan)", header_style="bold")
        drift.add_column("table")
        drift.add_column("what", overflow="fold")
        for d in data["drift"]:
            drift.add_row(d["table"], d["summary"])
        out.print(drift)
    if not data.get("dropped", True):
        out.print(f"[yellow]the scratch database {data['database']} was not dropped: drop it by hand[/]")
