"""Checks and verdicts shared by every phase (pure data).

A phase observes, then states each expectation as a `Check`: `ok`, `warn` (holds, but
an operator must know), `fail` (the expectation does not hold: exit 3), or `info`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Status(str, Enum):
    OK = "ok"
    INFO = "info"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    id: str  # stable kebab-case, e.g. "expected-tables"
    status: Status
    summary: str  # one line: what holds or what does not
    detail: str = ""  # why it matters / what to do next

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "status": self.status.value, "summary": self.summary, "detail": self.detail}


def failed(checks: list[Check] | tuple[Check, ...]) -> list[Check]:
    return [c for c in checks if c.status is Status.FAIL]
