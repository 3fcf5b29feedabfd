"""Planning: which migrations to record and which to run, per the seed's scenarios (pure).

- **A** — tracking present: apply every pending migration, stranded ones included (drizzle
  alone would skip those forever).
- **B** — no tracking (or an empty tracking table, as a rollback of a baseline leaves it):
  create drizzle's tracking table if needed, *baseline* the migrations the old
  hand-written schema already contains (record them without running them, once the
  evidence shows their objects exist), then apply the rest.
  A new database (none of the objects any migration creates exists, no tracking rows) is
  scenario B with nothing to baseline: create the tracking table and apply everything from
  the first migration (`fresh`).
- **C** — one named migration only (the seed's manual `psql -f 0011…`), recorded properly.

Every tracking row is planned as drizzle itself writes it: `(hash, created_at = when)`,
the id from the sequence. Never `now()` (it raises drizzle's high-water mark above later
entries and strands them) and never an explicit id (it collides with the sequence).

For a drizzle 1.0 folder the same scenarios hold with 1.0's rules (`state`): pending by name,
nothing stranded, `created_at` = the folder's second, and `name` in every row of a 1.0 ledger
(a new table is created in 1.0's shape). A renamed folder (drizzle would re-run SQL already
applied) or a ledger drizzle 1.0 cannot upgrade (a row matching no folder) is refused before
anything runs. A 0.45 ledger with drizzle 1.0 next is upgraded first (`MigrationPlan.upgrade`:
drizzle 1.0's own naming of each row, `state.upgrade_matches`), in any scenario and even with
nothing to apply: it is the plan's first step, which the gate approves (`upgrade_step`) and
migrate runs through the recorder, instead of the app's first boot doing it unreviewed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Literal

from ..errors import CheckFailed, UsageError
from .journal import Format, LocalMigrations, Migration
from .state import TrackingState, UpgradeMatch, ledger_gaps

Scenario = Literal["A", "B", "C"]


@dataclass(frozen=True)
class PlannedMigration:
    tag: str
    when: int
    hash: str
    action: Literal["baseline", "apply"]
    stranded: bool = False
    name: str = ""  # drizzle 1.0's name for it: written into a 1.0 ledger

    @property
    def why(self) -> str:
        if self.action == "baseline":
            return "already in the database (old schema): record only, after evidence"
        if self.stranded:
            return "stranded: its `when` is below drizzle's high-water mark, drizzle alone would skip it forever"
        return "pending"


@dataclass(frozen=True)
class MigrationPlan:
    scenario: Scenario
    create_tracking: bool
    steps: tuple[PlannedMigration, ...]
    tracking_schema: str = "drizzle"
    tracking_table: str = "__drizzle_migrations"
    drizzle: Format = "0.45"  # the migrator whose rules the plan follows
    ledger_v1: bool = False  # rows are written in drizzle 1.0's shape (with `name`)
    # drizzle 1.0's ledger upgrade, done first (a 0.45 ledger, drizzle 1.0 next): how each row is named (`state.upgrade_matches`)
    upgrade: tuple[UpgradeMatch, ...] = ()

    @property
    def ledger(self) -> str:
        return f"{self.tracking_schema}.{self.tracking_table}"

    @property
    def upgrade_step(self) -> tuple[str, str, str] | None:
        """The upgrade as the gate approves it: (ledger, "upgrade-ledger", digest of every row's id, hash, created_at, name).

        A row changed or named otherwise since the GO changes the digest: migrate then refuses the plan.
        """
        if not self.upgrade:
            return None
        rows = [[m.row.id, m.row.hash, m.row.created_at, m.name] for m in self.upgrade]
        return self.ledger, "upgrade-ledger", hashlib.sha256(json.dumps(rows).encode()).hexdigest()

    @property
    def baseline(self) -> tuple[PlannedMigration, ...]:
        return tuple(s for s in self.steps if s.action == "baseline")

    @property
    def apply(self) -> tuple[PlannedMigration, ...]:
        return tuple(s for s in self.steps if s.action == "apply")

    @property
    def empty(self) -> bool:
        return not self.steps and not self.create_tracking and not self.upgrade


def make_plan(
    local: LocalMigrations,
    state: TrackingState,
    *,
    baseline_until: str | None = None,
    only: str | None = None,
    tracking_schema: str = "drizzle",
    tracking_table: str = "__drizzle_migrations",
    fresh: bool = False,
) -> MigrationPlan:
    """The plan for this database; in scenario B, `baseline_until` is required unless the database is `fresh`
    (none of the migrations' objects exist: apply them all, baseline nothing)."""
    _refuse_v1_traps(state)
    pending = [m for m in local.entries if m.tag in state.pending]
    stranded = set(state.stranded)
    # a 0.45 ledger with drizzle 1.0 next is upgraded first (the plan's own step): every row written after it has a name
    upgrade = state.upgrade if state.needs_upgrade else ()
    v1 = state.ledger_version == 1 or (state.drizzle == "1.0" and not state.tracking_present) or bool(upgrade)
    names = {"tracking_schema": tracking_schema, "tracking_table": tracking_table, "drizzle": state.drizzle, "ledger_v1": v1,
             "upgrade": upgrade}
    if only:
        target = _find(local, only)
        if target.tag not in state.pending:
            raise UsageError(f"{target.tag} is already recorded as applied: nothing to do for --only")
        if state.drizzle == "0.45":  # drizzle 1.0 compares names: an unrecorded earlier migration is simply pending
            _refuse_partial_ledger(local, state, target)
        return MigrationPlan("C", not state.tracking_present, (_step(target, "apply", target.tag in stranded),), **names)
    if state.tracking_present and state.rows:
        if baseline_until:
            raise UsageError("--baseline-until is for a database without drizzle tracking (scenario B); this one has it")
        return MigrationPlan("A", False, tuple(_step(m, "apply", m.tag in stranded) for m in pending), **names)
    if fresh and not baseline_until:
        return MigrationPlan("B", True, tuple(_step(m, "apply", False) for m in pending), **names)
    if not baseline_until:
        raise UsageError(
            "no drizzle tracking table (scenario B): name the last migration the existing schema already contains",
            next_step="run `inv analyze --baseline-until TAG` (the plan then checks that every object it creates exists)",
        )
    last = _find(local, baseline_until)
    steps = [_step(m, "baseline" if m.idx <= last.idx else "apply", False) for m in pending]
    return MigrationPlan("B", True, tuple(steps), **names)



def _refuse_v1_traps(state: TrackingState) -> None:
    """What drizzle 1.0 would do wrong next, refused before anything runs."""
    if state.renamed:
        shown = ", ".join(f"{tag} (recorded as {old or 'a row without a name'})" for tag, old in state.renamed)
        raise CheckFailed(f"renamed migration folder(s): {shown}: drizzle 1.0 finds applied migrations by name and would run "
                          "their SQL again", changed="nothing was changed",
                          next_step="give each folder back the name its row holds (git mv), then run `inv verify` again")
    if state.upgrade_blocked:
        rows = "; ".join(f"id {u.row.id} (hash {u.row.hash[:12]}…, created_at {u.row.created_at})" for u in state.upgrade if u.name is None)
        raise CheckFailed(f"tracking row(s) {rows} match no migration folder (by created_at second, then hash): drizzle 1.0's "
                          "ledger upgrade throws on them, and so does pgrunbook's", changed="nothing was changed",
                          next_step="restore the missing migration folders (another branch, a deleted folder), then run `inv verify`")


def _refuse_partial_ledger(local: LocalMigrations, state: TrackingState, target: Migration) -> None:
    """--only must not leave a ledger drizzle misreads: earlier migrations unrecorded before a recorded one."""
    recorded = set(state.applied_tags)
    new_gaps = [t for t in ledger_gaps(local, recorded | {target.tag}) if t not in ledger_gaps(local, recorded)]
    if not new_gaps:
        return
    shown = ", ".join(new_gaps[:4]) + (f" … ({len(new_gaps)} in all)" if len(new_gaps) > 4 else "")
    hint = ("run without --only: the plan baselines the existing schema first (scenario B)" if not state.rows
            else f"apply {new_gaps[0]} first (or run without --only)")
    raise CheckFailed(f"--only {target.tag} would record it while {shown} before it stay unrecorded: drizzle's next deploy would "
                      "re-run those above its mark (their objects exist: it fails) and skip the others forever",
                      changed="nothing was changed", next_step=hint)


def _step(m: Migration, action: Literal["baseline", "apply"], stranded: bool) -> PlannedMigration:
    return PlannedMigration(m.tag, m.when, m.hash, action, stranded, m.name_v1)


def _find(local: LocalMigrations, name: str) -> Migration:
    for m in local.entries:
        if name in (m.tag, m.filename) or m.tag.startswith(f"{name}_"):
            return m
    known = ", ".join(m.tag for m in local.entries)
    raise UsageError(f"no migration named {name!r} in the journal (known: {known})")
