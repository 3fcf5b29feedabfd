"""Drift between the tenants of a fleet, from each one's ledger as verify reconciled it (pure).

- behind: migrations another tenant has applied that this one has not (the fleet's union of
  applied tags is the reference: a tenant missing some is behind);
- unknown: ledger rows matching no local file (applied by another build of the app);
- stranded: files drizzle's high-water mark would skip forever on that tenant;
- unreachable: verify could not read the tenant.
Migrations pending on every tenant are not drift: that is the next rollout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class Ledger(Protocol):
    target: str
    applied: tuple[str, ...]
    stranded: tuple[str, ...]
    unknown_rows: int
    error: str


@dataclass(frozen=True)
class FleetDrift:
    behind: dict[str, tuple[str, ...]]
    unknown: dict[str, int]
    stranded: dict[str, tuple[str, ...]]
    unreachable: dict[str, str]
    newest: tuple[str, ...]  # the union of applied migrations, in order

    @property
    def consistent(self) -> bool:
        return not (self.behind or self.unknown or self.stranded or self.unreachable)

    def as_json(self) -> dict[str, Any]:
        return {"consistent": self.consistent, "newest": list(self.newest),
                "behind": {k: list(v) for k, v in self.behind.items()}, "unknown_rows": self.unknown,
                "stranded": {k: list(v) for k, v in self.stranded.items()}, "unreachable": self.unreachable}


def compare(ledgers: Sequence[Ledger]) -> FleetDrift:
    read = [ledger for ledger in ledgers if not ledger.error]
    newest = tuple(sorted({tag for ledger in read for tag in ledger.applied}))
    behind = {}
    for ledger in read:
        missing = tuple(tag for tag in newest if tag not in set(ledger.applied))
        if missing:
            behind[ledger.target] = missing
    return FleetDrift(
        behind=behind,
        unknown={ledger.target: ledger.unknown_rows for ledger in read if ledger.unknown_rows},
        stranded={ledger.target: tuple(ledger.stranded) for ledger in read if ledger.stranded},
        unreachable={ledger.target: ledger.error for ledger in ledgers if ledger.error},
        newest=newest)
