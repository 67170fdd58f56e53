"""Embedded secrets: generated once, kept private, the same on every later run."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from reelhouse.embedded.secrets import (
    DEV_API_KEY_FILE,
    SECRETS_FILE,
    EmbeddedSecrets,
    load_or_create_secrets,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_run_creates_private_secrets_and_key_file(tmp_path: Path) -> None:
    secrets = load_or_create_secrets(tmp_path)

    assert _mode(tmp_path / SECRETS_FILE) == 0o600
    assert _mode(tmp_path / DEV_API_KEY_FILE) == 0o600
    assert (tmp_path / DEV_API_KEY_FILE).read_text().strip() == secrets.dev_api_key
    assert secrets.dev_api_key.startswith("rh_")
    assert len(secrets.dev_api_key) >= 16
    assert secrets.active_key_id in secrets.signing_keys
    assert len(secrets.signing_keys[secrets.active_key_id]) >= 32


def test_second_run_returns_the_same_secrets(tmp_path: Path) -> None:
    first = load_or_create_secrets(tmp_path)
    second = load_or_create_secrets(tmp_path)

    assert second == first


def test_separate_data_directories_get_different_secrets(tmp_path: Path) -> None:
    a = load_or_create_secrets(tmp_path / "a")
    b = load_or_create_secrets(tmp_path / "b")

    assert a.dev_api_key != b.dev_api_key
    assert a.signing_keys != b.signing_keys


def test_loose_permissions_are_tightened(tmp_path: Path) -> None:
    load_or_create_secrets(tmp_path)
    (tmp_path / SECRETS_FILE).chmod(0o644)
    (tmp_path / DEV_API_KEY_FILE).chmod(0o644)

    load_or_create_secrets(tmp_path)

    assert _mode(tmp_path / SECRETS_FILE) == 0o600
    assert _mode(tmp_path / DEV_API_KEY_FILE) == 0o600


def test_missing_or_edited_key_file_is_rewritten_from_secrets(tmp_path: Path) -> None:
    secrets = load_or_create_secrets(tmp_path)
    (tmp_path / DEV_API_KEY_FILE).write_text("something else\n")

    load_or_create_secrets(tmp_path)
    assert (tmp_path / DEV_API_KEY_FILE).read_text().strip() == secrets.dev_api_key

    (tmp_path / DEV_API_KEY_FILE).unlink()
    load_or_create_secrets(tmp_path)
    assert (tmp_path / DEV_API_KEY_FILE).read_text().strip() == secrets.dev_api_key


def test_secrets_round_trip_through_json() -> None:
    secrets = EmbeddedSecrets(
        signing_keys={"k1": "s1", "k2": "s2"}, active_key_id="k2", dev_api_key="rh_x"
    )

    assert EmbeddedSecrets.from_json(secrets.to_json()) == secrets


def test_active_key_missing_from_keys_is_rejected() -> None:
    text = json.dumps({"signing_keys": {"k1": "s"}, "active_key_id": "k9", "dev_api_key": "rh_x"})

    with pytest.raises(ValueError, match="k9"):
        EmbeddedSecrets.from_json(text)
