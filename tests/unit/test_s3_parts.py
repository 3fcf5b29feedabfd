"""The part sizes of S3 copies (pure): `put`'s from the file's size, the streamed copy's from the config alone."""

from __future__ import annotations

import pytest

from pgrunbook.targets.s3 import MAX_PARTS, MB, MIN_PART, QUEUED_PARTS, part_size_for, stream_part_size

GB = 1 << 30


@pytest.mark.parametrize(("threshold_mb", "expected"), [
    (64, 64 * MB),  # the default: the threshold itself
    (5, 5 * MB),
    (1, 5 * MB),  # below S3's minimum part: raised to 5 MiB
    (4, 5 * MB),
    (100, 100 * MB),
])
def test_stream_part_size(threshold_mb, expected):
    assert stream_part_size(threshold_mb) == expected


@pytest.mark.parametrize(("threshold_mb", "covered_gib"), [(64, 625), (5, 48)])
def test_ten_thousand_streamed_parts_cover_a_large_dump(threshold_mb, covered_gib):
    assert stream_part_size(threshold_mb) * MAX_PARTS >= covered_gib * GB


def test_streamed_parts_are_never_below_the_s3_minimum_and_memory_is_bounded():
    for threshold in range(1, 200):
        part = stream_part_size(threshold)
        assert part >= MIN_PART
        assert (QUEUED_PARTS + 2) * part <= max(4 * threshold * MB, 4 * MIN_PART)  # queued + uploading + filling


def test_streamed_part_size_agrees_with_put_until_put_must_grow_its_parts():
    part = stream_part_size(64)
    assert part_size_for(part * MAX_PARTS, 64) == part  # up to 10,000 parts: the same parts as `put`
    assert part_size_for(part * MAX_PARTS + 1, 64) == 2 * part  # beyond: `put` (the fallback) doubles them
