"""Reconciling the local journal with the database's tracking rows (pure, no I/O).

drizzle-orm's migrator does not compare sets. It reads the one row with the greatest
`created_at` (`ORDER BY created_at DESC LIMIT 1`, where PostgreSQL sorts NULL first) and
applies every journal entry whose `when` is greater: a high-water mark. The hash is
stored, never compared. We reconcile properly instead, and name each trap drizzle
falls into:

- pending:   a journal entry with no tracking row;
- stranded:  pending, but its `when` is <= the mark: drizzle would skip it silently, forever;
- edited:    a row with the entry's `when` but another hash: the file changed after it ran;
- unknown:   a row matching no local file (another branch, a deleted file);
- null mark: a row with NULL created_at sorts first, so drizzle sees no mark and would
             re-run every migration.

Rows are matched to entries by hash first (drizzle's hash or the LF-normalised one),
then by `created_at = when`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .journal import LocalMigrations, Migration


@dataclass(frozen=True)
class TrackingRow:
    """One row of drizzle.__drizzle_migrations: migration `hash` was applied, `created_at` is its journal `when`."""

    id: int
    hash: str
    created_at: int | None


@dataclass(frozen=True)
class AppliedMigration:
    tag: str
    row: TrackingRow
    matched_by: str  # "hash", "hash-lf" (line endings differ only), "when" (file edited after it ran)


@dataclass(frozen=True)
class TrackingState:
    tracking_present: bool
    rows: tuple[TrackingRow, ...]
    applied: tuple[AppliedMigration, ...]
    pending: tuple[str, ...]  # tags, journal order
    stranded: tuple[str, ...]  # subset of pending
    unknown_rows: tuple[TrackingRow, ...]
    duplicate_rows: tuple[TrackingRow, ...]  # a second row for an entry already matched
    drizzle_mark: int | None  # what drizzle's migrator compares `when` against
    null_created_at: bool
    edited: tuple[str, ...] = field(default=())
    line_endings_only: tuple[str, ...] = field(default=())

    @property
    def applied_tags(self) -> tuple[str, ...]:
        return tuple(a.tag for a in self.applied)

    def drizzle_would_apply(self, local: LocalMigrations) -> tuple[str, ...]:
        """What drizzle-orm's own migrator would run now (the high-water-mark rule)."""
        if not self.tracking_present or self.drizzle_mark is None:
            return tuple(m.tag for m in local.entries)
        return tuple(m.tag for m in local.entries if self.drizzle_mark < m.when)


def ledger_gaps(local: LocalMigrations, recorded: set[str] | frozenset[str]) -> tuple[str, ...]:
    """Unrecorded entries that come, in journal order, before a recorded one (pure).

    drizzle-kit appends to its journal: a ledger that records a migration but not the ones
    before it was written by hand (a partial `--only`), and drizzle's next deploy would
    re-run those above its mark and skip the others forever.
    """
    tags = [m.tag for m in local.entries]
    last = max((i for i, tag in enumerate(tags) if tag in recorded), default=None)
    return () if last is None else tuple(tag for tag in tags[:last] if tag not in recorded)


def reconcile(local: LocalMigrations, rows: list[TrackingRow] | None) -> TrackingState:
    """`rows` is None when the tracking table does not exist (the seed's case B)."""
    present = rows is not None
    rows = sorted(rows or [], key=lambda r: r.id)
    applied: dict[str, AppliedMigration] = {}
    unknown, duplicates = [], []
    for row in rows:
        match = _match(row, local.entries, applied)
        if match is None:
            unknown.append(row)
        elif match.tag in applied:
            duplicates.append(row)
        else:
            applied[match.tag] = match
    null_created_at = any(r.created_at is None for r in rows)
    known = [r.created_at for r in rows if r.created_at is not None]
    mark = None if null_created_at or not known else max(known)
    pending = tuple(m.tag for m in local.entries if m.tag not in applied)
    stranded = tuple(m.tag for m in local.entries if m.tag in pending and mark is not None and m.when <= mark)
    ordered = tuple(applied[m.tag] for m in local.entries if m.tag in applied)
    return TrackingState(
        tracking_present=present,
        rows=tuple(rows),
        applied=ordered,
        pending=pending,
        stranded=stranded,
        unknown_rows=tuple(unknown),
        duplicate_rows=tuple(duplicates),
        drizzle_mark=mark,
        null_created_at=null_created_at,
        edited=tuple(a.tag for a in ordered if a.matched_by == "when"),
        line_endings_only=tuple(a.tag for a in ordered if a.matched_by == "hash-lf"),
    )


def _match(row: TrackingRow, entries: tuple[Migration, ...], taken: dict[str, AppliedMigration]) -> AppliedMigration | None:
    for entry in entries:
        if row.hash == entry.hash:
            return AppliedMigration(entry.tag, row, "hash")
    for entry in entries:
        if row.hash in entry.line_ending_hashes:
            return AppliedMigration(entry.tag, row, "hash-lf")
    for entry in entries:
        if row.created_at is not None and row.created_at == entry.when and entry.tag not in taken:
            return AppliedMigration(entry.tag, row, "when")
    return None

