"""How humans see sizes, durations and dates: one helper each, used everywhere (issue 14, item 3).

Sizes are IEC (powers of 1024, `KiB`, `MiB`, `GiB`): what `ls -lh`, `pg_size_pretty` and
`du -h` mean by their units, so one figure reads the same in every line. Drizzle's journal
`when` is epoch milliseconds: humans get ISO 8601 (UTC), `--json` keeps the raw number.
Pure: no I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime

_IEC = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def size(n: int | float | None) -> str:
    """`53657` -> `52.4 KiB`; bytes below 1 KiB as `812 B`; None -> `?`."""
    if n is None:
        return "?"
    value = float(n)
    for unit in _IEC:
        if abs(value) < 1024 or unit == _IEC[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def mib(n: int | float) -> float:
    """Bytes as MiB (for rates and estimates written `… MiB/s`)."""
    return n / (1 << 20)


def duration(seconds: float | None) -> str:
    """`0.4` -> `0.4s`, `75` -> `1m15s`, `4000` -> `1h06m`; None -> `–`."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def when_iso(millis: int | None) -> str:
    """Drizzle's `when` (epoch milliseconds) as `2025-07-22 13:24:54 UTC`; None/invalid -> `?`."""
    if millis is None:
        return "?"
    try:
        return datetime.fromtimestamp(int(millis) / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (ValueError, OverflowError, OSError, TypeError):
        return str(millis)


def eta(done: float, total: float | None, elapsed: float) -> float | None:
    """Seconds left at the rate so far, when it can be computed (a total, some progress, some time)."""
    if not total or done <= 0 or elapsed <= 0 or done >= total:
        return None
    return elapsed * (total - done) / done
