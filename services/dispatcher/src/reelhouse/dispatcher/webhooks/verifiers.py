"""One verifier per configured provider, by the webhook protocol it speaks.

A verifier checks the signature over the raw body and says which provider request
the webhook is about and which token identifies this delivery (for de-duplication).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from reelhouse.dispatcher.metrics import MeasuredAdapter
from reelhouse.dispatcher.providers.fal_queue import ssl_context
from reelhouse.dispatcher.providers.registry import ProviderRegistry
from reelhouse.dispatcher.providers.replicate import ReplicateAdapter
from reelhouse.dispatcher.settings import FalProviderSettings, ProviderSettings, Settings
from reelhouse.dispatcher.webhooks import fal, replicate
from reelhouse.dispatcher.webhooks.errors import WebhookRejectedError

JWKS_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class VerifiedWebhook:
    request_id: str
    # the same for a re-sent delivery, different for another event
    token: str


class WebhookVerifier(Protocol):
    async def verify(self, headers: Mapping[str, str], body: bytes) -> VerifiedWebhook:
        """Raise ``WebhookRejectedError`` unless the provider signed exactly this body."""
        ...


class ReplicateVerifier:
    def __init__(self, source: replicate.SecretSource, *, tolerance_seconds: float) -> None:
        self.source = source
        self.tolerance_seconds = tolerance_seconds

    async def verify(self, headers: Mapping[str, str], body: bytes) -> VerifiedWebhook:
        checked = await replicate.verify_with_source(
            headers, body, self.source, tolerance_seconds=self.tolerance_seconds
        )
        try:
            prediction: Any = json.loads(body)
        except ValueError as exc:
            raise WebhookRejectedError("signed body is not JSON") from exc
        request_id = prediction.get("id") if isinstance(prediction, dict) else None
        if not isinstance(request_id, str) or not request_id:
            raise WebhookRejectedError("signed body is not a prediction")
        return VerifiedWebhook(request_id=request_id, token=checked.webhook_id)


class FalVerifier:
    def __init__(self, source: fal.JwksSource, *, tolerance_seconds: float) -> None:
        self.source = source
        self.tolerance_seconds = tolerance_seconds

    async def verify(self, headers: Mapping[str, str], body: bytes) -> VerifiedWebhook:
        checked = await fal.verify_with_source(
            headers, body, self.source, tolerance_seconds=self.tolerance_seconds
        )
        digest = hashlib.sha256(body).hexdigest()[:32]
        return VerifiedWebhook(
            request_id=checked.request_id, token=f"{checked.request_id}-{digest}"
        )


def jwks_fetcher(settings: FalProviderSettings) -> Any:
    verify = ssl_context(settings.ca_file)

    async def fetch() -> Any:
        async with httpx.AsyncClient(verify=verify, timeout=JWKS_TIMEOUT_SECONDS) as client:
            response = await client.get(settings.jwks_url)
            response.raise_for_status()
            return response.json()

    return fetch


def _replicate_verifier(
    settings: ProviderSettings, adapter: object, tolerance: float
) -> ReplicateVerifier:
    configured = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    if isinstance(adapter, MeasuredAdapter):  # the registry's adapters are timed wrappers
        adapter = adapter.inner
    fetch = adapter.webhook_secret if isinstance(adapter, ReplicateAdapter) else None
    source = replicate.SecretSource(configured, fetch)
    return ReplicateVerifier(source, tolerance_seconds=tolerance)


def build_verifiers(settings: Settings, registry: ProviderRegistry) -> dict[str, WebhookVerifier]:
    """Verifiers for the providers the registry offers."""
    tolerance = settings.webhook_tolerance_seconds
    providers = settings.providers
    verifiers: dict[str, WebhookVerifier] = {}
    for name, replicate_settings in (
        ("sandbox", providers.sandbox),
        ("replicate", providers.replicate),
    ):
        adapter = registry.find(name)
        if adapter is not None:
            verifiers[name] = _replicate_verifier(replicate_settings, adapter, tolerance)
    for name, fal_settings in (("sandbox-fal", providers.sandbox_fal), ("fal", providers.fal)):
        if registry.find(name) is not None:
            source = fal.JwksSource(
                jwks_fetcher(fal_settings), ttl_seconds=fal_settings.jwks_ttl_seconds
            )
            verifiers[name] = FalVerifier(source, tolerance_seconds=tolerance)
    return verifiers
