"""Rendering for humans (rich) and machines (JSON). The only module that prints.

Errors are rendered as three parts: what failed, what was changed, the next safe step.
"""

from __future__ import annotations

import json
import re
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


def show_error(error: PgRunbookError, *, flags: str = "") -> None:
    """What / changed / next, each one line even on a terminal (soft wrap: the terminal folds it
    on screen, no newline is inserted, so a command in `next:` pastes back whole)."""
    err.print(f"[bold red]error:[/] {error.what}", soft_wrap=True)
    err.print(f"[dim]changed:[/] {error.changed}", soft_wrap=True)
    if error.next_step:
        err.print(f"[dim]next:[/] {with_flags(error.next_step, flags)}", soft_wrap=True)


_INV_COMMAND = re.compile(r"`inv ([\w.-]+)([^`]*)`")


def with_flags(text: str, flags: str) -> str:
    """Every `` `inv TASK …` `` in `text` with the user's ` -i X -p Y` (those it lacks), so a next
    step pasted back runs against the same inventory. Tasks that take no inventory are left alone."""
    if not flags.strip():
        return text

    def add(match: re.Match[str]) -> str:
        task, rest = match.group(1), match.group(2)
        if task in _NO_INVENTORY or task.startswith(("sandbox.", "fleet.")):
            return match.group(0)
        words = rest.split()
        wanted = [f for f in _flag_pairs(flags) if f[0] not in words and _LONG[f[0]] not in words]
        return f"`inv {task}" + "".join(f" {name} {value}" for name, value in wanted) + f"{rest}`"

    return _INV_COMMAND.sub(add, text)


_NO_INVENTORY = frozenset({"demo", "test", "sandbox"})
_LONG = {"-i": "--inventory", "-p": "--playbook"}


def _flag_pairs(flags: str) -> list[tuple[str, str]]:
    import shlex

    words = shlex.split(flags)
    return [(words[i], shlex.quote(words[i + 1])) for i in range(0, len(words) - 1, 2) if words[i] in _LONG]


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
    """Phase 1's tables. Drizzle's `when` (epoch milliseconds) shows as ISO 8601; `--json` keeps the number."""
    from .units import when_iso

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
        applied.add_row(entry["tag"], when_iso(entry["when"]), status, str(row["id"]) if row else "", (row or entry)["hash"][:12] + "…")
    for r in drizzle["unknown_rows"]:
        applied.add_row("[red]? no local file[/]", when_iso(r["created_at"]), "[red]unknown[/]", str(r["id"]), r["hash"][:12] + "…")
    out.print(applied)
    show_checks(report.checks, title="Checks")
    verdict_line(report.ok, good="verify: every expectation holds", bad="verify: " + "; ".join(c.id for c in report.checks if c.status is Status.FAIL) + " failed")


def _size(n: int) -> str:
    from .units import size

    return size(n)  # IEC (KiB, MiB, GiB), as everywhere else


def discard_if(quiet: bool):
    """The event handler for a task: silent under --json, progress on stderr otherwise."""
    from .events import discard

    return discard if quiet else EventView(NORMAL)


# --------------------------------------------------------------------------- events: -v / -q, progress, the recap

QUIET, NORMAL, VERBOSE = -1, 0, 1


def verbosity(verbose: bool, quiet: bool) -> int:
    from .errors import UsageError

    if verbose and quiet:
        raise UsageError("-v and -q contradict each other: give one of them")
    return VERBOSE if verbose else QUIET if quiet else NORMAL


_CREATE_INDEX = re.compile(r'^CREATE\s+(UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?(IF\s+NOT\s+EXISTS\s+)?(\S+)\s+ON\s+(ONLY\s+)?(\S+)', re.I)


def shorten_sql(sql: str, width: int = 60) -> str:
    """One statement on one short line: `CREATE INDEX idx_users_role ON users`, else the text cut
    at a word before `width` with `…` (quotes dropped, whitespace collapsed)."""
    text = " ".join(sql.replace('"', "").split()).rstrip(";")
    index = _CREATE_INDEX.match(text)
    if index:
        text = f"CREATE {(index.group(1) or '').upper()}INDEX {(index.group(2) or '').upper()}{index.group(4)} ON {index.group(6)}"
        text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > width // 2 else cut) + "…"


class EventView:
    """How events reach the person at the terminal (stderr; stdout stays for results and JSON).

    - VERBOSE (`-v`): every event, one line each (every statement of a migration included);
    - NORMAL: a task run alone shows its events, but a migration's statements only in passing;
      `compact` (migrate-prod, the demo) shows only phase lines, summaries (one line per migration
      applied) and warnings: the recap says the rest;
    - QUIET (`-q`): nothing; the recap (or the task's result) is printed at the end.
    "In passing": on a terminal, one status line rewritten in place (statements done / total, the
    current statement shortened, elapsed, the rate and ETA where a total is known); nothing
    when the output is a pipe or a file, so logs hold whole lines only. Thread-safe."""

    def __init__(self, level: int = NORMAL, *, compact: bool = False) -> None:
        import threading
        import time

        self.level, self.compact = level, compact
        self._lock = threading.Lock()
        self._status = ""  # the status line now on the terminal
        self._started: dict[str, float] = {}  # progress task -> first seen (rate, ETA)
        self._clock = time.monotonic

    def __call__(self, event: Event) -> None:
        from .events import DETAIL, PHASE, SUMMARY, level

        with self._lock:
            if self.level == QUIET:
                return
            kind, grade = event.kind, level(event)
            if self.level == VERBOSE:
                if not (kind == "progress" and event.data.get("running")):  # its end is the line
                    self._line(event)
                return
            if kind == "warn" or grade in (PHASE, SUMMARY) or (not self.compact and grade != DETAIL and not _measured(event)):
                self._line(event)
            else:
                self._passing(event)

    def close(self) -> None:
        with self._lock:
            self._clear()

    # -- output

    def _line(self, event: Event) -> None:
        from .events import PHASE, level

        self._clear()
        style = {"warn": "yellow", "done": "green"}.get(event.kind, "dim")
        text = escape(event.message) if level(event) == PHASE else escape(f"{event.phase}: {event.message}")
        err.print(f"[{style}]{text}[/]", soft_wrap=True)

    def _passing(self, event: Event) -> None:
        if not _on_tty(err):
            return
        self._status = self._status_text(event)
        width = max(20, err.size.width - 1)
        err.file.write("\r\x1b[2K" + self._status[:width])
        err.file.flush()

    def _clear(self) -> None:
        if self._status and _on_tty(err):
            err.file.write("\r\x1b[2K")
            err.file.flush()
        self._status = ""

    def _status_text(self, event: Event) -> str:
        from .units import duration, eta, size

        data = event.data
        if event.phase == "migrate" and "migration" in data and "statement" in data:
            done, total = data.get("done", 0), data.get("total")
            left = eta(done, total, data.get("elapsed") or 0.0)  # by statements: index builds of similar tables, roughly
            return (f"migrate: {data['migration']} {done}/{total or '?'} · {shorten_sql(str(data['statement']))} · "
                    f"{duration(data.get('elapsed'))}" + (f" · ETA ~{duration(left)}" if left is not None else ""))
        if "done" in data:
            key = str(data.get("task", event.message))
            now = self._clock()
            elapsed = now - self._started.setdefault(key, now)
            done, total = data.get("done") or 0, data.get("total")
            bytes_like = data.get("unit", "bytes" if "task" in data else "") == "bytes"  # the backup's meters count bytes
            shown = f" · {size(done)}" + (f" / {size(total)}" if total else "") if bytes_like else ""  # other units: in the message
            rate = f" · {size(done / elapsed)}/s" if bytes_like and elapsed > 0.5 else ""
            left = eta(done, total, elapsed)
            return f"{event.phase}: {event.message}{shown}{rate}" + (f" · ETA {duration(left)}" if left is not None else "")
        return f"{event.phase}: {event.message}"


_VERDICT_STYLE = {True: "green", False: "red", None: "dim"}


def show_recap(recap: Any, *, label: str | None, extra: tuple[str, ...] = (), error_follows: bool = False) -> None:
    """The recap (`recap.Recap`), as Ansible's PLAY RECAP: one line per phase (verdict, duration,
    the figure that matters), then the verdict, the next step, the report, and what to look at.
    Plain lines, never wrapped inside a command: they grep and paste back into a shell."""
    from .units import duration

    out.print(f"[bold]RECAP[/] run {escape(recap.run_id)} · {escape(recap.target)}", soft_wrap=True)
    width = max((len(p.phase) for p in recap.phases), default=8)
    verdicts = max((len(p.verdict) for p in recap.phases), default=10)
    for p in recap.phases:
        style = _VERDICT_STYLE[p.good]
        seconds = duration(p.seconds) if p.seconds is not None else ""
        rest = f" {seconds:>6}  {escape(p.figure)}".rstrip() if seconds or p.figure else ""
        verdict = f"{escape(p.verdict):<{verdicts}}" if rest else escape(p.verdict)
        out.print(f"  {escape(p.phase):<{width}}  [{style}]{verdict}[/]{rest}", soft_wrap=True)
    style = {"ok": "bold green", "warnings": "bold yellow", "rolled-back": "bold yellow"}.get(recap.outcome, "bold red")
    took = f" in {duration(recap.seconds)}" if recap.seconds is not None else ""
    reason = f": {escape(recap.reason)}" if recap.reason and recap.outcome != "ok" else ""
    if label is not None:  # a run that ended; a phase run alone leaves it open for the next phase
        out.print(f"[{style}]{escape(label)}: {escape(recap.outcome)}[/]{took} (run {escape(recap.run_id)}){reason}", soft_wrap=True)
    if recap.next_step and not error_follows:
        out.print(f"[bold]next:[/] {escape(recap.next_step)}", soft_wrap=True)
    if recap.reports:
        main = recap.reports.get("en") or next(iter(recap.reports.values()))
        others = ", ".join(f"{lang}: {_file_name(path)}" for lang, path in recap.reports.items() if path != main)
        out.print(escape(f"report: {main}" + (f" ({others})" if others else "")), soft_wrap=True)
    for line in extra:
        out.print(escape(line), soft_wrap=True)


def _file_name(path: str) -> str:
    from pathlib import Path

    return Path(path).name


def _measured(event: Event) -> bool:
    """A progress event with figures (bytes, statements): a terminal shows it in passing, a log never."""
    return event.kind == "progress" and "done" in event.data


def _on_tty(console: Console) -> bool:
    isatty = getattr(console.file, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:
        return False


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
    if report.plan.upgrade:  # drizzle 1.0's ledger upgrade, the plan's first step
        plan.add_row(escape(report.plan.ledger), "upgrade ledger",
                     escape(f"drizzle 1.0's columns, then {len(report.plan.upgrade)} row(s) named (check ledger-upgrade; --sql)"))
    baseline = report.plan.baseline
    if baseline:
        span = baseline[0].tag if len(baseline) == 1 else f"{baseline[0].tag} … {baseline[-1].tag} ({len(baseline)})"
        plan.add_row(escape(span), "baseline", escape(baseline[0].why))
    for step in report.plan.apply:
        plan.add_row(escape(step.tag), "apply", escape(step.why))
    if not report.plan.steps and not report.plan.upgrade:
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


def show_migrate(run: Any, result: Any, *, flags: str = "") -> None:
    if result is None:
        out.print(f"[green]✔ migrate: nothing to do[/] — every planned migration is already recorded (run {run.id})")
        return
    out.print(f"[bold green]✔ migrate:[/] scenario {result.scenario}: {len(result.baseline)} baselined, "
              f"{len(result.applied)} applied ({', '.join(t for t, _ in result.applied)}), "
              f"{len(result.created_indexes)} indexes created, in {result.seconds:.1f}s (run {run.id})")
    if result.dropped_invalid_indexes:
        out.print(f"[yellow]dropped INVALID indexes this run created:[/] {', '.join(result.dropped_invalid_indexes)}")
    # the next step: in the recap that follows


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
        summary.add_row("app", f"{result.app_controller}: " + ("stopped and started" if result.app_started else "not stopped/started by pgrunbook")
                        + (" (--online: stopped only for the swap; it served the old database during the restore)" if result.online else ""))
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


# --------------------------------------------------------------------------- fleets


def ask_fleet_name(name: str, what: str) -> str | None:
    """The confirmation for a fleet with non-sandbox targets: the operator types the fleet's name, once."""
    if not sys.stdin.isatty():
        return None
    err.print(f"[bold yellow]This migrates {escape(what)}.[/] Type the fleet's name ([bold]{escape(name)}[/]) to continue:")
    try:
        return input("> ").strip()
    except EOFError:
        return None


def ask_wave(wave: Any, question: str) -> bool:
    """`policy.between_waves: confirm`: the operator says whether the next wave starts."""
    if not sys.stdin.isatty():
        return False
    err.print(f"[bold yellow]{escape(question)}[/] [y/N]")
    try:
        return input("> ").strip().lower() in ("y", "yes", "o", "oui")
    except EOFError:
        return False


def show_fleet(data: dict[str, Any]) -> None:
    """`inv fleet.migrate-prod` / `fleet.status`: one line per target, totals per wave, the fleet's outcome."""
    table = Table(title=f"Fleet {data['fleet']} — run {data['fleet_run']}", header_style="bold")
    for col, just in (("wave", "right"), ("target", "left"), ("outcome", "left"), ("duration", "right"), ("users before", "right"),
                      ("users after", "right"), ("backup", "left"), ("rollback", "left"), ("run", "left")):
        table.add_column(col, justify=just, overflow="fold")  # type: ignore[arg-type]
    by_wave: dict[int, list[dict[str, Any]]] = {}
    for row in data["targets"]:
        by_wave.setdefault(row.get("wave", -1), []).append(row)
    for wave in data["waves"]:
        label = "canary" if wave["canary"] else str(wave["wave"])
        for row in by_wave.get(wave["wave"], []):
            _fleet_row(table, label, row)
        table.add_row("", f"[dim]wave total ({wave['targets']})[/]", escape(", ".join(f"{k} {v}" for k, v in wave["outcomes"].items())),
                      f"[dim]{wave['target_seconds']:.1f}s[/]", "", "", "", "", "", end_section=True)
    out.print(table)
    style = {"ok": "bold green", "failed": "bold yellow"}.get(data["outcome"], "bold red")
    out.print(f"[{style}]fleet {escape(data['fleet'])}: {escape(data['outcome'])}[/] in {data['seconds']:.1f}s"
              + (f" — {escape(data['reason'])}" if data["reason"] else ""))
    if data.get("max_concurrency"):
        out.print("most runs at once: " + ", ".join(f"{k} {v}" for k, v in sorted(data["max_concurrency"].items()))
                  + f" (overall {data['max_overall']})")
    out.print(escape(f"fleet journal: {data['journal']}"), soft_wrap=True)
    if data["outcome"] in ("stopped", "in progress"):
        out.print(escape(f"next: `inv fleet.migrate-prod --resume {data['fleet_run']}` runs the targets not ended"), soft_wrap=True)


def _fleet_row(table: Table, wave: str, row: dict[str, Any]) -> None:
    colour = {"ok": "green", "warnings": "yellow", "not started": "dim"}.get(row["outcome"], "red")
    reason = f"\n[dim]{escape(row['reason'])}[/]" if row.get("reason") else ""
    seconds = row.get("seconds")
    table.add_row(wave, escape(row["target"]), f"[{colour}]{escape(row['outcome'])}[/]{reason}",
                  "" if seconds is None else f"{seconds:.1f}s", _text(row.get("users_before")), _text(row.get("users_after")),
                  escape(_text(row.get("backup"))), escape(_text(row.get("rollback"))), escape(_text(row.get("run"))))


def _text(value: Any) -> str:
    return "-" if value is None else str(value)


def show_fleet_verify(data: dict[str, Any]) -> None:
    """`inv fleet.verify`: each tenant's ledger, then the drift between tenants."""
    table = Table(title=f"Fleet {data['fleet']} — verify (read only)", header_style="bold")
    for col in ("target", "verify", "applied", "pending", "users", "drift"):
        table.add_column(col, overflow="fold")
    for t in data["targets"]:
        drift = []
        if t["target"] in data["behind"]:
            drift.append(f"behind: {', '.join(data['behind'][t['target']])}")
        if t["target"] in data["unknown_rows"]:
            drift.append(f"{data['unknown_rows'][t['target']]} unknown ledger row(s)")
        if t["target"] in data["stranded"]:
            drift.append(f"stranded: {', '.join(data['stranded'][t['target']])}")
        if t["error"]:
            drift.append(f"unreachable: {t['error']}")
        table.add_row(escape(t["target"]), "[green]ok[/]" if t["ok"] else "[red]failed[/]", str(len(t["applied"])), str(len(t["pending"])),
                      _text(t["users"]), escape("; ".join(drift)) or "[green]none[/]")
    out.print(table)
    verdict_line(data["consistent"], good="no drift between tenants", bad="drift between tenants (see the last column)")
