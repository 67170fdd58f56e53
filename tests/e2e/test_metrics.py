"""Every service's ``/metrics`` after one job through the whole system (as ``make run`` starts it).

Scraped over HTTP and parsed with ``prometheus_client.parser``, as Prometheus would: the
counters that tell an operator what happened moved on each service, and every metric of
our own is named ``reelhouse_…`` (libraries keep their prefixes).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from prometheus_client.samples import Sample

from tests.e2e.conftest import EmbeddedSystem
from tests.e2e.jobs import submit, wait_final
from tests.support.scrape import parse, value

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

MODEL = "sandbox/text-to-video"
LIBRARY_PREFIXES = ("python_", "process_", "faststream_")
SCRAPE_WAIT_SECONDS = 15.0


def scrape(base_url: str) -> list[Sample]:
    response = httpx.get(f"{base_url}/metrics", timeout=10.0)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def settled(base_url: str, moved: Callable[[list[Sample]], bool]) -> list[Sample]:
    """Scrape until ``moved`` holds (a counter is bumped just after the response it counts)."""
    deadline = time.monotonic() + SCRAPE_WAIT_SECONDS
    while True:
        samples = scrape(base_url)
        if moved(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.1)


def own_names(samples: list[Sample]) -> set[str]:
    return {s.name for s in samples if not s.name.startswith(LIBRARY_PREFIXES)}


def test_one_job_moves_the_counters_of_every_service(system: EmbeddedSystem) -> None:
    services = {
        "gateway": system.gateway,
        "dispatcher": system.dispatcher,
        "downloader": system.downloader,
        "media": system.media,
        "sandbox": system.sandbox,
    }
    before = {name: scrape(url) for name, url in services.items()}

    with system.client() as client:
        refused = client.post("/v1/generations", json={"model": MODEL, "input": {"duration": 3}})
        assert refused.status_code == 422
        job = submit(
            client, MODEL, {"prompt": "a heron", "duration": 1, "width": 160, "height": 96}
        )
        final, _ = wait_final(client, job["id"])
    assert final["status"] == "succeeded", final
    [output] = final["outputs"]
    with httpx.Client(timeout=30.0) as browser:
        part = browser.get(output["url"], headers={"Range": "bytes=0-999"})
    assert part.status_code == 206

    def delta(of: str, samples: list[Sample], name: str, /, **labels: str) -> float:
        return value(samples, name, **labels) - value(before[of], name, **labels)

    gateway = settled(
        system.gateway,
        lambda s: delta("gateway", s, "reelhouse_jobs_finished_total", model=MODEL) >= 1,
    )
    accepted = {"model": MODEL, "status": "queued"}
    assert delta("gateway", gateway, "reelhouse_jobs_accepted_total", **accepted) == 1
    finished = {"model": MODEL, "status": "succeeded", "code": ""}
    assert delta("gateway", gateway, "reelhouse_jobs_finished_total", **finished) == 1
    for state in ("queued", "submitted", "downloading"):
        left = delta("gateway", gateway, "reelhouse_job_state_seconds_count", state=state)
        assert left >= 1, state
    refusals = {"service": "gateway", "code": "validation_error"}
    assert delta("gateway", gateway, "reelhouse_validation_failures_total", **refusals) == 1
    assert delta("gateway", gateway, "reelhouse_outbox_published_total") >= 1
    assert "reelhouse_outbox_pending_messages" in own_names(gateway)
    assert "reelhouse_outbox_oldest_age_seconds" in own_names(gateway)
    projected = {"app_name": "gateway"}
    assert delta("gateway", gateway, "faststream_received_messages_total", **projected) >= 4

    dispatcher = settled(
        system.dispatcher,
        lambda s: delta("dispatcher", s, "reelhouse_provider_request_duration_seconds_count") >= 1,
    )
    submits = {"provider": "sandbox", "operation": "submit"}
    assert (
        delta(
            "dispatcher", dispatcher, "reelhouse_provider_request_duration_seconds_count", **submits
        )
        == 1
    )
    assert value(dispatcher, "reelhouse_broker_up", service="dispatcher") == 1
    assert "reelhouse_consumer_pending_messages" in own_names(dispatcher)

    downloader = settled(
        system.downloader,
        lambda s: delta("downloader", s, "reelhouse_download_bytes_total") >= output["size"],
    )
    assert delta("downloader", downloader, "reelhouse_download_bytes_total") == output["size"]
    assert delta("downloader", downloader, "reelhouse_downloads_total", outcome="stored") == 1
    consumed = {"app_name": "downloader", "status": "acked"}
    assert (
        delta("downloader", downloader, "faststream_received_processed_messages_total", **consumed)
        == 1
    )
    lag = {"service": "downloader", "consumer": "downloader"}
    assert value(downloader, "reelhouse_consumer_pending_messages", **lag) == 0

    ranged = {"service": "media", "status": "206"}
    media = settled(
        system.media,
        lambda s: delta("media", s, "reelhouse_http_requests_total", **ranged) >= 1,
    )
    assert delta("media", media, "reelhouse_http_requests_total", **ranged) == 1
    assert delta("media", media, "reelhouse_http_response_bytes_total", **ranged) == 1000

    sandbox = settled(
        system.sandbox,
        lambda s: delta("sandbox", s, "reelhouse_http_requests_total", service="sandbox") >= 2,
    )
    assert delta("sandbox", sandbox, "reelhouse_http_requests_total", service="sandbox") >= 2

    for name, samples in {
        "gateway": gateway,
        "dispatcher": dispatcher,
        "downloader": downloader,
        "media": media,
        "sandbox": sandbox,
    }.items():
        strays = {n for n in own_names(samples) if not n.startswith("reelhouse_")}
        assert not strays, f"{name} exposes metrics outside reelhouse_: {strays}"


def test_every_service_answers_its_probes(system: EmbeddedSystem) -> None:
    for name, url in {
        "gateway": system.gateway,
        "dispatcher": system.dispatcher,
        "downloader": system.downloader,
        "assembler": system.assembler,
        "media": system.media,
        "sandbox": system.sandbox,
    }.items():
        live = httpx.get(f"{url}/livez", timeout=10.0)
        ready = httpx.get(f"{url}/readyz", timeout=10.0)
        alias = httpx.get(f"{url}/healthz", timeout=10.0)

        assert live.status_code == 200, name
        assert live.json() == {"status": "ok"}, name
        assert ready.status_code == 200, (name, ready.text)
        assert ready.json()["status"] == "ok", name
        assert set(ready.json()["checks"].values()) <= {"ok"}, name
        assert alias.json() == ready.json(), name
