"""targets.ssh.StagedSshCopy against a fake SFTP session: the buffer is bounded, the dump's loop is never
held back for long or raised into, and the SFTP session is only ever used by the writer thread."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from pgrunbook.config import HostSettings
from pgrunbook.errors import TargetError
from pgrunbook.targets.base import StageAbandoned
from pgrunbook.targets.ssh import SftpTarget, StagedSshCopy


class FakeSftp:
    """Records every call with the thread that made it; `delay` slows each write, `fail_at` makes the n-th write fail,
    `stuck` makes writes block until the channel is closed."""

    def __init__(self, *, delay: float = 0.0, fail_at: int | None = None, stuck: bool = False) -> None:
        self.delay, self.fail_at, self.stuck = delay, fail_at, stuck
        self.files: dict[str, bytearray] = {}
        self.threads: set[int] = set()
        self.closed = threading.Event()
        self.writes = 0
        self.calls: list[str] = []

    def _call(self, what: str) -> None:
        self.threads.add(threading.get_ident())
        self.calls.append(what)

    # the handle
    def write(self, data: bytes) -> None:
        self._call("write")
        self.writes += 1
        if self.stuck:
            self.closed.wait()
            raise OSError("Socket is closed")
        if self.fail_at is not None and self.writes >= self.fail_at:
            raise OSError("Failure")  # OpenSSH's sftp-server on ENOSPC
        time.sleep(self.delay)
        self.files.setdefault("/r/x.dump.part", bytearray()).extend(data)

    def stat(self) -> SimpleNamespace:
        self._call("stat")
        return SimpleNamespace(st_size=len(self.files.get("/r/x.dump.part", b"")))

    def close(self) -> None:
        self._call("close")

    # the session
    def posix_rename(self, old: str, new: str) -> None:
        self._call("rename")
        self.files[new] = self.files.pop(old, bytearray())

    def remove(self, path: str) -> None:
        self._call("remove")
        if self.files.pop(path, None) is None:
            raise FileNotFoundError(path)

    def get_channel(self) -> SimpleNamespace:
        return SimpleNamespace(close=self.closed.set)


def staged(fake: FakeSftp, **limits) -> StagedSshCopy:
    target = SftpTarget("bastion", HostSettings(host="backup.example.net", user="backup"), "/r")
    fake.files["/r/x.dump.part"] = bytearray()  # opened by `stage`
    copy = StagedSshCopy(target, "x.dump", fake, fake)  # type: ignore[arg-type]
    for name, value in limits.items():  # read at each use
        setattr(copy, name, value)
    return copy


def test_chunks_land_in_order_and_the_commit_renames():
    fake = FakeSftp()
    copy = staged(fake)
    chunks = [bytes([i]) * 1000 for i in range(50)]
    for chunk in chunks:
        copy.write(chunk)
    assert copy.commit() == "backup@backup.example.net:/r/x.dump"
    assert bytes(fake.files["/r/x.dump"]) == b"".join(chunks) and "/r/x.dump.part" not in fake.files
    assert fake.threads == {copy._thread.ident}  # the session was used by the writer thread alone
    assert copy.state == "committed" and copy.stalled == 0


def test_the_buffer_is_bounded_and_a_slow_host_is_abandoned_within_the_stall_budget():
    fake = FakeSftp(delay=0.2)
    copy = staged(fake, max_in_flight=3000, stall_budget=0.3)
    peak = 0
    started = time.monotonic()
    for i in range(40):
        copy.write(bytes([i]) * 1000)
        peak = max(peak, copy._in_flight)
    held = time.monotonic() - started
    assert peak <= 3000 and held < 0.6  # never more than the budget in memory, never more than the stall budget of waiting
    with pytest.raises(StageAbandoned, match="slower than the dump"):
        copy.commit()
    assert "/r/x.dump.part" not in fake.files and "/r/x.dump" not in fake.files
    assert fake.threads == {copy._thread.ident}


def test_a_write_error_fails_this_copy_only_and_names_the_target():
    fake = FakeSftp(fail_at=3)
    copy = staged(fake)
    for i in range(10):
        copy.write(b"x" * 1000)  # never raises into the dump's loop
    with pytest.raises(TargetError) as err:
        copy.commit()
    assert "bastion" in err.value.what and "no space" in err.value.what and "was removed" in err.value.changed
    assert fake.files == {} and copy.state == "failed"


def test_discard_removes_the_part_and_the_commit_then_refuses():
    fake = FakeSftp()
    copy = staged(fake)
    copy.write(b"partial")
    copy.discard()
    assert fake.files == {} and not copy._thread.is_alive()
    with pytest.raises(TargetError, match="discarded"):
        copy.commit()


def test_a_host_that_stops_answering_is_given_up_after_the_finish_timeout():
    fake = FakeSftp(stuck=True)
    copy = staged(fake, finish_timeout=0.3)
    copy.write(b"x" * 1000)
    started = time.monotonic()
    with pytest.raises(TargetError) as err:
        copy.commit()
    assert time.monotonic() - started < 5 and fake.closed.is_set() and not copy._thread.is_alive()
    assert "did not finish within 0.3s" in err.value.what and "may remain" in err.value.changed


def test_a_committed_copy_survives_discard():
    fake = FakeSftp()
    copy = staged(fake)
    copy.write(b"data")
    copy.commit()
    copy.discard()
    assert bytes(fake.files["/r/x.dump"]) == b"data"
