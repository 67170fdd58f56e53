"""fal's webhook signature: Ed25519 over four lines, checked against a JWKS.

Message: ``request_id``, ``user_id``, ``timestamp`` and the lowercase hex SHA-256 of
the raw body, joined by ``\\n``; headers ``X-Fal-Webhook-Request-Id``, ``-User-Id``,
``-Timestamp``, ``-Signature`` (hex). Any key of the JWKS may match. The key set is
cached for its TTL and fetched again (at most once a minute) when nothing matches.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from reelhouse.dispatcher.webhooks.errors import SignatureMismatchError, WebhookRejectedError

log = structlog.get_logger(__name__)

REFRESH_AFTER_FAILURE_SECONDS = 60.0
HEADERS = (
    "x-fal-webhook-request-id",
    "x-fal-webhook-user-id",
    "x-fal-webhook-timestamp",
    "x-fal-webhook-signature",
)


@dataclass(frozen=True, slots=True)
class FalWebhook:
    request_id: str
    user_id: str
    timestamp: int


def signed_message(request_id: str, user_id: str, timestamp: str, body: bytes) -> bytes:
    return "\n".join([request_id, user_id, timestamp, hashlib.sha256(body).hexdigest()]).encode()


def keys_from_jwks(jwks: Any) -> list[Ed25519PublicKey]:
    """The Ed25519 keys of a JWKS document (other key types are skipped)."""
    keys: list[Ed25519PublicKey] = []
    entries = jwks.get("keys") if isinstance(jwks, Mapping) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping) or entry.get("kty") != "OKP":
            continue
        if entry.get("crv") != "Ed25519" or not isinstance(entry.get("x"), str):
            continue
        x = entry["x"]
        try:
            raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
            keys.append(Ed25519PublicKey.from_public_bytes(raw))
        except (binascii.Error, ValueError):
            log.warning("webhook.jwks_bad_key", kid=entry.get("kid"))
    return keys


def verify(
    headers: Mapping[str, str],
    body: bytes,
    keys: Sequence[Ed25519PublicKey],
    *,
    tolerance_seconds: float,
    now: float | None = None,
) -> FalWebhook:
    """Check headers, timestamp and signature; raise ``WebhookRejectedError`` otherwise."""
    request_id, user_id, stamp, signature = (headers.get(h) for h in HEADERS)
    if not request_id or not user_id or not stamp or not signature:
        raise WebhookRejectedError("missing X-Fal-Webhook-* headers")
    try:
        timestamp = int(stamp)
        raw_signature = bytes.fromhex(signature)
    except ValueError as exc:
        raise WebhookRejectedError("malformed timestamp or signature") from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise WebhookRejectedError("X-Fal-Webhook-Timestamp is outside the tolerance")
    message = signed_message(request_id, user_id, stamp, body)
    for key in keys:
        try:
            key.verify(raw_signature, message)
        except InvalidSignature:
            continue
        return FalWebhook(request_id=request_id, user_id=user_id, timestamp=timestamp)
    raise SignatureMismatchError("no key of the JWKS verifies the signature")


class JwksSource:
    """A JWKS URL's keys, cached for ``ttl_seconds``."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Any]],
        *,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl_seconds
        self._clock = clock
        self._keys: list[Ed25519PublicKey] | None = None
        self._fetched_at = 0.0

    async def get(self) -> list[Ed25519PublicKey]:
        if self._keys is None or self._clock() - self._fetched_at > self._ttl:
            await self._refresh()
        assert self._keys is not None
        return self._keys

    async def refresh_after_failure(self) -> bool:
        if self._clock() - self._fetched_at < REFRESH_AFTER_FAILURE_SECONDS:
            return False
        await self._refresh()
        return True

    async def _refresh(self) -> None:
        self._keys = keys_from_jwks(await self._fetch())
        self._fetched_at = self._clock()
        log.info("webhook.jwks_fetched", keys=len(self._keys))


async def verify_with_source(
    headers: Mapping[str, str], body: bytes, source: JwksSource, *, tolerance_seconds: float
) -> FalWebhook:
    try:
        return verify(headers, body, await source.get(), tolerance_seconds=tolerance_seconds)
    except SignatureMismatchError:
        if not await source.refresh_after_failure():
            raise
    return verify(headers, body, await source.get(), tolerance_seconds=tolerance_seconds)
