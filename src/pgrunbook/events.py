"""Events: how the engine tells the console what it is doing, without printing.

A phase calls `emit(Event(...))`; the console (or a test) decides how to show it.
`progress` events carry `done` and `total` (None when unknown) for long work (bytes,
statements); the console adds the rate and an ETA where one can be computed.

`data["level"]` says how much an event matters, so that the console can show a run at a
glance by default, everything with `-v` and only the recap with `-q`:
- `PHASE`: a phase begins (`phase 2/8: backup`): always shown;
- `SUMMARY`: the one line a step leaves (a migration applied: statements, time): always shown;
- `DETAIL`: one statement, one baseline row: shown with `-v` (a terminal shows it in passing);
- no level: shown when a task runs alone, in passing under migrate-prod and the demo.
Warnings (`kind == "warn"`) are always shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    phase: str  # "verify", "backup", ...
    kind: str  # "step", "done", "warn", "progress"
    message: str
    data: dict[str, Any] = field(default_factory=dict)


Emit = Callable[[Event], None]

PHASE, SUMMARY, DETAIL = "phase", "summary", "detail"


def level(event: Event) -> str:
    """The event's level: `PHASE`, `SUMMARY`, `DETAIL`, or "" (ordinary)."""
    return str(event.data.get("level", ""))


def discard(event: Event) -> None:
    """An emitter for callers that do not show progress."""
