"""S3 copies uploaded while the dump streams (`S3BucketTarget.stage`), against moto's S3 server over HTTP."""

from __future__ import annotations

import os
import time

import pytest

from pgrunbook.config import S3Target
from pgrunbook.errors import TargetError
from pgrunbook.targets import s3
from pgrunbook.targets.base import StageAbandoned, hash_file
from pgrunbook.targets.s3 import S3BucketTarget, StagedS3Upload

pytestmark = pytest.mark.integration
MB = 1 << 20


def s3_target(endpoint: str, bucket: str, **kw) -> S3BucketTarget:
    return S3BucketTarget(S3Target(type="s3", name="cloud", bucket=bucket, prefix="pg/", endpoint_url=endpoint, **kw))


def client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def pending_uploads(endpoint: str, bucket: str) -> list:
    return client(endpoint).list_multipart_uploads(Bucket=bucket).get("Uploads", [])


def objects(endpoint: str, bucket: str) -> list[str]:
    return [o["Key"] for o in client(endpoint).list_objects_v2(Bucket=bucket).get("Contents", [])]


def stream(staged: StagedS3Upload, data: bytes, chunk: int = MB) -> None:
    for at in range(0, len(data), chunk):
        staged.write(data[at:at + chunk])


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_parts_go_up_while_streaming_and_verify_from_the_recorded_digests(s3_env, tmp_path):
    endpoint, bucket = s3_env
    src = tmp_path / "big.dump"
    src.write_bytes(os.urandom(12 * MB + 123))
    size = src.stat().st_size
    digest, parts = hash_file(src, 5 * MB)
    target = s3_target(endpoint, bucket, multipart_threshold_mb=5, sse="AES256")
    staged = target.stage("big.dump")
    [upload] = pending_uploads(endpoint, bucket)  # created before the first byte
    data = src.read_bytes()
    stream(staged, data[:11 * MB])  # two full parts handed over, the third filling
    listed = lambda: client(endpoint).list_parts(Bucket=bucket, Key="pg/big.dump", UploadId=upload["UploadId"]).get("Parts", [])  # noqa: E731
    assert wait_for(lambda: len(listed()) == 2), "the parts are uploaded while the stream goes on, before commit"
    stream(staged, data[11 * MB:])
    assert staged.commit() == f"s3://{bucket}/pg/big.dump"
    checked = staged.verify(src, size, digest)
    assert checked.verified, checked.error
    assert checked.method == "s3-checksum-sha256" and checked.part_size == 5 * MB and list(checked.part_sha256) == parts
    assert pending_uploads(endpoint, bucket) == [] and objects(endpoint, bucket) == ["pg/big.dump"]
    # `backup.verify` later: from the part size and digests the manifest records
    again = target.verify("big.dump", size, digest, checked.part_sha256, checked.part_size)
    assert again.verified, again.error
    assert client(endpoint).get_object(Bucket=bucket, Key="pg/big.dump")["Body"].read() == data
    # a flipped byte in the stored object (its own correct checksum): no longer the dump
    flipped = bytearray(data)
    flipped[6 * MB] ^= 1
    client(endpoint).put_object(Bucket=bucket, Key="pg/big.dump", Body=bytes(flipped), ChecksumAlgorithm="SHA256")
    assert not target.verify("big.dump", size, digest, checked.part_sha256, checked.part_size).verified


def test_a_dump_smaller_than_a_part_is_one_part(s3_env, tmp_path):
    endpoint, bucket = s3_env
    src = tmp_path / "x.dump"
    src.write_bytes(os.urandom(300_000))
    digest, _ = hash_file(src)
    target = s3_target(endpoint, bucket)
    staged = target.stage("x.dump")
    stream(staged, src.read_bytes(), chunk=65536)
    staged.commit()
    checked = staged.verify(src, 300_000, digest)
    assert checked.verified, checked.error
    assert checked.part_size == 64 * MB and checked.part_sha256 == (digest,)
    assert target.verify("x.dump", 300_000, digest, checked.part_sha256, checked.part_size).verified
    assert not target.verify("x.dump", 300_000, "0" * 64, ("0" * 64,), checked.part_size).verified


def test_a_dump_slower_than_the_no_progress_timeout_still_commits(s3_env, tmp_path, monkeypatch):
    endpoint, bucket = s3_env
    monkeypatch.setattr(s3, "PART_TIMEOUT", 0.3)  # "no progress" is the upload's, counted from commit, not the dump's pace
    staged = s3_target(endpoint, bucket).stage("slowdump.dump")
    staged.write(b"x" * 1000)
    time.sleep(0.6)
    staged.write(b"y" * 1000)
    staged.commit()
    assert objects(endpoint, bucket) == ["pg/slowdump.dump"]


def test_streamed_bytes_that_are_not_the_dump_are_not_verified(s3_env, tmp_path):
    endpoint, bucket = s3_env
    src = tmp_path / "x.dump"
    src.write_bytes(os.urandom(1000))
    digest, _ = hash_file(src)
    staged = s3_target(endpoint, bucket).stage("x.dump")
    staged.write(src.read_bytes()[:999])
    staged.commit()
    checked = staged.verify(src, 1000, digest)
    assert not checked.verified and "not the dump" in checked.error


def test_discard_mid_stream_leaves_nothing(s3_env):
    endpoint, bucket = s3_env
    staged = s3_target(endpoint, bucket, multipart_threshold_mb=5).stage("gone.dump")
    stream(staged, os.urandom(11 * MB))
    staged.discard()
    assert not staged._thread.is_alive()
    assert pending_uploads(endpoint, bucket) == [] and objects(endpoint, bucket) == []
    staged.discard()  # twice: nothing happens


def test_a_slow_upload_gives_up_without_holding_the_dump(s3_env, monkeypatch):
    endpoint, bucket = s3_env
    original = StagedS3Upload._upload

    def slow(self, number, data):
        time.sleep(3)
        original(self, number, data)

    monkeypatch.setattr(StagedS3Upload, "_upload", slow)
    staged = s3_target(endpoint, bucket, multipart_threshold_mb=5).stage("slow.dump")
    data = os.urandom(30 * MB)
    started = time.monotonic()
    stream(staged, data)  # part 1 uploading, 2 queued, the 4th finds the queue full
    held = time.monotonic() - started
    assert held < s3.STALL_BUDGET + 1.5, f"the dump was held {held:.1f}s"
    with pytest.raises(StageAbandoned, match="slower than the dump"):
        staged.commit()
    assert wait_for(lambda: pending_uploads(endpoint, bucket) == []) and objects(endpoint, bucket) == []


def test_an_s3_error_while_streaming_stops_this_copy_only(s3_env, monkeypatch):
    from botocore.exceptions import ClientError

    endpoint, bucket = s3_env
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "Sup3rS3cretKeyValue")
    target = s3_target(endpoint, bucket, multipart_threshold_mb=5)

    def deny(params, **kwargs):
        if params.get("PartNumber") == 2:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "UploadPart")

    target.client().meta.events.register("provide-client-params.s3.UploadPart", deny)
    staged = target.stage("denied.dump")
    stream(staged, os.urandom(16 * MB))  # never raises into the dump
    with pytest.raises(TargetError) as err:
        staged.commit()
    assert "cloud" in err.value.what and "AccessDenied" in err.value.what and "part 2" in err.value.what
    assert "grant s3:PutObject" in err.value.next_step and "aborted" in err.value.changed
    assert "Sup3rS3cret" not in f"{err.value.what} {err.value.changed} {err.value.next_step}"
    assert pending_uploads(endpoint, bucket) == [] and objects(endpoint, bucket) == []


def test_stage_on_a_missing_bucket_fails_at_once(s3_env):
    endpoint, _ = s3_env
    with pytest.raises(TargetError) as err:
        s3_target(endpoint, "no-such-bucket-here").stage("x.dump")
    assert "no-such-bucket-here" in err.value.what and "starting the upload" in err.value.what
