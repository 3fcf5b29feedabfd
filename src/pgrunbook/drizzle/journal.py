"""The loader: a drizzle folder as drizzle-orm's migrator reads it.

`<dir>/meta/_journal.json` lists entries `{idx, when, tag, breakpoints}`; each entry's SQL
is `<dir>/<tag>.sql`. drizzle-orm (0.45 `readMigrationFiles`) hashes the file's text
exactly as read — sha256 hex of its UTF-8 bytes, no line-ending normalisation — and runs
the chunks between `--> statement-breakpoint` lines. We compute that same hash
(`Migration.hash`) and, because a Windows checkout turns LF into CRLF and so changes
drizzle's hash without changing the SQL, also the hash of the LF-normalised text
(`Migration.line_ending_hashes`, LF and CRLF variants) to recognise such a file as the same migration.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

BREAKPOINT = "--> statement-breakpoint"


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

    @property
    def filename(self) -> str:
        return f"{self.tag}.sql"

    def chunks(self) -> list[str]:
        """The pieces drizzle executes one by one (it splits even when breakpoints is false)."""
        return self.text.split(BREAKPOINT)



@dataclass(frozen=True)
class LocalMigrations:
    dir: Path
    entries: tuple[Migration, ...]
    files_not_in_journal: tuple[str, ...]  # NNNN_x.sql on disk that drizzle would never run
    entries_without_file: tuple[str, ...]  # journal tags whose .sql is missing: drizzle fails

    def by_tag(self, tag: str) -> Migration:
        for entry in self.entries:
            if entry.tag == tag or entry.filename == tag:
                return entry
        raise KeyError(tag)


def drizzle_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def load_migrations(directory: Path) -> LocalMigrations:
    journal_path = directory / "meta" / "_journal.json"
    if not directory.is_dir():
        raise ConfigError(f"migrations folder {directory} does not exist", source="migrations.dir",
                          next_step="set migrations.dir in the inventory to the app's drizzle folder (relative to the inventory file)")
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
        raw = path.read_bytes()
        # drizzle: readFileSync(path).toString() (invalid bytes -> U+FFFD), then sha256 of that text
        text = raw.decode("utf-8", errors="replace")
        migrations.append(Migration(
            idx=int(entry.get("idx", position)), tag=tag, when=when, breakpoints=bool(entry.get("breakpoints", True)),
            path=path, text=text, hash=drizzle_hash(text.encode("utf-8")), line_ending_hashes=_line_ending_hashes(text),
            invalid_utf8=_first_invalid_utf8(raw),
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
