"""Replicate's webhook signature (Standard Webhooks): HMAC-SHA256 over the raw body.

Signed content: ``{webhook-id}.{webhook-timestamp}.{raw body}``; key: the base64
part of the ``whsec_...`` secret; ``webhook-signature`` lists ``v1,<base64>``
entries, any of which may match. The secret comes from settings or from the
provider's ``GET /v1/webhooks/default/secret`` (fetched once, then cached; fetched
again at most once a minute when a signature does not match, for rotations).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import structlog

from reelhouse.dispatcher.webhooks.errors import SignatureMismatchError, WebhookRejectedError

log = structlog.get_logger(__name__)

SECRET_PREFIX = "whsec_"  # noqa: S105 -- the format prefix, not a secret
REFRESH_AFTER_FAILURE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class ReplicateWebhook:
    webhook_id: str
    timestamp: int


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WebhookRejectedError("the configured webhook secret is not whsec_<base64>") from exc


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """A ``webhook-signature`` value for ``body`` (what the provider sends)."""
    content = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    *,
    tolerance_seconds: float,
    now: float | None = None,
) -> ReplicateWebhook:
    """Check headers, timestamp and signature; raise ``WebhookRejectedError`` otherwise."""
    webhook_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not webhook_id or not stamp or not signatures:
        raise WebhookRejectedError("missing webhook-id, webhook-timestamp or webhook-signature")
    if not body:
        raise WebhookRejectedError("empty body")
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise WebhookRejectedError("webhook-timestamp is not a number") from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise WebhookRejectedError("webhook-timestamp is outside the tolerance")
    expected = sign(secret, webhook_id, timestamp, body).encode()
    for entry in signatures.split():
        if entry.startswith("v1,") and hmac.compare_digest(entry.encode(), expected):
            return ReplicateWebhook(webhook_id=webhook_id, timestamp=timestamp)
    raise SignatureMismatchError("no signature matches")


class SecretSource:
    """The configured secret, or the provider's, fetched lazily and cached."""

    def __init__(
        self,
        configured: str | None,
        fetch: Callable[[], Awaitable[str]] | None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._configured = configured
        self._fetch = fetch
        self._clock = clock
        self._cached: str | None = None
        self._fetched_at = 0.0

    async def get(self) -> str:
        if self._configured is not None:
            return self._configured
        if self._cached is None:
            await self._refresh()
        assert self._cached is not None
        return self._cached

    async def refresh_after_failure(self) -> bool:
        """Fetch again (a rotated secret) unless that was done a moment ago."""
        if self._configured is not None or self._fetch is None:
            return False
        if self._clock() - self._fetched_at < REFRESH_AFTER_FAILURE_SECONDS:
            return False
        await self._refresh()
        return True

    async def _refresh(self) -> None:
        if self._fetch is None:
            raise WebhookRejectedError("no webhook secret configured for this provider")
        self._cached = await self._fetch()
        self._fetched_at = self._clock()
        log.info("webhook.secret_fetched")


async def verify_with_source(
    headers: Mapping[str, str],
    body: bytes,
    source: SecretSource,
    *,
    tolerance_seconds: float,
) -> ReplicateWebhook:
    try:
        return verify(headers, body, await source.get(), tolerance_seconds=tolerance_seconds)
    except SignatureMismatchError:
        if not await source.refresh_after_failure():
            raise
    return verify(headers, body, await source.get(), tolerance_seconds=tolerance_seconds)
