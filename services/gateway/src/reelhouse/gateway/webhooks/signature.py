"""Standard Webhooks signatures: ``v1,<base64 HMAC-SHA256>`` over ``id.timestamp.body``.

Secrets look like ``whsec_<base64 of 24 random bytes>``; the bytes after the prefix are the
HMAC key. With several secrets (a rotation's overlap) the header carries one signature per
secret, separated by spaces, and a receiver accepts the message when any of them verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105  # the format's prefix, not a secret
SECRET_BYTES = 24


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> str:
    """One signature, ``v1,<base64>``."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(
    secrets_in_use: Sequence[str], *, msg_id: str, timestamp: int, body: bytes
) -> str:
    """The ``webhook-signature`` value: the signatures of every secret in use, space-separated."""
    return " ".join(
        sign(secret, msg_id=msg_id, timestamp=timestamp, body=body) for secret in secrets_in_use
    )
