"""``GET``/``HEAD /o/{key}``: a signed URL in, the object's bytes (or a slice of them) out."""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from reelhouse.common.signing import SignatureError, SignatureExpiredError, UrlSigner
from reelhouse.common.storage import ObjectInfo, ObjectNotFoundError, StorageUnavailableError
from reelhouse.media.disposition import content_disposition, download_name
from reelhouse.media.objects import MediaObjects
from reelhouse.media.plan import plan_response
from reelhouse.media.problems import problem
from reelhouse.media.redirect import Redirector, redirect_response
from reelhouse.media.responses import FileResponse, ObjectResponse, can_send_path, open_body
from reelhouse.media.s3reader import ObjectChangedError

log = structlog.get_logger(__name__)

_TRUE = {"1", "true", "yes"}


@dataclass(slots=True)
class MediaContext:
    """What the routes need; the app's lifespan fills in the objects."""

    signer: UrlSigner
    objects: MediaObjects | None = None
    redirector: Redirector | None = None

    def require_objects(self) -> MediaObjects:
        if self.objects is None:
            raise RuntimeError("the object store is created in the app's lifespan; it has not run")
        return self.objects


@dataclass(frozen=True, slots=True)
class _Served:
    """Logs one ``media.served`` line per request."""

    key: str
    method: str
    range: str | None

    def __call__(self, status: int, sent: int = 0, **fields: object) -> None:
        log.info(
            "media.served",
            key=self.key,
            method=self.method,
            status=status,
            range=self.range,
            bytes=sent,
            **fields,
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
        served = _Served(key=key, method=request.method, range=request.headers.get("range"))

        expires = self._verify(request, key)
        if isinstance(expires, Response):
            served(expires.status_code, reason="signature")
            return expires
        remaining = max(0, expires - int(time.time()))
        objects = self.context.require_objects()
        # a planned read that finds the object replaced is planned once more from a fresh stat
        for attempt in range(2):
            try:
                info = await objects.stat(key)
            except (ObjectNotFoundError, ValueError):
                served(404)
                return _not_found(with_body)
            except StorageUnavailableError as exc:
                return _unavailable(served, key, exc, with_body)
            disposition = self._disposition(request, info)
            if self.context.redirector is not None:
                location = self.context.redirector.location(
                    request.method, info, remaining=remaining, disposition=disposition
                )
                served(307, redirect=True)
                return redirect_response(location)

            plan = plan_response(
                request.headers,
                info,
                # a cached copy must not outlive the permission to fetch it
                cache_control=f"private, max-age={remaining}",
                disposition=disposition,
                with_body=with_body,
            )
            if isinstance(plan, Response):
                served(plan.status_code)
                return plan
            if not with_body or plan.length == 0:
                served(plan.status)
                return Response(status_code=plan.status, headers=plan.headers)
            path = objects.file_path(info) if plan.status == 200 else None
            if path is not None and can_send_path(request.scope):
                # the whole file, sent by the server itself (local disk, granian)
                return FileResponse(
                    status=200,
                    headers=plan.headers,
                    path=path,
                    length=plan.length,
                    on_done=lambda sent, complete: served(200, sent, complete=complete),
                )
            try:
                body = await open_body(objects, info, plan.segments, plan.length)
            except ObjectChangedError:
                objects.forget(key)
                log.info("media.object_changed", key=key, attempt=attempt)
                continue
            except ObjectNotFoundError:
                objects.forget(key)
                served(404)
                return _not_found(with_body)
            except StorageUnavailableError as exc:
                return _unavailable(served, key, exc, with_body)

            def done(sent: int, complete: bool, status: int = plan.status) -> None:
                served(status, sent, complete=complete)

            return ObjectResponse(status=plan.status, headers=plan.headers, body=body, on_done=done)
        served(503, reason="object_changing")
        return problem("storage_unavailable", detail="The object is being replaced; try again.")

    @staticmethod
    def _disposition(request: Request, info: ObjectInfo) -> str | None:
        if request.query_params.get("download", "").lower() not in _TRUE:
            return None
        name = download_name(info.key, request.query_params.get("filename"))
        return content_disposition("attachment", name)

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


def _not_found(with_body: bool) -> Response:
    return problem("not_found", detail="No object under this key.", include_body=with_body)


def _unavailable(
    served: _Served, key: str, exc: StorageUnavailableError, with_body: bool
) -> Response:
    log.warning("media.storage_unavailable", key=key, error=str(exc))
    served(503)
    return problem("storage_unavailable", include_body=with_body)


def build_routes(context: MediaContext) -> list[Route]:
    return [
        Route("/o/{key:path}", ObjectEndpoint(context), methods=["GET"]),
    ]
