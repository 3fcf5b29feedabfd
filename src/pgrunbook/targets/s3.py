"""An S3 (or S3-compatible) bucket target, with boto3.

Uploads use boto3's managed transfer: multipart above `multipart_threshold_mb`, every part
with `ChecksumAlgorithm=SHA256`, optional server-side encryption (`sse: AES256` or
`aws:kms` + `kms_key_id`), `endpoint_url` for S3-compatible stores. Credentials come from
the usual AWS chain (environment, shared config/credentials files, instance role), never
from the inventory.

Verification reads the checksum S3 stored (`HeadObject` with `ChecksumMode=ENABLED`):
a single-part object's `ChecksumSHA256` is the base64 SHA-256 of the whole object; a
multipart object's is *composite*: base64(sha256(part1 digest ‖ part2 digest ‖ …)), with
a `-N` suffix on AWS (moto omits it). We compute the same from the part digests taken
while dumping, so a copy counts only if S3 holds exactly the bytes we dumped.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import TargetError
from .base import Progress, Verification, hash_file, no_progress, s3_checksum_matches

if TYPE_CHECKING:
    from ..config import S3Target

MB = 1 << 20
MAX_PARTS = 10_000


def part_size_for(size: int, threshold_mb: int) -> int | None:
    """The part size boto3 will use for `size` bytes (None: a single PUT)."""
    part = threshold_mb * MB
    if size < part:
        return None
    while -(-size // part) > MAX_PARTS:
        part *= 2
    return part


class S3BucketTarget:
    type = "s3"

    def __init__(self, cfg: S3Target) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self._client: Any = None

    @property
    def where(self) -> str:
        return f"s3://{self.cfg.bucket}/{self.cfg.prefix}" + (f" at {self.cfg.endpoint_url}" if self.cfg.endpoint_url else "")

    def key(self, name: str) -> str:
        prefix = self.cfg.prefix.strip("/")
        return f"{prefix}/{name}" if prefix else name

    def location(self, name: str) -> str:
        return f"s3://{self.cfg.bucket}/{self.key(name)}"

    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            config = Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"})
            self._client = boto3.session.Session().client("s3", region_name=self.cfg.region, endpoint_url=self.cfg.endpoint_url, config=config)
        return self._client

    def check(self) -> None:
        try:
            self.client().head_bucket(Bucket=self.cfg.bucket)
        except Exception as exc:  # noqa: BLE001 - translated below
            raise self._translate(exc, "checking the bucket", "nothing was written to this target") from None

    def put(self, src: Path, name: str, progress: Progress = no_progress) -> str:
        from boto3.s3.transfer import TransferConfig

        size = src.stat().st_size
        part = part_size_for(size, self.cfg.multipart_threshold_mb) or self.cfg.multipart_threshold_mb * MB
        config = TransferConfig(multipart_threshold=self.cfg.multipart_threshold_mb * MB, multipart_chunksize=part, max_concurrency=4)
        extra: dict[str, str] = {"ChecksumAlgorithm": "SHA256"}
        if self.cfg.sse:
            extra["ServerSideEncryption"] = self.cfg.sse
        if self.cfg.kms_key_id:
            extra["SSEKMSKeyId"] = self.cfg.kms_key_id
        lock = threading.Lock()
        done = [0]

        def callback(n: int) -> None:
            with lock:
                done[0] += n
                progress(done[0])

        try:
            self.client().upload_file(str(src), self.cfg.bucket, self.key(name), ExtraArgs=extra, Config=config, Callback=callback)
        except Exception as exc:  # noqa: BLE001
            raise self._translate(exc, f"uploading {name}", "nothing usable was written (boto3 aborts a failed multipart upload)") from None
        return self.location(name)

    def verify(self, name: str, size: int, sha256: str, parts: Sequence[str] = (), part_size: int | None = None) -> Verification:
        location = self.location(name)
        try:
            head = self.client().head_object(Bucket=self.cfg.bucket, Key=self.key(name), ChecksumMode="ENABLED")
        except Exception as exc:  # noqa: BLE001
            err = self._translate(exc, f"reading the checksum of {name}", "nothing was changed")
            return Verification(False, "s3-checksum-sha256", "", location, f"{err.what}; {err.next_step}")
        observed = head.get("ChecksumSHA256") or ""
        if not observed:
            return Verification(False, "s3-checksum-sha256", "", location,
                                f"{location} has no SHA-256 checksum stored (uploaded without ChecksumAlgorithm=SHA256?): "
                                "it cannot be proven; run `inv backup` again")
        if head.get("ContentLength") != size:
            return Verification(False, "s3-checksum-sha256", observed, location,
                                f"{location} holds {head.get('ContentLength')} bytes, the dump has {size}: delete it and run `inv backup` again")
        expected_parts = list(parts)
        multipart = "-" in observed or part_size is not None
        if multipart and not expected_parts and part_size:
            return Verification(False, "s3-checksum-sha256", observed, location, "no part digests recorded for this multipart copy")
        if not s3_checksum_matches(observed, sha256=sha256, parts=expected_parts if multipart else ()):
            return Verification(False, "s3-checksum-sha256", observed, location,
                                f"the checksum S3 stored for {location} ({observed}) does not match the dump: the copy is corrupt; "
                                "delete it and run `inv backup` again")
        return Verification(True, "s3-checksum-sha256", observed, location)

    def fetch(self, name: str, dest: Path, progress: Progress = no_progress) -> Path:
        done = [0]

        def callback(n: int) -> None:
            done[0] += n
            progress(done[0])

        try:
            self.client().download_file(self.cfg.bucket, self.key(name), str(dest), Callback=callback)
        except Exception as exc:  # noqa: BLE001
            raise self._translate(exc, f"downloading {name}", "nothing was changed") from None
        return dest

    def close(self) -> None:
        self._client = None

    def _translate(self, exc: BaseException, doing: str, changed: str) -> TargetError:
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import (
            ClientError,
            ConnectTimeoutError,
            EndpointConnectionError,
            NoCredentialsError,
            ReadTimeoutError,
        )

        what = f"target {self.name}: {doing} in {self.where}"
        cause = exc.__cause__ or exc.__context__ if isinstance(exc, S3UploadFailedError) else exc
        if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)) or isinstance(cause, (EndpointConnectionError, ConnectTimeoutError)):
            return TargetError(f"{what} failed: the S3 endpoint cannot be reached", changed=changed,
                               next_step=f"check the endpoint ({self.cfg.endpoint_url or 'AWS'}), network and region, then run `inv backup` again")
        if isinstance(exc, ReadTimeoutError) or isinstance(cause, ReadTimeoutError):
            return TargetError(f"{what} timed out", changed=changed, next_step="check the network to S3, then run `inv backup` again")
        if isinstance(exc, NoCredentialsError):
            return TargetError(f"{what} failed: no AWS credentials found", changed=changed,
                               next_step="provide credentials the usual way (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws/credentials, an instance role)")
        code = ""
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
        elif isinstance(exc, S3UploadFailedError):
            code = next((c for c in ("NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "KMS", "EntityTooLarge") if c in str(exc)), "")
        hints = {
            "NoSuchBucket": f"create the bucket {self.cfg.bucket} (or fix backup.targets[{self.name}].bucket)",
            "404": f"create the bucket {self.cfg.bucket} (or fix backup.targets[{self.name}].bucket)",
            "AccessDenied": f"grant s3:PutObject, s3:GetObject and s3:ListBucket on {self.cfg.bucket} to these credentials",
            "403": f"grant s3:PutObject, s3:GetObject and s3:ListBucket on {self.cfg.bucket} to these credentials (or fix them)",
            "InvalidAccessKeyId": "the access key is unknown: fix the credentials",
            "SignatureDoesNotMatch": "the secret key is wrong: fix the credentials",
        }
        hint = hints.get(code) or ("check the KMS key and its policy" if code.startswith("KMS") else "check the bucket, credentials and endpoint, then run `inv backup` again")
        return TargetError(f"{what} failed: {code or exc.__class__.__name__}: {_short(exc)}", changed=changed, next_step=hint)


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return text[:300]


def local_part_digests(path: Path, size: int, threshold_mb: int) -> tuple[str, list[str], int | None]:
    """(sha256, part digests, part size) of a local file as S3 will see it (fallback path)."""
    part = part_size_for(size, threshold_mb)
    digest, parts = hash_file(path, part)
    return digest, parts, part
