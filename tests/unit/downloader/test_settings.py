"""The downloader's settings come from REELHOUSE_ variables with safe production defaults."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from pydantic import ValidationError

from reelhouse.downloader.settings import Settings


def test_defaults_are_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REELHOUSE_ALLOWED_SCHEMES", "REELHOUSE_ALLOW_LOOPBACK", "REELHOUSE_MAX_BYTES"):
        monkeypatch.delenv(name, raising=False)

    settings = Settings()

    assert settings.max_bytes == 2 * 1024**3
    assert settings.allowed_schemes == ["https"]
    assert settings.allow_loopback is False
    assert settings.allowed_networks == []


def test_the_environment_configures_the_dev_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REELHOUSE_ALLOWED_SCHEMES", '["http","HTTPS"]')
    monkeypatch.setenv("REELHOUSE_ALLOW_LOOPBACK", "true")
    monkeypatch.setenv("REELHOUSE_ALLOWED_NETWORKS", '["172.16.0.0/12"]')
    monkeypatch.setenv("REELHOUSE_MAX_BYTES", "1048576")
    monkeypatch.setenv("REELHOUSE_TEMP_DIR", "/var/tmp/reelhouse")
    monkeypatch.setenv("REELHOUSE_NATS__ACK_WAIT_SECONDS", "2.5")

    settings = Settings()

    assert settings.allowed_schemes == ["http", "https"]
    assert settings.allow_loopback is True
    assert settings.allowed_networks == [ipaddress.ip_network("172.16.0.0/12")]
    assert settings.max_bytes == 1_048_576
    assert settings.temp_dir == Path("/var/tmp/reelhouse")
    assert settings.nats.ack_wait_seconds == 2.5


def test_an_unknown_scheme_fails_at_start_naming_the_variable() -> None:
    with pytest.raises(ValidationError, match="REELHOUSE_ALLOWED_SCHEMES"):
        Settings(allowed_schemes=["https", "file"])
