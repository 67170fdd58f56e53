"""Treat API request bodies as JSON whatever form content type a client guessed.

``curl -d '{...}'`` labels its body ``application/x-www-form-urlencoded``; FastAPI would then
refuse a perfectly good JSON document. The API only ever takes JSON, so a body sent without a
type, or with the form type curl picks by default, is read as JSON (and a body that is not JSON
still gets a precise 422).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

GUESSED_TYPES = {b"", b"application/x-www-form-urlencoded"}
_BODY_METHODS = {"POST", "PUT", "PATCH"}


class JsonBodyMiddleware:
    def __init__(self, app: ASGIApp, *, prefix: str = "/v1/") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in _BODY_METHODS
            and scope["path"].startswith(self.prefix)
        ):
            headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            claimed = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
            if claimed.split(b";")[0].strip().lower() in GUESSED_TYPES:
                scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
        await self.app(scope, receive, send)
