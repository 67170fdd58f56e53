"""Provider HTTP calls as client spans, with ``traceparent`` sent to the provider."""

from __future__ import annotations

import httpx
from opentelemetry.instrumentation.httpx import AsyncOpenTelemetryTransport
from opentelemetry.sdk.trace import TracerProvider


def traced_transport(
    transport: httpx.AsyncBaseTransport, tracer_provider: TracerProvider | None
) -> httpx.AsyncBaseTransport:
    """``transport`` itself when tracing is off; otherwise one that records each request."""
    if tracer_provider is None:
        return transport
    return AsyncOpenTelemetryTransport(transport, tracer_provider=tracer_provider)
