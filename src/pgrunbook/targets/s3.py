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

`stage(name)` uploads the copy while pg_dump streams (`StagedS3Upload`): a multipart upload
created before the dump, parts of `stream_part_size` cut from the stream and sent by one
background thread through a bounded queue, completed after the integrity checks. A network
slower than the dump makes it give up (`StageAbandoned`: copied after the dump with `put`)
rather than hold the dump back; an S3 error aborts the upload and fails this copy only.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import TargetError
from .base import Progress, StageAbandoned, Verification, b64_sha256, hash_file, no_progress, s3_checksum_matches

if TYPE_CHECKING:
    from ..config import S3Target

MB = 1 << 20
MAX_PARTS = 10_000
MIN_PART = 5 * MB  # S3's smallest part (all but the last)
QUEUED_PARTS = 2  # parts waiting for the uploader: with the one uploading and the one filling, at most 4 parts in memory
STALL_BUDGET = 2.0  # seconds the dump may wait, in all, for a slow upload before streaming gives up (then `put` after the dump)
PART_TIMEOUT = 300.0  # after the dump: seconds without a finished part before the upload is given up


def stream_part_size(threshold_mb: int) -> int:
    """The part size of a copy uploaded while the dump streams (its size is not known yet).

    `multipart_threshold_mb`, the part size `put` starts from, raised to S3's 5 MiB minimum.
    Its 10,000 parts cover 625 GiB at the default 64 MiB (48.8 GiB at 5 MiB); a larger dump
    outgrows them and is copied after the dump (`put` doubles its parts to fit). Memory is
    bounded by `QUEUED_PARTS` + 2 parts (256 MiB at 64 MiB): lower the threshold on a small machine."""
    return max(threshold_mb * MB, MIN_PART)


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

    def _extra_args(self) -> dict[str, str]:
        """SSE/KMS arguments for an upload, and the SHA-256 checksum S3 is asked to store."""
        extra: dict[str, str] = {"ChecksumAlgorithm": "SHA256"}
        if self.cfg.sse:
            extra["ServerSideEncryption"] = self.cfg.sse
        if self.cfg.kms_key_id:
            extra["SSEKMSKeyId"] = self.cfg.kms_key_id
        return extra

    def stage(self, name: str) -> StagedS3Upload:
        """A copy of `name` uploaded while the dump streams (see `StagedS3Upload`): the multipart upload is created now."""
        try:
            created = self.client().create_multipart_upload(Bucket=self.cfg.bucket, Key=self.key(name), **self._extra_args())
        except Exception as exc:  # noqa: BLE001
            raise self._translate(exc, f"starting the upload of {name}", "nothing was written to this target") from None
        return StagedS3Upload(self, name, created["UploadId"], stream_part_size(self.cfg.multipart_threshold_mb))

    def put(self, src: Path, name: str, progress: Progress = no_progress) -> str:
        from boto3.s3.transfer import TransferConfig

        size = src.stat().st_size
        part = part_size_for(size, self.cfg.multipart_threshold_mb) or self.cfg.multipart_threshold_mb * MB
        config = TransferConfig(multipart_threshold=self.cfg.multipart_threshold_mb * MB, multipart_chunksize=part, max_concurrency=4)
        extra = self._extra_args()
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


class StagedS3Upload:
    """A multipart upload filled while the dump streams (`S3BucketTarget.stage`).

    `write`, in the dump's loop, cuts the stream into parts of `part_size` and hands each to one
    uploader thread through a queue of `QUEUED_PARTS` (memory: at most that many parts, plus the
    one uploading and the one filling). The dump never waits more than `STALL_BUDGET` seconds in
    all for a full queue: beyond, streaming gives up and `commit` raises `StageAbandoned` (the
    engine copies the dump after it with `put`). The uploader sends each part with its SHA-256
    checksum (S3 refuses a part whose bytes differ) and hashes the whole stream; an S3 error stops
    this copy only, kept for `commit` to raise: the dump and the other copies go on. Whatever
    stops the upload aborts it, so no part is left (and billed) in the bucket.

    A dump smaller than one part is a one-part multipart upload: its checksum is the composite
    of that part's digest, which `verify` (and `backup.verify`, from the manifest's part size and
    digests) compares like any multipart copy."""

    def __init__(self, target: S3BucketTarget, name: str, upload_id: str, part_size: int) -> None:
        self.target, self.name, self.upload_id, self.part_size = target, name, upload_id, part_size
        self._queue: queue.Queue[tuple[int, bytes] | None] = queue.Queue(maxsize=QUEUED_PARTS)
        self._pending: list[memoryview] = []  # the part being filled, as slices of the dump's chunks
        self._filled = 0
        self._cut = 0  # parts handed to the uploader
        self._size = 0  # bytes received from the dump
        self._stalled = 0.0  # seconds the dump waited for the queue, in all
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._error: TargetError | None = None
        self._abandoned: str | None = None
        self._abort_problem: str | None = None
        self._finished = False  # completed or discarded
        # written by the uploader thread only (read after it ended)
        self._parts: list[dict[str, Any]] = []
        self._digests: list[str] = []
        self._whole = hashlib.sha256()
        self._progress_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"s3-stream-{target.name}", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ the dump's side

    def write(self, chunk: bytes) -> None:
        """Append a chunk of the dump; never raises, never holds the dump more than `STALL_BUDGET` s in all."""
        if self._stop.is_set():
            return
        try:
            view = memoryview(chunk if isinstance(chunk, bytes) else bytes(chunk))
            self._size += len(view)
            while view and not self._stop.is_set():
                take = min(len(view), self.part_size - self._filled)
                self._pending.append(view[:take])
                self._filled += take
                view = view[take:]
                if self._filled == self.part_size:
                    self._hand_over(budget=max(0.0, STALL_BUDGET - self._stalled))
        except Exception as exc:  # noqa: BLE001 - a copy must never fail the dump
            self._fail(TargetError(f"target {self.target.name}: streaming {self.name} failed: unexpected {exc.__class__.__name__}: {_short(exc)}",
                                   changed="the multipart upload was aborted; nothing was kept on this target",
                                   next_step="run `inv backup` again; report this if it repeats"))

    def _hand_over(self, budget: float | None) -> bool:
        """Send the filled part to the uploader: within `budget` seconds (the dump's loop), or while
        the uploader makes progress (`commit`). False: this copy stopped (recorded)."""
        number = self._cut + 1
        if number > MAX_PARTS:
            self._abandon(f"the dump outgrew {MAX_PARTS} parts of {self.part_size // MB} MiB (raise multipart_threshold_mb)")
            return False
        part = b"".join(self._pending)
        self._pending.clear()
        self._filled = 0
        started = time.monotonic()
        while not self._stop.is_set():
            try:
                self._queue.put((number, part), timeout=0.05 if budget is not None else 0.2)
            except queue.Full:
                now = time.monotonic()
                if budget is not None and now - started >= budget:
                    self._stalled += now - started
                    self._abandon(f"the upload to {self.target.where} is slower than the dump (the dump waited {self._stalled:.1f}s for it)")
                    return False
                if budget is None and now - self._progress_at > PART_TIMEOUT:
                    self._fail(TargetError(f"target {self.target.name}: uploading {self.name} to {self.target.where} made no progress for {PART_TIMEOUT:.0f}s",
                                           changed="the multipart upload was aborted; nothing was kept on this target",
                                           next_step="check the network to S3, then run `inv backup` again"))
                    return False
                continue
            self._stalled += time.monotonic() - started if budget is not None else 0.0
            self._cut = number
            return True
        return False

    # ------------------------------------------------------------------ the uploader thread

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    item = self._queue.get(timeout=0.2)
                except queue.Empty:
                    continue
                if item is None:  # the last part was sent
                    return
                if not self._stop.is_set():
                    self._upload(*item)
        finally:
            if self._stop.is_set():
                self._abort()

    def _upload(self, number: int, data: bytes) -> None:
        digest = hashlib.sha256(data).hexdigest()
        self._whole.update(data)
        checksum = b64_sha256(digest)
        try:
            answer = self.target.client().upload_part(Bucket=self.target.cfg.bucket, Key=self.target.key(self.name), UploadId=self.upload_id,
                                                      PartNumber=number, Body=data, ChecksumSHA256=checksum)
        except Exception as exc:  # noqa: BLE001 - translated
            self._fail(self.target._translate(exc, f"uploading part {number} of {self.name} while dumping",
                                              "the multipart upload was aborted; nothing was kept on this target"))
            return
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": checksum})
        self._digests.append(digest)
        self._progress_at = time.monotonic()

    # ------------------------------------------------------------------ stopping

    def _fail(self, error: TargetError) -> None:
        with self._lock:
            if self._error is None and self._abandoned is None:
                self._error = error
        self._halt()

    def _abandon(self, reason: str) -> None:
        with self._lock:
            if self._error is None and self._abandoned is None:
                self._abandoned = reason
        self._halt()

    def _halt(self) -> None:
        """Stop the uploader (it aborts the upload when its current part ends) and drop the buffers."""
        self._stop.set()
        self._pending.clear()
        self._filled = 0
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break

    def _abort(self) -> None:
        try:
            self.target.client().abort_multipart_upload(Bucket=self.target.cfg.bucket, Key=self.target.key(self.name), UploadId=self.upload_id)
            self._abort_problem = None
        except Exception as exc:  # noqa: BLE001 - best effort, reported by commit
            from botocore.exceptions import ClientError

            if isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") == "NoSuchUpload":
                self._abort_problem = None  # already gone
            else:
                err = self.target._translate(exc, "aborting the upload", "")
                self._abort_problem = (f"the unfinished multipart upload of {self.target.key(self.name)} could not be aborted ({err.what}): "
                                       "a lifecycle rule AbortIncompleteMultipartUpload on the bucket removes it")

    def _stop_and_join(self, timeout: float) -> None:
        """Stop the uploader, wait for it at most `timeout` s, and make sure the upload is aborted."""
        self._halt()
        self._thread.join(timeout)
        if self._thread.is_alive():  # stuck in a call: abort now; it aborts again when the call returns
            self._abort()

    def _stopped(self) -> TargetError | StageAbandoned:
        self._stop_and_join(5.0)
        self._finished = True
        if self._abandoned is not None:
            return StageAbandoned(self._abandoned + (f" ({self._abort_problem})" if self._abort_problem else ""))
        error = self._error or TargetError(f"target {self.target.name}: the upload of {self.name} stopped", changed="")
        error.changed = self._abort_problem or "the multipart upload was aborted; nothing was kept on this target"
        return error

    # ------------------------------------------------------------------ after the dump

    def commit(self) -> str:
        """Send the last part, wait for the uploader, complete the upload; returns the copy's location."""
        if self._finished:
            raise TargetError(f"target {self.target.name}: the upload of {self.name} was already finished or discarded", changed="nothing")
        self._progress_at = time.monotonic()  # "no progress" counts from now: the uploader may have waited long for a slow dump
        if self._stop.is_set() or ((self._filled or not self._cut) and not self._hand_over(budget=None)):
            raise self._stopped()
        while not self._stop.is_set():  # the end of the stream, behind the last part
            try:
                self._queue.put(None, timeout=0.2)
                break
            except queue.Full:
                if time.monotonic() - self._progress_at > PART_TIMEOUT:
                    break
        while self._thread.is_alive() and not self._stop.is_set() and time.monotonic() - self._progress_at <= PART_TIMEOUT:
            self._thread.join(0.2)
        if self._thread.is_alive() and not self._stop.is_set():
            self._fail(TargetError(f"target {self.target.name}: uploading {self.name} to {self.target.where} made no progress for {PART_TIMEOUT:.0f}s",
                                   changed="", next_step="check the network to S3, then run `inv backup` again"))
        if self._stop.is_set():
            raise self._stopped()
        try:
            self.target.client().complete_multipart_upload(Bucket=self.target.cfg.bucket, Key=self.target.key(self.name), UploadId=self.upload_id,
                                                           MultipartUpload={"Parts": sorted(self._parts, key=lambda p: p["PartNumber"])})
        except Exception as exc:  # noqa: BLE001
            self._fail(self.target._translate(exc, f"completing the upload of {self.name}", ""))
            raise self._stopped() from None
        self._finished = True
        return self.target.location(self.name)

    def verify(self, primary: Path, size: int, sha256: str) -> Verification:
        """The completed object against the dump (hashed as it streamed to `sha256`): the bytes sent
        are the dump's (size and sha256 of the stream), and S3's stored checksum is the composite of
        the parts' digests (`S3BucketTarget.verify`). The part size and digests go to the manifest."""
        digests = tuple(self._digests)
        if self._size != size or self._whole.hexdigest() != sha256:
            location = self.target.location(self.name)
            return Verification(False, "s3-checksum-sha256", "", location,
                                f"the bytes streamed to {location} ({self._size}) are not the dump {primary} ({size} bytes, sha256 {sha256[:12]}…): "
                                "delete the copy and run `inv backup` again", part_size=self.part_size, part_sha256=digests)
        checked = self.target.verify(self.name, size, sha256, digests, self.part_size)
        return replace(checked, part_size=self.part_size, part_sha256=digests)

    def discard(self) -> None:
        """Abort the upload (best effort) and stop the uploader: nothing is left in the bucket."""
        if self._finished:
            return
        self._finished = True
        self._stop_and_join(5.0)
