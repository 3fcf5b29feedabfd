"""The backup manifest: a versioned JSON document beside each dump (pure data + file I/O).

Other phases rely on it: the go/no-go gate reads `status`, `created_at`, `verified_copies`
and `counts`; the rollback restores `dump` from the primary file or from a verified copy,
and compares the restored counts with `counts.tables`. The shape is stable; a change that
breaks readers bumps `version`.

File: `<backup dir>/<id>.manifest.json` beside the dump `<id>.<ext>` (ext: `dump` for
custom, `sql` for plain, `dir` for directory), mode 0600, written atomically (tmp+rename).

    {
      "kind": "pgrunbook.backup",            # constant: what this file is
      "version": 2,                          # MANIFEST_VERSION (1 is still read: see below)
      "id": "htf_sunup_db_prod_backup_20251004_120000",
      "status": "ok" | "failed",             # ok: integrity holds AND verified_copies >= min_copies
      "problems": ["..."],                   # why status is failed (empty when ok)
      "created_at": "2025-10-04T12:00:00+00:00",   # UTC, when the snapshot was taken
      "finished_at": "2025-10-04T12:00:42+00:00",
      "inventory": "sandbox",
      "database": {"name": "...", "host": "...", "port": 5432, "user": "...",
                   "server_version": "18.0", "server_version_num": 180000},   # never a password
      "dump": {
        "file": "htf_sunup_db_prod_backup_20251004_120000.dump",   # relative to the manifest's folder
        "format": "custom" | "plain" | "directory",
        "compression": "1" | "none" | ...,   # pg_dump --compress (default gzip level 1; plain: none)
        "size": 123456,                     # bytes (directory: sum of its files)
        "sha256": "<hex>",                  # of the file; directory: of its `files` listing (below)
        "files": [{"path": "toc.dat", "size": 1, "sha256": "<hex>"}],   # directory format only
        "snapshot": "00000003-0000001B-1",  # pg_export_snapshot() the dump and the counts share
        "pg_dump": {"path": "...", "version": "18.0"},
        "run_on": "local" | "<host key>",
        "seconds": 12.3
      },
      "counts": {                           # exact, from the dump's own snapshot
        "scope": "all" | "critical",        # all (default): every table of every non-system schema, leaf
                                            # partitions (not their parents: each row once), unlogged tables;
                                            # critical (backup.count): the critical tables and the ledger
        "tables": {"public.users": 68, "drizzle.__drizzle_migrations": 11, ...},
        "critical_tables": ["users", "campaigns", "challenges"],
        "users_by_role": {"table": "users", "column": "role", "by_role": {"fbo": 60, "manager": 8}, "total": 68},
        "ledger": {"table": "drizzle.__drizzle_migrations", "rows": 11},   # v2; rows null when absent
        "connections": 1, "seconds": 0.8    # v2: sessions that shared the snapshot to count, wall time
      },
      "integrity": {"ok": true, "checks": [{"id": "...", "status": "ok", "summary": "...", "detail": ""}]},
      "min_copies": 2,
      "verified_copies": 2,                 # copies whose `verified` is true
      "copies": [{
        "target": "offsite", "type": "local" | "ssh" | "s3",
        "location": "/mnt/b/x.dump" | "host:/path/x.dump" | "s3://bucket/prefix/x.dump",
        "size": 123456, "sha256": "<hex>",  # what was sent
        "verified": true, "method": "rehash" | "compare" | "sha256sum" | "s3-checksum-sha256",
        "observed": "<what the target reported>",
        "part_size": null, "part_sha256": [],   # s3 multipart: part size and each part's sha256 (composite checksum)
        "verified_at": "...", "error": null   # error: what failed and what to do
      }],
      "restore_verification": null | {"ok": true, "database": "<scratch name>", "dropped": true,
                   "tables_compared": 12, "mismatches": [{"table": "...", "manifest": 1, "restored": 0}],
                   "jobs": 2, "seconds": 3.1, "restore_seconds": 2.5, "error": null},
      "rechecked_at": null | "..."          # last `inv backup.verify`
    }

Version 1 (before every table was counted by default) is read as well: its `counts` lack
`ledger`, `connections` and `seconds` (`from_json` fills them in: the ledger from `tables`
when it was counted), and its scope is often `critical`. Written manifests are version 2.

Loader API: `load_manifest(path)` -> `Manifest`; `list_backups(dir)` (newest first);
`latest_backup(dir, ok_only=True)`; `find_backup(dir, id_or_prefix_or_path)`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UsageError

KIND = "pgrunbook.backup"
MANIFEST_VERSION = 2
READABLE_VERSIONS = (1, 2)
LEDGER = "drizzle.__drizzle_migrations"  # the tracking table version 1 manifests could count
SUFFIX = ".manifest.json"
EXTENSIONS = {"custom": "dump", "plain": "sql", "directory": "dir"}


def utcnow() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class CopyRecord:
    target: str
    type: str
    location: str
    size: int
    sha256: str
    verified: bool
    method: str = ""
    observed: str = ""
    part_size: int | None = None
    part_sha256: tuple[str, ...] = ()  # s3 multipart: each part's sha256 hex, for the composite checksum
    verified_at: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class RestoreVerification:
    ok: bool
    database: str
    dropped: bool
    tables_compared: int
    mismatches: tuple[dict[str, Any], ...] = ()
    jobs: int = 1
    seconds: float = 0.0  # the whole step: create + restore + count + drop
    restore_seconds: float = 0.0  # pg_restore (or psql) alone
    error: str | None = None


@dataclass(frozen=True)
class Manifest:
    id: str
    status: str
    created_at: str
    finished_at: str
    inventory: str
    database: dict[str, Any]
    dump: dict[str, Any]
    counts: dict[str, Any]
    integrity: dict[str, Any]
    min_copies: int
    copies: tuple[CopyRecord, ...] = ()
    restore_verification: RestoreVerification | None = None
    problems: tuple[str, ...] = ()
    rechecked_at: str | None = None
    path: Path | None = field(default=None, compare=False)  # where it was loaded from / written to

    # ------------------------------------------------------------------ views

    @property
    def dumped_by_major(self) -> int | None:
        """The major version of the pg_dump that wrote the dump (an archive needs a pg_restore at least as new)."""
        version = str((self.dump.get("pg_dump") or {}).get("version") or "")
        return int(version.split(".")[0]) if version[:1].isdigit() else None

    @property
    def verified_copies(self) -> int:
        return sum(1 for c in self.copies if c.verified)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def dump_path(self) -> Path:
        if self.path is None:
            raise UsageError(f"manifest {self.id} has no location on disk")
        return self.path.parent / self.dump["file"]

    @property
    def created(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.created_at)

    def age_seconds(self, now: dt.datetime | None = None) -> float:
        return ((now or dt.datetime.now(dt.UTC)) - self.created).total_seconds()

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "version": MANIFEST_VERSION,
            "id": self.id,
            "status": self.status,
            "problems": list(self.problems),
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "inventory": self.inventory,
            "database": self.database,
            "dump": self.dump,
            "counts": self.counts,
            "integrity": self.integrity,
            "min_copies": self.min_copies,
            "verified_copies": self.verified_copies,
            "copies": [{**c.__dict__, "part_sha256": list(c.part_sha256)} for c in self.copies],
            "restore_verification": None
            if self.restore_verification is None
            else {**self.restore_verification.__dict__, "mismatches": list(self.restore_verification.mismatches)},
            "rechecked_at": self.rechecked_at,
        }

    def with_status(self) -> Manifest:
        """Recompute `status` and `problems` from integrity, copies and restore verification."""
        problems = []
        if not self.integrity.get("ok"):
            failed = [c["summary"] for c in self.integrity.get("checks", []) if c["status"] == "fail"]
            problems.append("integrity: " + ("; ".join(failed) or "failed"))
        if self.verified_copies < self.min_copies:
            problems.append(f"{self.verified_copies} verified copies, {self.min_copies} required (backup.min_copies)")
        rv = self.restore_verification
        if rv is not None and not rv.ok:
            problems.append("restore verification: " + (rv.error or f"{len(rv.mismatches)} table counts differ"))
        return replace(self, status="failed" if problems else "ok", problems=tuple(problems))


def from_json(data: dict[str, Any], path: Path | None = None) -> Manifest:
    source = str(path) if path else "manifest"
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise ConfigError(f"not a pgrunbook backup manifest (kind is {data.get('kind') if isinstance(data, dict) else None!r})", source=source)
    if data.get("version") not in READABLE_VERSIONS:
        raise ConfigError(
            f"manifest version {data.get('version')!r} is not supported (this pgrunbook reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))})",
            source=source,
            next_step="use the pgrunbook version that wrote it, or take a new backup with `inv backup`",
        )
    try:
        rv = data.get("restore_verification")
        return Manifest(
            id=data["id"],
            status=data["status"],
            created_at=data["created_at"],
            finished_at=data["finished_at"],
            inventory=data["inventory"],
            database=data["database"],
            dump=data["dump"],
            counts=_counts_v2(data["counts"]) if data["version"] == 1 else data["counts"],
            integrity=data["integrity"],
            min_copies=int(data["min_copies"]),
            copies=tuple(CopyRecord(**{**c, "part_sha256": tuple(c.get("part_sha256", ()))}) for c in data.get("copies", [])),
            restore_verification=None if rv is None else RestoreVerification(**{**rv, "mismatches": tuple(rv.get("mismatches", ()))}),
            problems=tuple(data.get("problems", ())),
            rechecked_at=data.get("rechecked_at"),
            path=path,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"malformed manifest: {exc.__class__.__name__}: {exc}", source=source) from None


def _counts_v2(counts: dict[str, Any]) -> dict[str, Any]:
    """Version 1 `counts` in version 2's shape (nothing is invented: unknowns are null)."""
    tables = counts.get("tables") or {}
    ledger = {"table": LEDGER, "rows": tables[LEDGER]} if LEDGER in tables else None
    return {**counts, "ledger": counts.get("ledger", ledger), "connections": counts.get("connections"), "seconds": counts.get("seconds")}


def load_manifest(path: str | Path) -> Manifest:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read the manifest: {exc.strerror}", source=str(path), next_step="`inv backup.list` shows the backups that exist") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"the manifest is not valid JSON (line {exc.lineno}): it may be truncated", source=str(path)) from None
    return from_json(data, path.resolve())


def write_manifest(manifest: Manifest, path: Path) -> Manifest:
    """Write atomically, 0600, in a 0700 folder; returns the manifest bound to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = json.dumps(manifest.as_json(), indent=2, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return replace(manifest, path=path.resolve())


def manifest_path(backup_dir: Path, backup_id: str) -> Path:
    return backup_dir / f"{backup_id}{SUFFIX}"


def list_backups(backup_dir: str | Path) -> list[Manifest]:
    """Every readable manifest in `backup_dir`, newest first (unreadable ones are skipped)."""
    directory = Path(backup_dir)
    if not directory.is_dir():
        return []
    found = []
    for path in directory.glob(f"*{SUFFIX}"):
        try:
            found.append(load_manifest(path))
        except ConfigError:
            continue
    return sorted(found, key=lambda m: (m.created_at, m.id), reverse=True)


def unreadable_manifests(backup_dir: str | Path) -> list[tuple[Path, str]]:
    """(file, why) for every manifest in `backup_dir` that cannot be read: reported, never silently skipped."""
    directory = Path(backup_dir)
    if not directory.is_dir():
        return []
    bad = []
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        try:
            load_manifest(path)
        except ConfigError as exc:
            bad.append((path, exc.what.removeprefix(f"{path}: ")))
    return bad


def latest_backup(backup_dir: str | Path, *, ok_only: bool = True) -> Manifest | None:
    """The newest backup (by default only one whose status is ok), or None."""
    return next((m for m in list_backups(backup_dir) if m.ok or not ok_only), None)


def find_backup(backup_dir: str | Path, ref: str) -> Manifest:
    """A backup by id, unique id prefix, or manifest path."""
    as_path = Path(ref)
    if ref.endswith(SUFFIX) and as_path.exists():
        return load_manifest(as_path)
    backups = list_backups(backup_dir)
    exact = [m for m in backups if m.id == ref]
    matches = exact or [m for m in backups if m.id.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    hint = "`inv backup.list` shows the ids"
    if not matches:
        raise UsageError(f"no backup {ref!r} in {backup_dir}", next_step=hint)
    raise UsageError(f"{ref!r} matches {len(matches)} backups in {backup_dir}: " + ", ".join(m.id for m in matches[:5]), next_step=hint)
