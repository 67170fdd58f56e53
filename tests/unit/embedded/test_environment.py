"""The environment the launcher gives each part, checked against the parts' own Settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reelhouse.embedded.environment import ROLES, merged, role_environment
from reelhouse.embedded.natsserver import nats_server_argv
from reelhouse.embedded.secrets import EmbeddedSecrets
from reelhouse.embedded.settings import EmbeddedOptions, Settings

SECRETS = EmbeddedSecrets(
    signing_keys={"k1": "a-signing-secret-of-enough-length"},
    active_key_id="k1",
    dev_api_key="rh_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG",
)


@pytest.fixture
def options(tmp_path: Path) -> EmbeddedOptions:
    return EmbeddedOptions(
        data_dir=tmp_path / "data",
        nats_port=14322,
        gateway_port=18000,
        media_port=18001,
        dispatcher_port=18002,
        sandbox_port=18010,
    )


def _apply(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)


@pytest.mark.parametrize("role", ROLES)
def test_every_role_talks_to_the_embedded_nats(options: EmbeddedOptions, role: str) -> None:
    env = role_environment(role, options=options, secrets=SECRETS, log_level="DEBUG")

    assert env["REELHOUSE_NATS__URL"] == "nats://127.0.0.1:14322"
    assert env["REELHOUSE_LOG__LEVEL"] == "DEBUG"


def test_gateway_settings_read_database_media_signing_and_bootstrap_key(
    options: EmbeddedOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reelhouse.gateway.settings import Settings as GatewaySettings

    _apply(monkeypatch, role_environment("gateway", options=options, secrets=SECRETS))
    settings = GatewaySettings()

    data_dir = options.data_dir.resolve()
    assert settings.database_url == f"sqlite+aiosqlite:///{data_dir / 'reelhouse.db'}"
    assert settings.media_base_url == "http://127.0.0.1:18001"
    assert settings.http.port == 18000
    assert settings.bootstrap_api_key is not None
    assert settings.bootstrap_api_key.get_secret_value() == SECRETS.dev_api_key
    assert settings.signing.require_keys() == {"k1": b"a-signing-secret-of-enough-length"}


def test_media_settings_read_local_storage_and_the_same_signing_keys(
    options: EmbeddedOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reelhouse.media.settings import Settings as MediaSettings

    _apply(monkeypatch, role_environment("media", options=options, secrets=SECRETS))
    settings = MediaSettings()

    assert settings.http.port == 18001
    assert settings.storage.backend == "local"
    assert settings.storage.local_root == options.data_dir.resolve() / "objects"
    assert settings.signing.active_key_id == "k1"
    assert settings.signing.require_keys() == {"k1": b"a-signing-secret-of-enough-length"}


def test_downloader_settings_allow_loopback_http_and_share_media_storage(
    options: EmbeddedOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reelhouse.downloader.settings import Settings as DownloaderSettings

    _apply(monkeypatch, role_environment("downloader", options=options, secrets=SECRETS))
    settings = DownloaderSettings()

    assert settings.allow_loopback is True
    assert set(settings.allowed_schemes) == {"http", "https"}
    assert settings.allowed_hosts == {"sandbox": ["127.0.0.1"], "sandbox-fal": ["127.0.0.1"]}
    assert settings.storage.local_root == options.data_dir.resolve() / "objects"


def test_gateway_settings_store_uploads_where_media_reads_them(
    options: EmbeddedOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reelhouse.gateway.settings import Settings as GatewaySettings

    _apply(monkeypatch, role_environment("gateway", options=options, secrets=SECRETS))
    settings = GatewaySettings()

    assert settings.storage.backend == "local"
    assert settings.storage.local_root == options.data_dir.resolve() / "objects"


def test_dispatcher_settings_point_at_the_embedded_sandbox(
    options: EmbeddedOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reelhouse.dispatcher.settings import Settings as DispatcherSettings

    _apply(monkeypatch, role_environment("dispatcher", options=options, secrets=SECRETS))
    settings = DispatcherSettings()

    assert settings.providers.sandbox.base_url == "http://127.0.0.1:18010"
    # uploads reach the sandbox as signed URLs of the embedded media service
    assert settings.public_media_base_url == "http://127.0.0.1:18001"
    assert settings.signing.require_keys() == {"k1": b"a-signing-secret-of-enough-length"}


def test_sandbox_settings_serve_on_their_port_with_matching_public_url(
    options: EmbeddedOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reelhouse.sandbox.settings import Settings as SandboxSettings

    _apply(monkeypatch, role_environment("sandbox", options=options, secrets=SECRETS))
    settings = SandboxSettings()

    assert settings.http.port == 18010
    assert settings.public_base_url == "http://127.0.0.1:18010"
    assert settings.data_dir == options.data_dir.resolve() / "sandbox"


def test_secrets_appear_only_in_the_roles_that_need_them(options: EmbeddedOptions) -> None:
    for role in ROLES:
        env = role_environment(role, options=options, secrets=SECRETS)
        # the dispatcher signs the URLs of uploads it hands to providers
        assert ("REELHOUSE_SIGNING__KEYS" in env) == (role in {"gateway", "media", "dispatcher"})
        assert ("REELHOUSE_BOOTSTRAP_API_KEY" in env) == (role == "gateway")
    keys = role_environment("media", options=options, secrets=SECRETS)["REELHOUSE_SIGNING__KEYS"]
    assert json.loads(keys) == SECRETS.signing_keys


def test_unknown_role_is_refused(options: EmbeddedOptions) -> None:
    with pytest.raises(ValueError, match="unknown role"):
        role_environment("renderer", options=options, secrets=SECRETS)


def test_merged_overrides_inherited_values_and_drops_launcher_knobs() -> None:
    base = {
        "PATH": "/usr/bin",
        "REELHOUSE_HTTP__PORT": "9999",
        "REELHOUSE_EMBEDDED__NATS_PORT": "5000",
        "REELHOUSE_PROVIDERS__REPLICATE__API_TOKEN": "r8_token",
    }

    env = merged(base, {"REELHOUSE_HTTP__PORT": "8000"})

    assert env == {
        "PATH": "/usr/bin",
        "REELHOUSE_HTTP__PORT": "8000",
        "REELHOUSE_PROVIDERS__REPLICATE__API_TOKEN": "r8_token",
    }


def test_launcher_settings_read_nats_port_from_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REELHOUSE_EMBEDDED__NATS_PORT", "4999")
    monkeypatch.setenv("REELHOUSE_EMBEDDED__DATA_DIR", "/srv/reelhouse")

    settings = Settings()

    assert settings.embedded.nats_port == 4999
    assert settings.embedded.data_dir == Path("/srv/reelhouse")


def test_default_nats_port_avoids_a_system_nats_on_4222() -> None:
    assert EmbeddedOptions().nats_port != 4222


def test_nats_server_runs_jetstream_on_loopback_with_its_store(tmp_path: Path) -> None:
    argv = nats_server_argv(
        host="127.0.0.1", port=4322, store_dir=tmp_path / "nats", binary="/bin/nats-server"
    )

    assert argv[0] == "/bin/nats-server"
    assert "--jetstream" in argv
    assert argv[argv.index("-a") + 1] == "127.0.0.1"
    assert argv[argv.index("-p") + 1] == "4322"
    assert argv[argv.index("--store_dir") + 1] == str(tmp_path / "nats")
