"""Spans leave the process over OTLP/HTTP to the collector the settings (or OTEL_*) name."""

from __future__ import annotations

import pytest

from reelhouse.common.settings import TracingSettings
from reelhouse.common.tracing import configure_tracing, get_tracer, shutdown_tracing
from tests.support.otlp import otlp_receiver


async def test_spans_are_exported_to_the_configured_collector() -> None:
    with otlp_receiver() as collector:
        provider = configure_tracing(
            TracingSettings(enabled=True, otlp_endpoint=collector.endpoint), service="downloader"
        )
        with get_tracer(provider, "test").start_as_current_span("download"):
            pass
        await shutdown_tracing(provider)  # flushes the batch

        assert collector.paths == ["/v1/traces"]
        [span] = collector.spans()
        assert (span.service, span.name) == ("reelhouse-downloader", "download")


async def test_the_standard_otel_endpoint_variable_is_honoured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with otlp_receiver() as collector:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint)
        provider = configure_tracing(TracingSettings(enabled=True), service="gateway")
        with get_tracer(provider, "test").start_as_current_span("request"):
            pass
        await shutdown_tracing(provider)

        assert [(s.service, s.name) for s in collector.spans()] == [
            ("reelhouse-gateway", "request")
        ]
