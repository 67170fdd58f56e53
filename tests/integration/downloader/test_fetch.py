"""The fetcher against a real HTTP origin: redirects, the guard, limits, encodings, timeouts."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from reelhouse.common.errors import PermanentError, ReelhouseError, TransientError
from reelhouse.common.media.sniff import MP4, MediaType
from reelhouse.downloader.fetch import Fetched, Fetcher, FetchLimits, build_session
from reelhouse.downloader.guard import UrlGuard
from reelhouse.downloader.ingest import classify
from reelhouse.downloader.retry import RetryPolicy
from tests.integration.downloader.origin import Origin, Route
from tests.support.ports import free_port

DEV = UrlGuard.build(allowed_schemes=["http", "https"], allow_loopback=True)
MakeFetcher = Callable[..., AbstractAsyncContextManager[Fetcher]]


@pytest.fixture
def fetcher() -> MakeFetcher:
    """``async with fetcher(guard=..., max_bytes=..., read_timeout=...) as f``."""

    @asynccontextmanager
    async def make(
        *,
        guard: UrlGuard = DEV,
        read_timeout: float = 10.0,
        total_timeout: float = 30.0,
        **limits: Any,
    ) -> AsyncIterator[Fetcher]:
        session = build_session(guard, connect_timeout=5.0, read_timeout=read_timeout)
        async with session:
            yield Fetcher(
                session,
                guard,
                FetchLimits(
                    max_bytes=limits.get("max_bytes", 10 * 1024**2),
                    max_redirects=limits.get("max_redirects", 3),
                    total_timeout=total_timeout,
                    retry=RetryPolicy(
                        attempts=limits.get("attempts", 3), base_delay=0.01, max_delay=0.05
                    ),
                ),
            )

    return make


async def fetch(fetcher: MakeFetcher, url: str, **options: Any) -> tuple[Fetched[MediaType], bytes]:
    sink = io.BytesIO()
    async with fetcher(**options) as f:
        fetched = await f.fetch(url, sink, classify)
    return fetched, sink.getvalue()


async def fetch_error(fetcher: MakeFetcher, url: str, **options: Any) -> ReelhouseError:
    with pytest.raises(ReelhouseError) as caught:
        await fetch(fetcher, url, **options)
    return caught.value


async def test_the_body_arrives_whole_with_its_sha256(
    origin: Origin, fetcher: MakeFetcher, large_mp4: bytes
) -> None:
    fetched, body = await fetch(fetcher, origin.serve("/a.mp4", Route(large_mp4)))

    assert body == large_mp4
    assert fetched.size == len(large_mp4)
    assert fetched.sha256 == hashlib.sha256(large_mp4).hexdigest()
    assert fetched.verdict == MP4
    assert fetched.claimed_type == "video/mp4"


async def test_redirects_are_followed_and_relative_locations_resolved(
    origin: Origin, fetcher: MakeFetcher, sample_mp4: bytes
) -> None:
    origin.serve("/final.mp4", Route(sample_mp4))
    origin.serve("/hop", Route(location="/final.mp4"))
    url = origin.serve("/start", Route(location=origin.url("/hop")))

    _, body = await fetch(fetcher, url)

    assert body == sample_mp4
    assert origin.hits["/final.mp4"] == 1


async def test_a_redirect_loop_is_a_permanent_failure(origin: Origin, fetcher: MakeFetcher) -> None:
    url = origin.serve("/loop", Route(location="/loop"))

    error = await fetch_error(fetcher, url, max_redirects=3)

    assert isinstance(error, PermanentError)
    assert error.code == "download_failed"
    assert origin.hits["/loop"] == 4


async def test_a_redirect_to_a_refused_scheme_is_blocked(
    origin: Origin, fetcher: MakeFetcher
) -> None:
    url = origin.serve("/to-file", Route(location="file:///etc/passwd"))

    error = await fetch_error(fetcher, url)

    assert error.code == "download_blocked"


async def test_a_name_resolving_to_loopback_is_blocked_in_production(
    origin: Origin, fetcher: MakeFetcher, sample_mp4: bytes
) -> None:
    origin.serve("/x.mp4", Route(sample_mp4))
    strict = UrlGuard.build(allowed_schemes=["http"])
    by_name = origin.url("/x.mp4").replace("127.0.0.1", "localhost")

    by_name_error = await fetch_error(fetcher, by_name, guard=strict)
    literal_error = await fetch_error(fetcher, origin.url("/x.mp4"), guard=strict)

    assert by_name_error.code == "download_blocked"
    assert "localhost resolves to a loopback address" in by_name_error.message
    assert literal_error.code == "download_blocked"
    assert origin.hits["/x.mp4"] == 0


@pytest.mark.parametrize(
    "url", ["http://2130706433/x.mp4", "http://[::1/x.mp4", "http://exa mple.com:99999/x.mp4"]
)
async def test_a_malformed_url_is_blocked_not_retried(fetcher: MakeFetcher, url: str) -> None:
    error = await fetch_error(fetcher, url)

    assert isinstance(error, PermanentError)
    assert error.code == "download_blocked"


async def test_a_redirect_into_a_refused_network_is_blocked(
    origin: Origin, fetcher: MakeFetcher
) -> None:
    url = origin.serve("/to-metadata", Route(location="http://169.254.169.254/latest/meta-data/"))

    error = await fetch_error(fetcher, url)

    assert error.code == "download_blocked"
    assert "link-local" in error.message


async def test_a_chunked_body_is_cut_off_at_max_bytes(
    origin: Origin, fetcher: MakeFetcher, large_mp4: bytes
) -> None:
    limit = 200_000
    url = origin.serve("/endless.mp4", Route(large_mp4, chunked=True))

    with pytest.raises(PermanentError) as caught:
        await fetch(fetcher, url, max_bytes=limit)

    assert caught.value.code == "too_large"


async def test_not_media_is_decided_from_the_first_bytes_without_reading_the_rest(
    origin: Origin, fetcher: MakeFetcher
) -> None:
    page = b"<html><body>" + b"<p>sorry</p>" * 500_000  # ~6 MB of HTML
    url = origin.serve("/page", Route(page, content_type="video/mp4", chunk=16 * 1024, pause=0.01))
    sink = io.BytesIO()

    async with fetcher() as f:
        with pytest.raises(PermanentError) as caught:
            await f.fetch(url, sink, classify)

    assert caught.value.code == "not_media"
    assert sink.tell() < len(page)
    assert origin.sent["/page"] < len(page)


async def test_a_gzip_encoded_body_is_stored_decoded(
    origin: Origin, fetcher: MakeFetcher, sample_mp4: bytes
) -> None:
    url = origin.serve("/packed.mp4", Route(sample_mp4, gzip=True))

    fetched, body = await fetch(fetcher, url)

    assert body == sample_mp4
    assert fetched.sha256 == hashlib.sha256(sample_mp4).hexdigest()


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_throttling_and_server_errors_are_transient(
    origin: Origin, fetcher: MakeFetcher, status: int
) -> None:
    url = origin.serve("/err", Route(b"try later", status=status, content_type="text/plain"))

    error = await fetch_error(fetcher, url)

    assert isinstance(error, TransientError)
    assert error.code == "download_failed"


async def test_a_refused_connection_is_transient(fetcher: MakeFetcher) -> None:
    error = await fetch_error(fetcher, f"http://127.0.0.1:{free_port()}/gone.mp4")

    assert isinstance(error, TransientError)
    assert error.code == "download_failed"


async def test_a_stalled_origin_times_out_as_transient(
    origin: Origin, fetcher: MakeFetcher, large_mp4: bytes
) -> None:
    url = origin.serve("/stall.mp4", Route(large_mp4, chunk=64 * 1024, pause=5.0))

    error = await fetch_error(fetcher, url, read_timeout=0.5)

    assert isinstance(error, TransientError)
    assert error.code == "download_failed"
