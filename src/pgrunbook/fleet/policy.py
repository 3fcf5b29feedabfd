"""A fleet's rollout policy, decided without I/O: the waves, the failure budget, what stops the fleet.

    canary   the first wave (wave 0): target names, or a count of the first targets in inventory order
    waves    the sizes of the waves after the canary, each a count (3) or a share of the targets after
             the canary ("50%", rounded up, at least 1); the last size repeats until every target has a wave
    budget   the fleet stops once `max_failures` targets failed, or once failed targets exceed
             `max_failure_percent` of the fleet (Ansible's max_fail_percentage: more than X%)
    on_failure  `continue`: a failed target does not stop its wave (the budget still counts it);
             `stop`: no new target starts after one failed (the running ones finish)

A canary that fails always stops the fleet before wave 1: that is what a canary is for.
A target counts as failed unless its run ended `ok` or `warnings` (validated without drift).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

SUCCESS = frozenset({"ok", "warnings"})
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


class PolicyError(ValueError):
    """A policy that cannot be planned (an unknown canary, a zero-sized wave)."""


@dataclass(frozen=True)
class Wave:
    number: int  # 0: the canary
    targets: tuple[str, ...]

    @property
    def is_canary(self) -> bool:
        return self.number == 0


@dataclass(frozen=True)
class Budget:
    max_failures: int | None = None
    max_failure_percent: float | None = None


def wave_size(spec: int | str, rest: int) -> int:
    """A wave's size: a count, or a share ("25%") of the `rest` targets after the canary, rounded up."""
    if isinstance(spec, bool):
        raise PolicyError(f"wave size {spec!r}: a count or a percentage")
    if isinstance(spec, int):
        size = spec
    else:
        found = _PERCENT.match(str(spec))
        if found:
            size = math.ceil(float(found.group(1)) * rest / 100)
        elif str(spec).strip().isdigit():
            size = int(str(spec).strip())
        else:
            raise PolicyError(f"wave size {spec!r}: a count (3) or a percentage (\"25%\")")
    if size < 1 and rest > 0:
        raise PolicyError(f"wave size {spec!r} is 0 for {rest} target(s): every wave needs at least one")
    return max(size, 1)


def plan_waves(targets: Sequence[str], canary: int | Sequence[str], waves: Sequence[int | str]) -> tuple[Wave, ...]:
    """Every target in exactly one wave, inventory order kept inside each wave."""
    if len(set(targets)) != len(targets):
        raise PolicyError("a target is listed twice")
    if isinstance(canary, int) and not isinstance(canary, bool):
        if canary < 0:
            raise PolicyError("canary: a count >= 0 or target names")
        first = tuple(targets[:canary])
    else:
        unknown = [name for name in canary if name not in targets]
        if unknown:
            raise PolicyError(f"canary names unknown target(s): {', '.join(unknown)} (known: {', '.join(targets)})")
        first = tuple(name for name in targets if name in set(canary))
    rest = [name for name in targets if name not in set(first)]
    plan = [Wave(0, first)] if first else []
    sizes = list(waves) or ["100%"]
    number, position = 1, 0
    while position < len(rest):
        spec = sizes[min(number - 1, len(sizes) - 1)]
        size = wave_size(spec, len(rest))
        plan.append(Wave(number, tuple(rest[position:position + size])))
        position += size
        number += 1
    return tuple(plan)


def failed(outcome: str) -> bool:
    return outcome not in SUCCESS


def budget_spent(failures: int, total: int, budget: Budget) -> str | None:
    """Why the failure budget stops the fleet now (None: it does not)."""
    if budget.max_failures is not None and failures >= budget.max_failures:
        return f"failure budget spent: {failures} failed target(s), the budget stops at {budget.max_failures}"
    if budget.max_failure_percent is not None and total and failures * 100 / total > budget.max_failure_percent:
        return (f"failure budget spent: {failures} of {total} target(s) failed ({failures * 100 / total:.0f}%), "
                f"more than {budget.max_failure_percent:g}%")
    return None


def stop_reason(outcomes: Mapping[str, str], wave: Wave, *, total: int, budget: Budget, on_failure: str) -> str | None:
    """After a target ended: why no new target may start (None: the rollout goes on).

    `outcomes`: every target that ended so far in this fleet run (name -> run outcome).
    """
    failures = sorted(name for name, outcome in outcomes.items() if failed(outcome))
    if not failures:
        return None
    in_wave = [name for name in failures if name in wave.targets]
    if wave.is_canary and in_wave:
        return f"canary {', '.join(in_wave)} failed ({outcomes[in_wave[0]]}): the fleet stops before wave 1"
    spent = budget_spent(len(failures), total, budget)
    if spent:
        return spent
    if on_failure == "stop" and in_wave:
        return f"{', '.join(in_wave)} failed ({outcomes[in_wave[0]]}) and policy.on_failure is stop"
    return None


def may_start(target_instance: str, running: Mapping[str, int], *, limits: Mapping[str, int], overall: int) -> bool:
    """A target may start now: under the overall limit and under its instance's limit."""
    if sum(running.values()) >= overall:
        return False
    return running.get(target_instance, 0) < limits.get(target_instance, 1)
