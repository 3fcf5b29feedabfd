"""The target interface and the checksum arithmetic shared by targets (pure)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

Progress = Callable[[int], None]  # called with the bytes done so far for this file


def no_progress(done: int) -> None:
    """A progress callback for callers that do not show progress."""


@dataclass(frozen=True)
class Verification:
    verified: bool
    method: str  # "rehash" | "compare" (a copy written from the dump's stream) | "sha256sum" | "s3-checksum-sha256"
    observed: str  # what the target reported (hex digest, S3 checksum, ...)
    location: str
    error: str | None = None  # why not verified, and what to do
    part_size: int | None = None  # a multipart S3 copy: its part size and each part's sha256 (recorded in the manifest)
    part_sha256: tuple[str, ...] = ()


class Target(Protocol):
    name: str
    type: str

    def location(self, name: str) -> str: ...

    def check(self) -> None: ...

    def put(self, src: Path, name: str, progress: Progress = no_progress) -> str: ...

    def verify(self, name: str, size: int, sha256: str, parts: Sequence[str] = (), part_size: int | None = None) -> Verification: ...

    def fetch(self, name: str, dest: Path, progress: Progress = no_progress) -> Path: ...

    def close(self) -> None: ...


class StageAbandoned(Exception):
    """A copy written while the dump streamed gave up for a reason that is not the copy's failure (the target
    could not keep up without slowing the dump): `commit` raises it and the copy is made after the dump (`put`)."""


class Staged(Protocol):
    """A copy written from the dump's stream as it is produced (`Target.stage(name)`, where a target offers it).

    `write` is called in the dump's loop and must not block it for long; `commit` (after the
    integrity checks) makes the copy final and returns its location, raising the target's
    error, or `StageAbandoned` to be copied after the dump instead; `verify` proves it against
    the dump (`primary`, hashed as it streamed to `sha256`); `discard` removes whatever was
    written (a dump that failed or was not kept)."""

    def write(self, chunk: bytes) -> None: ...

    def commit(self) -> str: ...

    def verify(self, primary: Path, size: int, sha256: str) -> Verification: ...

    def discard(self) -> None: ...


def b64_sha256(hex_digest: str) -> str:
    """S3's `ChecksumSHA256` of a single-part object: base64 of the raw digest."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def composite_sha256(part_hex_digests: Sequence[str]) -> str:
    """S3's composite checksum of a multipart upload, without the `-N` suffix AWS appends."""
    joined = b"".join(bytes.fromhex(h) for h in part_hex_digests)
    return base64.b64encode(hashlib.sha256(joined).digest()).decode()


def s3_checksum_matches(observed: str, *, sha256: str, parts: Sequence[str]) -> bool:
    """Compare S3's reported checksum with ours: `b64` (single part) or `b64-N` / `b64` (multipart;
    AWS appends the part count, moto does not)."""
    value, _, count = observed.partition("-")
    if len(parts) <= 1 and not count:
        return value == b64_sha256(sha256) or (len(parts) == 1 and value == composite_sha256(parts))
    if count and int(count) != len(parts):
        return False
    return value == composite_sha256(parts)


def hash_file(path: Path, part_size: int | None = None, *, chunk: int = 1 << 20) -> tuple[str, list[str]]:
    """(sha256 hex, part digests for `part_size`) of a file, in one read."""
    whole = hashlib.sha256()
    parts: list[str] = []
    part = hashlib.sha256()
    in_part = 0
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            whole.update(block)
            if part_size:
                view = memoryview(block)
                while view:
                    take = min(len(view), part_size - in_part)
                    part.update(view[:take])
                    in_part += take
                    view = view[take:]
                    if in_part == part_size:
                        parts.append(part.hexdigest())
                        part, in_part = hashlib.sha256(), 0
    if part_size and in_part:
        parts.append(part.hexdigest())
    return whole.hexdigest(), parts
