"""Pure parts of the backup phase: manifest shape and loader, checksums, integrity rules, passfile."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace

import pytest

from pgrunbook.backup.dump import DumpOutcome, ValidatorResult, remote_password
from pgrunbook.backup.integrity import check_dump, toc_table_data
from pgrunbook.backup.manifest import CopyRecord, Manifest, find_backup, latest_backup, list_backups, load_manifest, write_manifest
from pgrunbook.backup.restore import scratch_name
from pgrunbook.backup.stream import PartHasher, PlainScan
from pgrunbook.config import DatabaseSettings
from pgrunbook.errors import ConfigError, UsageError
from pgrunbook.targets.base import b64_sha256, composite_sha256, s3_checksum_matches


def manifest(id_: str, created: str, *, copies: int = 2, ok: bool = True) -> Manifest:
    return Manifest(
        id=id_, status="failed", created_at=created, finished_at=created, inventory="t",
        database={"name": "db"}, dump={"file": f"{id_}.dump", "format": "custom", "size": 3, "sha256": "ab"},
        counts={"tables": {"public.users": 68}}, integrity={"ok": ok, "checks": []}, min_copies=2,
        copies=tuple(CopyRecord(f"t{i}", "local", f"/x/{i}", 3, "ab", True) for i in range(copies)),
    ).with_status()


def test_manifest_roundtrip_modes_and_loader(tmp_path):
    folder = tmp_path / "b"
    old = write_manifest(manifest("db_prod_backup_20250101_000000", "2025-01-01T00:00:00+00:00"), folder / "db_prod_backup_20250101_000000.manifest.json")
    new = write_manifest(manifest("db_prod_backup_20250102_000000", "2025-01-02T00:00:00+00:00", copies=1),
                         folder / "db_prod_backup_20250102_000000.manifest.json")
    assert (folder.stat().st_mode & 0o777) == 0o700 and (new.path.stat().st_mode & 0o777) == 0o600
    data = json.loads(new.path.read_text())
    assert data["kind"] == "pgrunbook.backup" and data["version"] == 2 and data["status"] == "failed" and data["verified_copies"] == 1
    assert load_manifest(old.path) == old
    assert [m.id for m in list_backups(folder)] == [new.id, old.id]
    assert latest_backup(folder).id == old.id  # the newest is failed (1 copy < 2)
    assert latest_backup(folder, ok_only=False).id == new.id
    assert find_backup(folder, "db_prod_backup_20250101").id == old.id
    with pytest.raises(UsageError):
        find_backup(folder, "db_prod_backup_2025")
    data["version"] = 99
    new.path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="version 99"):
        load_manifest(new.path)


def test_version_1_manifests_are_still_read(tmp_path):
    m = write_manifest(manifest("db_prod_backup_20250101_000000", "2025-01-01T00:00:00+00:00"), tmp_path / "x.manifest.json")
    data = json.loads(m.path.read_text())
    data["version"] = 1
    data["counts"] = {"scope": "critical", "tables": {"public.users": 68, "drizzle.__drizzle_migrations": 11}}
    m.path.write_text(json.dumps(data))
    old = load_manifest(m.path)
    assert old.ok and old.counts["tables"]["public.users"] == 68 and old.counts["scope"] == "critical"
    assert old.counts["ledger"] == {"table": "drizzle.__drizzle_migrations", "rows": 11} and old.counts["seconds"] is None
    rewritten = json.loads(write_manifest(old, m.path).path.read_text())
    assert rewritten["version"] == 2 and rewritten["counts"]["ledger"]["rows"] == 11


def test_status_reflects_integrity_copies_and_restore():
    m = manifest("x", "2025-01-01T00:00:00+00:00")
    assert m.ok and m.problems == ()
    assert not manifest("x", "2025-01-01T00:00:00+00:00", ok=False).ok
    assert not manifest("x", "2025-01-01T00:00:00+00:00", copies=1).ok
    from pgrunbook.backup.manifest import RestoreVerification

    bad = replace(m, restore_verification=RestoreVerification(False, "s", True, 3, ({"table": "t", "manifest": 1, "restored": 0},))).with_status()
    assert not bad.ok and "restore verification" in bad.problems[0]


def test_s3_checksums_single_and_composite():
    data = b"x" * 10 + b"y" * 10
    whole = hashlib.sha256(data).hexdigest()
    assert b64_sha256(whole) == base64.b64encode(hashlib.sha256(data).digest()).decode()
    hasher = PartHasher(8)
    for i in range(0, len(data), 3):
        hasher.update(memoryview(data[i:i + 3]))
    parts = hasher.finish()
    assert parts == [hashlib.sha256(data[i:i + 8]).hexdigest() for i in range(0, 20, 8)]
    composite = composite_sha256(parts)
    assert s3_checksum_matches(f"{composite}-3", sha256=whole, parts=parts)  # AWS
    assert s3_checksum_matches(composite, sha256=whole, parts=parts)  # moto
    assert not s3_checksum_matches(f"{composite}-2", sha256=whole, parts=parts)
    assert s3_checksum_matches(b64_sha256(whole), sha256=whole, parts=())
    assert not s3_checksum_matches(b64_sha256(whole[::-1]), sha256=whole, parts=())


def test_plain_scan_finds_copy_lines_across_chunks():
    text = b"SET x;\nCOPY public.users (id, email) FROM stdin;\n1\tx\n\\.\nCOPY public.\"Odd\" (id) FROM stdin;\n\\.\n-- PostgreSQL database dump complete\n\n"
    scan = PlainScan()
    for i in range(0, len(text), 7):
        scan.update(text[i:i + 7])
    scan.finish()
    assert scan.copy_tables == {"public.users", 'public."Odd"'} and scan.complete


def outcome(**kw) -> DumpOutcome:
    base = dict(path=None, format="custom", size=10, sha256="a", parts={}, files=(), returncode=0, stderr="", seconds=0.1,
                tool_version="18", tool_path="pg_dump", validator=ValidatorResult(0, frozenset({"public.users"}), ""))
    return DumpOutcome(**{**base, **kw})


def test_integrity_rules():
    listing = "3401; 0 16390 TABLE DATA public users postgres\n3402; 0 16391 TABLE DATA public campaigns postgres\n"
    assert toc_table_data(listing) == {"public.users", "public.campaigns"}
    checks = {c.id: c.status.value for c in check_dump(outcome(), listing=listing, list_error="", critical=["users"], counts={"public.users": 5})}
    assert set(checks.values()) == {"ok"}
    checks = {c.id: c.status.value for c in check_dump(outcome(validator=ValidatorResult(1, frozenset(), "pg_restore: error: could not read input file: end of file")),
                                                      listing=listing, list_error="", critical=["users"], counts={"public.users": 5})}
    assert checks["dump-complete"] == "fail"
    checks = {c.id: c.status.value for c in check_dump(outcome(stderr="pg_dump: warning: x", size=0), listing=listing, list_error="",
                                                      critical=["users", "challenges"], counts={"public.users": 5, "public.challenges": 3})}
    assert checks["dump-stderr"] == "warn" and checks["dump-size"] == "fail" and checks["critical-table-data"] == "fail"
    # a critical table the snapshot did not count does not exist (a new database, a table the plan creates): nothing to keep
    absent = {c.id: c for c in check_dump(outcome(), listing=listing, list_error="", critical=["users", "challenges"],
                                          counts={"public.users": 5})}
    assert absent["critical-table-data"].status.value == "warn" and "absent from the database" in absent["critical-table-data"].summary


def test_scratch_name_is_unmistakable_and_short():
    name = scratch_name("a" * 63)
    assert "_pgrunbook_verify_" in name and len(name) <= 63


def test_remote_password_from_url_or_passfile(tmp_path):
    passfile = tmp_path / "pgpass"
    passfile.write_text("# comment\nother:*:*:*:no\n127.0.0.1:*:*:postgres:se\\:cret\n")
    assert remote_password(DatabaseSettings(url="postgresql://postgres@127.0.0.1:5432/db", passfile=passfile)) == "se:cret"
    assert remote_password(DatabaseSettings(url="postgresql://postgres:pw@127.0.0.1:5432/db")) == "pw"
    assert remote_password(DatabaseSettings(url="postgresql://nobody@10.0.0.1:5432/db", passfile=passfile)) == ""


def test_archive_walk_catches_truncation_anywhere(app_db, tmp_path):
    import subprocess

    from pgrunbook.backup.archive import walk_custom
    from pgrunbook.pg import default_bin_dir

    db = app_db("legacy")
    full = tmp_path / "full.dump"
    with open(full, "wb") as out:  # through a pipe, as the backup does
        dump = subprocess.Popen([str(default_bin_dir() / "pg_dump"), "-Fc", db.url], stdout=subprocess.PIPE)
        out.write(dump.stdout.read())
        assert dump.wait() == 0
    walk = walk_custom(full)
    assert walk.ok and walk.blocks == walk.expected_blocks == 11 and "public.users" in walk.tables_with_data
    data = full.read_bytes()
    for cut in (len(data) - 1, len(data) - 5, len(data) // 2, 3000):
        part = tmp_path / f"cut{cut}.dump"
        part.write_bytes(data[:cut])
        assert not walk_custom(part).ok, cut


def test_tables_are_dealt_largest_first_to_the_least_loaded_session():
    from pgrunbook.backup.snapshot import _deal

    tables = [("public", "users", 100), ("public", "a", 150), ("public", "b", 90), ("public", "c", 60), ("public", "d", 5)]
    shares = _deal(tables, 2, "public.users")  # users weighs double: it is scanned by a GROUP BY
    assert shares == [[("public", "users"), ("public", "c")], [("public", "a"), ("public", "b"), ("public", "d")]]
    assert _deal(tables, 9, "public.users").__len__() == 5 and _deal([], 3, "public.users") == [[]]
    assert sorted(t for share in _deal(tables, 3, "public.users") for t in share) == sorted((a, b) for a, b, _ in tables)
