"""Which adapter serves which provider name of the model catalogue.

Names: ``sandbox`` (Replicate protocol), ``sandbox-fal`` (fal protocol), ``replicate``,
``fal``. A provider without a token or key is not offered.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.sdk.trace import TracerProvider

from reelhouse.common.errors import PermanentError
from reelhouse.dispatcher.metrics import measured
from reelhouse.dispatcher.providers.base import ProviderAdapter
from reelhouse.dispatcher.providers.fal import FalAdapter
from reelhouse.dispatcher.providers.replicate import ReplicateAdapter
from reelhouse.dispatcher.settings import FalProviderSettings, ProviderSettings, ProvidersSettings


class ProviderRegistry:
    def __init__(self, adapters: Mapping[str, ProviderAdapter]) -> None:
        self._adapters = dict(adapters)

    @property
    def names(self) -> list[str]:
        return sorted(self._adapters)

    def find(self, name: str) -> ProviderAdapter | None:
        return self._adapters.get(name)

    def get(self, name: str) -> ProviderAdapter:
        try:
            return self._adapters[name]
        except KeyError:
            configured = ", ".join(self.names) or "none"
            raise PermanentError(
                "unknown_model",
                f"Provider {name!r} is not configured on this dispatcher (configured: {configured}).",
            ) from None

    async def aclose(self) -> None:
        for adapter in self._adapters.values():
            await adapter.aclose()


def _replicate_protocol(
    name: str, settings: ProviderSettings, tracer_provider: TracerProvider | None
) -> ReplicateAdapter | None:
    if settings.api_token is None or not settings.api_token.get_secret_value():
        return None
    return ReplicateAdapter(
        name,
        base_url=settings.base_url,
        api_token=settings.api_token.get_secret_value(),
        timeout_seconds=settings.timeout_seconds,
        tracer_provider=tracer_provider,
    )


def _fal_protocol(
    name: str, settings: FalProviderSettings, tracer_provider: TracerProvider | None
) -> FalAdapter | None:
    if settings.key is None or not settings.key.get_secret_value():
        return None
    return FalAdapter(
        name,
        queue_url=settings.queue_url,
        key=settings.key.get_secret_value(),
        timeout_seconds=settings.timeout_seconds,
        ca_file=settings.ca_file,
        tracer_provider=tracer_provider,
    )


def build_registry(
    settings: ProvidersSettings, *, tracer_provider: TracerProvider | None = None
) -> ProviderRegistry:
    """Every provider with a token or key; their HTTP calls are spans when tracing is on."""
    candidates: dict[str, ProviderAdapter | None] = {
        "sandbox": _replicate_protocol("sandbox", settings.sandbox, tracer_provider),
        "replicate": _replicate_protocol("replicate", settings.replicate, tracer_provider),
        "sandbox-fal": _fal_protocol("sandbox-fal", settings.sandbox_fal, tracer_provider),
        "fal": _fal_protocol("fal", settings.fal, tracer_provider),
    }
    return ProviderRegistry({name: measured(a) for name, a in candidates.items() if a is not None})
