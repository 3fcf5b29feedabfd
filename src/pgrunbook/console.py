"""Rendering for humans (rich) and machines (JSON). The only module that prints.

Errors are rendered as three parts: what failed, what was changed, the next safe step.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from .errors import PgRunbookError
from .events import Event
from .outcome import Check, Status

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

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
    for check in checks:
        text = check.summary + (f"\n[dim]{check.detail}[/]" if check.detail and check.status in (Status.WARN, Status.FAIL) else "")
        table.add_row(_MARK[check.status], check.id, text)
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
    applied = Table(title=f"Drizzle migrations (phase 1.3, case {drizzle['scenario']})", header_style="bold")
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
