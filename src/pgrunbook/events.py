"""Events: how the engine tells the console what it is doing, without printing.

A phase calls `emit(Event(...))`; the console (or a test) decides how to show it.
`Progress` events carry a `total` and `done` for long work (bytes, statements).
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


def discard(event: Event) -> None:
    """An emitter for callers that do not show progress."""
