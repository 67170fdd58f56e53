"""OpenTelemetry traces: one ``TracerProvider`` per service when enabled, nothing at all when not.

``configure_tracing`` returns None while ``REELHOUSE_TRACING__ENABLED`` is false (the default):
then no exporter exists, no instrumentation is installed, the brokers get no telemetry
middleware, and the helpers below are no-ops. Providers are passed explicitly to every
instrumentation (never set as the process-wide global), so several services can share one
process in tests, each under its own ``service.name``.

Across NATS the W3C ``traceparent`` travels in the message headers (FastStream's
``NatsTelemetryMiddleware`` injects it on publish and continues it on consume). The gateway's
outbox stores the request's ``traceparent`` with the row, and the relay publishes inside that
context, so the trace survives the gap between the HTTP request and the publish.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import structlog
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from opentelemetry import context as otel_context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_NAMESPACE, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import NoOpTracer, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from reelhouse.common.settings import TracingSettings

log = structlog.get_logger(__name__)

NAMESPACE = "reelhouse"
TRACES_PATH = "/v1/traces"
# requests that only probe the service: no span for them
PROBE_PATHS = ("/healthz", "/livez", "/readyz", "/metrics")

_PROPAGATOR = TraceContextTextMapPropagator()


def service_name(service: str) -> str:
    """The ``service.name`` a role's spans carry: ``reelhouse-gateway``, ``reelhouse-dispatcher``…"""
    return f"{NAMESPACE}-{service}"


def traces_endpoint(base_url: str | None) -> str | None:
    """The OTLP/HTTP traces URL for a collector's base URL (None: let the SDK read OTEL_*)."""
    if not base_url:
        return None
    base = base_url.rstrip("/")
    return base if base.endswith(TRACES_PATH) else base + TRACES_PATH


def configure_tracing(
    settings: TracingSettings, *, service: str, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """The service's provider, or None when tracing is off.

    Spans go to ``exporter`` as each one ends when given (tests use an in-memory one),
    otherwise in batches to the OTLP/HTTP collector the settings (or OTEL_*) name.
    """
    if not settings.enabled:
        return None
    resource = Resource.create({SERVICE_NAME: service_name(service), SERVICE_NAMESPACE: NAMESPACE})
    provider = TracerProvider(
        resource=resource, sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio))
    )
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        endpoint = traces_endpoint(settings.otlp_endpoint)
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    log.info(
        "tracing.enabled",
        service_name=service_name(service),
        otlp_endpoint=settings.otlp_endpoint if exporter is None else None,
        sample_ratio=settings.sample_ratio,
    )
    return provider


async def shutdown_tracing(provider: TracerProvider | None) -> None:
    """Export what is still buffered and stop (off the event loop: the exporter blocks)."""
    if provider is not None:
        await asyncio.to_thread(provider.shutdown)


def get_tracer(provider: TracerProvider | None, name: str) -> Tracer:
    """A tracer of ``provider``; a no-op one when tracing is off."""
    return NoOpTracer() if provider is None else provider.get_tracer(name)


def nats_middlewares(provider: TracerProvider | None) -> tuple[NatsTelemetryMiddleware, ...]:
    """The broker middleware that carries ``traceparent`` through NATS (none when off)."""
    if provider is None:
        return ()
    return (NatsTelemetryMiddleware(tracer_provider=provider),)


def current_trace_headers() -> dict[str, str]:
    """The active span's ``traceparent`` (and ``tracestate``); empty when no span is active."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier


@contextmanager
def continued_trace(headers: Mapping[str, str]) -> Iterator[None]:
    """Inside the block, the trace whose ``traceparent`` ``headers`` carry is the current one."""
    if "traceparent" not in headers:
        yield
        return
    token = otel_context.attach(_PROPAGATOR.extract(dict(headers)))
    try:
        yield
    finally:
        otel_context.detach(token)
