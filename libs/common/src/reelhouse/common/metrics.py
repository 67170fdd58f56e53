"""Prometheus metrics every service shares, and how ``/metrics`` is served.

Each service is one process, so the default registry of ``prometheus_client`` is
the one registry: metric objects are defined once at import (here, and in each
service's own ``metrics.py``) and ``/metrics`` renders it. Every metric of our own
starts with ``reelhouse_``; library collectors keep their prefixes (``python_``,
``process_``, and FastStream's ``faststream_`` for the consumers).
"""

from __future__ import annotations

import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "reelhouse_"
# a method outside these is counted as "other": clients choose methods, label values must stay few
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# latency buckets (seconds) for calls that take from milliseconds to a minute
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

HTTP_REQUESTS = Counter(
    "reelhouse_http_requests_total",
    "HTTP requests answered, by service, method and status code",
    ["service", "method", "status"],
)
HTTP_RESPONSE_BYTES = Counter(
    "reelhouse_http_response_bytes_total",
    "Bytes of HTTP response bodies sent, by service and status code",
    ["service", "status"],
)
HTTP_DURATION = Histogram(
    "reelhouse_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by service and method",
    ["service", "method"],
    buckets=LATENCY_BUCKETS,
)
VALIDATION_FAILURES = Counter(
    "reelhouse_validation_failures_total",
    "Inputs refused as invalid, by service and error code (gateway 422s, downloader not_media…)",
    ["service", "code"],
)
BROKER_UP = Gauge(
    "reelhouse_broker_up",
    "1 while NATS JetStream answered the last bounded round trip, 0 otherwise",
    ["service"],
)
CONSUMER_PENDING = Gauge(
    "reelhouse_consumer_pending_messages",
    "Messages in the stream not yet delivered to the durable consumer (its lag)",
    ["service", "consumer"],
)
CONSUMER_ACK_PENDING = Gauge(
    "reelhouse_consumer_ack_pending_messages",
    "Messages delivered to the durable consumer and not acknowledged yet",
    ["service", "consumer"],
)
REDELIVERIES = Counter(
    "reelhouse_redeliveries_total",
    "Messages received with a delivery count above 1, by service and durable consumer",
    ["service", "consumer"],
)

DEAD_LETTERS = Counter(
    "reelhouse_dead_letters_total",
    "Poison messages recorded on the dead-letter stream and terminated, by durable consumer "
    "and code (undecodable, invalid_event, unknown_subject, unknown_job)",
    ["consumer", "code"],
)


def render(registry: CollectorRegistry = REGISTRY) -> Response:
    """The registry in the Prometheus text format."""
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


async def metrics_endpoint(request: Request) -> Response:
    return render()


class HttpMetricsMiddleware:
    """Counts every HTTP request by status, the bytes of its body, and its duration.

    Bytes are summed in a local integer while the response streams and counted once
    when it ends, so a long media stream costs one addition per chunk, not a metric update.
    """

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        sent = 0

        async def counting_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            elif message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
        try:
            await self.app(scope, receive, counting_send)
        finally:
            code = str(status)
            HTTP_REQUESTS.labels(self.service, method, code).inc()
            if sent:
                HTTP_RESPONSE_BYTES.labels(self.service, code).inc(sent)
            HTTP_DURATION.labels(self.service, method).observe(time.perf_counter() - started)
