"""What the fault proxy needs of HTTP to play a failing S3: one request read off the wire, and
the answer S3 gives when it fails (status, XML ``<Error>`` body, ``Connection: close``)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from xml.sax.saxutils import escape

MAX_CHUNKS = 1_000_000  # a bound on one chunked request body's chunks


@dataclass(slots=True)
class HttpFault:
    status: int
    code: str
    message: str
    # requests still to answer with the fault; None: until the mode is switched
    remaining: int | None = None


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request as read off the wire: its bytes (to forward) and what the answer needs."""

    raw: bytes
    method: str
    target: str


class BadRequestError(ValueError):
    """The client sent something that is not an HTTP/1.1 request."""


async def read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    """One HTTP/1.1 request: headers, then a ``Content-Length`` or chunked body (unless the
    client waits for ``100-continue``); None when the client closed before sending one."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise BadRequestError("the connection closed inside the request headers") from exc
    except asyncio.LimitOverrunError as exc:
        raise BadRequestError("request headers too long") from exc
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise BadRequestError(f"not an HTTP request line: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    body = b""
    if headers.get("expect", "").lower() != "100-continue":
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await _read_chunked(reader)
        elif length := int(headers.get("content-length", "0") or "0"):
            body = await reader.readexactly(length)
    return HttpRequest(raw=head + body, method=parts[0], target=parts[1])


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    raw = bytearray()
    for _ in range(MAX_CHUNKS):
        size_line = await reader.readuntil(b"\r\n")
        raw += size_line
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            for _ in range(MAX_CHUNKS):  # trailers, up to the blank line
                trailer = await reader.readuntil(b"\r\n")
                raw += trailer
                if trailer == b"\r\n":
                    return bytes(raw)
            break
        raw += await reader.readexactly(size + 2)
    raise BadRequestError("a chunked body without an end")


def s3_error_response(fault: HttpFault, request: HttpRequest) -> bytes:
    """The answer S3 gives: status, XML ``<Error>`` body, ``Connection: close``."""
    request_id = uuid.uuid4().hex[:16].upper()
    resource = request.target.split("?", 1)[0]
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(fault.code)}</Code><Message>{escape(fault.message)}</Message>"
        f"<Resource>{escape(resource)}</Resource><RequestId>{request_id}</RequestId></Error>"
    ).encode()
    try:
        reason = HTTPStatus(fault.status).phrase
    except ValueError:
        reason = "Error"
    head = (
        f"HTTP/1.1 {fault.status} {reason}\r\n"
        "Content-Type: application/xml\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"x-amz-request-id: {request_id}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    return head if request.method == "HEAD" else head + body
