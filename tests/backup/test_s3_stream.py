"""`inv backup` with an S3 target uploads its copy while pg_dump streams: embedded PostgreSQL, moto S3 over HTTP."""

from __future__ import annotations

import json
import math
import time

import pytest

from pgrunbook import commands, faults
from pgrunbook.config import load_config
from pgrunbook.errors import RuntimeFailure
from pgrunbook.targets.s3 import S3BucketTarget, StagedS3Upload

from .test_backup import fake_tools, local

pytestmark = pytest.mark.integration
MB = 1 << 20
SECRET = "Sup3rS3cretKeyValue-s3stream"


@pytest.fixture
def big_db(app_db, s3_env, monkeypatch):
    """An app database whose uncompressed dump is ~25 MB (4 full parts of 5 MiB), and S3 credentials with a recognisable secret."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    db = app_db("tracked")
    with db.connect() as conn:
        conn.execute("CREATE TABLE public.ballast AS SELECT g AS id, md5(g::text) || md5((g + 1)::text) AS pad FROM generate_series(1, 350000) g")
    return db


def inventory(db, s3_env, **backup):
    endpoint, bucket = s3_env
    settings = {"min_copies": 2, "targets": [
        local("second-disk", db.workdir / "copies" / "disk2"),
        {"name": "cloud", "type": "s3", "bucket": bucket, "prefix": "pg", "endpoint_url": endpoint, "sse": "AES256", "multipart_threshold_mb": 5},
    ]}
    settings.update(backup)
    return load_config(db.inventory(backup=settings))


def s3(s3_env):
    import boto3

    return boto3.client("s3", endpoint_url=s3_env[0], region_name="us-east-1")


def uploads(s3_env) -> list:
    return s3(s3_env).list_multipart_uploads(Bucket=s3_env[1]).get("Uploads", [])


def keys(s3_env) -> list[str]:
    return sorted(o["Key"] for o in s3(s3_env).list_objects_v2(Bucket=s3_env[1]).get("Contents", []))


def wait_for(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def no_dump_put(monkeypatch) -> list[str]:
    """`put` may copy the manifest, never the dump (it streamed): returns the names put."""
    put, names = S3BucketTarget.put, []

    def guarded(self, src, name, progress=lambda n: None):
        names.append(name)
        return put(self, src, name, progress)

    monkeypatch.setattr(S3BucketTarget, "put", guarded)
    return names


def test_the_s3_copy_is_uploaded_while_the_dump_runs(big_db, s3_env, monkeypatch):
    cfg = inventory(big_db, s3_env)
    put_names = no_dump_put(monkeypatch)
    seen: dict = {}

    def at(point: str) -> None:  # the dump has ended; nothing was committed or copied yet
        if point == "backup:dumped":
            [upload] = uploads(s3_env)
            [dump] = (big_db.workdir / "backups").glob("*.dump")
            full = dump.stat().st_size // (5 * MB)  # every full part was handed over during the dump
            listed = lambda: s3(s3_env).list_parts(Bucket=s3_env[1], Key=upload["Key"], UploadId=upload["UploadId"]).get("Parts", [])  # noqa: E731
            wait_for(lambda: len(listed()) >= full)
            seen.update(full=full, parts=len(listed()), objects=keys(s3_env))

    monkeypatch.setattr(faults, "reached", at)
    events = []
    result = commands.backup(cfg, events.append, compress="0")
    m = result.manifest
    assert result.ok and m.verified_copies == 2, [c.error for c in m.copies]
    assert seen["full"] >= 4 and seen["parts"] == seen["full"] and seen["objects"] == [], seen  # uploaded before commit, not yet complete
    assert not any(n.endswith(".dump") for n in put_names), put_names  # the dump itself was never `put`
    cloud = next(c for c in m.copies if c.target == "cloud")
    assert cloud.verified and cloud.method == "s3-checksum-sha256" and cloud.location == f"s3://{s3_env[1]}/pg/{m.dump['file']}"
    assert m.dump["size"] > 20 * MB and cloud.part_size == 5 * MB and len(cloud.part_sha256) == math.ceil(m.dump["size"] / (5 * MB))
    assert uploads(s3_env) == [] and keys(s3_env) == sorted([f"pg/{m.dump['file']}", f"pg/{m.path.name}"])
    # `inv backup.verify` re-verifies it later, from the manifest's part size and digests
    again = commands.backup_verify(cfg, m.id)
    assert again.ok and next(c for c in again.manifest.copies if c.target == "cloud").verified
    text = json.dumps([[e.kind, e.message, e.data] for e in events], default=str) + m.path.read_text()
    assert SECRET not in text


def test_a_dump_failing_midway_leaves_nothing_in_the_bucket(big_db, s3_env, tmp_path, monkeypatch):
    bin_dir = fake_tools(tmp_path, '"$REAL/pg_dump" "$@" | head -c 12000000\nexit 1')
    cfg = load_config(big_db.inventory(tools={"bin_dir": str(bin_dir)}, backup={
        "min_copies": 1, "targets": [{"name": "cloud", "type": "s3", "bucket": s3_env[1], "prefix": "pg", "endpoint_url": s3_env[0],
                                      "multipart_threshold_mb": 5}]}))
    sent = []
    upload = StagedS3Upload._upload

    def counted(self, number, data):
        upload(self, number, data)
        sent.append(number)

    monkeypatch.setattr(StagedS3Upload, "_upload", counted)
    with pytest.raises(RuntimeFailure) as err:
        commands.backup(cfg, compress="0")
    assert "pg_dump" in err.value.what
    assert sent, "a part had gone up before the dump failed"
    assert uploads(s3_env) == [] and keys(s3_env) == []


def test_a_target_slower_than_the_dump_is_copied_after_it(big_db, s3_env, monkeypatch):
    cfg = inventory(big_db, s3_env)
    upload = StagedS3Upload._upload

    def slow(self, number, data):
        time.sleep(3)
        upload(self, number, data)

    monkeypatch.setattr(StagedS3Upload, "_upload", slow)
    events = []
    result = commands.backup(cfg, events.append, compress="0")
    m = result.manifest
    assert result.ok and m.verified_copies == 2, [c.error for c in m.copies]
    warned = [e.message for e in events if e.kind == "warn"]
    assert any("cloud" in w and "slower than the dump" in w and "after the dump" in w for w in warned), warned
    cloud = next(c for c in m.copies if c.target == "cloud")
    assert cloud.verified and cloud.method == "s3-checksum-sha256" and cloud.part_size == 5 * MB
    assert wait_for(lambda: uploads(s3_env) == []) and f"pg/{m.dump['file']}" in keys(s3_env)
    assert commands.backup_verify(cfg, m.id).ok


def test_an_s3_error_while_streaming_fails_that_copy_only(big_db, s3_env, monkeypatch):
    from botocore.exceptions import ClientError

    cfg = inventory(big_db, s3_env, min_copies=1)
    make = S3BucketTarget.client

    def deny(params, **kwargs):
        if params.get("PartNumber") == 2:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "UploadPart")

    def client(self):
        fresh = self._client is None
        made = make(self)
        if fresh:
            made.meta.events.register("provide-client-params.s3.UploadPart", deny)
        return made

    monkeypatch.setattr(S3BucketTarget, "client", client)
    events = []
    result = commands.backup(cfg, events.append, compress="0")
    m = result.manifest
    disk, cloud = m.copies
    assert disk.verified and disk.sha256 == m.dump["sha256"] and m.dump_path.stat().st_size == m.dump["size"]
    assert not cloud.verified and "cloud" in cloud.error and "AccessDenied" in cloud.error and "part 2" in cloud.error
    assert "aborted" in cloud.error and "grant s3:PutObject" in cloud.error
    assert result.ok and m.verified_copies == 1  # min_copies 1: the failed copy is a warning
    assert uploads(s3_env) == [] and keys(s3_env) == []
    text = json.dumps([[e.kind, e.message, e.data] for e in events], default=str) + m.path.read_text()
    assert "AccessDenied" in text and SECRET not in text
