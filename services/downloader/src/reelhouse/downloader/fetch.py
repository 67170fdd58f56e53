"""Stream one provider URL to a file: bounded memory, retries that finish, resumed transfers.

aiohttp, not httpx, by measurement (services/downloader/README.md): streaming a 200 MB file
from a local server, httpx moved about a quarter of what aiohttp moved.

Each attempt has its own connect and read timeouts (the session's); failed attempts are
retried with exponential backoff and jitter until ``RetryPolicy.attempts`` or the deadline
(``total_timeout``, or earlier when the provider says when its URL expires). A body cut
part-way is resumed with ``Range: bytes=<received>-`` (``transfer.Download``), not fetched
again from the start. Every attempt and every redirect hop passes the guard.

Failures map onto the catalogue: 401/403/404/410 → ``output_url_expired``; other 4xx →
``download_failed`` (permanent), except 408/425/429 which are retried; 5xx, connection
errors and timeouts → ``download_failed`` (transient once the attempts are spent); a body
that keeps ending before its Content-Length → ``truncated``; past ``max_bytes`` →
``too_large``; refused by the guard → ``download_blocked``.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, Generic, TypeVar

import aiohttp
import structlog
from aiohttp.abc import AbstractResolver
from yarl import URL

from reelhouse.common.errors import PermanentError, ReelhouseError, TransientError
from reelhouse.common.media.sniff import printable_hint
from reelhouse.downloader.guard import BlockedAddressError, GuardedResolver, UrlGuard
from reelhouse.downloader.retry import Deadline, RetryPolicy
from reelhouse.downloader.transfer import CutError, Download, Head, check_size

__all__ = ["FetchLimits", "Fetched", "Fetcher", "Head", "build_session", "check_size"]

log = structlog.get_logger(__name__)

T = TypeVar("T")

ERROR_BODY_BYTES = 1024
EXPIRED_STATUSES = frozenset({401, 403, 404, 410})
RETRYABLE_CLIENT_STATUSES = frozenset({408, 425, 429})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "reelhouse-downloader/0.1"

SocketFactory = Callable[[Any], socket.socket]


@dataclass(frozen=True, slots=True)
class FetchLimits:
    max_bytes: int
    max_redirects: int = 5
    total_timeout: float = 1800.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True, slots=True)
class Fetched(Generic[T]):
    size: int
    sha256: str
    claimed_type: str | None
    verdict: T
    attempts: int = 1
    resumes: int = 0


def public_url(url: URL | str) -> str:
    """A URL fit for logs and messages: provider URLs carry signatures in the query."""
    try:
        parsed = url if isinstance(url, URL) else URL(url, encoded=True)
        parsed = parsed.with_query(None).with_fragment(None)
        if parsed.raw_user is not None or parsed.raw_password is not None:
            parsed = parsed.with_user(None)
    except ValueError:
        return "(an unparseable URL)"
    return str(parsed)


def status_error(status: int, url: URL, body: bytes) -> ReelhouseError | None:
    """The failure an HTTP status means for an output URL; None for a success."""
    if 200 <= status < 300:
        return None
    where = public_url(url)
    detail = f"HTTP {status}: {printable_hint(body, 200)}" if body else f"HTTP {status}"
    if status in EXPIRED_STATUSES:
        return PermanentError(
            "output_url_expired",
            f"The output URL answered HTTP {status} ({where}): it expired or was revoked.",
            detail=detail,
        )
    if status in RETRYABLE_CLIENT_STATUSES or status >= 500:
        return TransientError(
            "download_failed", f"The output URL answered HTTP {status} ({where}).", detail=detail
        )
    return PermanentError(
        "download_failed", f"The output URL answered HTTP {status} ({where}).", detail=detail
    )


def build_session(
    guard: UrlGuard,
    *,
    connect_timeout: float,
    read_timeout: float,
    limit: int = 16,
    resolver: AbstractResolver | None = None,
    socket_factory: SocketFactory | None = None,
    trace_configs: list[aiohttp.TraceConfig] | None = None,
) -> aiohttp.ClientSession:
    """One pooled session per process, resolving through the guard, ignoring proxy variables.

    ``resolver`` (the DNS under the guard) and ``socket_factory`` are for tests: a resolver
    that maps test names to chosen addresses, and a factory that refuses to connect.
    """
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            resolver=GuardedResolver(guard, resolver),
            limit=limit,
            socket_factory=socket_factory,
        ),
        timeout=aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, sock_read=read_timeout
        ),
        # a proxy would resolve hosts for us and bypass the guard
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        # OpenTelemetry's client spans, when tracing is on
        trace_configs=trace_configs,
        # media is already compressed; ask for the bytes as they are stored
        headers={"Accept-Encoding": "identity", "User-Agent": USER_AGENT},
    )


def next_hop(current: URL, location: str, first: URL) -> URL:
    """The redirect target; credentials of the first URL never travel to another origin."""
    target = current.join(URL(location, encoded=True))
    if target.origin() != first.origin() and (target.raw_user or target.raw_password):
        target = target.with_user(None)
    return target


class Fetcher:
    """Downloads provider outputs through one shared session."""

    def __init__(self, session: aiohttp.ClientSession, guard: UrlGuard, limits: FetchLimits):
        self._session = session
        self._guard = guard
        self._limits = limits

    async def fetch(
        self,
        url: str,
        sink: BinaryIO,
        classify: Callable[[Head], T],
        *,
        provider: str | None = None,
        expires_at: datetime | None = None,
    ) -> Fetched[T]:
        """Stream ``url`` into ``sink``; ``classify`` judges the first bytes and may raise."""
        started = time.monotonic()
        deadline = Deadline.for_output(
            total_timeout=self._limits.total_timeout, expires_at=expires_at
        )
        download = Download(sink=sink, classify=classify, limit=self._limits.max_bytes)
        try:
            target = URL(url, encoded=True)
            async with asyncio.timeout(self._limits.total_timeout):
                attempts = await self._attempts(target, download, provider, deadline)
        except TimeoutError as exc:
            raise TransientError(
                "download_failed", f"Timed out downloading {public_url(url)}."
            ) from exc
        except (aiohttp.InvalidURL, ValueError) as exc:
            # yarl and aiohttp refuse malformed URLs (and redirect targets) with ValueError
            raise PermanentError(
                "download_blocked", f"The output URL is not valid: {public_url(url)}."
            ) from exc
        sink.flush()
        elapsed = time.monotonic() - started
        log.info(
            "download.fetched",
            url=public_url(url),
            bytes=download.received,
            attempts=attempts,
            resumes=download.resumes,
            seconds=round(elapsed, 3),
            mb_per_s=round(download.received / max(elapsed, 1e-6) / 1e6, 1),
        )
        return Fetched(
            size=download.received,
            sha256=download.digest.hexdigest(),
            claimed_type=download.claimed_type,
            verdict=download.verdict(),
            attempts=attempts,
            resumes=download.resumes,
        )

    async def _attempts(
        self, url: URL, download: Download[T], provider: str | None, deadline: Deadline
    ) -> int:
        """Attempt until the body is whole; the number of attempts it took."""
        policy = self._limits.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._attempt(url, download, provider)
                return attempt
            except (TransientError, CutError) as exc:
                pause = policy.delay(attempt)
                if attempt >= policy.attempts or not deadline.allows(pause):
                    raise _give_up(exc, attempt, url, deadline) from exc
                log.info(
                    "download.retrying",
                    attempt=attempt,
                    pause=round(pause, 3),
                    received=download.received,
                    error=str(exc),
                )
                await asyncio.sleep(pause)

    async def _attempt(self, url: URL, download: Download[T], provider: str | None) -> None:
        headers = download.request_headers()
        ranged = "Range" in headers
        try:
            async with self._open(url, headers, provider, ranged=ranged) as response:
                download.accept(response, ranged=ranged)
                await download.consume(response)
        except aiohttp.InvalidURL as exc:
            raise PermanentError(
                "download_blocked", f"The output URL is not valid: {public_url(url)}."
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, BlockedAddressError):
                raise PermanentError(
                    "download_blocked", f"The output URL may not be fetched: {exc.os_error}."
                ) from exc
            raise TransientError(
                "download_failed", f"Could not connect to {exc.host}:{exc.port}: {exc.os_error}."
            ) from exc
        except aiohttp.ClientError as exc:
            raise TransientError(
                "download_failed", f"Downloading {public_url(url)} failed: {exc!r}."
            ) from exc
        except TimeoutError as exc:  # the response headers did not come in time
            raise TransientError(
                "download_failed", f"{public_url(url)} did not answer in time."
            ) from exc

    @asynccontextmanager
    async def _open(
        self, first: URL, headers: dict[str, str], provider: str | None, *, ranged: bool
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """The final response after guarded redirects; HTTP errors raised as catalogue codes."""
        url = first
        for _ in range(self._limits.max_redirects + 1):
            self._guard.check_url(url, provider=provider)
            async with self._session.get(url, headers=headers, allow_redirects=False) as response:
                if response.status in REDIRECT_STATUSES:
                    location = response.headers.get("Location")
                    if not location:
                        raise PermanentError(
                            "download_failed",
                            f"The output URL redirected without a Location ({public_url(url)}).",
                        )
                    url = next_hop(url, location, first)
                    log.info("download.redirected", status=response.status, to=public_url(url))
                    continue
                if not (ranged and response.status == 416):
                    body = b"" if response.ok else await _error_body(response)
                    if (error := status_error(response.status, url, body)) is not None:
                        raise error
                yield response
                return
        raise PermanentError(
            "download_failed",
            f"The output URL redirected more than {self._limits.max_redirects} times.",
        )


def _give_up(
    exc: TransientError | CutError, attempts: int, url: URL, deadline: Deadline
) -> ReelhouseError:
    """The failure to report once no further attempt may start."""
    if isinstance(exc, CutError) and exc.kind == "short" and exc.total is not None:
        return PermanentError(
            "truncated",
            f"The output ended after {exc.received:,} of its {exc.total:,} announced bytes, "
            f"{attempts} times in a row.",
        )
    if deadline.from_expiry:
        return PermanentError(
            "output_url_expired",
            f"The output URL ({public_url(url)}) expired before it could be fetched; "
            f"last error: {exc}.",
        )
    if isinstance(exc, TransientError):
        return exc
    return TransientError(
        "download_failed", f"The download of {public_url(url)} broke off {attempts} times: {exc}."
    )


async def _error_body(response: aiohttp.ClientResponse) -> bytes:
    """The start of an error response, for the failure's detail; never required."""
    try:
        return await response.content.read(ERROR_BODY_BYTES)
    except (aiohttp.ClientError, TimeoutError):
        return b""
