"""units: one size unit system (IEC), durations, drizzle's `when` as ISO, ETA."""

from __future__ import annotations

import pytest

from pgrunbook.units import duration, eta, size, when_iso


@pytest.mark.parametrize(("n", "shown"), [(0, "0 B"), (812, "812 B"), (1024, "1.0 KiB"), (53657, "52.4 KiB"),
                                          (3 * 1024**2, "3.0 MiB"), (int(1.5 * 1024**3), "1.5 GiB"), (None, "?")])
def test_size_is_iec(n, shown):
    assert size(n) == shown


@pytest.mark.parametrize(("seconds", "shown"), [(0.04, "0.0s"), (12.34, "12.3s"), (75, "1m15s"), (4000, "1h06m"), (None, "–")])
def test_duration(seconds, shown):
    assert duration(seconds) == shown


def test_when_iso_shows_what_raw_millis_hide():
    # The fixture's 0011 is dated before 0010: plain to see as dates, not as 13-digit numbers.
    assert when_iso(1753190694346) == "2025-07-22 13:24:54 UTC"
    assert when_iso(1758046044000) > when_iso(1753190694346)
    assert when_iso(None) == "?" and when_iso("soon") == "soon"  # type: ignore[arg-type]


def test_eta_only_when_it_can_be_computed():
    assert eta(25, 100, 10.0) == pytest.approx(30.0)
    assert eta(0, 100, 10.0) is None and eta(50, None, 10.0) is None and eta(100, 100, 10.0) is None
