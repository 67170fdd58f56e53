"""HMAC-signed, expiring URLs bound to one object key.

The query carries ``exp`` (Unix seconds), ``kid`` (which key signed it, so keys
can rotate) and ``sig`` (URL-safe base64 HMAC-SHA256 over ``kid\\nexp\\nkey``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import quote, urlencode


class SignatureError(Exception):
    """The signature is missing, unknown or wrong."""


class SignatureExpiredError(SignatureError):
    """The signature was right but its time has passed."""


def _mac(secret: bytes, key_id: str, expires: int, object_key: str) -> str:
    message = f"{key_id}\n{expires}\n{object_key}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class UrlSigner:
    keys: dict[str, bytes]
    active_key_id: str
    # how long past its expiry (by the verifier's clock) a URL is still accepted: room for
    # the signer's clock running behind the verifier's
    leeway_seconds: float = 0.0

    def sign(
        self, object_key: str, *, ttl_seconds: int, now: float | None = None
    ) -> dict[str, str]:
        expires = int((time.time() if now is None else now) + ttl_seconds)
        sig = _mac(self.keys[self.active_key_id], self.active_key_id, expires, object_key)
        return {"exp": str(expires), "kid": self.active_key_id, "sig": sig}

    def signed_url(
        self, base_url: str, object_key: str, *, ttl_seconds: int, now: float | None = None
    ) -> str:
        query = urlencode(self.sign(object_key, ttl_seconds=ttl_seconds, now=now))
        return f"{base_url.rstrip('/')}/o/{quote(object_key)}?{query}"

    def verify(
        self,
        object_key: str,
        *,
        exp: str,
        kid: str,
        sig: str,
        now: float | None = None,
    ) -> int:
        """Return the expiry when valid; raise SignatureError or SignatureExpiredError."""
        secret = self.keys.get(kid)
        if secret is None:
            raise SignatureError(f"unknown signing key id {kid!r}")
        try:
            expires = int(exp)
        except ValueError as exc:
            raise SignatureError("expiry is not a number") from exc
        if not hmac.compare_digest(
            _mac(secret, kid, expires, object_key).encode(), sig.encode("utf-8", "replace")
        ):
            raise SignatureError("signature does not match")
        if expires + self.leeway_seconds < (time.time() if now is None else now):
            raise SignatureExpiredError("signed URL has expired")
        return expires
