"""API keys: recognisable, random, and only ever stored as a hash."""

from __future__ import annotations

from reelhouse.gateway.auth.keys import display_prefix, generate_api_key, hash_api_key


def test_keys_carry_the_prefix_and_are_unique() -> None:
    keys = {generate_api_key() for _ in range(50)}

    assert len(keys) == 50
    assert all(k.startswith("rh_") and len(k) > 40 for k in keys)


def test_the_hash_is_stable_sha256_hex_and_hides_the_key() -> None:
    key = generate_api_key()

    digest = hash_api_key(key)

    assert digest == hash_api_key(key)
    assert len(digest) == 64
    assert key[3:] not in digest
    assert hash_api_key(key + "x") != digest


def test_the_display_prefix_is_too_short_to_use() -> None:
    key = generate_api_key()

    assert key.startswith(display_prefix(key))
    assert len(display_prefix(key)) <= 10
