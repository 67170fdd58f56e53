"""Preconditions in RFC 9110 §13.2.2 order: If-Match, If-Unmodified-Since, If-None-Match,
If-Modified-Since, then If-Range."""

from datetime import UTC, datetime, timedelta

import pytest
from starlette.datastructures import Headers

from reelhouse.media.conditional import (
    Precondition,
    Validators,
    evaluate_preconditions,
    http_date,
    range_applies,
)

MODIFIED = datetime(2025, 3, 1, 12, 30, 45, tzinfo=UTC)
VALIDATORS = Validators(opaque_etag="abc123", last_modified=MODIFIED)


def outcome(**headers: str) -> Precondition:
    return evaluate_preconditions(Headers(headers), VALIDATORS)


def test_validators_render_a_quoted_strong_etag_and_an_http_date() -> None:
    assert VALIDATORS.etag == '"abc123"'
    assert VALIDATORS.http_date == "Sat, 01 Mar 2025 12:30:45 GMT"


def test_http_date_treats_naive_datetimes_as_utc_and_drops_microseconds() -> None:
    assert http_date(datetime(2025, 3, 1, 12, 30, 45, 999)) == "Sat, 01 Mar 2025 12:30:45 GMT"


def test_no_conditional_headers_proceed() -> None:
    assert outcome() is Precondition.PROCEED


@pytest.mark.parametrize(
    "value", ['"abc123"', 'W/"abc123"', '"other", "abc123"', '"x",W/"abc123" ', "*"]
)
def test_if_none_match_matching_is_not_modified(value: str) -> None:
    assert outcome(**{"if-none-match": value}) is Precondition.NOT_MODIFIED


@pytest.mark.parametrize("value", ['"other"', 'W/"abc"', "abc123", '""', ""])
def test_if_none_match_not_matching_proceeds(value: str) -> None:
    assert outcome(**{"if-none-match": value}) is Precondition.PROCEED


def test_if_modified_since_at_or_after_last_modified_is_not_modified() -> None:
    assert outcome(**{"if-modified-since": http_date(MODIFIED)}) is Precondition.NOT_MODIFIED
    later = http_date(MODIFIED + timedelta(days=1))
    assert outcome(**{"if-modified-since": later}) is Precondition.NOT_MODIFIED


def test_if_modified_since_before_last_modified_proceeds() -> None:
    earlier = http_date(MODIFIED - timedelta(seconds=1))
    assert outcome(**{"if-modified-since": earlier}) is Precondition.PROCEED


def test_invalid_if_modified_since_is_ignored() -> None:
    assert outcome(**{"if-modified-since": "yesterday"}) is Precondition.PROCEED


def test_if_none_match_takes_precedence_over_if_modified_since() -> None:
    headers = {"if-none-match": '"other"', "if-modified-since": http_date(MODIFIED)}
    assert outcome(**headers) is Precondition.PROCEED


def test_range_applies_without_if_range() -> None:
    assert range_applies(Headers({}), VALIDATORS)


@pytest.mark.parametrize(
    ("value", "applies"),
    [
        ('"abc123"', True),
        ('"other"', False),
        ('W/"abc123"', False),  # If-Range needs a strong comparison
        (http_date(MODIFIED), True),
        (http_date(MODIFIED - timedelta(seconds=1)), False),
        (http_date(MODIFIED + timedelta(seconds=1)), False),
        ("garbage", False),
    ],
)
def test_if_range_decides_whether_the_range_still_applies(value: str, applies: bool) -> None:
    assert range_applies(Headers({"if-range": value}), VALIDATORS) is applies


@pytest.mark.parametrize("value", ['"abc123"', '"x", "abc123"', "*"])
def test_if_match_matching_proceeds(value: str) -> None:
    assert outcome(**{"if-match": value}) is Precondition.PROCEED


@pytest.mark.parametrize("value", ['"other"', 'W/"abc123"', '""'])
def test_if_match_not_matching_strongly_fails(value: str) -> None:
    # If-Match uses the strong comparison: a weak tag never matches
    assert outcome(**{"if-match": value}) is Precondition.PRECONDITION_FAILED


def test_if_unmodified_since_before_last_modified_fails() -> None:
    earlier = http_date(MODIFIED - timedelta(seconds=1))
    assert outcome(**{"if-unmodified-since": earlier}) is Precondition.PRECONDITION_FAILED


def test_if_unmodified_since_at_or_after_last_modified_proceeds() -> None:
    assert outcome(**{"if-unmodified-since": http_date(MODIFIED)}) is Precondition.PROCEED
    later = http_date(MODIFIED + timedelta(hours=1))
    assert outcome(**{"if-unmodified-since": later}) is Precondition.PROCEED


def test_invalid_if_unmodified_since_is_ignored() -> None:
    assert outcome(**{"if-unmodified-since": "not a date"}) is Precondition.PROCEED


def test_if_match_takes_precedence_over_if_unmodified_since() -> None:
    earlier = http_date(MODIFIED - timedelta(days=1))
    headers = {"if-match": '"abc123"', "if-unmodified-since": earlier}
    assert outcome(**headers) is Precondition.PROCEED


def test_a_failed_if_match_wins_over_if_none_match() -> None:
    headers = {"if-match": '"other"', "if-none-match": '"abc123"'}
    assert outcome(**headers) is Precondition.PRECONDITION_FAILED


def test_a_passed_if_match_still_answers_if_none_match() -> None:
    headers = {"if-match": '"abc123"', "if-none-match": '"abc123"'}
    assert outcome(**headers) is Precondition.NOT_MODIFIED
