"""The Grafana dashboard (``deploy/grafana/reelhouse.json``) queries only metrics we register.

The names come from the registry itself, after importing every service's metrics module and
instrumenting a broker (FastStream's middleware registers its own), so a renamed metric or
a typo in a panel fails here instead of drawing an empty graph.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from faststream.nats import NatsBroker
from prometheus_client import REGISTRY

import reelhouse.dispatcher.metrics
import reelhouse.downloader.metrics
import reelhouse.gateway.metrics
from reelhouse.common.consumermetrics import instrument_broker

DASHBOARD = Path(__file__).parents[3] / "deploy" / "grafana" / "reelhouse.json"
# what a sample of each metric type is called, from the family's name
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
}
# metric names in PromQL: ours and FastStream's (functions, labels and keywords are not)
METRIC_NAME = re.compile(r"\b((?:reelhouse|faststream)_[a-zA-Z0-9_]+)\b")


def registered_names() -> set[str]:
    assert reelhouse.gateway.metrics.JOBS_ACCEPTED is not None  # every module imported
    assert reelhouse.dispatcher.metrics.PROVIDER_ERRORS is not None
    assert reelhouse.downloader.metrics.DOWNLOADS is not None
    instrument_broker(NatsBroker(), service="dashboard-test")
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
    return names


def expressions(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("expr"), str):
            yield node["expr"]
        for child in node.values():
            yield from expressions(child)
    elif isinstance(node, list):
        for child in node:
            yield from expressions(child)


def test_every_metric_the_dashboard_queries_is_registered() -> None:
    queried = {
        name
        for expr in expressions(json.loads(DASHBOARD.read_text()))
        for name in METRIC_NAME.findall(expr)
    }

    assert queried, "no PromQL found in the dashboard"
    assert queried - registered_names() == set()


def test_the_dashboard_covers_jobs_providers_consumers_outbox_downloads_and_media() -> None:
    queried = " ".join(expressions(json.loads(DASHBOARD.read_text())))

    for name in (
        "reelhouse_jobs_accepted_total",
        "reelhouse_jobs_finished_total",
        "reelhouse_job_state_seconds_bucket",
        "reelhouse_provider_request_duration_seconds_bucket",
        "reelhouse_provider_errors_total",
        "reelhouse_consumer_pending_messages",
        "reelhouse_redeliveries_total",
        "reelhouse_outbox_pending_messages",
        "reelhouse_outbox_oldest_age_seconds",
        "reelhouse_download_bytes_total",
        "reelhouse_validation_failures_total",
        "reelhouse_http_response_bytes_total",
    ):
        assert name in queried, name


def test_every_metric_of_ours_is_named_reelhouse() -> None:
    ours = {
        family.name
        for family in REGISTRY.collect()
        if not family.name.startswith(("python_", "process_", "faststream_"))
    }

    assert ours
    assert {name for name in ours if not name.startswith("reelhouse_")} == set()
