"""Webhook signatures are exactly the providers' schemes: Replicate's checked by the official
client's validator, fal's by Ed25519 over the JWKS key; the keys persist in data_dir."""

from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from replicate.webhook import InvalidSignatureError, Webhooks, WebhookSigningSecret

from reelhouse.sandbox.webhook_signing import (
    FAL_KEY_FILE,
    REPLICATE_SECRET_FILE,
    WebhookKeys,
    corrupt_fal_signature,
    corrupt_replicate_signature,
    fal_signature,
    load_or_create_webhook_keys,
    replicate_signature,
)

BODY = b'{"id":"abc","status":"succeeded"}'


@pytest.fixture
def keys(tmp_path: Path) -> WebhookKeys:
    return load_or_create_webhook_keys(tmp_path)


def test_replicate_signature_passes_the_official_validator(keys: WebhookKeys) -> None:
    header = replicate_signature(keys.replicate_secret, "msg_1", 1_700_000_000, BODY)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": "1700000000",
        "webhook-signature": header,
    }
    secret = WebhookSigningSecret(key=keys.replicate_secret)
    Webhooks.validate(headers=headers, body=BODY.decode(), secret=secret)
    headers["webhook-signature"] = corrupt_replicate_signature(header)
    with pytest.raises(InvalidSignatureError):
        Webhooks.validate(headers=headers, body=BODY.decode(), secret=secret)


def public_key(keys: WebhookKeys) -> Ed25519PublicKey:
    (jwk,) = keys.jwks()["keys"]
    assert (jwk["kty"], jwk["crv"]) == ("OKP", "Ed25519")
    return Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(jwk["x"] + "="))


def test_fal_signature_verifies_with_the_jwks_key(keys: WebhookKeys) -> None:
    signature = fal_signature(keys.fal_private_key, "req", "user", 1_700_000_000, BODY)
    message = f"req\nuser\n1700000000\n{hashlib.sha256(BODY).hexdigest()}".encode()
    public_key(keys).verify(bytes.fromhex(signature), message)
    with pytest.raises(InvalidSignature):
        public_key(keys).verify(bytes.fromhex(corrupt_fal_signature(signature)), message)


def test_keys_are_made_once_and_kept_private(tmp_path: Path) -> None:
    first = load_or_create_webhook_keys(tmp_path)
    again = load_or_create_webhook_keys(tmp_path)
    assert again.replicate_secret == first.replicate_secret
    assert again.fal_public_bytes() == first.fal_public_bytes()
    assert first.replicate_secret.startswith("whsec_")
    for name in (REPLICATE_SECRET_FILE, FAL_KEY_FILE):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


def test_an_unreadable_key_file_is_replaced(tmp_path: Path) -> None:
    (tmp_path / FAL_KEY_FILE).write_text("not a key")
    (tmp_path / REPLICATE_SECRET_FILE).write_text("whsec_???")
    keys = load_or_create_webhook_keys(tmp_path)
    assert len(keys.fal_public_bytes()) == 32
    assert base64.b64decode(keys.replicate_secret.removeprefix("whsec_"))
