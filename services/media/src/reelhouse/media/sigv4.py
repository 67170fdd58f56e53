"""AWS Signature Version 4 for S3 GET and HEAD: signed headers and presigned URLs.

Pure and local (no network): a few HMACs per request. The media service signs
its own reads (``s3reader``) and, in redirect mode, presigns the URL a client
is sent to. The payload of a GET or HEAD is empty, so it is declared
``UNSIGNED-PAYLOAD`` and never hashed.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
DEFAULT_REGION = "us-east-1"
# unreserved characters (RFC 3986) are never encoded; quote() keeps "_.-~" and alphanumerics
_QUERY_SAFE = ""


def object_path(bucket: str, key: str) -> str:
    """The path-style, URI-encoded path of an object, as S3 canonicalises it (``/`` kept)."""
    return "/" + quote(bucket, safe="") + "/" + quote(key, safe="/")


def _query_encode(value: str) -> str:
    return quote(value, safe=_QUERY_SAFE)


def canonical_query(params: dict[str, str]) -> str:
    return "&".join(
        f"{_query_encode(k)}={_query_encode(v)}"
        for k, v in sorted((k, v) for k, v in params.items())
    )


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


@dataclass(slots=True)
class SigV4Signer:
    """Signs requests to one S3 endpoint (``host`` is ``name[:port]`` exactly as sent)."""

    access_key: str
    secret_key: str
    region: str = DEFAULT_REGION
    service: str = "s3"
    _keys: dict[str, bytes] = field(default_factory=dict, repr=False)

    def _signing_key(self, datestamp: str) -> bytes:
        key = self._keys.get(datestamp)
        if key is None:
            key = _hmac(("AWS4" + self.secret_key).encode(), datestamp)
            for part in (self.region, self.service, "aws4_request"):
                key = _hmac(key, part)
            # one key a day; an old day's key is never needed again
            self._keys = {datestamp: key}
        return key

    def _scope(self, datestamp: str) -> str:
        return f"{datestamp}/{self.region}/{self.service}/aws4_request"

    def _signature(self, moment: datetime, canonical_request: str) -> str:
        amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
        datestamp = amz_date[:8]
        string_to_sign = "\n".join(
            (
                ALGORITHM,
                amz_date,
                self._scope(datestamp),
                hashlib.sha256(canonical_request.encode()).hexdigest(),
            )
        )
        return hmac.new(
            self._signing_key(datestamp), string_to_sign.encode(), hashlib.sha256
        ).hexdigest()

    def sign_headers(
        self, method: str, host: str, path: str, *, now: datetime | None = None
    ) -> dict[str, str]:
        """The headers that authenticate ``method path`` (no query) on ``host``."""
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
        signed = "host;x-amz-content-sha256;x-amz-date"
        canonical_request = (
            f"{method}\n{path}\n\n"
            f"host:{host}\nx-amz-content-sha256:{UNSIGNED_PAYLOAD}\nx-amz-date:{amz_date}\n\n"
            f"{signed}\n{UNSIGNED_PAYLOAD}"
        )
        signature = self._signature(moment, canonical_request)
        credential = f"{self.access_key}/{self._scope(amz_date[:8])}"
        return {
            "x-amz-content-sha256": UNSIGNED_PAYLOAD,
            "x-amz-date": amz_date,
            "authorization": (
                f"{ALGORITHM} Credential={credential}, SignedHeaders={signed}, "
                f"Signature={signature}"
            ),
        }

    def presign(
        self,
        method: str,
        *,
        scheme: str,
        host: str,
        path: str,
        expires_seconds: int,
        params: dict[str, str] | None = None,
        now: datetime | None = None,
    ) -> str:
        """A URL that allows ``method`` on ``path`` for ``expires_seconds`` (1 s to 7 days)."""
        if not 1 <= expires_seconds <= 7 * 24 * 3600:
            raise ValueError("a presigned URL lives between 1 second and 7 days")
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
        query = {
            **(params or {}),
            "X-Amz-Algorithm": ALGORITHM,
            "X-Amz-Credential": f"{self.access_key}/{self._scope(amz_date[:8])}",
            "X-Amz-Date": amz_date,
            "X-Amz-Expires": str(expires_seconds),
            "X-Amz-SignedHeaders": "host",
        }
        canonical = canonical_query(query)
        canonical_request = (
            f"{method}\n{path}\n{canonical}\nhost:{host}\n\nhost\n{UNSIGNED_PAYLOAD}"
        )
        signature = self._signature(moment, canonical_request)
        return f"{scheme}://{host}{path}?{canonical}&X-Amz-Signature={signature}"
