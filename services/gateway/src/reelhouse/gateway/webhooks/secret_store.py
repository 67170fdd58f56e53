"""Owners' webhook secrets: created on first use, rotated with an overlap, encrypted at rest.

Each owner has numbered versions; the newest signs, and a version rotated out keeps signing
until its ``expires_at`` (``webhooks.rotation_overlap_seconds`` after the rotation).

Secrets are stored encrypted (Fernet) so that a database dump alone does not reveal them:
with ``webhooks.secrets_key`` set, under a key derived from it; otherwise under a key derived
from the active URL-signing key (the ciphertext names its key, so a secret stays readable as
long as the signing key it was written under is still configured).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.gateway.db.models import WebhookSecret
from reelhouse.gateway.webhooks.signature import new_secret

HKDF_INFO = b"reelhouse webhook secrets v1"
DEDICATED = "w"


class SecretUnreadableError(RuntimeError):
    """A stored secret was written under a key this deployment no longer has."""


def _fernet(material: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(material)
    return Fernet(base64.urlsafe_b64encode(key))


class SecretBox:
    """Encrypts secrets under the active key; decrypts under whichever key wrote them."""

    def __init__(self, keys: Mapping[str, bytes], active: str) -> None:
        self._fernets = {label: _fernet(material) for label, material in keys.items()}
        self._active = active

    @classmethod
    def build(
        cls,
        *,
        secrets_key: bytes | None,
        signing_keys: Mapping[str, bytes],
        active_signing_key: str,
    ) -> SecretBox:
        keys = {f"s.{kid}": material for kid, material in signing_keys.items()}
        if secrets_key is not None:
            keys[DEDICATED] = secrets_key
            return cls(keys, DEDICATED)
        return cls(keys, f"s.{active_signing_key}")

    def seal(self, secret: str) -> str:
        token = self._fernets[self._active].encrypt(secret.encode()).decode()
        return f"{self._active}:{token}"

    def open(self, sealed: str) -> str:
        label, _, token = sealed.partition(":")
        fernet = self._fernets.get(label)
        if fernet is None:
            raise SecretUnreadableError(f"written under key {label!r}, which is not configured")
        try:
            return fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretUnreadableError(f"does not decrypt under key {label!r}") from exc


async def _versions(session: AsyncSession, owner_id: str) -> list[WebhookSecret]:
    rows = await session.scalars(
        select(WebhookSecret)
        .where(WebhookSecret.owner_id == owner_id)
        .order_by(WebhookSecret.version.desc())
    )
    return list(rows)


async def _add(
    session: AsyncSession, box: SecretBox, owner_id: str, version: int, now: datetime
) -> str:
    secret = new_secret()
    session.add(
        WebhookSecret(
            owner_id=owner_id,
            version=version,
            ciphertext=box.seal(secret),
            created_at=now,
            expires_at=None,
        )
    )
    await session.flush()
    return secret


async def current_secret(
    session: AsyncSession, box: SecretBox, *, owner_id: str, now: datetime
) -> str:
    """The owner's signing secret, made (and committed) on first use."""
    versions = await _versions(session, owner_id)
    if versions:
        return box.open(versions[0].ciphertext)
    try:
        secret = await _add(session, box, owner_id, 1, now)
        await session.commit()
    except IntegrityError:  # a concurrent first use made it
        await session.rollback()
        versions = await _versions(session, owner_id)
        return box.open(versions[0].ciphertext)
    return secret


async def rotate_secret(
    session: AsyncSession, box: SecretBox, *, owner_id: str, now: datetime, overlap: timedelta
) -> str:
    """A new secret signs from now; the previous one keeps signing for ``overlap``."""
    versions = await _versions(session, owner_id)
    for old in versions:
        if old.expires_at is None or old.expires_at > now + overlap:
            old.expires_at = now + overlap
    secret = await _add(session, box, owner_id, (versions[0].version + 1) if versions else 1, now)
    await session.commit()
    return secret


async def signing_secrets(
    session: AsyncSession, box: SecretBox, *, owner_id: str, now: datetime
) -> list[str]:
    """Every secret that signs now, newest first (made on first use, like ``current_secret``)."""
    versions = [
        v for v in await _versions(session, owner_id) if v.expires_at is None or v.expires_at > now
    ]
    if not versions:
        return [await current_secret(session, box, owner_id=owner_id, now=now)]
    return [box.open(v.ciphertext) for v in versions]
