"""The output file server: ``GET``/``HEAD /files/{prediction_id}/{name}?exp=..&sig=..``.

Behaves like a CDN in front of object storage: correct ``Content-Type`` and
``Content-Length``, one ``Range`` per request (206, honouring ``If-Range``), S3-style XML
errors (403 once the URL has expired or when its signature is wrong). File faults of the
prediction apply here: ``html``, ``truncated`` (half of every answer), ``oversized`` (a huge
declared length), ``cut_unranged`` (half of every answer to a request without ``Range``),
``stalled_first_gets`` (half of the first GETs' answers, then silence on an open connection),
``redirect_to`` (a redirect to another host).
"""

from __future__ import annotations

import html
import uuid
from email.utils import formatdate
from pathlib import Path

import anyio
import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from reelhouse.common.signing import SignatureError, SignatureExpiredError
from reelhouse.sandbox.context import context_of
from reelhouse.sandbox.faults import OVERSIZED_BYTES, STALL_BODY_SECONDS, FaultPlan
from reelhouse.sandbox.outputs import content_type_for
from reelhouse.sandbox.ranges import ByteRange, RangeNotSatisfiableError, parse_range

log = structlog.get_logger(__name__)

CHUNK_SIZE = 64 * 1024
MAX_RECEIVES_WHILE_STALLED = 8

HTML_ERROR_PAGE = b"""<!DOCTYPE html>
<html><head><title>503 Service Temporarily Unavailable</title></head>
<body><h1>503 Service Temporarily Unavailable</h1>
<p>The file you asked for is not available right now. Please try again later.</p>
<hr><center>nginx</center></body></html>
"""


def s3_error(status: int, code: str, message: str, resource: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{html.escape(message)}</Message>"
        f"<Resource>{html.escape(resource)}</Resource>"
        f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
    )
    return Response(body, status_code=status, media_type="application/xml")


class FileSliceResponse(Response):
    """Streams ``length`` bytes of ``path`` from ``start``, declaring ``Content-Length``.

    With ``send_bytes`` below ``length`` it stops part-way and returns without finishing
    the response, so the server closes the connection: a truncated download. With
    ``stall_seconds`` as well, it first holds the connection open, silent, for that long or
    until the client goes away: a stalled download.
    """

    def __init__(
        self,
        path: Path,
        *,
        start: int,
        length: int,
        status_code: int,
        headers: dict[str, str],
        send_bytes: int | None = None,
        stall_seconds: float = 0.0,
    ) -> None:
        super().__init__(status_code=status_code, headers=headers)
        self.path = path
        self.start = start
        self.length = length
        self.send_bytes = length if send_bytes is None else min(send_bytes, length)
        self.stall_seconds = stall_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        if scope.get("method") == "HEAD":
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        remaining = self.send_bytes
        async with await anyio.open_file(self.path, "rb") as handle:
            await handle.seek(self.start)
            while remaining > 0:
                chunk = await handle.read(min(CHUNK_SIZE, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if self.send_bytes < self.length:
            if self.stall_seconds > 0:
                await self._stall(receive)
            log.info("files.truncated", sent=self.send_bytes, declared=self.length)
            return  # leave the response unfinished: the server drops the connection
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _stall(self, receive: Receive) -> None:
        """Send nothing until ``stall_seconds`` pass or the client disconnects."""
        log.info("files.stalled", sent=self.send_bytes, seconds=self.stall_seconds)
        with anyio.move_on_after(self.stall_seconds):
            # a GET has at most its (empty) body to receive before the disconnect
            for _ in range(MAX_RECEIVES_WHILE_STALLED):
                if (await receive())["type"] == "http.disconnect":
                    log.info("files.stall_ended", reason="client_gone")
                    return
            await anyio.sleep(self.stall_seconds)


async def serve_file(request: Request) -> Response:
    context = context_of(request)
    prediction_id = request.path_params["prediction_id"]
    name = request.path_params["name"]
    resource = f"/files/{prediction_id}/{name}"
    # each request runs in its own task, so this binding ends with the request
    structlog.contextvars.bind_contextvars(prediction_id=prediction_id)
    try:
        context.outputs.verify(
            prediction_id,
            name,
            exp=request.query_params.get("exp"),
            sig=request.query_params.get("sig"),
            now=context.clock.now(),
        )
        path = context.outputs.path_for(prediction_id, name)
    except SignatureExpiredError:
        log.info("files.expired")
        return s3_error(403, "AccessDenied", "Request has expired", resource)
    except (SignatureError, ValueError):
        return s3_error(403, "AccessDenied", "The request signature is not valid", resource)
    prediction = context.store.get(prediction_id)
    plan = prediction.plan if prediction is not None else FaultPlan()
    if prediction is not None:
        prediction.activity.files += 1
    if plan.redirect_to is not None:
        location = f"http://{plan.redirect_to}{resource}?{request.url.query}"
        log.info("files.redirected", to_host=plan.redirect_to)
        return Response(status_code=302, headers={"Location": location})
    first_requests = (
        prediction is not None and prediction.activity.files <= plan.html_first_requests
    )
    if plan.file_body == "html" or first_requests:
        log.info("files.html_instead_of_media")
        return Response(HTML_ERROR_PAGE, media_type=content_type_for(name))
    try:
        stat = await anyio.Path(path).stat()
    except FileNotFoundError:
        return s3_error(404, "NoSuchKey", "The specified key does not exist.", resource)
    size = stat.st_size
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Type": content_type_for(name),
        "ETag": f'"{stat.st_mtime_ns:x}-{size:x}"',
        "Last-Modified": formatdate(stat.st_mtime, usegmt=True),
        "Cache-Control": "private, max-age=3600",
    }
    if plan.file_body == "oversized":
        # declares far more than it holds, sends what it has, then drops the connection
        headers["Content-Length"] = str(OVERSIZED_BYTES)
        log.info("files.oversized", declared=OVERSIZED_BYTES, size=size)
        return FileSliceResponse(
            path, start=0, length=OVERSIZED_BYTES, status_code=200, headers=headers, send_bytes=size
        )
    if_range = request.headers.get("if-range")
    ranged = if_range is None or if_range in (headers["ETag"], headers["Last-Modified"])
    try:
        byte_range = parse_range(request.headers.get("range"), size) if ranged else None
    except RangeNotSatisfiableError:
        return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
    part = byte_range or ByteRange(0, size - 1)
    headers["Content-Length"] = str(part.length if size else 0)
    if byte_range is not None:
        headers["Content-Range"] = byte_range.content_range(size)
    send_bytes = None
    stall_seconds = 0.0
    if plan.file_body == "truncated" or (plan.cut_unranged and byte_range is None):
        send_bytes = part.length // 2
    elif (
        prediction is not None
        and request.method == "GET"
        and prediction.activity.stalled_files < plan.stalled_first_gets
    ):
        prediction.activity.stalled_files += 1
        send_bytes, stall_seconds = part.length // 2, STALL_BODY_SECONDS
    log.info("files.served", start=part.start, length=part.length)
    return FileSliceResponse(
        path,
        start=part.start,
        length=max(0, part.length) if size else 0,
        status_code=206 if byte_range is not None else 200,
        headers=headers,
        send_bytes=send_bytes,
        stall_seconds=stall_seconds,
    )


routes = [Route("/files/{prediction_id}/{name}", serve_file, methods=["GET", "HEAD"])]
