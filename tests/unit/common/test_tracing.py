"""The shared tracing set-up: off means nothing at all; on, trace ids reach headers and log lines."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import format_span_id, format_trace_id
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reelhouse.common.asgi_tracing import route_span_details
from reelhouse.common.logging import add_trace_ids
from reelhouse.common.settings import TracingSettings
from reelhouse.common.tracing import (
    configure_tracing,
    continued_trace,
    current_trace_headers,
    get_tracer,
    nats_middlewares,
    traces_endpoint,
)


def test_tracing_is_off_by_default_and_then_records_nothing() -> None:
    provider = configure_tracing(TracingSettings(), service="gateway")

    assert provider is None
    assert nats_middlewares(provider) == ()
    with get_tracer(provider, "test").start_as_current_span("work") as span:
        assert not span.is_recording()
        assert current_trace_headers() == {}
        assert add_trace_ids(None, "info", {"event": "x"}) == {"event": "x"}


def test_log_lines_carry_the_active_span_ids() -> None:
    provider = configure_tracing(
        TracingSettings(enabled=True), service="gateway", exporter=InMemorySpanExporter()
    )
    assert provider is not None

    with get_tracer(provider, "test").start_as_current_span("work") as span:
        line = add_trace_ids(None, "info", {"event": "job.accepted"})
    outside = add_trace_ids(None, "info", {"event": "job.accepted"})

    context = span.get_span_context()
    assert line["trace_id"] == format_trace_id(context.trace_id)
    assert line["span_id"] == format_span_id(context.span_id)
    assert "trace_id" not in outside


def test_a_stored_traceparent_continues_the_trace_later() -> None:
    exporter = InMemorySpanExporter()
    provider = configure_tracing(
        TracingSettings(enabled=True), service="gateway", exporter=exporter
    )
    tracer = get_tracer(provider, "test")
    with tracer.start_as_current_span("request") as request:
        stored = current_trace_headers()

    # later, elsewhere: no span is active until the stored context is put back
    with continued_trace(stored), tracer.start_as_current_span("relay") as relay:
        pass

    assert stored["traceparent"].split("-")[1] == format_trace_id(
        request.get_span_context().trace_id
    )
    assert relay.get_span_context().trace_id == request.get_span_context().trace_id
    finished = {s.name: s for s in exporter.get_finished_spans()}
    relay_parent = finished["relay"].parent
    assert relay_parent is not None
    assert relay_parent.span_id == request.get_span_context().span_id


def test_headers_without_a_traceparent_start_no_trace() -> None:
    exporter = InMemorySpanExporter()
    provider = configure_tracing(
        TracingSettings(enabled=True), service="gateway", exporter=exporter
    )

    with continued_trace({"ce-id": "x"}), get_tracer(provider, "test").start_as_current_span("a"):
        pass

    [span] = exporter.get_finished_spans()
    assert span.parent is None


def test_the_sample_ratio_zero_records_no_new_trace() -> None:
    exporter = InMemorySpanExporter()
    provider = configure_tracing(
        TracingSettings(enabled=True, sample_ratio=0.0), service="gateway", exporter=exporter
    )

    with get_tracer(provider, "test").start_as_current_span("work"):
        pass

    assert exporter.get_finished_spans() == ()


def test_the_collector_base_url_gets_the_traces_path_once() -> None:
    assert traces_endpoint("http://collector:4318") == "http://collector:4318/v1/traces"
    assert traces_endpoint("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert traces_endpoint("http://collector:4318/v1/traces") == "http://collector:4318/v1/traces"
    assert traces_endpoint(None) is None


def test_server_spans_are_named_by_route_template_not_by_path() -> None:
    async def endpoint(_: Request) -> Response:
        return Response()

    routes = [
        Route("/files/{prediction_id}/{name}", endpoint, methods=["GET"]),
        Route("/v1/predictions", endpoint, methods=["POST"]),
    ]
    details = route_span_details(routes)

    def scope(method: str, path: str) -> dict[str, Any]:
        return {"type": "http", "method": method, "path": path, "root_path": ""}

    assert details(scope("GET", "/files/abc123/output.mp4")) == (
        "GET /files/{prediction_id}/{name}",
        {"http.route": "/files/{prediction_id}/{name}"},
    )
    assert details(scope("POST", "/v1/predictions"))[0] == "POST /v1/predictions"
    # an unknown path names no route: the method alone, never the raw path
    assert details(scope("GET", "/nothing/here")) == ("GET", {})
