"""Gateway settings from the environment, and failing early with the variable's name."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from reelhouse.common.settings import SigningSettings
from reelhouse.gateway.app import build_app
from reelhouse.gateway.catalog.loader import CatalogError
from reelhouse.gateway.settings import Settings


def test_defaults_suit_the_embedded_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REELHOUSE_DATABASE_URL", "REELHOUSE_HTTP__PORT", "REELHOUSE_BOOTSTRAP_API_KEY"):
        monkeypatch.delenv(name, raising=False)

    settings = Settings()

    assert settings.database_url == "sqlite+aiosqlite:///.reelhouse/reelhouse.db"
    assert (settings.http.host, settings.http.port) == ("127.0.0.1", 8000)
    assert settings.media_base_url == "http://127.0.0.1:8001"
    assert settings.default_deadline_seconds == 900
    assert settings.bootstrap_api_key is None


def test_environment_variables_use_the_prefix_and_nesting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REELHOUSE_DATABASE_URL", "postgresql+asyncpg://db/reelhouse")
    monkeypatch.setenv("REELHOUSE_HTTP__PORT", "9000")
    monkeypatch.setenv("REELHOUSE_NATS__URL", "nats://nats:4222")
    monkeypatch.setenv("REELHOUSE_SIGNING__KEYS", '{"k1": "s3cret"}')
    monkeypatch.setenv("REELHOUSE_BOOTSTRAP_API_KEY", "rh_a-long-enough-dev-key")
    monkeypatch.setenv("REELHOUSE_OUTBOX__POLL_SECONDS", "0.25")

    settings = Settings()

    assert settings.database_url == "postgresql+asyncpg://db/reelhouse"
    assert settings.http.port == 9000
    assert settings.nats.url == "nats://nats:4222"
    assert settings.signing.keys["k1"].get_secret_value() == "s3cret"
    assert settings.bootstrap_api_key is not None
    assert settings.bootstrap_api_key.get_secret_value() == "rh_a-long-enough-dev-key"
    assert settings.outbox.poll_seconds == 0.25


def test_a_short_bootstrap_key_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REELHOUSE_BOOTSTRAP_API_KEY", "short")

    with pytest.raises(ValidationError, match="REELHOUSE_BOOTSTRAP_API_KEY"):
        Settings()


def test_building_the_app_without_signing_keys_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REELHOUSE_SIGNING__KEYS", raising=False)

    with pytest.raises(ValueError, match="REELHOUSE_SIGNING__KEYS"):
        build_app(Settings())


def test_operator_catalogue_files_come_from_a_json_list(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("REELHOUSE_CATALOG_PATHS", '["/etc/reelhouse/models.json", "extra.json"]')

    settings = Settings()

    assert settings.catalog_paths == [Path("/etc/reelhouse/models.json"), Path("extra.json")]


def test_building_the_app_with_a_broken_catalogue_file_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "models.json"
    broken.write_text('{"models": [{"id": "x"}]}', encoding="utf-8")
    settings = Settings(
        signing=SigningSettings(keys={"k1": SecretStr("x")}), catalog_paths=[broken]
    )

    with pytest.raises(CatalogError, match=r"models\.json.*models\.0\.kind: Field required"):
        build_app(settings)


def test_a_default_deadline_above_the_maximum_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REELHOUSE_DEFAULT_DEADLINE_SECONDS", "1000")
    monkeypatch.setenv("REELHOUSE_MAX_DEADLINE_SECONDS", "500")

    with pytest.raises(ValidationError, match="REELHOUSE_DEFAULT_DEADLINE_SECONDS"):
        Settings()
