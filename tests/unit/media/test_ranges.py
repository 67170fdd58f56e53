"""The Range header parser (RFC 9110 §14.1–14.2), pure: no HTTP, no storage."""

import pytest

from reelhouse.media.ranges import (
    MAX_RANGES,
    ByteRange,
    MalformedRangeError,
    RangeNotSatisfiableError,
    coalesce,
    parse_range_header,
    requested_ranges,
)

SIZE = 10_000


def one(header: str, size: int = SIZE) -> ByteRange:
    ranges = parse_range_header(header, size)
    assert len(ranges) == 1
    return ranges[0]


def test_single_range_is_inclusive_at_both_ends() -> None:
    assert one("bytes=1000-1999") == ByteRange(1000, 1999)
    assert one("bytes=1000-1999").length == 1000


def test_single_byte_range() -> None:
    assert one("bytes=0-0") == ByteRange(0, 0)
    assert one(f"bytes={SIZE - 1}-{SIZE - 1}") == ByteRange(SIZE - 1, SIZE - 1)


def test_open_ended_range_runs_to_the_last_byte() -> None:
    assert one("bytes=9000-") == ByteRange(9000, SIZE - 1)
    assert one("bytes=0-") == ByteRange(0, SIZE - 1)


def test_suffix_range_selects_the_last_bytes() -> None:
    assert one("bytes=-500") == ByteRange(SIZE - 500, SIZE - 1)
    assert one("bytes=-1") == ByteRange(SIZE - 1, SIZE - 1)


def test_suffix_range_larger_than_the_object_returns_whole_object() -> None:
    assert one("bytes=-20000") == ByteRange(0, SIZE - 1)
    assert one(f"bytes=-{SIZE}") == ByteRange(0, SIZE - 1)


def test_end_past_the_end_is_clamped_to_the_last_byte() -> None:
    assert one("bytes=9500-20000") == ByteRange(9500, SIZE - 1)
    assert one("bytes=0-99999999999999999999999") == ByteRange(0, SIZE - 1)


def test_start_past_the_end_is_unsatisfiable() -> None:
    with pytest.raises(RangeNotSatisfiableError) as info:
        parse_range_header(f"bytes={SIZE}-", SIZE)
    assert info.value.size == SIZE
    with pytest.raises(RangeNotSatisfiableError):
        parse_range_header("bytes=20000-30000", SIZE)


def test_zero_length_suffix_is_unsatisfiable() -> None:
    with pytest.raises(RangeNotSatisfiableError):
        parse_range_header("bytes=-0", SIZE)


def test_content_range_names_the_bytes_and_the_total() -> None:
    assert ByteRange(1000, 1999).content_range(SIZE) == "bytes 1000-1999/10000"


@pytest.mark.parametrize(
    "header",
    [
        "",
        "bytes",
        "bytes=",
        "bytes=,",
        "bytes= , ,",
        "bytes=abc",
        "bytes=1-a",
        "bytes=a-1",
        "bytes=-",
        "bytes=--5",
        "bytes=1-2-3",
        "bytes=5",
        "bytes=+1-2",
        "bytes=1-+2",
        "bytes=0x10-0x20",
        "bytes=1_000-2_000",
        "bytes=١-٢",  # non-ASCII digits are not DIGIT
        "bytes=-5.0",
        "bytes=0 -99",  # no whitespace inside a range
        "bytes=0- 99",
        "bytes=500-100",  # last before first invalidates the whole header
        "bytes=0-99,500-100",
        "bytes=0-99;1-2",
    ],
)
def test_invalid_syntax_is_ignored(header: str) -> None:
    with pytest.raises(MalformedRangeError):
        parse_range_header(header, SIZE)
    assert requested_ranges(header, SIZE) is None


@pytest.mark.parametrize("header", ["items=0-10", "pages=1-2", "none", "bits=0-7", "=0-10"])
def test_units_other_than_bytes_are_ignored(header: str) -> None:
    assert requested_ranges(header, SIZE) is None


def test_range_unit_is_case_insensitive() -> None:
    assert one("Bytes=0-9") == ByteRange(0, 9)
    assert one("BYTES=0-9") == ByteRange(0, 9)


def test_no_header_means_whole_object() -> None:
    assert requested_ranges(None, SIZE) is None


def test_multiple_ranges_are_all_returned_in_request_order() -> None:
    assert parse_range_header("bytes=0-99,200-299,-100", SIZE) == [
        ByteRange(0, 99),
        ByteRange(200, 299),
        ByteRange(SIZE - 100, SIZE - 1),
    ]


def test_overlapping_ranges_are_kept_for_the_caller_to_coalesce() -> None:
    assert parse_range_header("bytes=0-499,100-199", SIZE) == [
        ByteRange(0, 499),
        ByteRange(100, 199),
    ]


def test_unsatisfiable_members_of_a_set_are_dropped() -> None:
    assert parse_range_header("bytes=0-9,20000-30000", SIZE) == [ByteRange(0, 9)]


def test_a_set_of_only_unsatisfiable_ranges_is_unsatisfiable() -> None:
    with pytest.raises(RangeNotSatisfiableError):
        parse_range_header("bytes=20000-,30000-40000,-0", SIZE)


def test_too_many_ranges_make_the_header_ignored() -> None:
    header = "bytes=" + ",".join(f"{i}-{i}" for i in range(MAX_RANGES + 1))
    assert requested_ranges(header, SIZE) is None
    allowed = "bytes=" + ",".join(f"{i}-{i}" for i in range(MAX_RANGES))
    assert len(parse_range_header(allowed, SIZE)) == MAX_RANGES


@pytest.mark.parametrize(
    "header",
    [
        " bytes=0-99 ",
        "bytes= 0-99",
        "bytes=0-99 ",
        "bytes=\t0-99\t",
        "bytes = 0-99",
    ],
)
def test_whitespace_around_the_unit_and_ranges_is_allowed(header: str) -> None:
    assert one(header) == ByteRange(0, 99)


def test_whitespace_and_empty_elements_in_a_list_are_allowed() -> None:
    assert parse_range_header("bytes=0-9 , 20-29,, -5", SIZE) == [
        ByteRange(0, 9),
        ByteRange(20, 29),
        ByteRange(SIZE - 5, SIZE - 1),
    ]


@pytest.mark.parametrize("header", ["bytes=0-0", "bytes=0-", "bytes=-1", "bytes=-100", "bytes=5-9"])
def test_any_range_on_a_zero_length_object_is_unsatisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiableError) as info:
        parse_range_header(header, 0)
    assert info.value.size == 0


def test_zero_length_object_without_range_is_served_whole() -> None:
    assert requested_ranges(None, 0) is None


def test_invalid_syntax_on_a_zero_length_object_is_still_ignored() -> None:
    assert requested_ranges("bytes=x-y", 0) is None


def test_one_byte_object() -> None:
    assert one("bytes=0-", 1) == ByteRange(0, 0)
    assert one("bytes=-5", 1) == ByteRange(0, 0)
    with pytest.raises(RangeNotSatisfiableError):
        parse_range_header("bytes=1-", 1)


def test_negative_size_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="size"):
        parse_range_header("bytes=0-1", -1)


def test_coalesce_keeps_disjoint_ranges_in_request_order() -> None:
    ranges = [ByteRange(500, 599), ByteRange(0, 9), ByteRange(200, 299)]
    assert coalesce(ranges) == ranges


def test_coalesce_merges_overlapping_ranges_into_the_first_ones_place() -> None:
    ranges = [ByteRange(500, 599), ByteRange(0, 9), ByteRange(550, 700)]
    assert coalesce(ranges) == [ByteRange(500, 700), ByteRange(0, 9)]


def test_coalesce_merges_adjacent_ranges() -> None:
    assert coalesce([ByteRange(0, 9), ByteRange(10, 19)]) == [ByteRange(0, 19)]


def test_coalesce_merges_a_range_that_bridges_two_others() -> None:
    ranges = [ByteRange(0, 9), ByteRange(20, 29), ByteRange(5, 25), ByteRange(100, 100)]
    assert coalesce(ranges) == [ByteRange(0, 29), ByteRange(100, 100)]


def test_coalesce_of_repeated_ranges_sends_each_byte_once() -> None:
    assert coalesce([ByteRange(0, 99)] * 50) == [ByteRange(0, 99)]
