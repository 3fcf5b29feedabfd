"""The loader: a drizzle folder as drizzle-orm's migrator reads it, in either of its two formats.

**0.45 (journal folder).** `<dir>/meta/_journal.json` lists entries `{idx, when, tag, breakpoints}`;
each entry's SQL is `<dir>/<tag>.sql`. drizzle-orm (0.45 `readMigrationFiles`) hashes the file's text
exactly as read — sha256 hex of its UTF-8 bytes, no line-ending normalisation — and runs
the chunks between `--> statement-breakpoint` lines. We compute that same hash
(`Migration.hash`) and, because a Windows checkout turns LF into CRLF and so changes
drizzle's hash without changing the SQL, also the hash of the LF-normalised text
(`Migration.line_ending_hashes`, LF and CRLF variants) to recognise such a file as the same migration.

**1.0 (one folder per migration).** Verified against drizzle-orm 1.0.0-rc.5 as published on npm
(its `src/migrator.ts`, `src/migrator.utils.ts`, shipped in the package's source maps; Apache-2.0,
© Drizzle Team), quoted:

    if (fs.existsSync(`${config.migrationsFolder}/meta/_journal.json`)) {     // -> throws: run drizzle-kit up
    .map((subdir) => ({ path: join(migrationFolderTo, subdir, 'migration.sql'), name: subdir }))
    migrations.sort((a, b) => a.name.localeCompare(b.name));
    const migrationDate = migration.name.slice(0, 14);
    hash: crypto.createHash('sha256').update(query).digest('hex'),          // as 0.45
    return Date.UTC(year, month, day, hour, minute, second);               // formatToMillis: `folderMillis`

So a migration is any `<dir>/<name>/migration.sql`; its name is the folder's name, its `when`
(the `created_at` 1.0 records) is the UTC time of the name's first 14 digits — second precision —,
its hash is 0.45's. A name whose first 14 characters are not digits gives NaN, which drizzle then
fails to insert into `created_at bigint`: we refuse such a folder before anything runs. drizzle sorts
with `localeCompare` (ICU collation); we sort by code point, which agrees for drizzle-kit's names
(14 digits first); drizzle-kit up itself refuses a folder whose parent sorts differently by the two.

`drizzle-kit up` (drizzle-kit 1.0.0-rc.5, `bin.cjs`, `planFoldersV3` / `prepareSnapshotFolderName`)
names the folder of a journal entry

    const folder = `${prepareSnapshotFolderName(entry.when)}_${rest.join("_")}`;   // [prefix, ...rest] = tag.split("_")
    return `${now.getUTCFullYear()}${two(now.getUTCMonth() + 1)}${two(now.getUTCDate())}${two(now.getUTCHours())}...

and copies the `.sql` bytes unchanged: `Migration.name_v1` is that future name for a 0.45 entry
(the name a 1.0 ledger must hold for it), `Migration.when_v1` the `created_at` 1.0 computes.

A folder holding both a journal and migration folders (a half-done `drizzle-kit up`, or a merge of
two branches on either side of it) is neither: both migrators would misread it, so it is an error.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

from ..errors import ConfigError

BREAKPOINT = "--> statement-breakpoint"
MIGRATION_FILE = "migration.sql"  # drizzle 1.0: <dir>/<name>/migration.sql
SNAPSHOT_FILE = "snapshot.json"  # beside it: `id` and `prevIds` (the history graph, `history`)
Format = Literal["0.45", "1.0"]
_STAMP = re.compile(r"[0-9]{14}")


@dataclass(frozen=True)
class Migration:
    idx: int
    tag: str
    when: int  # journal `when`, ms since epoch: the created_at drizzle records
    breakpoints: bool
    path: Path
    text: str
    hash: str  # drizzle's hash of the file as it reads it (UTF-8 text; identical to the bytes' hash for valid UTF-8)
    line_ending_hashes: frozenset[str]  # the hashes of its LF and CRLF variants
    invalid_utf8: tuple[int, int] | None = None  # (line, column) of the first byte that is not UTF-8: never applied
    format: Format = "0.45"
    name_v1: str = ""  # the name drizzle 1.0 knows it by: the folder's name (for a 0.45 entry: what drizzle-kit up names it)
    snapshot_id: str | None = None  # drizzle 1.0: its snapshot.json's `id` (None: no readable snapshot)
    prev_ids: tuple[str, ...] = ()  # and `prevIds`: its parents in the history graph (`history`)

    @property
    def filename(self) -> str:
        return f"{self.tag}/{MIGRATION_FILE}" if self.format == "1.0" else f"{self.tag}.sql"

    @property
    def when_v1(self) -> int:
        """The `created_at` drizzle 1.0 records for it: its name's time, to the second."""
        return folder_millis(self.name_v1)

    def chunks(self) -> list[str]:
        """The pieces drizzle executes one by one (it splits even when breakpoints is false)."""
        return self.text.split(BREAKPOINT)



@dataclass(frozen=True)
class LocalMigrations:
    dir: Path
    entries: tuple[Migration, ...]
    files_not_in_journal: tuple[str, ...]  # NNNN_x.sql on disk that drizzle would never run
    entries_without_file: tuple[str, ...]  # journal tags whose .sql is missing: drizzle fails
    format: Format = "0.45"

    def by_tag(self, tag: str) -> Migration:
        for entry in self.entries:
            if entry.tag == tag or entry.filename == tag:
                return entry
        raise KeyError(tag)


def drizzle_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def folder_name_v1(when: int, tag: str) -> str:
    """The folder drizzle-kit up makes of a journal entry: UTC time of `when`, then the tag after its first `_`."""
    stamp = datetime.fromtimestamp(when / 1000, timezone.utc).strftime("%Y%m%d%H%M%S")
    return f"{stamp}_{'_'.join(tag.split('_')[1:])}"


def folder_millis(name: str) -> int:
    """drizzle 1.0's formatToMillis of the name's first 14 digits (Date.UTC: an out-of-range field carries over)."""
    if not _STAMP.fullmatch(name[:14]):
        raise ValueError(f"{name!r} does not start with 14 digits (YYYYMMDDHHMMSS)")
    year, month, day, hour, minute, second = (int(name[a:b]) for a, b in ((0, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14)))
    year, month = year + (month - 1) // 12, (month - 1) % 12
    start = datetime(year, month + 1, 1, tzinfo=timezone.utc)
    return int((start + timedelta(days=day - 1, hours=hour, minutes=minute, seconds=second)).timestamp()) * 1000


def detect_format(directory: Path) -> Format:
    """Which drizzle line this folder is for; a folder that is both (or neither) is an error naming what it found."""
    journal = directory / "meta" / "_journal.json"
    folders = _migration_folders(directory)
    if journal.is_file() and folders:
        shown = ", ".join(p.name for p in folders[:3]) + (f" … ({len(folders)} in all)" if len(folders) > 3 else "")
        raise ConfigError(
            f"the migrations folder is both formats: a drizzle 0.45 journal (meta/_journal.json) and drizzle 1.0 migration "
            f"folders ({shown}); drizzle 1.0 refuses to run while the journal exists and 0.45 ignores the folders",
            source=str(directory),
            next_step="finish the conversion: restore the folder from git and run `drizzle-kit up` once (it moves every "
                      "journal entry into its own folder and deletes meta/), or remove the folders that do not belong")
    if folders:
        return "1.0"
    if journal.is_file():
        return "0.45"
    raise ConfigError("drizzle journal not found, and no drizzle 1.0 migration folder (<name>/migration.sql) either",
                      source=str(journal),
                      next_step="point migrations.dir at drizzle-kit's `out` folder: meta/_journal.json (drizzle 0.45) or "
                                "one <YYYYMMDDHHMMSS>_<name>/migration.sql per migration (drizzle 1.0)")


def load_migrations(directory: Path, drizzle: str = "auto") -> LocalMigrations:
    """The folder's migrations; `drizzle` (migrations.drizzle) is the line the app declares: it must be the folder's."""
    if not directory.is_dir():
        raise ConfigError(f"migrations folder {directory} does not exist", source="migrations.dir",
                          next_step="set migrations.dir in the inventory to the app's drizzle folder (relative to the inventory file)")
    found = detect_format(directory)
    if drizzle not in ("auto", found):
        raise ConfigError(
            f"migrations.drizzle says {drizzle} but {directory} is a drizzle {found} folder: "
            + ("drizzle 1.0's migrator refuses a journal folder" if drizzle == "1.0" else "drizzle 0.45's migrator cannot read it"),
            source="migrations.drizzle",
            next_step="run `drizzle-kit up` (1.0 line) on the folder and commit it" if drizzle == "1.0"
            else "set migrations.drizzle to 1.0 (or auto), or point migrations.dir at the app's 0.45 folder")
    return _load_v1(directory) if found == "1.0" else _load_journal(directory)


def _migration_folders(directory: Path) -> list[Path]:
    """drizzle 1.0: every entry of the folder holding a migration.sql, by name."""
    if not directory.is_dir():
        return []
    return sorted((p for p in directory.iterdir() if (p / MIGRATION_FILE).is_file()), key=lambda p: p.name)


def _read_sql(path: Path) -> tuple[str, str, frozenset[str], tuple[int, int] | None]:
    raw = path.read_bytes()
    # drizzle: readFileSync(path).toString() (invalid bytes -> U+FFFD), then sha256 of that text
    text = raw.decode("utf-8", errors="replace")
    return text, drizzle_hash(text.encode("utf-8")), _line_ending_hashes(text), _first_invalid_utf8(raw)


def _load_v1(directory: Path) -> LocalMigrations:
    migrations = []
    for idx, folder in enumerate(_migration_folders(directory)):
        try:
            when = folder_millis(folder.name)
        except ValueError as exc:
            raise ConfigError(f"migration folder {folder.name!r}: {exc}; drizzle 1.0 would compute created_at NaN and fail "
                              "after running its SQL", source=str(folder),
                              next_step="rename it as drizzle-kit names folders, <YYYYMMDDHHMMSS>_<name>, before any deploy") from None
        text, hash_, variants, invalid = _read_sql(folder / MIGRATION_FILE)
        snapshot_id, prev_ids = _snapshot_header(folder / SNAPSHOT_FILE)
        migrations.append(Migration(idx=idx, tag=folder.name, when=when, breakpoints=True, path=folder / MIGRATION_FILE,
                                    text=text, hash=hash_, line_ending_hashes=variants, invalid_utf8=invalid,
                                    format="1.0", name_v1=folder.name, snapshot_id=snapshot_id, prev_ids=prev_ids))
    extra = sorted([p.name for p in directory.glob("*.sql")]
                   + [f"{p.name}/" for p in directory.iterdir() if p.is_dir() and p.name != "meta" and not (p / MIGRATION_FILE).is_file()])
    return LocalMigrations(directory, tuple(migrations), tuple(extra), (), format="1.0")


def _snapshot_header(path: Path) -> tuple[str | None, tuple[str, ...]]:
    """(id, prevIds) of a 1.0 snapshot.json, as drizzle-kit's `hasHeader` reads it; (None, ()) when absent or unreadable."""
    try:
        raw = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None, ()
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        return None, ()
    prev = raw.get("prevIds", [raw["prevId"]] if isinstance(raw.get("prevId"), str) else [])
    if not isinstance(prev, list) or not all(isinstance(p, str) for p in prev):
        return None, ()
    return raw["id"], tuple(prev)


def _load_journal(directory: Path) -> LocalMigrations:
    journal_path = directory / "meta" / "_journal.json"
    entries_json = _read_journal(journal_path)
    migrations, missing, seen = [], [], {}
    for position, entry in enumerate(entries_json):
        tag, when = _entry_field(entry, "tag", str, journal_path, position), _entry_field(entry, "when", int, journal_path, position)
        if tag in seen:
            raise ConfigError(f"entries[{seen[tag]}] and entries[{position}] both have tag {tag!r}: drizzle would run that file twice",
                              source=str(journal_path), next_step="remove the duplicate entry (drizzle-kit never writes one)")
        seen[tag] = position
        path = directory / f"{tag}.sql"
        if not path.is_file():
            missing.append(tag)
            continue
        text, hash_, variants, invalid = _read_sql(path)
        migrations.append(Migration(
            idx=int(entry.get("idx", position)), tag=tag, when=when, breakpoints=bool(entry.get("breakpoints", True)),
            path=path, text=text, hash=hash_, line_ending_hashes=variants, invalid_utf8=invalid,
            name_v1=folder_name_v1(when, tag),
        ))
    listed = {f"{m.tag}.sql" for m in migrations} | {f"{tag}.sql" for tag in missing}
    extra = sorted(p.name for p in directory.glob("*.sql") if p.name not in listed)
    return LocalMigrations(directory, tuple(migrations), tuple(extra), tuple(missing))


def _first_invalid_utf8(raw: bytes) -> tuple[int, int] | None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        return line, error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
    return None


def _line_ending_hashes(text: str) -> frozenset[str]:
    lf = text.replace("\r\n", "\n")
    return frozenset(drizzle_hash(variant.encode("utf-8")) for variant in (lf, lf.replace("\n", "\r\n")))


def _read_journal(path: Path) -> list[dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("drizzle journal not found", source=str(path),
                          next_step="point migrations.dir at the folder holding meta/_journal.json (drizzle-kit's `out`)") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc.msg}", source=f"{path}:{exc.lineno}:{exc.colno}") from None
    entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigError("no `entries` list: not a drizzle-kit journal", source=str(path))
    return entries


def _entry_field(entry: object, key: str, kind: type, path: Path, position: int):
    value = entry.get(key) if isinstance(entry, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ConfigError(f"entries[{position}].{key} must be a {kind.__name__}", source=str(path))
    return value
