"""``GET``/``HEAD /o/{key}``: a signed URL in, the object's bytes (or a slice of them) out."""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from reelhouse.common.signing import SignatureError, SignatureExpiredError, UrlSigner
from reelhouse.common.storage import ObjectNotFoundError, ObjectStore, StorageUnavailableError
from reelhouse.media.conditional import (
    Precondition,
    Validators,
    evaluate_preconditions,
    range_applies,
)
from reelhouse.media.problems import problem
from reelhouse.media.ranges import ByteRange, RangeNotSatisfiableError, requested_ranges
from reelhouse.media.responses import ObjectResponse, open_body

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class MediaContext:
    """What the routes need; the app's lifespan fills in the store."""

    signer: UrlSigner
    store: ObjectStore | None = None

    def require_store(self) -> ObjectStore:
        if self.store is None:
            raise RuntimeError("the object store is created in the app's lifespan; it has not run")
        return self.store


@dataclass(frozen=True, slots=True)
class _Served:
    """Logs one ``media.served`` line per request."""

    key: str
    range: str | None

    def __call__(self, status: int, sent: int = 0, **fields: object) -> None:
        log.info(
            "media.served", key=self.key, status=status, range=self.range, bytes=sent, **fields
        )


class ObjectEndpoint:
    """Verifies the signature, evaluates preconditions and ranges, then streams from the store."""

    def __init__(self, context: MediaContext) -> None:
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.respond(Request(scope, receive))
        await response(scope, receive, send)

    async def respond(self, request: Request) -> ASGIApp:
        key: str = request.path_params["key"]
        with_body = request.method != "HEAD"
        served = _Served(key=key, range=request.headers.get("range"))

        expires = self._verify(request, key)
        if isinstance(expires, Response):
            served(expires.status_code, reason="signature")
            return expires
        store = self.context.require_store()
        try:
            info = await store.stat(key)
        except (ObjectNotFoundError, ValueError):
            served(404)
            return problem("not_found", detail="No object under this key.", include_body=with_body)
        except StorageUnavailableError as exc:
            log.warning("media.storage_unavailable", key=key, error=str(exc))
            served(503)
            return problem("storage_unavailable", include_body=with_body)

        validators = Validators(opaque_etag=info.etag, last_modified=info.last_modified)
        headers = {
            "Accept-Ranges": "bytes",
            "ETag": validators.etag,
            # a cached copy must not outlive the permission to fetch it
            "Cache-Control": f"private, max-age={max(0, expires - int(time.time()))}",
        }
        if evaluate_preconditions(request.headers, validators) is Precondition.NOT_MODIFIED:
            served(304)
            return Response(status_code=304, headers=headers)
        headers["Last-Modified"] = validators.http_date

        selected: ByteRange | None = None
        if range_applies(request.headers, validators):
            try:
                ranges = requested_ranges(served.range, info.size)
            except RangeNotSatisfiableError:
                served(416)
                return problem(
                    "range_not_satisfiable",
                    headers={**headers, "Content-Range": f"bytes */{info.size}"},
                    include_body=with_body,
                )
            # several ranges would need multipart/byteranges (not served yet): send the whole object
            if ranges is not None and len(ranges) == 1:
                selected = ranges[0]
                headers["Content-Range"] = selected.content_range(info.size)
        status = 200 if selected is None else 206
        headers["Content-Type"] = info.content_type
        headers["Content-Length"] = str(info.size if selected is None else selected.length)
        headers["X-Content-Type-Options"] = "nosniff"

        if not with_body or info.size == 0:
            served(status)
            return Response(status_code=status, headers=headers)
        try:
            body = await open_body(store, key, selected or ByteRange(0, info.size - 1))
        except ObjectNotFoundError:
            served(404)
            return problem("not_found", detail="No object under this key.")
        except StorageUnavailableError as exc:
            log.warning("media.storage_unavailable", key=key, error=str(exc))
            served(503)
            return problem("storage_unavailable")

        def done(sent: int, complete: bool) -> None:
            served(status, sent, complete=complete)

        return ObjectResponse(status=status, headers=headers, body=body, on_done=done)

    def _verify(self, request: Request, key: str) -> int | Response:
        """The signed URL's expiry (Unix seconds), or the refusal to send."""
        query = request.query_params
        sig = query.get("sig", "")
        with_body = request.method != "HEAD"
        try:
            # hmac.compare_digest refuses non-ASCII str; such a signature is simply wrong
            if not sig.isascii():
                raise SignatureError("signature is not ASCII")
            return self.context.signer.verify(
                key, exp=query.get("exp", ""), kid=query.get("kid", ""), sig=sig
            )
        except SignatureExpiredError:
            return problem("signed_url_expired", include_body=with_body)
        except SignatureError:
            return problem("signed_url_invalid", include_body=with_body)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def build_routes(context: MediaContext) -> list[Route]:
    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/o/{key:path}", ObjectEndpoint(context), methods=["GET"]),
    ]
