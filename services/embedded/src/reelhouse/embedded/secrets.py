"""Secrets the embedded system generates once and keeps under the data directory.

``secrets.json`` (mode 0600) holds the URL-signing key and the development API key;
``dev-api-key`` repeats the key alone so scripts can ``cat`` it. Neither is ever committed:
the data directory is git-ignored.
"""

from __future__ import annotations

import json
import os
import secrets as random_tokens  # the standard library module; this module shadows its name
import stat
from dataclasses import dataclass
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

SECRETS_FILE = "secrets.json"
DEV_API_KEY_FILE = "dev-api-key"
API_KEY_PREFIX = "rh_"  # the gateway's key format: ``rh_`` + 43 URL-safe characters
PRIVATE = 0o600


@dataclass(frozen=True, slots=True)
class EmbeddedSecrets:
    signing_keys: dict[str, str]
    active_key_id: str
    dev_api_key: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "signing_keys": self.signing_keys,
                "active_key_id": self.active_key_id,
                "dev_api_key": self.dev_api_key,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> EmbeddedSecrets:
        data = json.loads(text)
        keys = {str(k): str(v) for k, v in dict(data["signing_keys"]).items()}
        active = str(data["active_key_id"])
        if active not in keys:
            raise ValueError(f"active_key_id {active!r} is not among the signing keys")
        return cls(signing_keys=keys, active_key_id=active, dev_api_key=str(data["dev_api_key"]))


def generate_secrets() -> EmbeddedSecrets:
    return EmbeddedSecrets(
        signing_keys={"k1": random_tokens.token_urlsafe(32)},
        active_key_id="k1",
        dev_api_key=API_KEY_PREFIX + random_tokens.token_urlsafe(32),
    )


def write_private(path: Path, text: str) -> None:
    """Write ``text`` so that only the owner can ever read it, replacing ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    try:
        os.fchmod(fd, PRIVATE)  # O_CREAT's mode does not apply to a leftover file
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _ensure_private(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("embedded.secrets_permissions_fixed", path=str(path), mode=oct(mode))
        path.chmod(PRIVATE)


def load_or_create_secrets(data_dir: Path) -> EmbeddedSecrets:
    """The secrets of this data directory, generated and saved on first use."""
    path = data_dir / SECRETS_FILE
    if path.exists():
        _ensure_private(path)
        loaded = EmbeddedSecrets.from_json(path.read_text())
    else:
        loaded = generate_secrets()
        write_private(path, loaded.to_json())
        log.info("embedded.secrets_created", path=str(path))
    key_file = data_dir / DEV_API_KEY_FILE
    if not key_file.exists() or key_file.read_text().strip() != loaded.dev_api_key:
        write_private(key_file, loaded.dev_api_key + "\n")
    else:
        _ensure_private(key_file)
    return loaded
