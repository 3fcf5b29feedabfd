"""One pass over the dump bytes: write to disk, hash, scan, and feed the validator.

`StreamSink` receives pg_dump's stdout chunk by chunk and, in the same loop, writes it to
the 0600 file, updates the SHA-256 of the whole file, the SHA-256 of each S3 part (for
the composite checksum S3 will report), scans a plain dump for `COPY` lines and its
completion marker, and feeds a validating consumer (pg_restore reading the archive from
stdin). The bytes are read once.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

PLAIN_COMPLETE = b"-- PostgreSQL database dump complete"
_COPY_LINE = re.compile(rb"^COPY ([^\s(]+) \(", re.MULTILINE)


class PartHasher:
    """SHA-256 digests of consecutive `part_size` slices of a stream."""

    def __init__(self, part_size: int) -> None:
        self.part_size = part_size
        self.parts: list[str] = []
        self._current = hashlib.sha256()
        self._filled = 0

    def update(self, data: memoryview) -> None:
        while data:
            take = min(len(data), self.part_size - self._filled)
            self._current.update(data[:take])
            self._filled += take
            data = data[take:]
            if self._filled == self.part_size:
                self.parts.append(self._current.hexdigest())
                self._current, self._filled = hashlib.sha256(), 0

    def finish(self) -> list[str]:
        if self._filled:
            self.parts.append(self._current.hexdigest())
            self._current, self._filled = hashlib.sha256(), 0
        return self.parts


@dataclass
class PlainScan:
    """What a plain-format dump contains, found while it streams."""

    copy_tables: set[str] = field(default_factory=set)
    complete: bool = False
    _carry: bytes = b""
    _tail: bytes = b""

    def update(self, data: bytes) -> None:
        block = self._carry + data
        cut = block.rfind(b"\n") + 1
        for match in _COPY_LINE.finditer(block, 0, cut):
            self.copy_tables.add(match.group(1).decode(errors="replace"))
        self._carry = block[cut:][-4096:]
        self._tail = (self._tail + data)[-256:]

    def finish(self) -> None:
        self.complete = PLAIN_COMPLETE in self._tail


@dataclass
class StreamResult:
    size: int
    sha256: str
    parts: dict[int, list[str]]  # part size -> part digests
    plain: PlainScan | None


class StreamSink:
    def __init__(self, fd: int, *, part_sizes: Iterable[int] = (), plain: bool = False,
                 progress: Callable[[int], None] = lambda n: None, tee: Callable[[bytes], None] | None = None) -> None:
        self.fd = fd
        self.sha = hashlib.sha256()
        self.part_hashers = {size: PartHasher(size) for size in set(part_sizes)}
        self.plain = PlainScan() if plain else None
        self.progress = progress
        self.tee = tee
        self.size = 0

    def write(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
        self.sha.update(chunk)
        for hasher in self.part_hashers.values():
            hasher.update(memoryview(chunk))
        if self.plain is not None:
            self.plain.update(chunk)
        if self.tee is not None:
            self.tee(chunk)
        self.size += len(chunk)
        self.progress(self.size)

    def finish(self) -> StreamResult:
        if self.plain is not None:
            self.plain.finish()
        return StreamResult(self.size, self.sha.hexdigest(), {s: h.finish() for s, h in self.part_hashers.items()}, self.plain)
