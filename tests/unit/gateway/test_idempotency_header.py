"""The Idempotency-Key header's limits, and the body fingerprint it is bound to."""

from __future__ import annotations

import pytest

from reelhouse.gateway.idempotency.header import (
    InvalidIdempotencyKeyError,
    fingerprint,
    parse_idempotency_key,
)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("abc", "abc"),
        ('"8e03978e-40d5"', "8e03978e-40d5"),
        ("  padded  ", "padded"),
        ("k" * 255, "k" * 255),
        ('"with \\"quote\\""', 'with "quote"'),
    ],
)
def test_keys_within_the_limits_are_taken(raw: str, key: str) -> None:
    assert parse_idempotency_key(raw) == key


@pytest.mark.parametrize("raw", ["", "   ", '""', "k" * 256, "caf\u00e9", "a\tb", "nul\x00"])
def test_empty_long_or_non_ascii_keys_are_refused(raw: str) -> None:
    with pytest.raises(InvalidIdempotencyKeyError):
        parse_idempotency_key(raw)


def test_the_fingerprint_ignores_key_order_and_whitespace() -> None:
    assert fingerprint(b'{"a": 1, "b": {"x": [1, 2]}}') == fingerprint(
        b'\n{"b":{"x":[1,2]},"a":1}  '
    )


def test_the_fingerprint_tells_values_apart() -> None:
    assert fingerprint(b'{"a": 1}') != fingerprint(b'{"a": 2}')
    assert fingerprint(b'{"a": [1, 2]}') != fingerprint(b'{"a": [2, 1]}')
    assert fingerprint(b'{"a": "\\u00e9"}') == fingerprint('{"a": "\u00e9"}'.encode())
