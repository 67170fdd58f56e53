"""CORS and ``OPTIONS``: a browser app on another origin can call the gateway.

``OPTIONS`` on any route answers ``204`` with ``Allow`` (the route's methods). A CORS
preflight from an allowed origin (``REELHOUSE_CORS__ALLOWED_ORIGINS``; none by default, ``*``
in the embedded mode) also gets the ``Access-Control-Allow-*`` headers, from Starlette's
``CORSMiddleware``; a preflight from any other origin gets only ``Allow``, which the
browser reads as a refusal. Actual responses to an allowed origin carry
``Access-Control-Allow-Origin`` and expose the headers below.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pydantic import BaseModel, Field
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# request headers a browser app may send (beyond the CORS-safelisted ones)
ALLOW_HEADERS = (
    "Authorization",
    "X-API-Key",
    "Content-Type",
    "Idempotency-Key",
    "Last-Event-ID",
    "Accept",
    "Cache-Control",
)
# response headers a browser app may read (beyond the CORS-safelisted ones)
EXPOSE_HEADERS = (
    "Location",
    "Retry-After",
    "Idempotent-Replayed",
    "WWW-Authenticate",
    "Allow",
    "Content-Disposition",
    "X-Request-ID",
)
ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


class CorsSettings(BaseModel):
    """Which browser origins may call the API."""

    allowed_origins: list[str] = Field(
        default_factory=list,
        description="JSON list of origins allowed to call the API from a browser, e.g. "
        '`["https://app.example.com"]`; `["*"]` allows any (the embedded mode); empty: none',
    )
    max_age_seconds: int = Field(
        default=600, ge=0, le=86_400, description="how long a browser may cache a preflight answer"
    )


def _leaf_routes(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route, with FastAPI's included routers opened up."""
    for route in routes:
        candidates = getattr(route, "effective_candidates", None)
        if callable(candidates):
            yield from _leaf_routes(candidates())
            continue
        yield getattr(route, "starlette_route", None) or route


def route_methods(routes: Iterable[BaseRoute], scope: Scope) -> set[str]:
    """The methods of every route whose path matches ``scope``'s."""
    methods: set[str] = set()
    for route in _leaf_routes(routes):
        if route.matches(scope)[0] != Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return methods


def _allow_header(headers: list[tuple[bytes, bytes]]) -> list[str]:
    raw = next((v for k, v in headers if k.lower() == b"allow"), b"")
    return [m.strip() for m in raw.decode("latin-1").split(",") if m.strip()]


class OptionsMiddleware:
    """Answers ``OPTIONS``; hands CORS to ``cors`` (None when no origin is allowed)."""

    def __init__(self, app: ASGIApp, *, routes: list[BaseRoute], settings: CorsSettings) -> None:
        self.app = app
        self.routes = routes
        self.cors: CORSMiddleware | None = None
        if settings.allowed_origins:
            self.cors = CORSMiddleware(
                app,
                allow_origins=settings.allowed_origins,
                allow_methods=ALL_METHODS,
                allow_headers=ALLOW_HEADERS,
                expose_headers=EXPOSE_HEADERS,
                max_age=settings.max_age_seconds,
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] != "OPTIONS":
            await (self.cors or self.app)(scope, receive, send)
            return
        # ask the routes: a route that does not take OPTIONS answers 405 with its ``Allow``
        # (no route: 404); whatever the framework's routing, nothing here has to mirror it
        answer: list[Message] = []

        async def capture(message: Message) -> None:
            answer.append(message)

        await self.app(scope, receive, capture)
        start = answer[0] if answer else {}
        if start.get("status") != 405:
            for message in answer:
                await send(message)
            return
        # Starlette's 405 names only the first matching route's methods: add the others'
        methods = {*_allow_header(start.get("headers", [])), *route_methods(self.routes, scope)}
        allow = ", ".join(sorted({*methods, "OPTIONS"}))
        if self.cors is not None and self._is_allowed_preflight(scope):
            await self.cors(scope, receive, _with_allow(send, allow))
            return
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [(b"allow", allow.encode()), (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    def _is_allowed_preflight(self, scope: Scope) -> bool:
        assert self.cors is not None
        headers = dict(scope["headers"])
        origin = headers.get(b"origin")
        if origin is None or b"access-control-request-method" not in headers:
            return False
        return self.cors.is_allowed_origin(origin.decode("latin-1"))


def _with_allow(send: Send, allow: str) -> Send:
    """``send`` adding ``Allow`` to the preflight answer, with the route's own methods."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [
                (k, v)
                for k, v in message.get("headers", [])
                if k.lower() != b"access-control-allow-methods"
            ]
            headers.append((b"allow", allow.encode()))
            headers.append((b"access-control-allow-methods", allow.encode()))
            message = {**message, "headers": headers}
        await send(message)

    return wrapped
