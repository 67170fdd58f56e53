"""Traces from real processes: ``make run`` with tracing on exports OTLP/HTTP to a collector.

The embedded system runs each service as ``python -m reelhouse.<role>``; the environment
turns tracing on for all of them and names a stand-in collector. One job's spans arrive
from every service of the pipeline under one trace id.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import EmbeddedSystem, running_system
from tests.e2e.jobs import submit, wait_final
from tests.support.otlp import OtlpReceiver, ReceivedSpan, otlp_receiver

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PIPELINE = {
    "reelhouse-gateway",
    "reelhouse-dispatcher",
    "reelhouse-sandbox",
    "reelhouse-downloader",
}
EXPORT_WAIT_SECONDS = 30.0
# a few spans each service must have sent for the job (the integration test checks them all)
REQUIRED = {
    ("reelhouse-gateway", "POST /v1/generations"),
    ("reelhouse-gateway", "outbox.relay"),
    ("reelhouse-dispatcher", "gen.requested.v1 process"),
    ("reelhouse-sandbox", "POST /v1/models/{owner}/{name}/predictions"),
    ("reelhouse-downloader", "gen.output.v1 process"),
    ("reelhouse-downloader", "storage.put"),
    ("reelhouse-gateway", "gen.stored.v1 process"),
}


@pytest.fixture(scope="module")
def collector() -> Iterator[OtlpReceiver]:
    with otlp_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def traced_system(
    tmp_path_factory: pytest.TempPathFactory, collector: OtlpReceiver
) -> Iterator[EmbeddedSystem]:
    # the SDK's batch delay (OTEL_BSP_SCHEDULE_DELAY, in ms): spans reach the collector soon
    # after they end
    with running_system(
        tmp_path_factory,
        REELHOUSE_TRACING__ENABLED="true",
        REELHOUSE_TRACING__OTLP_ENDPOINT=collector.endpoint,
        OTEL_BSP_SCHEDULE_DELAY="200",
    ) as running:
        yield running


def spans_of_trace(collector: OtlpReceiver, trace_id: str) -> list[ReceivedSpan]:
    return [s for s in collector.spans() if s.trace_id == trace_id]


def test_one_job_reaches_the_collector_as_one_trace_from_every_service(
    traced_system: EmbeddedSystem, collector: OtlpReceiver
) -> None:
    with traced_system.client() as client:
        job = submit(client, "sandbox/text-to-video", {"prompt": "a heron", "duration": 1})
        final, _ = wait_final(client, job["id"])
    assert final["status"] == "succeeded", final

    def job_trace() -> tuple[list[ReceivedSpan], list[ReceivedSpan]]:
        posts = [
            s
            for s in collector.spans()
            if s.service == "reelhouse-gateway" and s.name == "POST /v1/generations"
        ]
        return posts, spans_of_trace(collector, posts[0].trace_id) if posts else []

    # spans arrive in batches from each process: wait until the last of them are in
    deadline = time.monotonic() + EXPORT_WAIT_SECONDS
    posts, spans = job_trace()
    while not {(s.service, s.name) for s in spans} >= REQUIRED and time.monotonic() < deadline:
        time.sleep(0.2)
        posts, spans = job_trace()

    assert len(posts) == 1, [s.name for s in collector.spans()]
    assert {s.service for s in spans} >= PIPELINE
    missing = REQUIRED - {(s.service, s.name) for s in spans}
    assert not missing, f"not in the job's trace: {sorted(missing)}"
    assert set(collector.paths) == {"/v1/traces"}


def test_service_logs_carry_the_trace_id(traced_system: EmbeddedSystem) -> None:
    with traced_system.client() as client:
        job = submit(client, "sandbox/text-to-image", {"prompt": "a heron"})
        final, _ = wait_final(client, job["id"])
    assert final["status"] == "succeeded", final

    logs = traced_system.runner.log_dir
    accepted = [
        line
        for path in logs.glob("*.log")
        for line in path.read_text().splitlines()
        if '"job.accepted"' in line and job["id"] in line
    ]
    assert accepted, f"no job.accepted line in {sorted(p.name for p in logs.glob('*.log'))}"
    assert all('"trace_id"' in line for line in accepted), accepted
