"""API keys: ``rh_`` + 43 random URL-safe characters, shown once, stored as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

API_KEY_PREFIX = "rh_"
DISPLAY_PREFIX_LENGTH = 10


def generate_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """What the database keeps: enough to recognise the key, useless to anyone who reads it."""
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    return key[:DISPLAY_PREFIX_LENGTH]
