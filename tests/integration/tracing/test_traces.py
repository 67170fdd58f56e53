"""One job, one trace: the spans of every service that worked on it share the request's trace id.

gateway (HTTP POST → outbox → relay publish) → NATS → dispatcher (consume → provider HTTP) →
sandbox (server) → NATS → downloader (consume → fetch → storage put) → NATS → gateway
(projector consume). The test client sends no ``traceparent``, so the gateway's POST span is
the root and every other span of the job must hang below it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from reelhouse.common.settings import TracingSettings
from reelhouse.common.storage import LocalObjectStore
from tests.integration.gateway.harness import eventually, messages_on
from tests.integration.tracing.system import System, running_system
from tests.support.nats import NatsServer
from tests.support.otlp import otlp_receiver

SERVICES = {
    "reelhouse-gateway",
    "reelhouse-dispatcher",
    "reelhouse-sandbox",
    "reelhouse-downloader",
}


@pytest.fixture
async def traced(
    nats_server: NatsServer, database_url: str, tmp_path: Path
) -> AsyncIterator[System]:
    async with running_system(
        nats_url=nats_server.url,
        database_url=database_url,
        data_dir=tmp_path,
        tracing=TracingSettings(enabled=True),
    ) as system:
        yield system


def service(span: ReadableSpan) -> str:
    return str(span.resource.attributes.get("service.name", ""))


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


def trace_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.trace_id)


class Trace:
    """The finished spans of one trace, with their parent links."""

    def __init__(self, spans: list[ReadableSpan]) -> None:
        self.spans = spans
        self.by_id = {span_id(s): s for s in spans}

    def find(self, predicate: Callable[[ReadableSpan], bool]) -> list[ReadableSpan]:
        return [s for s in self.spans if predicate(s)]

    def one(self, what: str, predicate: Callable[[ReadableSpan], bool]) -> ReadableSpan:
        found = self.find(predicate)
        assert found, f"no span for {what}; spans: {self.describe()}"
        return found[0]

    def ancestors(self, span: ReadableSpan) -> list[ReadableSpan]:
        chain: list[ReadableSpan] = []
        while span.parent is not None and span.parent.span_id in self.by_id:
            span = self.by_id[span.parent.span_id]
            chain.append(span)
        return chain

    def describe(self) -> str:
        return "; ".join(f"{service(s)}:{s.kind.name}:{s.name}" for s in self.spans)


def named(role: str, kind: SpanKind, name: str) -> Callable[[ReadableSpan], bool]:
    return lambda s: service(s) == f"reelhouse-{role}" and s.kind == kind and s.name == name


def http_client(role: str, method: str) -> Callable[[ReadableSpan], bool]:
    def matches(s: ReadableSpan) -> bool:
        attributes = s.attributes or {}
        used = attributes.get("http.request.method", attributes.get("http.method"))
        return service(s) == f"reelhouse-{role}" and s.kind == SpanKind.CLIENT and used == method

    return matches


# what one job must leave in its trace, once everything has finished
EXPECTED: dict[str, Callable[[ReadableSpan], bool]] = {
    "gateway POST": named("gateway", SpanKind.SERVER, "POST /v1/generations"),
    "gateway outbox relay": named("gateway", SpanKind.INTERNAL, "outbox.relay"),
    "gateway publish": named("gateway", SpanKind.PRODUCER, "gen.requested.v1 publish"),
    "dispatcher consume": named("dispatcher", SpanKind.CONSUMER, "gen.requested.v1 process"),
    "dispatcher provider call": http_client("dispatcher", "POST"),
    "sandbox server": lambda s: service(s) == "reelhouse-sandbox" and s.kind == SpanKind.SERVER,
    "dispatcher output publish": named("dispatcher", SpanKind.PRODUCER, "gen.output.v1 publish"),
    "downloader consume": named("downloader", SpanKind.CONSUMER, "gen.output.v1 process"),
    "downloader fetch": http_client("downloader", "GET"),
    "downloader storage put": named("downloader", SpanKind.CLIENT, "storage.put"),
    "downloader publish": named("downloader", SpanKind.PRODUCER, "gen.stored.v1 publish"),
    "projector consume": named("gateway", SpanKind.CONSUMER, "gen.stored.v1 process"),
}


async def test_one_job_leaves_one_trace_across_every_service(traced: System) -> None:
    assert traced.exporter is not None
    exporter = traced.exporter
    job = await traced.gateway.submit("a red fox in the snow", duration=1)
    await traced.gateway.wait_for_status(job["id"], "succeeded")

    def the_post() -> ReadableSpan:
        posts = [s for s in exporter.get_finished_spans() if s.name == "POST /v1/generations"]
        assert len(posts) == 1, [s.name for s in exporter.get_finished_spans()]
        return posts[0]

    root = the_post()

    async def complete() -> Trace | None:
        spans = [s for s in exporter.get_finished_spans() if trace_id(s) == trace_id(root)]
        found = Trace(spans)
        return found if all(found.find(p) for p in EXPECTED.values()) else None

    trace = await eventually(complete, what="every service's spans of the job")

    # one trace: every service took part, and every span hangs below the HTTP request
    assert {service(s) for s in trace.spans} == SERVICES
    assert root.parent is None
    for span in trace.spans:
        if span is not root:
            assert trace.ancestors(span)[-1:] == [root], f"{span.name} is not below the POST"

    # across the outbox: the relay (another task, later) publishes inside the request's trace
    relay = trace.one("outbox relay", EXPECTED["gateway outbox relay"])
    assert (relay.attributes or {}).get("reelhouse.job_id") == job["id"]
    assert root in trace.ancestors(relay)

    # across NATS: each consumer continues the publisher's trace, in order
    dispatcher = trace.one("dispatcher consume", EXPECTED["dispatcher consume"])
    assert relay in trace.ancestors(dispatcher)
    assert (dispatcher.attributes or {}).get("reelhouse.job_id") == job["id"]
    downloader = trace.one("downloader consume", EXPECTED["downloader consume"])
    assert dispatcher in trace.ancestors(downloader)
    projector = trace.one("projector consume", EXPECTED["projector consume"])
    assert downloader in trace.ancestors(projector)

    # provider HTTP: the sandbox's server span is the child of the dispatcher's client span
    calls = trace.find(EXPECTED["dispatcher provider call"])
    sandbox_spans = trace.find(EXPECTED["sandbox server"])
    assert any(
        s.parent is not None and s.parent.span_id in {span_id(c) for c in calls}
        for s in sandbox_spans
    ), trace.describe()
    assert all(dispatcher in trace.ancestors(c) for c in calls)

    # the download: fetched from the sandbox, then written to storage, inside the consume
    fetches = trace.find(EXPECTED["downloader fetch"])
    assert any(
        s.parent is not None and s.parent.span_id in {span_id(f) for f in fetches}
        for s in sandbox_spans
    ), trace.describe()
    puts = trace.find(EXPECTED["downloader storage put"])
    assert all(downloader in trace.ancestors(put) for put in puts)
    store = LocalObjectStore(traced.storage_root)
    written = {str((p.attributes or {})["reelhouse.storage.key"]): p for p in puts}
    assert f"outputs/{job['id']}/0.mp4" in written
    for key, put in written.items():
        assert (await store.stat(key)).size == (put.attributes or {})["reelhouse.storage.bytes"]

    # the broker really carried it: the stored message has the relay's W3C traceparent
    [requested] = await messages_on(traced.gateway.settings.nats.url, "gen.requested.v1")
    assert requested.headers is not None
    assert requested.headers["traceparent"].split("-")[1] == f"{trace_id(root):032x}"


async def test_with_tracing_off_nothing_is_recorded_or_sent(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    with otlp_receiver() as collector:
        # a collector is named, but tracing is not enabled: nothing may reach it
        tracing = TracingSettings(enabled=False, otlp_endpoint=collector.endpoint)
        async with running_system(
            nats_url=nats_server.url,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
            data_dir=tmp_path,
            tracing=tracing,
        ) as system:
            job = await system.gateway.submit("a red fox in the snow", duration=1)
            await system.gateway.wait_for_status(job["id"], "succeeded")
        # the services have stopped: a provider would have flushed by now
        assert collector.requests == []

    for subject in ("gen.requested.v1", "gen.output.v1", "gen.stored.v1"):
        for message in await messages_on(nats_server.url, subject):
            assert "traceparent" not in (message.headers or {}), subject
