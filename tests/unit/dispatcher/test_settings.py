"""Dispatcher settings from the environment, and the provider registry built from them."""

from __future__ import annotations

import os

import pytest

from reelhouse.common.errors import PermanentError
from reelhouse.dispatcher.providers.registry import build_registry
from reelhouse.dispatcher.settings import Settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("REELHOUSE_"):
            monkeypatch.delenv(name)


def test_defaults_suit_the_embedded_mode() -> None:
    settings = Settings()

    assert settings.providers.sandbox.base_url == "http://127.0.0.1:8010"
    assert settings.providers.sandbox.api_token is not None
    assert settings.providers.sandbox.api_token.get_secret_value() == "sandbox"
    assert settings.providers.replicate.base_url == "https://api.replicate.com"
    assert settings.providers.replicate.api_token is None
    assert settings.poll_interval_seconds == 2.0


def test_one_nested_variable_keeps_the_providers_other_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REELHOUSE_PROVIDERS__SANDBOX__BASE_URL", "http://sandbox:8010")
    monkeypatch.setenv("REELHOUSE_PROVIDERS__REPLICATE__API_TOKEN", "r8_secret")
    monkeypatch.setenv("REELHOUSE_POLL_INTERVAL_SECONDS", "0.5")

    settings = Settings()

    assert settings.providers.sandbox.base_url == "http://sandbox:8010"
    assert settings.providers.sandbox.api_token is not None
    assert settings.providers.sandbox.api_token.get_secret_value() == "sandbox"
    assert settings.providers.replicate.api_token is not None
    assert settings.providers.replicate.api_token.get_secret_value() == "r8_secret"
    assert "r8_secret" not in repr(settings)
    assert settings.poll_interval_seconds == 0.5


async def test_replicate_without_a_token_is_not_offered() -> None:
    registry = build_registry(Settings().providers)

    assert registry.names == ["sandbox", "sandbox-fal"]
    with pytest.raises(PermanentError) as caught:
        registry.get("replicate")
    assert caught.value.code == "unknown_model"
    assert "replicate" in caught.value.message
    await registry.aclose()


async def test_replicate_with_a_token_is_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REELHOUSE_PROVIDERS__REPLICATE__API_TOKEN", "r8_secret")

    registry = build_registry(Settings().providers)

    assert registry.names == ["replicate", "sandbox", "sandbox-fal"]
    assert registry.get("replicate").name == "replicate"
    await registry.aclose()
