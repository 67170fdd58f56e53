"""Pagination cursors: opaque, round-trip exactly, refuse anything they did not make."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reelhouse.gateway.jobs.cursor import Cursor, InvalidCursorError, decode_cursor, encode_cursor


def test_a_cursor_round_trips_to_the_microsecond() -> None:
    cursor = Cursor(created_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), job_id="gen_1")

    token = encode_cursor(cursor)

    assert decode_cursor(token) == cursor
    assert "gen_1" not in token
    assert "=" not in token


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-cursor",
        "%%%",
        "eyJ0IjoxfQ",  # {"t":1}
        "eyJ0IjoiMjAyNi0wMS0wMlQwMzowNDowNSIsImlkIjoiZ2VuXzEifQ",  # naive time
        "eyJ0IjoiMjAyNi0wMS0wMlQwMzowNDowNSswMDowMCIsImlkIjoiIn0",  # empty id
        "W10",  # []
    ],
)
def test_anything_else_is_an_invalid_cursor(token: str) -> None:
    with pytest.raises(InvalidCursorError):
        decode_cursor(token)
