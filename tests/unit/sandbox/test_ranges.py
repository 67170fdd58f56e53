"""One byte range per request; anything else gets the whole file."""

from __future__ import annotations

import pytest

from reelhouse.sandbox.ranges import ByteRange, RangeNotSatisfiableError, parse_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", ByteRange(0, 9)),
        ("bytes=10-", ByteRange(10, 99)),
        ("bytes=-10", ByteRange(90, 99)),
        ("bytes=-500", ByteRange(0, 99)),
        ("bytes=90-500", ByteRange(90, 99)),
        ("BYTES = 5 - 6", ByteRange(5, 6)),
    ],
)
def test_single_ranges_are_resolved_against_the_size(header: str, expected: ByteRange) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize(
    "header", [None, "", "bytes=0-1,5-6", "items=0-1", "bytes=-", "bytes=9-3", "bytes=x-y"]
)
def test_absent_malformed_or_multi_ranges_mean_the_whole_file(header: str | None) -> None:
    assert parse_range(header, 100) is None


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=100-", 100), ("bytes=-0", 100), ("bytes=0-", 0)]
)
def test_range_past_the_end_is_not_satisfiable(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiableError):
        parse_range(header, size)


def test_content_range_names_the_full_size() -> None:
    part = ByteRange(90, 99)
    assert part.length == 10
    assert part.content_range(100) == "bytes 90-99/100"
