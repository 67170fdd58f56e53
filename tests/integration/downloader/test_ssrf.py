"""The SSRF guard on real HTTP: hostile DNS answers and redirects end ``download_blocked``.

Nothing here may contact an address other than loopback: names resolve through ``FakeDns``
and every socket comes from ``LoopbackOnly``, which records (and refuses) any other address;
each test checks that list is empty, and that the origin saw only what it should.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from yarl import URL

from reelhouse.common.errors import ReelhouseError
from reelhouse.common.events import GenerationFailed
from reelhouse.downloader.fetch import Fetcher, FetchLimits, build_session
from reelhouse.downloader.guard import UrlGuard
from reelhouse.downloader.ingest import classify
from reelhouse.downloader.retry import RetryPolicy
from tests.integration.downloader.conftest import RunDownloader
from tests.integration.downloader.jobs import output_ready
from tests.integration.downloader.network import HOSTILE_ANSWERS, FakeDns, LoopbackOnly
from tests.integration.downloader.observations import JetStreamEvents
from tests.integration.downloader.origin import Origin, Route, running_origin

DEV = UrlGuard.build(allowed_schemes=["http", "https"], allow_loopback=True)


@dataclass
class Network:
    dns: FakeDns
    sockets: LoopbackOnly


@pytest.fixture
def network() -> Network:
    return Network(FakeDns({"origin.test": "127.0.0.1", **HOSTILE_ANSWERS}), LoopbackOnly())


@pytest.fixture(autouse=True)
def nothing_but_loopback(network: Network) -> Iterator[None]:
    yield
    assert network.sockets.refused == [], "a connection beyond loopback was attempted"


@asynccontextmanager
async def guarded_fetcher(network: Network, guard: UrlGuard = DEV) -> AsyncIterator[Fetcher]:
    session = build_session(
        guard,
        connect_timeout=5.0,
        read_timeout=5.0,
        resolver=network.dns,
        socket_factory=network.sockets,
    )
    async with session:
        limits = FetchLimits(max_bytes=10**7, retry=RetryPolicy(attempts=2, base_delay=0.01))
        yield Fetcher(session, guard, limits)


async def blocked(network: Network, url: str, *, provider: str | None = None) -> ReelhouseError:
    async with guarded_fetcher(network) as fetcher:
        with pytest.raises(ReelhouseError) as caught:
            await fetcher.fetch(url, io.BytesIO(), classify, provider=provider)
    return caught.value


def by_name(origin: Origin, path: str) -> str:
    return origin.url(path).replace("127.0.0.1", "origin.test")


@pytest.mark.parametrize("host", sorted(HOSTILE_ANSWERS))
async def test_a_name_resolving_to_an_internal_address_is_blocked(
    network: Network, host: str
) -> None:
    error = await blocked(network, f"http://{host}/out.mp4")

    assert error.code == "download_blocked"
    assert HOSTILE_ANSWERS[host] in error.message
    assert network.dns.asked == [host]
    assert network.sockets.connected == []


@pytest.mark.parametrize("host", sorted(HOSTILE_ANSWERS))
async def test_a_redirect_to_a_name_resolving_inside_is_blocked_before_connecting(
    origin: Origin, network: Network, host: str
) -> None:
    start = origin.serve("/hop", Route(location=f"http://{host}/latest/meta-data/"))

    error = await blocked(network, start.replace("127.0.0.1", "origin.test"))

    assert error.code == "download_blocked"
    assert origin.hits["/hop"] == 1
    assert network.dns.asked == ["origin.test", host]


@pytest.mark.parametrize(
    "literal", ["10.0.0.1", "169.254.169.254", "[fd00::1]", "[::ffff:10.0.0.1]", "[::10.0.0.1]"]
)
async def test_an_internal_ip_literal_is_blocked_without_dns_or_sockets(
    network: Network, literal: str
) -> None:
    error = await blocked(network, f"http://{literal}/out.mp4")

    assert error.code == "download_blocked"
    assert network.dns.asked == []
    assert network.sockets.connected == []


async def test_a_host_off_the_providers_allow_list_is_blocked_even_by_redirect(
    origin: Origin, network: Network, sample_mp4: bytes
) -> None:
    guard = UrlGuard.build(
        allowed_schemes=["http"], allow_loopback=True, allowed_hosts={"acme": ["origin.test"]}
    )
    origin.serve("/ok.mp4", Route(sample_mp4))
    start = origin.serve("/away", Route(location="http://outputs.sandbox.invalid/x.mp4"))

    async with guarded_fetcher(network, guard) as fetcher:
        body = io.BytesIO()
        await fetcher.fetch(by_name(origin, "/ok.mp4"), body, classify, provider="acme")
        with pytest.raises(ReelhouseError) as caught:
            await fetcher.fetch(start, io.BytesIO(), classify, provider="acme")

    assert body.getvalue() == sample_mp4
    assert network.sockets.connected  # the test transport really carried the allowed fetch
    assert caught.value.code == "download_blocked"
    assert "not on the allow-list" in caught.value.message
    assert origin.hits["/away"] == 0  # 127.0.0.1 is not on the list either
    assert "outputs.sandbox.invalid" not in network.dns.asked


async def test_credentials_never_follow_a_redirect_to_another_origin(
    origin: Origin, network: Network, sample_mp4: bytes
) -> None:
    async with running_origin() as elsewhere:
        elsewhere.serve("/final.mp4", Route(sample_mp4))
        origin.serve("/same", Route(location="/hop"))
        origin.serve("/hop", Route(location=elsewhere.url("/final.mp4")))
        start = URL(origin.url("/same")).with_user("user").with_password("secret")

        async with guarded_fetcher(network) as fetcher:
            body = io.BytesIO()
            await fetcher.fetch(str(start), body, classify)

    assert body.getvalue() == sample_mp4
    assert "Authorization" in origin.requests["/same"][0]
    assert "Authorization" in origin.requests["/hop"][0]  # same origin: still ours
    assert "Authorization" not in elsewhere.requests["/final.mp4"][0]


async def test_a_job_whose_output_resolves_to_the_metadata_service_fails_blocked(
    events: JetStreamEvents, run_downloader: RunDownloader, network: Network
) -> None:
    event = output_ready("http://metadata.test/latest/meta-data/iam")

    async with run_downloader(resolver=network.dns, socket_factory=network.sockets):
        await events.publish(event)
        outcome = await events.wait_for((GenerationFailed.subject,), event.job_id)

    assert isinstance(outcome, GenerationFailed)
    assert outcome.error.code == "download_blocked"
    assert "169.254.169.254" in outcome.error.message
    assert network.sockets.connected == []
