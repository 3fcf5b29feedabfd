"""`inv backup` end to end against real servers: embedded PostgreSQL, OpenSSH sshd, moto S3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pgrunbook import cli, commands
from pgrunbook.backup import latest_backup, list_backups, load_manifest
from pgrunbook.config import load_config
from pgrunbook.errors import CheckFailed, ConfigError, RuntimeFailure
from pgrunbook.pg import default_bin_dir

from ..conftest import TEST_PASSWORD

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
FIXTURE_COUNTS = {"public.users": 68, "public.campaigns": 2, "public.challenges": 10}


def local(name: str, path: Path) -> dict:
    return {"name": name, "type": "local", "path": str(path)}


def all_targets(db, sshd, s3_env) -> dict:
    endpoint, bucket = s3_env
    return {
        "hosts": {"bastion": sshd.host_settings()},
        "backup": {"min_copies": 3, "targets": [
            local("second-disk", db.workdir / "copies" / "disk2"),
            {"name": "bastion", "type": "ssh", "host": "bastion", "path": str(db.workdir / "remote" / "backups")},
            {"name": "cloud", "type": "s3", "bucket": bucket, "prefix": "pg", "endpoint_url": endpoint, "sse": "AES256"},
        ]},
    }


def fake_tools(tmp_path: Path, script: str) -> Path:
    """A bin_dir whose pg_dump is `script` around the real one (pg_restore and psql are the real ones)."""
    real = default_bin_dir()
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    (bin_dir / "pg_dump").write_text(f'#!/bin/sh\nREAL={real}\n[ "$1" = --version ] && exec "$REAL/pg_dump" --version\n{script}\n')
    (bin_dir / "pg_dump").chmod(0o755)
    for tool in ("pg_restore", "psql"):
        (bin_dir / tool).symlink_to(real / tool)
    return bin_dir


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_backup_to_local_ssh_and_s3_then_recheck(app_db, sshd, s3_env, capsys):
    db = app_db("tracked")
    inv = db.inventory(**all_targets(db, sshd, s3_env))
    assert cli.backup(str(inv), None, None, True, True) == 0
    out = json.loads(capsys.readouterr().out)
    m = load_manifest(out["manifest_path"])
    assert m.ok and m.verified_copies == 3 and [c.type for c in m.copies] == ["local", "ssh", "s3"]
    assert {c.method for c in m.copies} == {"compare", "sha256sum", "s3-checksum-sha256"}  # local: written from the stream
    assert all(c.sha256 == m.dump["sha256"] for c in m.copies)
    assert {k: m.counts["tables"][k] for k in FIXTURE_COUNTS} == FIXTURE_COUNTS
    assert m.counts["tables"]["drizzle.__drizzle_migrations"] == 11
    assert m.counts["users_by_role"]["by_role"] == {"fbo": 60, "manager": 8}
    assert m.restore_verification.ok and m.restore_verification.dropped and not m.restore_verification.mismatches
    assert m.database["name"] == db.name and m.dump["format"] == "custom" and m.dump["file"].endswith(".dump")
    assert m.dump["file"].startswith(f"{db.name}_prod_backup_")
    assert mode(m.dump_path) == 0o600 and mode(m.path) == 0o600 and mode(m.path.parent) == 0o700
    raw = json.loads(m.path.read_text())
    assert raw["kind"] == "pgrunbook.backup" and raw["version"] == 2 and raw["verified_copies"] == 3
    assert latest_backup(m.path.parent).id == m.id
    # the scratch database is gone
    with db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE %s", ["%pgrunbook_verify%"]).fetchone()[0] == 0

    assert cli.backup_verify(str(inv), None, m.id[:-2], True) == 0
    recheck = json.loads(capsys.readouterr().out)
    assert recheck["ok"] and recheck["manifest"]["rechecked_at"]

    # one flipped byte in the ssh copy: the re-check fails, names it, and the manifest says so
    remote = db.workdir / "remote" / "backups" / m.dump["file"]
    data = bytearray(remote.read_bytes())
    data[len(data) // 2] ^= 0x01
    remote.write_bytes(bytes(data))
    assert cli.backup_verify(str(inv), None, m.id, False) == 3
    captured = capsys.readouterr()
    assert "bastion" in captured.out and "corrupt" in captured.out
    after = load_manifest(m.path)
    assert after.verified_copies == 2 and not after.ok and "3 required" in after.problems[0]
    assert cli.backup_list(str(inv), None, True) == 0
    rows = json.loads(capsys.readouterr().out)["backups"]
    assert rows[0]["id"] == m.id and rows[0]["verified_copies"] == 2 and rows[0]["status"] == "failed"


def test_truncated_dump_is_caught(app_db, tmp_path):
    db = app_db("legacy")
    bin_dir = fake_tools(tmp_path, '"$REAL/pg_dump" "$@" | head -c 20000\nexit 0')
    copies = tmp_path / "copies"
    cfg = load_config(db.inventory(tools={"bin_dir": str(bin_dir)},
                                   backup={"min_copies": 1, "targets": [local("disk2", copies / "d2"), local("disk3", copies / "d3")]}))
    result = commands.backup(cfg)
    failed = {c.id: c for c in result.checks if c.status.value == "fail"}
    assert "dump-complete" in failed and not result.ok and result.manifest.status == "failed"
    assert result.manifest.copies == ()
    # the copies written from the dump's stream while it ran were removed with it
    assert [p for p in copies.rglob("*") if p.is_file()] == []


def test_dataless_dump_and_stderr_errors_are_caught(app_db, tmp_path):
    db = app_db("legacy")
    bin_dir = fake_tools(tmp_path, '"$REAL/pg_dump" --schema-only "$@"\necho "pg_dump: error: query failed: out of memory" >&2\nexit 0')
    result = commands.backup(load_config(db.inventory(tools={"bin_dir": str(bin_dir)})))
    failed = {c.id for c in result.checks if c.status.value == "fail"}
    assert {"critical-table-data", "all-table-data", "dump-stderr"} <= failed


def test_plain_format_keeps_the_seed_name_and_restores_with_psql(app_db):
    db = app_db("legacy")
    result = commands.backup(load_config(db.inventory()), format="plain", verify_restore=True)
    m = result.manifest
    assert result.ok, result.checks
    assert m.dump["file"].endswith(".sql") and "_prod_backup_" in m.dump["file"]
    assert "COPY public.users" in m.dump_path.read_text()
    assert m.restore_verification.ok


def test_directory_format_copies_every_file(app_db, tmp_path):
    db = app_db("legacy")
    cfg = load_config(db.inventory(backup={"min_copies": 1, "targets": [local("d2", tmp_path / "d2")]}))
    result = commands.backup(cfg, format="directory", verify_restore=True)
    m = result.manifest
    assert result.ok, [c for c in result.checks if c.status.value != "ok"]
    assert m.dump["file"].endswith(".dir") and len(m.dump["files"]) > 3
    assert all((tmp_path / "d2" / m.dump["file"] / f["path"]).exists() for f in m.dump["files"])
    assert commands.backup_verify(cfg, m.id).ok


def test_dump_while_the_app_writes_counts_match_the_restored_copy(app_db):
    db = app_db("legacy")
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        with db.connect() as conn:
            while not stop.is_set():
                conn.execute(
                    "INSERT INTO users (email, password, first_name, last_name, role) "
                    "SELECT 'w' || g || '-' || clock_timestamp() || '@x.test', 'x', 'W', 'R', 'fbo' FROM generate_series(1, 50) g")
                conn.execute("INSERT INTO campaigns (name, start_date, end_date, created_by) SELECT 'c', now(), now(), 1")
                written[0] += 1

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        while written[0] < 3:
            time.sleep(0.01)
        result = commands.backup(load_config(db.inventory()), verify_restore=True)
        during = written[0]
    finally:
        stop.set()
        thread.join()
    m = result.manifest
    assert result.ok and m.restore_verification.ok and not m.restore_verification.mismatches
    with db.connect() as conn:
        live = conn.execute("SELECT count(*) FROM users").fetchone()[0]
    assert m.counts["tables"]["public.users"] > 68 and live > m.counts["tables"]["public.users"] and during > 3
    assert m.counts["users_by_role"]["total"] == m.counts["tables"]["public.users"]


def test_password_never_in_output_manifest_or_process_list(app_db, sshd, s3_env, tmp_path):
    db = app_db("legacy")
    inv = db.inventory(**all_targets(db, sshd, s3_env))
    seen: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    except OSError:
                        continue
                    if "pg_dump" in cmdline or "pg_restore" in cmdline or TEST_PASSWORD in cmdline:
                        seen.append(cmdline)
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    env = {**os.environ, "PGRB_TEST_PW": TEST_PASSWORD}
    try:
        runs = [subprocess.run([sys.executable, "-m", "invoke", "backup", "-i", str(inv), "--verify-restore", *flag], cwd=ROOT,
                               capture_output=True, text=True, env=env, timeout=120) for flag in ([], ["--json"])]
        runs.append(subprocess.run([sys.executable, "-m", "invoke", "backup.list", "-i", str(inv)], cwd=ROOT, capture_output=True,
                                   text=True, env=env, timeout=60))
    finally:
        stop.set()
        watcher.join()
    for run in runs:
        assert run.returncode == 0, run.stderr[-2000:]
        assert TEST_PASSWORD not in run.stdout + run.stderr
    assert seen, "the watcher never saw pg_dump or pg_restore running"
    assert not [c for c in seen if TEST_PASSWORD in c]
    files = [p for p in db.workdir.rglob("*") if p.is_file() and p.suffix in (".json", ".dump", ".yml", ".log", ".part") and p.name != "inventory.yml"]
    assert any(p.name.endswith(".manifest.json") for p in files)
    for path in files:
        assert TEST_PASSWORD.encode() not in path.read_bytes(), path


def test_s3_endpoint_down_fails_before_dumping(app_db, s3_env, tmp_path):
    from pgrunbook.sandbox.cluster import free_port

    db = app_db("legacy")
    cfg = load_config(db.inventory(backup={"min_copies": 2, "targets": [
        local("disk2", tmp_path / "d2"),
        {"name": "cloud", "type": "s3", "bucket": "b", "endpoint_url": f"http://127.0.0.1:{free_port()}"}]}))
    with pytest.raises(CheckFailed) as err:
        commands.backup(cfg)
    assert "cloud" in err.value.what and "cannot be reached" in err.value.what and "no dump was taken" in err.value.changed
    assert list_backups(cfg.inventory.backup.dir) == []


def test_wrong_host_key_fails_with_exit_3_naming_the_target(app_db, sshd, capsys):
    db = app_db("legacy")
    inv = db.inventory(hosts={"bastion": sshd.host_settings(known_hosts=str(sshd.wrong_known_hosts))},
                       backup={"min_copies": 1, "targets": [{"name": "bastion", "type": "ssh", "host": "bastion", "path": "/tmp/x"}]})
    assert cli.backup(str(inv), None, None, False, False) == 3
    err = capsys.readouterr().err
    assert "bastion" in err and "CHANGED" in err


def test_target_out_of_space_during_copy_fails_the_phase(app_db, tmp_path):
    point = tmp_path / "tiny"
    point.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(point)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        db = app_db("legacy")
        cfg = load_config(db.inventory(backup={"min_copies": 2, "targets": [local("disk2", tmp_path / "d2"), local("tiny", point)]}))
        result = commands.backup(cfg)
    finally:
        subprocess.run(["umount", str(point)], check=False)
    m = result.manifest
    assert not result.ok and m.status == "failed" and m.verified_copies == 1
    tiny = next(c for c in m.copies if c.target == "tiny")
    assert not tiny.verified and "no space" in tiny.error and "free space" in tiny.error
    assert load_manifest(m.path).status == "failed"


# --------------------------------------------------------------------------- ssh copies written while the dump streams


def ssh_only(sshd, remote: Path, *more: dict, min_copies: int = 1) -> dict:
    return {"hosts": {"bastion": sshd.host_settings()},
            "backup": {"min_copies": min_copies, "targets": [*more, {"name": "bastion", "type": "ssh", "host": "bastion", "path": str(remote)}]}}


def wait_for_part(remote: Path, size: str, marker: Path) -> str:
    """Shell for a fake pg_dump: wait (up to 10 s) until the `.part` on the host holds `size` bytes, then write it to `marker`."""
    return (f'i=0; while [ $i -lt 200 ]; do for f in {remote}/*.part; do [ -f "$f" ] && [ "$(stat -c %s "$f")" -ge {size} ] '
            f'&& {{ stat -c %s "$f" > {marker}; i=1000; }}; done; i=$((i+1)); sleep 0.05; done')


def no_dump_put(monkeypatch) -> None:
    """`SftpTarget.put` may carry the manifest, never the dump: the dump's copy must be streamed."""
    from pgrunbook.targets.ssh import SftpTarget

    real_put = SftpTarget.put

    def put(self, src, name, progress=lambda done: None):
        assert name.endswith(".manifest.json"), f"{name} was copied after the dump, not while it streamed"
        return real_put(self, src, name, progress)

    monkeypatch.setattr(SftpTarget, "put", put)


def test_ssh_copy_is_written_while_the_dump_streams(app_db, sshd, tmp_path, monkeypatch):
    db = app_db("tracked")
    remote, seen = db.workdir / "remote" / "streamed", tmp_path / "seen"
    # pg_dump ends only once its whole output is on the host: the copy was written during the dump
    bin_dir = fake_tools(tmp_path, f'"$REAL/pg_dump" "$@" | tee {tmp_path}/out\n{wait_for_part(remote, f"$(stat -c %s {tmp_path}/out)", seen)}\nexit 0')
    no_dump_put(monkeypatch)
    events = []
    cfg = load_config(db.inventory(tools={"bin_dir": str(bin_dir)}, **ssh_only(sshd, remote)))
    result = commands.backup(cfg, events.append)
    m = result.manifest
    assert result.ok, [c for c in result.checks if c.status.value != "ok"]
    assert seen.exists() and int(seen.read_text()) == m.dump["size"]
    (copy,) = m.copies
    assert copy.verified and copy.method == "sha256sum" and copy.observed == m.dump["sha256"] and copy.location.endswith(m.dump["file"])
    landed = remote / m.dump["file"]
    assert landed.read_bytes() == m.dump_path.read_bytes() and mode(landed) == 0o600
    assert sorted(p.name for p in remote.iterdir()) == sorted([m.dump["file"], m.path.name])  # no .part left
    again = commands.backup_verify(cfg, m.id)
    assert again.ok and again.manifest.copies[0].verified
    # no secret in what was said or written
    key = Path(sshd.host_settings()["key_file"]).read_text()
    said = json.dumps([[e.kind, e.message, e.data] for e in events], default=str) + m.path.read_text()
    assert TEST_PASSWORD not in said and key.splitlines()[1] not in said


def test_a_failed_dump_leaves_nothing_on_the_ssh_host(app_db, sshd, tmp_path, monkeypatch):
    db = app_db("legacy")
    remote, seen = db.workdir / "remote" / "failed", tmp_path / "seen"
    bin_dir = fake_tools(tmp_path, f'"$REAL/pg_dump" "$@" | head -c 20000\n{wait_for_part(remote, 20000, seen)}\nexit 1')
    no_dump_put(monkeypatch)
    cfg = load_config(db.inventory(tools={"bin_dir": str(bin_dir)}, **ssh_only(sshd, remote)))
    with pytest.raises(RuntimeFailure) as err:
        commands.backup(cfg)
    assert "pg_dump" in err.value.what and "exit 1" in err.value.what
    assert int(seen.read_text()) == 20000  # the copy was being written when the dump failed
    assert list(remote.iterdir()) == []  # its .part was removed with the dump
    assert list_backups(cfg.inventory.backup.dir) == []


def test_ctrl_c_after_the_dump_leaves_nothing_on_the_ssh_host(app_db, sshd, monkeypatch):
    from pgrunbook import faults

    db = app_db("legacy")
    remote = db.workdir / "remote" / "interrupted"
    seen: list[str] = []

    def at(point: str) -> None:  # the dump ended and its copy is on the host as `.part`: Ctrl-C
        if point == "backup:dumped":
            seen.extend(p.name for p in remote.iterdir())
            raise KeyboardInterrupt

    monkeypatch.setattr(faults, "reached", at)
    cfg = load_config(db.inventory(**ssh_only(sshd, remote)))
    with pytest.raises(KeyboardInterrupt) as interrupted:
        commands.backup(cfg)
    assert len(seen) == 1 and seen[0].endswith(".dump.part")
    assert list(remote.iterdir()) == [] and "removed" in " ".join(getattr(interrupted.value, "__notes__", []))


def test_ssh_copy_slower_than_the_dump_is_copied_after_it(app_db, sshd, tmp_path, monkeypatch):
    from paramiko.sftp_file import SFTPFile

    from pgrunbook.targets.ssh import StagedSshCopy

    db = app_db("legacy")
    remote = db.workdir / "remote" / "slow"
    # the dump arrives in two reads; the streamed copy's writer takes 0.5 s per write: the buffer is full
    bin_dir = fake_tools(tmp_path, f'"$REAL/pg_dump" "$@" > {tmp_path}/out\nhead -c 8000 {tmp_path}/out\nsleep 0.3\ntail -c +8001 {tmp_path}/out')
    monkeypatch.setattr(StagedSshCopy, "max_in_flight", 1)
    monkeypatch.setattr(StagedSshCopy, "stall_budget", 0.1)
    real_write = SFTPFile.write

    def slow_write(self, data):
        if threading.current_thread().name.startswith("pgrunbook-stage-"):
            time.sleep(0.5)
        return real_write(self, data)

    monkeypatch.setattr(SFTPFile, "write", slow_write)
    events = []
    cfg = load_config(db.inventory(tools={"bin_dir": str(bin_dir)}, **ssh_only(sshd, remote)))
    result = commands.backup(cfg, events.append)
    m = result.manifest
    assert result.ok, [c for c in result.checks if c.status.value != "ok"]
    (copy,) = m.copies
    assert copy.verified and copy.method == "sha256sum" and (remote / m.dump["file"]).read_bytes() == m.dump_path.read_bytes()
    warned = [e.message for e in events if e.kind == "warn"]
    assert any("bastion" in w and "slower than the dump" in w and "after the dump" in w for w in warned), warned
    assert not list(remote.glob("*.part"))


def test_ssh_copy_failing_mid_stream_fails_that_copy_only(app_db, sshd, tmp_path):
    point = tmp_path / "tiny"
    point.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(point)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        db = app_db("legacy")
        cfg = load_config(db.inventory(**ssh_only(sshd, point, local("disk2", tmp_path / "d2"))))
        result = commands.backup(cfg)
        left = list(point.iterdir())
    finally:
        subprocess.run(["umount", str(point)], check=False)
    m = result.manifest
    assert result.ok and m.status == "ok" and m.verified_copies == 1 and m.integrity["ok"] and m.dump_path.exists()
    disk2, bastion = m.copies
    assert disk2.verified and disk2.method == "compare"
    assert not bastion.verified and "target bastion" in bastion.error and "no space" in bastion.error and "removed" in bastion.error
    assert left == []
    assert {c.id: c.status.value for c in result.checks}["copy:bastion"] == "warn"


def test_min_copies_above_targets_is_a_config_error(app_db):
    db = app_db("legacy")
    with pytest.raises(ConfigError):
        commands.backup(load_config(db.inventory(backup={"min_copies": 2, "targets": []})))


def test_pg_dump_runs_on_the_db_host_over_ssh(app_db, sshd):
    db = app_db("legacy")
    cfg = load_config(db.inventory(hosts={"dbhost": sshd.host_settings()}, backup={"run_on": "dbhost"}))
    result = commands.backup(cfg, verify_restore=True)
    assert result.ok, [c for c in result.checks if c.status.value != "ok"]
    assert result.manifest.dump["run_on"] == "dbhost" and result.manifest.restore_verification.ok


def test_scratch_drop_is_guarded(app_db):
    from pgrunbook.backup.restore import Scratch, create_scratch, drop_scratch

    db = app_db("legacy")
    settings = load_config(db.inventory()).inventory.database
    with pytest.raises(RuntimeFailure):
        drop_scratch(settings, Scratch(db.name, "forged", "scratch"))
    with pytest.raises(RuntimeFailure):
        drop_scratch(settings, Scratch(f"{db.name}_pgrunbook_verify_20250101000000_deadbeef", "forged", "scratch"))
    scratch = create_scratch(settings)
    with pytest.raises(RuntimeFailure):
        drop_scratch(settings, Scratch(scratch.name, "not-the-token", "scratch"))
    drop_scratch(settings, scratch)
    with db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [db.name]).fetchone()[0] == 1


def test_every_table_counted_on_sessions_sharing_the_snapshot(app_db):
    """Other schemas, leaf partitions (not their parent: each row once), unlogged tables and the ledger
    are counted, on two sessions that import the dump's snapshot while the app writes."""
    db = app_db("tracked")
    with db.connect() as conn:
        conn.execute("CREATE SCHEMA audit; CREATE TABLE audit.events (id int, at date NOT NULL) PARTITION BY RANGE (at)")
        conn.execute("CREATE TABLE audit.events_2025 PARTITION OF audit.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')")
        conn.execute("CREATE TABLE audit.events_2026 PARTITION OF audit.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')")
        conn.execute("INSERT INTO audit.events SELECT g, '2025-06-01'::date + g FROM generate_series(1, 300) g")
        conn.execute("CREATE UNLOGGED TABLE public.cache AS SELECT g AS id FROM generate_series(1, 7) g")
    stop = threading.Event()

    def writer() -> None:
        with db.connect() as conn:
            while not stop.is_set():
                conn.execute("INSERT INTO users (email, password, first_name, last_name, role) "
                             "SELECT 'w' || g || '-' || clock_timestamp() || '@x.test', 'x', 'W', 'R', 'fbo' FROM generate_series(1, 20) g")

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        result = commands.backup(load_config(db.inventory(backup={"count_connections": 2})), verify_restore=True)
    finally:
        stop.set()
        thread.join()
    m = result.manifest
    assert result.ok and m.restore_verification.ok and not m.restore_verification.mismatches
    tables = m.counts["tables"]
    assert tables["audit.events_2025"] == 213 and tables["audit.events_2026"] == 87 and "audit.events" not in tables
    assert tables["public.cache"] == 7 and m.counts["scope"] == "all" and m.counts["connections"] == 2
    assert m.counts["ledger"] == {"table": "drizzle.__drizzle_migrations", "rows": 11}
    assert m.counts["users_by_role"]["total"] == tables["public.users"] > 68


def test_critical_scope_still_counts_the_ledger(app_db):
    db = app_db("tracked")
    result = commands.backup(load_config(db.inventory(backup={"count": "critical"})))
    counts = result.manifest.counts
    assert result.ok and counts["scope"] == "critical" and counts["ledger"]["rows"] == 11
    assert set(counts["tables"]) == {"public.users", "public.campaigns", "public.challenges", "drizzle.__drizzle_migrations"}


def test_a_shared_backup_folder_behind_a_symlink_is_refused_and_its_mode_kept(app_db, tmp_path):
    """Issue 11.8: backup.dir -> a 1777 folder: never chmod someone else's folder, never dump there."""
    from pgrunbook.errors import ConfigError

    db = app_db("tracked")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    link = tmp_path / "backups-link"
    link.symlink_to(shared)
    cfg = load_config(db.inventory(backup={"dir": str(link)}))
    with pytest.raises(ConfigError, match="shared folder") as exc:
        commands.backup(cfg)
    assert "private folder" in exc.value.next_step
    assert shared.stat().st_mode & 0o7777 == 0o1777 and list(shared.iterdir()) == []


def test_a_corrupt_manifest_is_listed_as_corrupt_with_its_file(app_db, capsys):
    """Issue 11.8: never skipped silently by backup.list, never "no backup ID"."""
    db = app_db("tracked")
    inventory = db.inventory()
    cfg = load_config(inventory)
    assert commands.backup(cfg).ok
    backup_dir = cfg.inventory.backup.dir
    (backup_dir / "20261201_000000_broken.manifest.json").write_text('{"kind": "pgrunbook-backup-manifest", "vers')
    rows = commands.backup_list(cfg)
    corrupt = [r for r in rows if r["status"] == "corrupt"]
    assert len(rows) == 2 and len(corrupt) == 1 and corrupt[0]["manifest"].endswith("20261201_000000_broken.manifest.json")
    assert "not valid JSON" in corrupt[0]["problems"][0]
    assert cli.backup_list(str(inventory), None, as_json=False) in (0, 3)
    assert "corrupt" in capsys.readouterr().out


def test_an_unreachable_extra_target_is_one_truth_everywhere(app_db, s3_env, tmp_path):
    """Issue 11.8: the backup, its manifest and the gate agree. Two verified local copies meet min_copies 2: the
    unreachable S3 target is a WARN in the backup, recorded in the manifest, and the gate says GO on the same facts."""
    from pgrunbook.outcome import Status
    from pgrunbook.sandbox.cluster import free_port

    db = app_db("legacy")
    cloud = {"name": "cloud", "type": "s3", "bucket": "b", "endpoint_url": f"http://127.0.0.1:{free_port()}"}
    cfg = load_config(db.inventory(backup={"min_copies": 2, "targets": [local("d2", tmp_path / "d2"), local("d3", tmp_path / "d3"), cloud]}))
    result = commands.backup(cfg)
    statuses = {c.id: c.status for c in result.checks}
    assert result.ok and result.manifest.ok and statuses["copy:cloud"] is Status.WARN and statuses["min-copies"] is Status.OK
    (manifest,) = list_backups(cfg.inventory.backup.dir)
    assert manifest.ok and manifest.verified_copies == 2 and any(c.target == "cloud" and not c.verified for c in manifest.copies)
    _, decision = commands.gate(cfg)
    assert decision.go
    strict = load_config(db.inventory(backup={"min_copies": 3, "targets": [local("d2", tmp_path / "e2"), local("d3", tmp_path / "e3"), cloud]}))
    with pytest.raises(CheckFailed):  # below min_copies the backup refuses before dumping: no manifest says ok
        commands.backup(strict)


def test_the_counts_beside_the_dump_take_no_parallel_workers(app_db):
    """Issue 11: on a server whose cores pg_dump and its backend fill, parallel workers would only slow the dump."""
    from pgrunbook.backup.snapshot import count_rows_shared, exported_snapshot

    db = app_db("tracked")
    cfg = load_config(db.inventory())
    with exported_snapshot(cfg.inventory.database) as snap:
        counted = count_rows_shared(snap, cfg.inventory.database, cfg.playbook.expectations.role_count, connections=2)
        assert snap.conn.execute("SHOW max_parallel_workers_per_gather").fetchone()[0] == "0"
    assert counted["tables"]["public.users"] == 68 and counted["connections"] == 2
