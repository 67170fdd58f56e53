"""Redirect mode: answer with a ``307`` to a short-lived presigned URL of the object in S3.

For deployments that put S3 (or a CDN in front of it) on the byte path: this
service still checks the signed URL and that the object exists, then hands the
client an S3 URL that overrides ``Content-Type`` and, for downloads,
``Content-Disposition``. A 307 keeps the method, so ``HEAD`` stays ``HEAD`` and the
player's ``Range`` header goes along to S3.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.responses import Response

from reelhouse.common.settings import S3Settings
from reelhouse.common.storage import ObjectInfo
from reelhouse.media.settings import DeliverySettings
from reelhouse.media.sigv4 import DEFAULT_REGION, SigV4Signer, object_path


class Redirector:
    def __init__(self, s3: S3Settings, delivery: DeliverySettings) -> None:
        self.bucket = s3.bucket
        self.ttl = delivery.redirect_ttl_seconds
        if delivery.redirect_endpoint:
            public = urlsplit(delivery.redirect_endpoint)
            self.scheme, self.host = public.scheme or "https", public.netloc
        else:
            self.scheme, self.host = ("https" if s3.secure else "http"), s3.endpoint
        self.signer = SigV4Signer(
            access_key=s3.access_key.get_secret_value(),
            secret_key=s3.secret_key.get_secret_value(),
            region=s3.region or DEFAULT_REGION,
        )

    def location(
        self, method: str, info: ObjectInfo, *, remaining: int, disposition: str | None
    ) -> str:
        """A presigned URL living ``redirect_ttl_seconds``, never past the signed URL.

        S3 signs the method too: a HEAD is redirected to a URL presigned for HEAD.
        """
        params = {"response-content-type": info.content_type}
        if disposition is not None:
            params["response-content-disposition"] = disposition
        return self.signer.presign(
            method,
            scheme=self.scheme,
            host=self.host,
            path=object_path(self.bucket, info.key),
            expires_seconds=max(1, min(self.ttl, remaining)),
            params=params,
        )


def redirect_response(location: str) -> Response:
    # the target expires within minutes: no cache may keep the redirect
    return Response(
        status_code=307,
        headers={"Location": location, "Cache-Control": "no-store", "Accept-Ranges": "bytes"},
    )
