"""Which adapter serves which provider name of the model catalogue."""

from __future__ import annotations

from collections.abc import Mapping

from reelhouse.common.errors import PermanentError
from reelhouse.dispatcher.providers.base import ProviderAdapter
from reelhouse.dispatcher.providers.replicate import ReplicateAdapter
from reelhouse.dispatcher.settings import ProviderSettings, ProvidersSettings


class ProviderRegistry:
    def __init__(self, adapters: Mapping[str, ProviderAdapter]) -> None:
        self._adapters = dict(adapters)

    @property
    def names(self) -> list[str]:
        return sorted(self._adapters)

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


def _replicate_protocol(name: str, settings: ProviderSettings) -> ReplicateAdapter | None:
    if settings.api_token is None or not settings.api_token.get_secret_value():
        return None
    return ReplicateAdapter(
        name,
        base_url=settings.base_url,
        api_token=settings.api_token.get_secret_value(),
        timeout_seconds=settings.timeout_seconds,
    )


def build_registry(settings: ProvidersSettings) -> ProviderRegistry:
    """Every provider with a token; both speak Replicate's protocol at different base URLs."""
    candidates = {
        "sandbox": _replicate_protocol("sandbox", settings.sandbox),
        "replicate": _replicate_protocol("replicate", settings.replicate),
    }
    return ProviderRegistry({name: a for name, a in candidates.items() if a is not None})
