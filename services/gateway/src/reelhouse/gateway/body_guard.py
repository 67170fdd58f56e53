"""Request bodies: bounded while they are read, and decodable before any route sees them.

* A ``Content-Length`` over the limit is refused up front (``413 payload_too_large``) without
  reading a byte; a body without one (chunked) is counted while it arrives and refused the
  moment it passes the limit — the gateway never holds more than ``max_bytes`` of it.
* An API body (``POST``/``PUT``/``PATCH`` under ``/v1/``) must be JSON: a declared type other
  than JSON (or the form type curl guesses, see ``json_body.py``) is ``415
  unsupported_media_type``; bytes that are not UTF-8, text that is not JSON, and JSON strings
  holding lone surrogates (``"\\ud800"``) are all ``400 malformed_body``. Well-formed JSON that
  does not fit the operation's schema stays ``422 validation_error``.
* A ``POST`` to a *streamed* path (``/v1/uploads``) is not read here at all: its route reads
  it in chunks within its own, larger limit. Only a declared ``Content-Length`` over that
  limit is refused up front, with ``413 upload_too_large``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelhouse.gateway.json_body import GUESSED_TYPES
from reelhouse.gateway.problems import build_problem, problem_response

log = structlog.get_logger(__name__)

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _header(scope: Scope, name: bytes) -> bytes | None:
    return next((v for k, v in scope["headers"] if k.lower() == name), None)


def _is_json_type(content_type: bytes) -> bool:
    media = content_type.split(b";")[0].strip().lower()
    if media in GUESSED_TYPES or media == b"application/json":
        return True
    return media.startswith(b"application/") and media.endswith(b"+json")


def undecodable_reason(body: bytes) -> str | None:
    """Why ``body`` is not a JSON document in valid UTF-8, or None when it is one."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"The body is not valid UTF-8 (byte {exc.start})."
    try:
        document: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"The body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
    except RecursionError:
        return "The body is nested too deeply."
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return "The body holds a lone UTF-16 surrogate (such as \\ud800), which is not Unicode."
    except RecursionError:
        return "The body is nested too deeply."
    return None


class BodyGuardMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        prefix: str = "/v1/",
        streamed: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.prefix = prefix
        # path → the body limit of a POST its route streams itself
        self.streamed = dict(streamed or {})

    async def _refuse(
        self, scope: Scope, send: Send, code: str, detail: str | None, *, unread: bool = False
    ) -> None:
        problem = build_problem(code, detail=detail, instance=scope["path"])
        # ``unread``: the rest of the body is never read, so the connection cannot be reused
        response = problem_response(problem, headers={"Connection": "close"} if unread else None)
        log.info("http.body_refused", path=scope["path"], code=code)

        async def no_body() -> Message:
            return {"type": "http.disconnect"}

        await response(scope, no_body, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        chunked = _header(scope, b"transfer-encoding") is not None
        streamed_limit = self.streamed.get(scope["path"]) if scope["method"] == "POST" else None
        if streamed_limit is not None:
            await self._pass_streamed(scope, receive, send, declared, streamed_limit)
            return
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await self._refuse(
                    scope, send, "malformed_body", "Content-Length is not a number.", unread=True
                )
                return
            if length > self.max_bytes:
                await self._refuse(scope, send, "payload_too_large", self._too_large(), unread=True)
                return
            if length == 0:
                await self.app(scope, receive, send)
                return
        elif not chunked:
            await self.app(scope, receive, send)
            return

        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # the client went away while sending: nobody is left to answer
                return
            chunk: bytes = message.get("body", b"")
            total += len(chunk)
            if total > self.max_bytes:
                await self._refuse(scope, send, "payload_too_large", self._too_large(), unread=True)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        del chunks

        if body and scope["method"] in BODY_METHODS and scope["path"].startswith(self.prefix):
            content_type = _header(scope, b"content-type") or b""
            if not _is_json_type(content_type):
                await self._refuse(scope, send, "unsupported_media_type", None)
                return
            reason = undecodable_reason(body)
            if reason is not None:
                await self._refuse(scope, send, "malformed_body", reason)
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _pass_streamed(
        self, scope: Scope, receive: Receive, send: Send, declared: bytes | None, limit: int
    ) -> None:
        try:
            length = int(declared) if declared is not None else None
        except ValueError:
            await self._refuse(
                scope, send, "malformed_body", "Content-Length is not a number.", unread=True
            )
            return
        if length is not None and length > limit:
            detail = f"The request body is larger than {limit} bytes."
            await self._refuse(scope, send, "upload_too_large", detail, unread=True)
            return
        await self.app(scope, receive, send)

    def _too_large(self) -> str:
        return f"The request body is larger than {self.max_bytes} bytes."
