"""backup.dump._batched_reader: pg_dump's 8 KiB writes are read in large chunks, and nothing is lost."""

from __future__ import annotations

import os
import threading
import time

from pgrunbook.backup import dump


def _producer(fd: int, writes: int, size: int, gap: float) -> None:
    try:
        for i in range(writes):
            os.write(fd, bytes([i % 251]) * size)
            time.sleep(gap)
    finally:
        os.close(fd)


def test_small_writes_are_read_in_few_large_chunks_with_every_byte_in_order():
    r, w = os.pipe()
    dump._grow_pipe(r)
    writer = threading.Thread(target=_producer, args=(w, 300, 8192, 0.0005))
    writer.start()
    read = dump._batched_reader(r, pause=0.01)
    chunks = []
    while chunk := read(dump.CHUNK):
        chunks.append(chunk)
    writer.join()
    os.close(r)
    data = b"".join(chunks)
    assert data == b"".join(bytes([i % 251]) * 8192 for i in range(300))
    assert len(chunks) < 300 / 4  # woken for each write, the loop would run 300 times


def test_a_full_read_never_pauses(monkeypatch):
    pauses = []
    monkeypatch.setattr(dump.time, "sleep", pauses.append)
    r, w = os.pipe()
    dump._grow_pipe(r)
    os.write(w, b"x" * 65536)
    os.close(w)
    read = dump._batched_reader(r)
    assert read(65536) == b"x" * 65536 and read(65536) == b""
    os.close(r)
    assert pauses == []
