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

**drizzle 1.0** (1.0.0-rc.5 on npm, `src/migrator.utils.ts`, `src/pg-core/async/session.ts`,
`src/up-migrations/pg.ts`; Apache-2.0, © Drizzle Team) compares names, not times:

    const dbNamesSet = new Set(dbMigrations.map((m) => m.name).filter((n): n is string => n !== null));
    return localMigrations.filter((lm) => !lm.name || !dbNamesSet.has(lm.name));

so, when 1.0 runs next, reconciliation is by name (`reconcile` follows the migrator the folder is
for): nothing is stranded; instead a renamed folder is re-run (`renamed`: pending, but a row whose
name matches no folder — or a row without a name — holds its hash), a row whose name matches no
folder is `unknown`, a folder applied under another hash is `edited`, and a row with a NULL name
counts for nothing (`nameless_rows`: drizzle re-runs its migration). A ledger without the `name`
column (0.45's) is first upgraded by 1.0's migrator, which names each row by drizzle's own rule
(`upgrade_matches`, quoted there) and throws when a row matches no folder (`upgrade_blocked`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .journal import Format, LocalMigrations, Migration


@dataclass(frozen=True)
class TrackingRow:
    """One row of drizzle.__drizzle_migrations: migration `hash` was applied, `created_at` is its journal `when`."""

    id: int
    hash: str
    created_at: int | None
    name: str | None = None  # drizzle 1.0's ledger only
    v1: bool = False  # read from a ledger that has 1.0's `name` column


def ledger_version(rows: list[TrackingRow] | tuple[TrackingRow, ...] | None) -> int | None:
    """0 (id, hash, created_at) or 1 (plus name, applied_at); None: no table or no row to tell by."""
    if not rows:
        return None
    return 1 if any(r.v1 for r in rows) else 0


@dataclass(frozen=True)
class UpgradeMatch:
    """How drizzle 1.0's ledger upgrade names one old row: `name` None means it throws."""

    row: TrackingRow
    name: str | None
    why: Literal["created_at", "created_at+hash", "hash", "none"]

    @property
    def explained(self) -> str:
        return {"created_at": "the only folder of its created_at second",
                "created_at+hash": "several folders share its created_at second: the one with its hash",
                "hash": "no folder has its created_at second: the folder with its hash",
                "none": "no folder has its created_at second and hash: drizzle 1.0 throws"}[self.why]


@dataclass(frozen=True)
class AppliedMigration:
    tag: str
    row: TrackingRow
    matched_by: str  # "hash", "hash-lf" (line endings differ only), "when" (0.45: file edited after it ran), "name" (1.0: same)


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
    drizzle: Format = "0.45"  # the migrator whose rules these are: the one that runs next
    ledger_version: int | None = None  # see `ledger_version()`
    renamed: tuple[tuple[str, str | None], ...] = field(default=())  # (folder, the name its row holds; None: no name)
    nameless_rows: tuple[TrackingRow, ...] = field(default=())  # 1.0 ledger rows with name NULL: drizzle ignores them
    upgrade: tuple[UpgradeMatch, ...] = field(default=())  # a 0.45 ledger, 1.0 next: how its upgrade names each row
    upgrade_blocked: bool = False  # a row matches no folder: drizzle 1.0's upgrade throws

    @property
    def applied_tags(self) -> tuple[str, ...]:
        return tuple(a.tag for a in self.applied)

    @property
    def needs_upgrade(self) -> bool:
        """drizzle 1.0 runs next and the ledger still has 0.45's shape."""
        return self.drizzle == "1.0" and self.tracking_present and self.ledger_version != 1 and bool(self.rows)

    def drizzle_would_apply(self, local: LocalMigrations) -> tuple[str, ...]:
        """What drizzle-orm's own migrator would run now (0.45: the high-water mark; 1.0: names, as `pending`)."""
        if self.drizzle == "1.0":
            return self.pending  # renamed folders included: drizzle re-runs them
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


def reconcile(local: LocalMigrations, rows: list[TrackingRow] | None, drizzle: Format | None = None) -> TrackingState:
    """`rows` is None when the tracking table does not exist (the seed's case B).

    `drizzle` is the migrator that runs next; by default the one the folder is for (0.45 cannot read a
    1.0 folder, 1.0 refuses a journal).
    """
    if (drizzle or local.format) == "1.0":
        return _reconcile_v1(local, rows)
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
        ledger_version=ledger_version(rows),
    )


def upgrade_matches(entries: tuple[Migration, ...], rows: list[TrackingRow]) -> tuple[UpgradeMatch, ...]:
    """Name each row of a 0.45 ledger exactly as drizzle 1.0's `upToV1` does (pure).

    drizzle-orm 1.0.0-rc.5 `src/up-migrations/pg.ts`:

        sql`SELECT id, hash, created_at FROM ${table} ORDER BY id ASC`,
        localMigrations.sort((a, b) => a.folderMillis !== b.folderMillis ? a.folderMillis - b.folderMillis : ...localeCompare...)
        const millis = Number(stringified.substring(0, stringified.length - 3) + '000');
        if (candidates && candidates.length === 1) { matched = candidates[0];
        } else if (candidates && candidates.length > 1) { matched = candidates.find((c) => c.hash === dbRow.hash);
        } else { matched = byHash.get(dbRow.hash); }
        else unmatchedIds.push(dbRow.id);            // any unmatched id: throw, before any ALTER

    `created_at` is truncated to the second as a string (so 0.45's ms `when` meets 1.0's second),
    a lone folder of that second wins whatever its hash, several are told apart by hash only, and
    the hash map keeps the last folder of a hash. Two rows may get the same name.
    """
    ordered = sorted(entries, key=lambda m: (m.when_v1, m.name_v1))
    by_second: dict[int, list[Migration]] = {}
    by_hash: dict[str, Migration] = {}
    for m in ordered:
        by_second.setdefault(m.when_v1, []).append(m)
        by_hash[m.hash] = m
    matches = []
    for row in sorted(rows, key=lambda r: r.id):
        candidates = by_second.get(_truncated_second(row.created_at), [])
        if len(candidates) == 1:
            matches.append(UpgradeMatch(row, candidates[0].name_v1, "created_at"))
        elif candidates:
            found = next((c for c in candidates if c.hash == row.hash), None)
            matches.append(UpgradeMatch(row, found.name_v1 if found else None, "created_at+hash" if found else "none"))
        else:
            found = by_hash.get(row.hash)
            matches.append(UpgradeMatch(row, found.name_v1 if found else None, "hash" if found else "none"))
    return tuple(matches)


def _truncated_second(created_at: int | None) -> int | None:
    """JS `Number(String(v).substring(0, len - 3) + '000')`; None stands for NaN (matches nothing)."""
    text = "null" if created_at is None else str(created_at)
    try:
        return int(text[:max(len(text) - 3, 0)] + "000")
    except ValueError:
        return None


def _reconcile_v1(local: LocalMigrations, rows: list[TrackingRow] | None) -> TrackingState:
    """drizzle 1.0's rules: a set difference of names, after its own upgrade of a 0.45 ledger."""
    present = rows is not None
    rows = sorted(rows or [], key=lambda r: r.id)
    version = ledger_version(rows)
    upgrade = upgrade_matches(local.entries, rows) if version == 0 else ()
    named = [(u.row, u.name) for u in upgrade] if upgrade else [(r, r.name) for r in rows]
    by_name = {m.name_v1: m for m in local.entries}
    applied: dict[str, AppliedMigration] = {}
    unknown, duplicates, nameless = [], [], []
    for row, name in named:
        if name is None and version == 1:
            nameless.append(row)
        elif name not in by_name:
            unknown.append(row)
        elif by_name[name].tag in applied:
            duplicates.append(row)
        else:
            m = by_name[name]
            how = "hash" if row.hash == m.hash else "hash-lf" if row.hash in m.line_ending_hashes else "name"
            applied[m.tag] = AppliedMigration(m.tag, row, how)
    pending = tuple(m.tag for m in local.entries if m.tag not in applied)
    orphans = {r.hash: r.name for r in unknown + nameless}
    ordered = tuple(applied[m.tag] for m in local.entries if m.tag in applied)
    return TrackingState(
        tracking_present=present, rows=tuple(rows), applied=ordered, pending=pending, stranded=(),
        unknown_rows=tuple(unknown), duplicate_rows=tuple(duplicates), drizzle_mark=None,
        null_created_at=False,  # a 0.45 trap only: 1.0 never reads a mark
        edited=tuple(a.tag for a in ordered if a.matched_by == "name"),
        line_endings_only=tuple(a.tag for a in ordered if a.matched_by == "hash-lf"),
        drizzle="1.0", ledger_version=version,
        renamed=tuple((m.tag, orphans[m.hash]) for m in local.entries if m.tag in pending and m.hash in orphans),
        nameless_rows=tuple(nameless), upgrade=upgrade, upgrade_blocked=any(u.name is None for u in upgrade),
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

