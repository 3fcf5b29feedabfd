"""Targets against real servers: a local folder (tmpfs for ENOSPC), OpenSSH sshd, moto S3 over HTTP."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from pgrunbook.config import HostSettings, S3Target
from pgrunbook.errors import TargetError
from pgrunbook.targets.base import hash_file
from pgrunbook.targets.local import LocalDirTarget
from pgrunbook.targets.s3 import S3BucketTarget, part_size_for
from pgrunbook.targets.ssh import SftpTarget

pytestmark = pytest.mark.integration


@pytest.fixture
def payload(tmp_path) -> tuple[Path, int, str]:
    path = tmp_path / "x.dump"
    path.write_bytes(os.urandom(300_000))
    digest, _ = hash_file(path)
    return path, path.stat().st_size, digest


def flip_byte(path: Path, offset: int = 1000) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0x01]))


@pytest.fixture
def mount(tmp_path):
    mounted = []

    def make(options: str) -> Path:
        point = tmp_path / f"mnt{len(mounted)}"
        point.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip()})")
        mounted.append(point)
        return point

    yield make
    for point in mounted:
        subprocess.run(["umount", str(point)], check=False)


@pytest.fixture
def immutable(tmp_path):
    made = []

    def make(path: Path) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i is not available here")
        made.append(path)
        return path

    yield make
    for path in made:
        subprocess.run(["chattr", "-i", str(path)], check=False)


# --------------------------------------------------------------------------- local


def test_local_copy_is_verified_0600_in_0700(tmp_path, payload):
    src, size, digest = payload
    target = LocalDirTarget("disk2", tmp_path / "copies" / "a")
    target.check()
    target.put(src, "x.dump")
    landed = tmp_path / "copies" / "a" / "x.dump"
    assert landed.stat().st_mode & 0o777 == 0o600 and landed.parent.stat().st_mode & 0o777 == 0o700
    assert target.verify("x.dump", size, digest).verified
    assert not list(landed.parent.glob("*.part"))


def test_local_flipped_byte_is_caught(tmp_path, payload):
    src, size, digest = payload
    target = LocalDirTarget("disk2", tmp_path / "c")
    target.put(src, "x.dump")
    flip_byte(tmp_path / "c" / "x.dump")
    result = target.verify("x.dump", size, digest)
    assert not result.verified and "corrupt" in result.error and "inv backup" in result.error


def test_local_out_of_space_names_target_and_cleans_up(mount, payload):
    src, _, _ = payload
    point = mount("size=64k")
    target = LocalDirTarget("tiny", point)
    target.check()
    with pytest.raises(TargetError) as err:
        target.put(src, "x.dump")
    assert "tiny" in err.value.what and "no space" in err.value.what and str(point) in err.value.what
    assert "removed" in err.value.changed and "free space" in err.value.next_step
    assert list(point.iterdir()) == []


def test_a_staged_copy_is_the_streamed_bytes_0600_once_committed(tmp_path, payload):
    src, size, digest = payload
    target = LocalDirTarget("disk2", tmp_path / "copies")
    staged = target.stage("x.dump")
    data = src.read_bytes()
    for at in range(0, len(data), 65536):
        staged.write(data[at:at + 65536])
    assert not (tmp_path / "copies" / "x.dump").exists()  # not under its name before the commit
    assert staged.commit() == str(tmp_path / "copies" / "x.dump")
    landed = tmp_path / "copies" / "x.dump"
    assert landed.stat().st_mode & 0o777 == 0o600 and target.verify("x.dump", size, digest).verified
    assert not list(landed.parent.glob("*.part"))
    same = staged.verify(src, size, digest)  # byte for byte with the hashed dump
    assert same.verified and same.method == "compare" and same.observed == digest
    flip_byte(landed)
    differs = staged.verify(src, size, digest)
    assert not differs.verified and "corrupt" in differs.error and "inv backup" in differs.error


def test_a_discarded_staged_copy_leaves_nothing(tmp_path):
    target = LocalDirTarget("disk2", tmp_path / "copies")
    staged = target.stage("x.dump")
    staged.write(b"partial")
    staged.discard()
    assert list((tmp_path / "copies").iterdir()) == []
    with pytest.raises(TargetError, match="discarded"):
        staged.commit()


def test_a_full_disk_while_staging_stops_that_copy_only(mount, payload):
    src, _, _ = payload
    point = mount("size=64k")
    staged = LocalDirTarget("tiny", point).stage("x.dump")
    staged.write(src.read_bytes())  # ENOSPC: kept for commit, never raised into the dump's loop
    staged.write(b"more")
    with pytest.raises(TargetError) as err:
        staged.commit()
    assert "tiny" in err.value.what and "no space" in err.value.what and "removed" in err.value.changed
    assert list(point.iterdir()) == []


def test_local_without_write_permission(immutable, tmp_path):
    folder = immutable(tmp_path / "locked")
    with pytest.raises(TargetError) as err:
        LocalDirTarget("locked", folder).check()
    assert "no write permission" in err.value.what and "locked" in err.value.what


# --------------------------------------------------------------------------- ssh


def ssh_target(server, path: Path, **host_overrides) -> SftpTarget:
    return SftpTarget("bastion", HostSettings(**server.host_settings(**host_overrides)), str(path))


def test_ssh_copy_is_verified_by_sha256sum_on_the_host(sshd, tmp_path, payload):
    src, size, digest = payload
    target = ssh_target(sshd, tmp_path / "remote" / "backups")
    try:
        target.check()
        location = target.put(src, "x.dump")
        result = target.verify("x.dump", size, digest)
    finally:
        target.close()
    landed = tmp_path / "remote" / "backups" / "x.dump"
    assert result.verified and result.method == "sha256sum" and result.observed == digest and location.endswith("/x.dump")
    assert landed.stat().st_mode & 0o777 == 0o600 and landed.parent.stat().st_mode & 0o777 == 0o700
    flip_byte(landed)
    target = ssh_target(sshd, tmp_path / "remote" / "backups")
    try:
        again = target.verify("x.dump", size, digest)
    finally:
        target.close()
    assert not again.verified and "corrupt" in again.error


def test_ssh_changed_host_key_is_refused(sshd, tmp_path):
    target = ssh_target(sshd, tmp_path / "r", known_hosts=str(sshd.wrong_known_hosts))
    with pytest.raises(TargetError) as err:
        target.check()
    assert "CHANGED" in err.value.what and "127.0.0.1" in err.value.what and "ssh-keygen -R" in err.value.next_step
    assert not (tmp_path / "r").exists()


def test_ssh_unknown_host_key_is_refused(sshd, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(TargetError) as err:
        ssh_target(sshd, tmp_path / "r", known_hosts=str(empty)).check()
    assert "unknown" in err.value.what and "ssh-keyscan" in err.value.next_step


def test_ssh_refused_auth_and_host_down(sshd, tmp_path):
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    with pytest.raises(TargetError) as err:
        ssh_target(sshd, tmp_path / "r", key_file=str(stranger)).check()
    assert "refused authentication" in err.value.what
    from pgrunbook.sandbox.cluster import free_port

    with pytest.raises(TargetError) as err:
        ssh_target(sshd, tmp_path / "r", port=free_port()).check()
    assert "cannot connect" in err.value.what or "unknown" in err.value.what


def test_ssh_without_write_permission(sshd, immutable, tmp_path, payload):
    src, _, _ = payload
    folder = immutable(tmp_path / "ro")
    target = ssh_target(sshd, folder)
    try:
        with pytest.raises(TargetError) as err:
            target.put(src, "x.dump")
    finally:
        target.close()
    assert "bastion" in err.value.what and "no write permission" in err.value.what


def write_in_chunks(staged, data: bytes, size: int = 65536) -> None:
    for at in range(0, len(data), size):
        staged.write(data[at:at + size])


def test_ssh_staged_copy_is_on_the_host_before_the_commit(sshd, tmp_path, payload):
    src, size, digest = payload
    folder = tmp_path / "remote" / "staged"
    target = ssh_target(sshd, folder)
    try:
        target.check()
        staged = target.stage("x.dump")
        write_in_chunks(staged, src.read_bytes())
        part = folder / "x.dump.part"
        deadline = time.monotonic() + 10
        while (not part.exists() or part.stat().st_size < size) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert part.stat().st_size == size and not (folder / "x.dump").exists()  # landed while "the dump" went on
        assert part.stat().st_mode & 0o777 == 0o600
        assert staged.commit() == target.location("x.dump")
        checked = staged.verify(src, size, digest)
    finally:
        target.close()
    assert checked.verified and checked.method == "sha256sum" and checked.observed == digest
    assert sorted(p.name for p in folder.iterdir()) == ["x.dump"] and (folder / "x.dump").read_bytes() == src.read_bytes()


def test_ssh_discarded_staged_copy_leaves_nothing(sshd, tmp_path, payload):
    src, _, _ = payload
    folder = tmp_path / "remote" / "discarded"
    target = ssh_target(sshd, folder)
    try:
        target.check()
        staged = target.stage("x.dump")
        write_in_chunks(staged, src.read_bytes()[:100_000])
        staged.discard()
        with pytest.raises(TargetError, match="discarded"):
            staged.commit()
    finally:
        target.close()
    assert list(folder.iterdir()) == []


def test_ssh_staged_copy_slower_than_the_dump_is_abandoned(sshd, tmp_path, payload, monkeypatch):
    from paramiko.sftp_file import SFTPFile

    from pgrunbook.targets.base import StageAbandoned
    from pgrunbook.targets.ssh import StagedSshCopy

    src, _, _ = payload
    monkeypatch.setattr(StagedSshCopy, "max_in_flight", 100_000)
    monkeypatch.setattr(StagedSshCopy, "stall_budget", 0.2)
    real_write = SFTPFile.write
    monkeypatch.setattr(SFTPFile, "write", lambda self, data: (time.sleep(0.5), real_write(self, data))[1])
    folder = tmp_path / "remote" / "slow"
    target = ssh_target(sshd, folder)
    try:
        target.check()
        staged = target.stage("x.dump")
        started = time.monotonic()
        write_in_chunks(staged, src.read_bytes())
        waited = time.monotonic() - started
        with pytest.raises(StageAbandoned, match="slower than the dump"):
            staged.commit()
    finally:
        target.close()
    assert waited < 1.0  # the dump waited at most the stall budget
    assert staged.state == "abandoned" and list(folder.iterdir()) == []


def test_ssh_connection_lost_while_staging_fails_that_copy_only(sshd, tmp_path, payload):
    src, _, _ = payload
    folder = tmp_path / "remote" / "lost"
    target = ssh_target(sshd, folder)
    try:
        target.check()
        staged = target.stage("x.dump")
        data = src.read_bytes()
        staged.write(data[:100_000])
        target.connection().transport.close()  # the host goes away mid-stream
        staged.write(data[100_000:])  # never raises into the dump's loop
        with pytest.raises(TargetError) as err:
            staged.commit()
    finally:
        target.close()
    assert "bastion" in err.value.what and "127.0.0.1" in err.value.what and "inv backup" in err.value.next_step
    assert staged.state == "failed"


def test_ssh_staged_copy_to_a_full_disk_fails_with_no_space(sshd, mount, payload):
    src, _, _ = payload
    point = mount("size=64k")
    target = ssh_target(sshd, point)
    try:
        target.check()
        staged = target.stage("x.dump")
        write_in_chunks(staged, src.read_bytes())
        with pytest.raises(TargetError) as err:
            staged.commit()
    finally:
        target.close()
    assert "bastion" in err.value.what and "no space" in err.value.what and "removed" in err.value.changed
    assert list(point.iterdir()) == []


# --------------------------------------------------------------------------- s3


def s3_target(endpoint: str, bucket: str, **kw) -> S3BucketTarget:
    return S3BucketTarget(S3Target(type="s3", name="cloud", bucket=bucket, prefix="pg/", endpoint_url=endpoint, **kw))


def test_s3_single_part_checksum(s3_env, payload):
    endpoint, bucket = s3_env
    src, size, digest = payload
    target = s3_target(endpoint, bucket, sse="AES256")
    target.check()
    assert target.put(src, "x.dump") == f"s3://{bucket}/pg/x.dump"
    result = target.verify("x.dump", size, digest)
    assert result.verified and result.method == "s3-checksum-sha256"


def test_s3_multipart_composite_checksum_and_flipped_byte(s3_env, tmp_path):
    import boto3

    endpoint, bucket = s3_env
    src = tmp_path / "big.dump"
    src.write_bytes(os.urandom(12 * 1024 * 1024 + 123))
    size = src.stat().st_size
    part = part_size_for(size, 5)
    digest, parts = hash_file(src, part)
    assert len(parts) == 3
    target = s3_target(endpoint, bucket, multipart_threshold_mb=5)
    target.put(src, "big.dump")
    ok = target.verify("big.dump", size, digest, parts, part)
    assert ok.verified, ok.error
    # the same object with one flipped byte, uploaded whole with its own (correct) checksum
    flip_byte(src, 6 * 1024 * 1024)
    boto3.client("s3", endpoint_url=endpoint).put_object(Bucket=bucket, Key="pg/big.dump", Body=src.read_bytes(), ChecksumAlgorithm="SHA256")
    bad = target.verify("big.dump", size, digest, parts, part)
    assert not bad.verified and "does not match" in bad.error


def test_s3_endpoint_down(s3_env, payload, monkeypatch):
    from pgrunbook.sandbox.cluster import free_port

    src, _, _ = payload
    target = s3_target(f"http://127.0.0.1:{free_port()}", "nowhere")
    with pytest.raises(TargetError) as err:
        target.check()
    assert "cloud" in err.value.what and "cannot be reached" in err.value.what and "endpoint" in err.value.next_step
    with pytest.raises(TargetError):
        target.put(src, "x.dump")


def test_s3_missing_bucket(s3_env):
    endpoint, _ = s3_env
    with pytest.raises(TargetError) as err:
        s3_target(endpoint, "no-such-bucket-here").check()
    assert "no-such-bucket-here" in err.value.what


def test_ssh_host_that_never_answers_times_out(sshd, tmp_path):
    import socket
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts TCP (backlog), never speaks SSH
    try:
        started = time.monotonic()
        with pytest.raises(TargetError) as err:
            ssh_target(sshd, tmp_path / "r", port=silent.getsockname()[1], connect_timeout=1).check()
        assert time.monotonic() - started < 15
    finally:
        silent.close()
    assert "bastion" in err.value.what and "timed out" in err.value.what
