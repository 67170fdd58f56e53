"""Server spans for the Starlette apps (sandbox, dispatcher webhooks), named by route template.

OpenTelemetry's ASGI middleware names a span ``GET /files/abc123/output.mp4`` unless it knows
the route; a name per prediction id makes every request look different in a tracing UI. Here
the app's own routes supply the template (``GET /files/{prediction_id}/{name}``), as the
FastAPI instrumentation does for the gateway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Match

from reelhouse.common.tracing import PROBE_PATHS


def route_span_details(
    routes: Sequence[BaseRoute],
) -> Callable[[dict[str, Any]], tuple[str, dict[str, str]]]:
    """``(span name, attributes)`` for a request: ``METHOD /route/{template}``, or the method."""

    def details(scope: dict[str, Any]) -> tuple[str, dict[str, str]]:
        method = str(scope.get("method") or "HTTP")
        for route in routes:
            match, _ = route.matches(scope)
            path = getattr(route, "path", None)
            if match is Match.FULL and isinstance(path, str):
                return f"{method} {path}", {"http.route": path}
        return method, {}

    return details


def tracing_middleware(
    tracer_provider: TracerProvider | None, routes: Sequence[BaseRoute]
) -> list[Middleware]:
    """A server span per request, continuing the caller's ``traceparent`` (none when off)."""
    if tracer_provider is None:
        return []
    return [
        Middleware(
            OpenTelemetryMiddleware,
            tracer_provider=tracer_provider,
            default_span_details=route_span_details(routes),
            excluded_urls=",".join(PROBE_PATHS),
            exclude_spans=["receive", "send"],
        )
    ]
