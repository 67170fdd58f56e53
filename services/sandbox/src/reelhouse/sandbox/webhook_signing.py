"""Webhook keys (kept in ``data_dir``) and signatures, exactly as the real providers sign.

- Replicate (Standard Webhooks): ``webhook-signature: v1,<base64 HMAC-SHA256>`` over
  ``"{webhook-id}.{webhook-timestamp}.{body}"``, keyed with the base64-decoded part of the
  ``whsec_<base64>`` secret that ``GET /v1/webhooks/default/secret`` serves.
- fal: ``X-Fal-Webhook-Signature`` = hex Ed25519 signature over the four lines
  ``request_id``, ``user_id``, ``timestamp``, ``sha256hex(body)``; the public key is
  served as a JWKS at ``/.well-known/jwks.json``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from reelhouse.sandbox.persistence import write_atomically

log = structlog.get_logger(__name__)

REPLICATE_SECRET_FILE = "replicate-webhook.secret"  # noqa: S105 (a file name)
FAL_KEY_FILE = "fal-webhook-ed25519.pem"
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix)
SECRET_BYTES = 32
# what X-Fal-Webhook-User-Id says: the sandbox has one account
FAL_USER_ID = "sandbox-user"


@dataclass(frozen=True, slots=True)
class WebhookKeys:
    replicate_secret: str
    fal_private_key: Ed25519PrivateKey

    def fal_public_bytes(self) -> bytes:
        return self.fal_private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def jwks(self) -> dict[str, Any]:
        raw = self.fal_public_bytes()
        return {
            "keys": [
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii"),
                    "kid": hashlib.sha256(raw).hexdigest()[:16],
                    "use": "sig",
                    "alg": "EdDSA",
                }
            ]
        }


def replicate_signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    content = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def fal_signature(
    private_key: Ed25519PrivateKey, request_id: str, user_id: str, timestamp: int, body: bytes
) -> str:
    message = "\n".join([request_id, user_id, str(timestamp), hashlib.sha256(body).hexdigest()])
    return private_key.sign(message.encode()).hex()


def corrupt_replicate_signature(header: str) -> str:
    """The same header with one bit of the MAC flipped (fault ``bad_signature``)."""
    label, _, encoded = header.partition(",")
    raw = bytearray(base64.b64decode(encoded))
    raw[0] ^= 0x01
    return f"{label},{base64.b64encode(bytes(raw)).decode('ascii')}"


def corrupt_fal_signature(signature: str) -> str:
    raw = bytearray(bytes.fromhex(signature))
    raw[0] ^= 0x01
    return bytes(raw).hex()


def _load_secret(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="ascii").strip()
        if text.startswith(SECRET_PREFIX) and len(base64.b64decode(text[6:])) >= SECRET_BYTES:
            return text
    except FileNotFoundError:
        return None
    except (ValueError, binascii.Error):
        pass
    log.warning("webhook_keys.replaced", path=str(path), reason="unreadable")
    return None


def _load_private_key(path: Path) -> Ed25519PrivateKey | None:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        return None
    except ValueError:
        key = None
    if isinstance(key, Ed25519PrivateKey):
        return key
    log.warning("webhook_keys.replaced", path=str(path), reason="unreadable")
    return None


def load_or_create_webhook_keys(data_dir: Path) -> WebhookKeys:
    """The keys in ``data_dir`` (files mode 0600), generated on first use."""
    data_dir.mkdir(parents=True, exist_ok=True)
    secret_path = data_dir / REPLICATE_SECRET_FILE
    secret = _load_secret(secret_path)
    if secret is None:
        secret = SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()
        write_atomically(secret_path, secret.encode("ascii"))
        log.info("webhook_keys.created", path=str(secret_path))
    key_path = data_dir / FAL_KEY_FILE
    private_key = _load_private_key(key_path)
    if private_key is None:
        private_key = Ed25519PrivateKey.generate()
        pem = private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_atomically(key_path, pem)
        log.info("webhook_keys.created", path=str(key_path))
    return WebhookKeys(replicate_secret=secret, fal_private_key=private_key)
