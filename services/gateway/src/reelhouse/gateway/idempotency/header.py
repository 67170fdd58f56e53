"""The ``Idempotency-Key`` header and the request fingerprint it is bound to (pure)."""

from __future__ import annotations

import hashlib
import json

MAX_KEY_LENGTH = 255


class InvalidIdempotencyKeyError(ValueError):
    """The header is empty, too long, or not printable ASCII."""


def parse_idempotency_key(raw: str) -> str:
    """The key: 1 to 255 printable ASCII characters. A structured-field string (the draft's
    form, ``"abc"``) is unquoted; a bare token (``abc``, as most clients send) is taken as is."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if not value or len(value) > MAX_KEY_LENGTH:
        raise InvalidIdempotencyKeyError(f"length {len(value)}")
    if not all(" " <= ch <= "~" for ch in value):
        raise InvalidIdempotencyKeyError("not printable ASCII")
    return value


def fingerprint(body: bytes) -> str:
    """SHA-256 of the JSON body in canonical form: key order and whitespace do not matter."""
    try:
        document = json.loads(body) if body else None
    except (ValueError, UnicodeError):
        return hashlib.sha256(body).hexdigest()
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()
