"""Phase 2 ("Backup OBLIGATOIRE"): dump, integrity, manifest, verified copies, restore test.

    run_backup(cfg, emit, options)   -> BackupResult   (manifest written beside the dump)
    verify_backup(cfg, ref, emit)    -> BackupResult   (re-check the primary and every copy now)
    backup_rows(cfg)                 -> list of dicts  (for `inv backup.list`)

Order of work: preflight the targets (concurrently; fewer ready than `min_copies` stops
before anything is dumped) → export a snapshot (REPEATABLE READ, READ ONLY) → pg_dump
`--snapshot` streamed into `<backup dir>/<id>.<ext>` (0600) while the same transaction
counts every table's rows, without parallel workers (every target that offers it — local, SSH,
S3 — receives its copy from the same stream as it comes, `_stage_copies`) → integrity checks →
copies to every ready target, concurrently (a staged copy is only made final: fsync and rename,
or the multipart upload completed; one too slow for the dump is copied now instead), each
verified where it landed → optional restore into a scratch database → manifest.
The engine never prints: it emits `Event`s (progress events carry `task`, `done`, `total`).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..config import Config, Inventory, S3Target
from ..errors import CheckFailed, ConfigError, PgRunbookError, TargetError
from ..events import Emit, Event, discard
from ..outcome import Check, Status
from ..pg import locate_tool, server_major_of
from ..targets import Target, open_target
from ..targets.base import Verification
from ..targets.base import StageAbandoned, Staged
from .. import faults
from ..units import size
from .manifest import (
    EXTENSIONS,
    CopyRecord,
    Manifest,
    find_backup,
    list_backups,
    manifest_path,
    unreadable_manifests,
    utcnow,
    write_manifest,
)

PHASE = "backup"
MB = 1 << 20


@dataclass(frozen=True)
class BackupOptions:
    format: str | None = None  # default: backup.format
    verify_restore: bool | None = None  # default: backup.verify_restore
    jobs: int | None = None  # default: backup.jobs
    compress: str | None = None  # pg_dump --compress; default: gzip level 1 (custom, directory), none (plain)


@dataclass(frozen=True)
class BackupResult:
    manifest: Manifest
    checks: tuple[Check, ...]
    action: str = "backup"  # or "verify"

    @property
    def ok(self) -> bool:
        return self.manifest.ok and not any(c.status is Status.FAIL for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "ok": self.ok,
            "manifest_path": str(self.manifest.path) if self.manifest.path else None,
            "dump_path": str(self.manifest.dump_path) if self.manifest.path else None,
            "checks": [c.as_dict() for c in self.checks],
            "manifest": self.manifest.as_json(),
        }


# --------------------------------------------------------------------------- helpers


class _Emitter:
    """Thread-safe emit, with progress throttled per task (at most every 0.2 s, plus the last)."""

    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}

    def __call__(self, kind: str, message: str, **data: Any) -> None:
        with self._lock:
            self._emit(Event(PHASE, kind, message, data))

    def meter(self, task: str, label: str, total: int | None) -> Callable[[int], None]:
        def progress(done: int) -> None:
            now = time.monotonic()
            final = total is not None and done >= total
            if final or now - self._last.get(task, 0.0) >= 0.2:
                self._last[task] = now
                self("progress", label, task=task, done=done, total=total)

        return progress


def _backup_id(inv: Inventory, backup_dir: Path, fmt: str) -> str:
    stamp = dt.datetime.now().strftime("%Y%m%d_%H%M%S")
    base = f"{inv.database.dbname}_{inv.backup_label}_backup_{stamp}"  # inventory.environment (default: the seed's `prod`)
    candidate, n = base, 1
    while any((backup_dir / f"{candidate}.{ext}").exists() for ext in EXTENSIONS.values()) or manifest_path(backup_dir, candidate).exists():
        n += 1
        candidate = f"{base}_{n}"
    return candidate


def _prepare_dir(path: Path, say: _Emitter) -> None:
    from ..folders import ensure_private

    ensure_private(path, lambda message: say("warn", message))


def copy_checks(copies: list[CopyRecord] | tuple[CopyRecord, ...], min_copies: int) -> list[Check]:
    """One truth for the copies: the backup, its manifest and the gate agree. With `min_copies`
    verified, a copy that failed (an unreachable target) is a WARN; below it, every failure is a FAIL."""
    verified = sum(1 for c in copies if c.verified)
    enough = verified >= min_copies
    checks = [Check(f"copy:{c.target}", Status.OK if c.verified else (Status.WARN if enough else Status.FAIL),
                    f"{c.location}: verified ({c.method})" if c.verified else f"{c.target}: not verified",
                    "" if c.verified else (c.error or "") + (f" ({verified} other verified copies meet backup.min_copies)" if enough else ""))
              for c in copies]
    checks.append(Check("min-copies", Status.OK if enough else Status.FAIL, f"{verified} verified copies (backup.min_copies = {min_copies})",
                        "" if enough else "fewer verified copies than required: the go/no-go will say NO-GO"))
    return checks


def _targets(inv: Inventory) -> list[Target]:
    return [open_target(t, inv) for t in inv.backup.targets]


def _part_sizes(inv: Inventory) -> list[int]:
    return sorted({t.multipart_threshold_mb * MB for t in inv.backup.targets if isinstance(t, S3Target)})


def _preflight(targets: list[Target], say: _Emitter) -> dict[str, str]:
    """Check every target concurrently; returns {target name: error} for those not ready."""
    problems: dict[str, str] = {}
    if not targets:
        return problems

    def one(target: Target) -> None:
        try:
            target.check()
            say("step", f"target {target.name} ({target.type}) is ready")
        except TargetError as exc:
            problems[target.name] = f"{exc.what}; {exc.next_step}".rstrip("; ")
            say("warn", f"target {target.name} is not ready: {exc.what}")
        except Exception as exc:  # noqa: BLE001 - a target must never take the phase down with a foreign error
            problems[target.name] = f"target {target.name}: unexpected {exc.__class__.__name__}: {exc}"
            say("warn", problems[target.name])

    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        list(pool.map(one, targets))
    return problems


# --------------------------------------------------------------------------- backup


def run_backup(cfg: Config, emit: Emit = discard, options: BackupOptions = BackupOptions()) -> BackupResult:
    from .dump import listing, run_local_dump, run_remote_dump, with_statistics
    from .integrity import check_dump
    from .restore import verify_restore
    from .snapshot import count_rows_shared, exported_snapshot

    inv, exp = cfg.inventory, cfg.playbook.expectations
    settings = inv.backup
    fmt = options.format or settings.format
    if fmt not in EXTENSIONS:
        raise ConfigError(f"unknown backup format {fmt!r}: use custom, plain or directory")
    jobs = options.jobs or settings.jobs
    from .dump import DEFAULT_COMPRESS

    chosen = options.compress if options.compress not in (None, "") else inv.backup.compress
    compress = chosen if chosen not in (None, "") else DEFAULT_COMPRESS[fmt]
    verify = settings.verify_restore if options.verify_restore is None else options.verify_restore
    if settings.min_copies > len(settings.targets):
        raise ConfigError(f"backup.min_copies is {settings.min_copies} but only {len(settings.targets)} target(s) are configured",
                          source=str(cfg.inventory_path), next_step="add targets under backup.targets (local, ssh, s3) or lower backup.min_copies")
    say = _Emitter(emit)
    backup_dir = settings.dir
    _prepare_dir(backup_dir, say)

    # The server's own major where installed: a dump its pg_restore can read, a restore it accepts.
    major = None if inv.tools.bin_dir else server_major_of(inv.database)
    pg_dump = locate_tool("pg_dump", inv.tools.bin_dir, server_major=major)
    pg_restore = locate_tool("pg_restore", inv.tools.bin_dir, server_major=major)
    psql = locate_tool("psql", inv.tools.bin_dir, server_major=major) if verify and fmt == "plain" else None

    targets = _targets(inv)
    staged: dict[str, Staged] = {}
    dest: Path | None = None
    kept = False  # the manifest is written: the backup stands even if interrupted after it
    try:
        problems = _preflight(targets, say)
        ready = [t for t in targets if t.name not in problems]
        if len(ready) < settings.min_copies:
            raise CheckFailed(
                f"only {len(ready)} of {len(targets)} backup target(s) are ready, {settings.min_copies} required (backup.min_copies):\n  "
                + "\n  ".join(problems.values()),
                changed="nothing: no dump was taken, the database was not touched",
                next_step="fix the targets above, then run `inv backup` again",
            )

        backup_id = _backup_id(inv, backup_dir, fmt)
        dest = backup_dir / f"{backup_id}.{EXTENSIONS[fmt]}"
        created_at = utcnow()
        run_on = settings.run_on
        say("step", f"dumping {inv.database.dbname} ({fmt}) to {dest}" + (f" (pg_dump on {run_on})" if run_on != "local" else ""))
        # Every table of every app schema (and the tracking table) is counted in the dump's own
        # snapshot, while pg_dump runs: validation and the rollback compare them all. `backup.count:
        # critical` narrows it to the critical tables (and users by role).
        mig = inv.migrations
        critical = [t if "." in t else f"public.{t}" for t in exp.critical_tables] + [f"{mig.tracking_schema}.{mig.tracking_table}"]
        every = settings.count == "all" or verify  # the restore test compares every table
        with exported_snapshot(inv.database) as snap:
            counted: dict[str, Any] = {}
            statistics = run_on == "local" and with_statistics(pg_dump.major, snap.server_version_num)

            def count() -> None:
                try:
                    counted.update(count_rows_shared(snap, inv.database, exp.role_count, connections=settings.count_connections,
                                                     only=None if every else critical))
                except Exception as exc:  # noqa: BLE001 - reported as a failed check below
                    counted["error"] = f"{exc.__class__.__name__}: {exc}"

            counter = threading.Thread(target=count, daemon=True)
            counter.start()
            meter = say.meter("dump", f"pg_dump {inv.database.dbname}", None)
            staged = _stage_copies(ready, dest.name, fmt, say)
            tee = _tee(staged.values()) if staged else None
            try:
                if run_on == "local":
                    outcome = run_local_dump(inv.database, pg_dump, pg_restore, snap.id, dest, fmt, jobs=jobs,
                                             part_sizes=_part_sizes(inv), progress=meter, compress=compress, tee=tee,
                                             statistics=statistics)
                else:
                    outcome = run_remote_dump(inv.database, inv.hosts[run_on], run_on, pg_restore, snap.id, dest, fmt,
                                              part_sizes=_part_sizes(inv), progress=meter, compress=compress, tee=tee)
            finally:
                counter.join()
        say("progress", f"pg_dump {inv.database.dbname}", task="dump", done=outcome.size, total=outcome.size)
        say("step", f"dump written: {size(outcome.size)} in {outcome.seconds:.1f}s, sha256 {outcome.sha256[:16]}…")
        faults.reached("backup:dumped")  # crash tests: Ctrl-C between the dump and its manifest
        if outcome.returncode != 0:
            _remove(dest)
            from ..errors import ToolError

            raise ToolError(f"pg_dump of {inv.database.dbname} on {inv.database.url.host} failed (exit {outcome.returncode}): "
                            + (outcome.stderr.strip()[-800:] or "no message"),
                            changed="the partial dump was removed; no manifest was written; the database was only read",
                            next_step="fix the cause above (connection, permissions, pg_dump version), then run `inv backup` again")

        counts = _counts_record(counted, cfg)
        list_code, list_out, list_err = (0, "", "")
        if fmt != "plain":
            list_code, list_out, list_err = listing(pg_restore, dest)
        checks = list(check_dump(outcome, listing=list_out if list_code == 0 else None, list_error=list_err,
                                 critical=exp.critical_tables, counts=counts["tables"]))
        if "error" in counted:
            checks.append(Check("snapshot-counts", Status.FAIL, "the row counts could not be read from the snapshot", counted["error"]))
        else:
            checks.append(Check("snapshot-counts", Status.OK, f"exact counts of {len(counts['tables'])} tables ({counts['scope']}) from snapshot {snap.id}"))
        integrity_ok = not any(c.status is Status.FAIL for c in checks)

        dump_info: dict[str, Any] = {
            "file": dest.name, "format": fmt, "compression": compress or "none", "size": outcome.size, "sha256": outcome.sha256,
            "snapshot": snap.id, "pg_dump": {"path": outcome.tool_path, "version": outcome.tool_version},
            "run_on": run_on, "seconds": round(outcome.seconds, 2), "statistics": statistics,
        }
        if fmt == "directory":
            dump_info["files"] = [f.__dict__ for f in outcome.files]
        url = inv.database.url
        manifest = Manifest(
            id=backup_id, status="failed", created_at=created_at, finished_at=created_at, inventory=inv.name,
            database={"name": url.dbname, "host": url.host, "port": url.port, "user": url.user,
                      "server_version": snap.server_version, "server_version_num": snap.server_version_num},
            dump=dump_info, counts=counts,
            integrity={"ok": integrity_ok, "checks": [c.as_dict() for c in checks]},
            min_copies=settings.min_copies,
        )
        mpath = manifest_path(backup_dir, backup_id)
        if not integrity_ok:
            manifest = write_manifest(replace(manifest, finished_at=utcnow()).with_status(), mpath)
            say("warn", f"integrity failed; the dump is kept for inspection at {dest} (manifest status: failed)")
            return BackupResult(manifest, tuple(checks))
        say("done", "integrity: " + "; ".join(c.summary for c in checks if c.id in ("dump-complete", "critical-table-data")))

        # ----------------------------------------------------------- copies
        copies = _copy_all(ready, manifest, backup_dir, outcome.parts, say, staged)
        copies += [CopyRecord(t.name, t.type, t.location(dest.name), outcome.size, outcome.sha256, False, error=problems[t.name])
                   for t in targets if t.name in problems]
        copies.sort(key=lambda c: [t.name for t in targets].index(c.target))
        manifest = replace(manifest, copies=tuple(copies))
        checks += copy_checks(copies, settings.min_copies)

        # ----------------------------------------------------------- restore test
        if verify:
            say("step", f"--verify-restore: restoring {dest.name} into a scratch database (pg_restore -j {jobs})")
            rv = verify_restore(inv.database, dest, fmt, counts["tables"], pg_restore=pg_restore, psql=psql, jobs=jobs)
            manifest = replace(manifest, restore_verification=rv)
            if rv.ok:
                checks.append(Check("restore-verification", Status.OK,
                                    f"restored into {rv.database} in {rv.seconds:.1f}s: all {rv.tables_compared} table counts match; scratch dropped"))
            else:
                detail = rv.error or ", ".join(f"{m['table']}: manifest {m['manifest']} restored {m['restored']}" for m in rv.mismatches[:10])
                checks.append(Check("restore-verification", Status.FAIL, f"the restore test into {rv.database} failed", detail))

        manifest = write_manifest(replace(manifest, finished_at=utcnow()).with_status(), mpath)
        kept = True
        _push_manifest(ready, manifest, mpath, say)
        say("done" if manifest.ok else "warn", f"backup {backup_id}: {manifest.status} ({manifest.verified_copies} verified copies)")
        return BackupResult(manifest, tuple(checks))
    except KeyboardInterrupt as interrupted:  # Ctrl-C: say what is left (cli prints the notes)
        if dest is not None and not kept:
            _remove(dest)
            interrupted.add_note(f"backup: the partial dump {dest} was removed, and the copies being written with it; "
                                 "no manifest was written; the database was only read")
        elif kept:
            interrupted.add_note(f"backup: {dest} and its manifest were written before the interrupt: `inv backup.verify` re-checks it")
        raise
    finally:
        for copy in staged.values():  # a dump that failed or was not kept: its staged copies go too
            copy.discard()
        for target in targets:
            try:
                target.close()
            except Exception:  # noqa: BLE001, S110 - closing is best effort
                pass


def _counts_record(counted: dict[str, Any], cfg: Config) -> dict[str, Any]:
    """The manifest's `counts`: every table's rows, the tracking ledger's apart, and how they were counted."""
    tables = counted.get("tables", {})
    mig = cfg.inventory.migrations
    ledger = f"{mig.tracking_schema}.{mig.tracking_table}"
    return {"scope": counted.get("scope", "critical"), "tables": tables, "critical_tables": list(cfg.playbook.expectations.critical_tables),
            "users_by_role": counted.get("users_by_role"), "ledger": {"table": ledger, "rows": tables.get(ledger)},
            "connections": counted.get("connections"), "seconds": counted.get("seconds")}


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _items(manifest: Manifest, backup_dir: Path) -> list[tuple[Path, str, int, str]]:
    """(local path, name at the target, size, sha256) of every file of the dump."""
    dump = manifest.dump
    if dump["format"] == "directory":
        root = backup_dir / dump["file"]
        return [(root / f["path"], f"{dump['file']}/{f['path']}", f["size"], f["sha256"]) for f in dump["files"]]
    return [(backup_dir / dump["file"], dump["file"], dump["size"], dump["sha256"])]


def _stage_copies(ready: list[Target], name: str, fmt: str, say: _Emitter) -> dict[str, Staged]:
    """Copies written from the dump's stream as it is produced, on every target that offers it
    (`Target.stage`): one read of the bytes, and the copy is made during the dump instead of
    after it. A target that cannot stage is copied afterwards the usual way (`put`), which
    reports its error."""
    if fmt == "directory":  # pg_dump writes the files itself: nothing streams through us
        return {}
    staged: dict[str, Staged] = {}
    for target in ready:
        stage = getattr(target, "stage", None)
        if stage is None:
            continue
        try:
            staged[target.name] = stage(name)
        except TargetError as exc:
            say("warn", f"target {target.name}: cannot write while dumping ({exc.what}); it will be copied after the dump")
    return staged


def _tee(copies: Iterable[Staged]) -> Callable[[bytes], None]:
    copies = tuple(copies)

    def write(chunk: bytes) -> None:
        for copy in copies:
            copy.write(chunk)

    return write


def _copy_all(targets: list[Target], manifest: Manifest, backup_dir: Path, parts: dict[int, list[str]], say: _Emitter,
              staged: dict[str, Staged] | None = None) -> list[CopyRecord]:
    if not targets:
        return []
    items = _items(manifest, backup_dir)
    total = sum(size for _, _, size, _ in items)

    def one(target: Target) -> CopyRecord:
        meter = say.meter(f"copy:{target.name}", f"copy to {target.name} ({target.type})", total)
        location = target.location(manifest.dump["file"])
        try:
            sent = 0
            results: list[Verification] = []
            part_size, part_digests = None, ()
            for path, name, size, sha in items:
                streamed = staged.pop(target.name) if staged and target.name in staged else None
                if streamed is not None:  # written while the dump streamed: made final, then proven against the dump
                    try:
                        streamed.commit()
                    except StageAbandoned as why:
                        say("warn", f"copy {target.name}: {why}; copying it after the dump instead")
                    else:
                        checked = streamed.verify(path, size, sha)
                        results.append(checked)
                        part_size, part_digests = checked.part_size, checked.part_sha256
                        sent += size
                        continue
                target.put(path, name, lambda done, base=sent: meter(base + done))
                sent += size
                if target.type == "s3":
                    part_size, part_digests = _s3_parts(target, path, size, sha, parts)
                results.append(target.verify(name, size, sha, part_digests, part_size))
            meter(total)
            bad = [r for r in results if not r.verified]
            record = CopyRecord(target.name, target.type, location, manifest.dump["size"], manifest.dump["sha256"], not bad,
                                method=results[0].method if results else "", observed=results[0].observed if len(results) == 1 else f"{len(results) - len(bad)}/{len(results)} files match",
                                part_size=part_size if len(items) == 1 else None, part_sha256=tuple(part_digests) if len(items) == 1 else (),
                                verified_at=utcnow(), error="; ".join(r.error or "" for r in bad) or None)
        except PgRunbookError as exc:
            record = CopyRecord(target.name, target.type, location, manifest.dump["size"], manifest.dump["sha256"], False,
                                verified_at=utcnow(), error=f"{exc.what} ({exc.changed}); {exc.next_step}".rstrip("; "))
        except Exception as exc:  # noqa: BLE001 - a target's foreign error must name the target, not crash the phase
            record = CopyRecord(target.name, target.type, location, manifest.dump["size"], manifest.dump["sha256"], False,
                                verified_at=utcnow(), error=f"target {target.name}: unexpected {exc.__class__.__name__}: {exc}")
        say("done" if record.verified else "warn", f"copy {target.name}: " + ("verified" if record.verified else f"FAILED: {record.error}"))
        return record

    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        return list(pool.map(one, targets))


def _s3_parts(target: Target, path: Path, size: int, sha: str, parts: dict[int, list[str]]) -> tuple[int | None, tuple[str, ...]]:
    from ..targets.s3 import local_part_digests, part_size_for

    part_size = part_size_for(size, target.cfg.multipart_threshold_mb)  # type: ignore[attr-defined]
    if part_size is None:
        return None, ()
    if part_size in parts:
        return part_size, tuple(parts[part_size])
    digest, digests, _ = local_part_digests(path, size, target.cfg.multipart_threshold_mb)  # type: ignore[attr-defined]
    if digest != sha:
        raise TargetError(f"target {target.name}: the local dump {path} changed since it was written (sha256 differs)", changed=f"nothing was copied to {target.name}",
                          next_step="the primary dump is corrupt: run `inv backup` again")
    return part_size, tuple(digests)


def _push_manifest(targets: list[Target], manifest: Manifest, mpath: Path, say: _Emitter) -> None:
    """A copy of the final manifest beside each verified copy (best effort: the dump is what counts)."""
    verified = {c.target for c in manifest.copies if c.verified}
    for target in targets:
        if target.name in verified:
            try:
                target.put(mpath, mpath.name)
            except Exception as exc:  # noqa: BLE001
                say("warn", f"target {target.name}: the manifest copy failed ({exc}); the dump copy is verified nonetheless")


# --------------------------------------------------------------------------- list / verify


def backup_rows(cfg: Config) -> list[dict[str, Any]]:
    rows = []
    now = dt.datetime.now(dt.UTC)
    for m in list_backups(cfg.inventory.backup.dir):
        rows.append({
            "id": m.id, "status": m.status, "created_at": m.created_at, "age_seconds": round(m.age_seconds(now)),
            "format": m.dump.get("format"), "size": m.dump.get("size"), "copies": len(m.copies), "verified_copies": m.verified_copies,
            "min_copies": m.min_copies, "restore_verified": None if m.restore_verification is None else m.restore_verification.ok,
            "rechecked_at": m.rechecked_at, "manifest": str(m.path), "problems": list(m.problems),
        })
    for path, why in unreadable_manifests(cfg.inventory.backup.dir):  # shown as corrupt, with the file: never a silent gap
        rows.append({"id": path.name.removesuffix(".manifest.json"), "status": "corrupt", "created_at": None, "age_seconds": None,
                     "format": None, "size": None, "copies": 0, "verified_copies": 0, "min_copies": 0, "restore_verified": None,
                     "rechecked_at": None, "manifest": str(path), "problems": [why]})
    return rows


def verify_backup(cfg: Config, ref: str, emit: Emit = discard) -> BackupResult:
    """Re-check the primary dump and every copy's checksum now; record the result in the manifest."""
    from ..targets.base import hash_file

    inv = cfg.inventory
    say = _Emitter(emit)
    manifest = find_backup(inv.backup.dir, ref)
    backup_dir = manifest.path.parent if manifest.path else inv.backup.dir
    checks: list[Check] = []
    say("step", f"re-checking backup {manifest.id}")
    items = _items(manifest, backup_dir)
    bad = []
    for path, name, size, sha in items:
        try:
            digest, _ = hash_file(path)
        except OSError as exc:
            bad.append(f"{path}: {exc.strerror}")
            continue
        if digest != sha:
            bad.append(f"{path}: sha256 {digest[:12]}… differs from the manifest's {sha[:12]}…")
    checks.append(Check("primary", Status.OK, f"{manifest.dump['file']} matches its sha256") if not bad else
                  Check("primary", Status.FAIL, f"the primary dump {manifest.dump['file']} is missing or corrupt", "; ".join(bad[:5])))

    configured = {t.name: t for t in inv.backup.targets}
    records = []

    def one(record: CopyRecord) -> CopyRecord:
        cfg_t = configured.get(record.target)
        if cfg_t is None:
            return replace(record, verified=False, verified_at=utcnow(),
                           error=f"target {record.target} is no longer in the inventory: it cannot be checked")
        target = open_target(cfg_t, inv)
        try:
            results = []
            for path, name, size, sha in items:
                parts, part_size = record.part_sha256, record.part_size
                if target.type == "s3" and len(items) > 1:
                    part_size, parts = _s3_parts(target, path, size, sha, {})
                results.append(target.verify(name, size, sha, parts, part_size))
        except PgRunbookError as exc:
            return replace(record, verified=False, verified_at=utcnow(), error=f"{exc.what}; {exc.next_step}".rstrip("; "))
        except Exception as exc:  # noqa: BLE001
            return replace(record, verified=False, verified_at=utcnow(), error=f"target {record.target}: unexpected {exc.__class__.__name__}: {exc}")
        finally:
            target.close()
        failed = [r for r in results if not r.verified]
        return replace(record, verified=not failed, verified_at=utcnow(), observed=results[0].observed if len(results) == 1 else record.observed,
                       error="; ".join(r.error or "" for r in failed) or None)

    if manifest.copies:
        with ThreadPoolExecutor(max_workers=len(manifest.copies)) as pool:
            records = list(pool.map(one, manifest.copies))
    for record in records:
        say("done" if record.verified else "warn", f"copy {record.target}: " + ("verified" if record.verified else f"FAILED: {record.error}"))
    manifest = replace(manifest, copies=tuple(records), rechecked_at=utcnow()).with_status()
    checks += copy_checks(records, manifest.min_copies)
    manifest = write_manifest(manifest, manifest.path or manifest_path(backup_dir, manifest.id))
    return BackupResult(manifest, tuple(checks), action="verify")
