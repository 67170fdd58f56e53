"""The official ``fal_client.AsyncClient``, pointed at one queue host per provider instance.

fal-client builds submit (and by-id status/result/cancel) URLs from the module
constant ``fal_client.client.QUEUE_URL_FORMAT`` (``https://queue.fal.run/`` unless
``FAL_QUEUE_RUN_HOST`` was set before import). Rather than mutating that global,
each provider gets its own httpx client whose transport sends requests for the
default queue origin to the provider's ``queue_url``; every public client method
then works unchanged, and two fal providers (say the sandbox and fal itself) live
side by side in one process. URLs the queue answers with are followed verbatim.

The only fal-client internal this touches is the ``_client`` property that builds
the httpx client (the library offers no transport parameter); if a fal-client
upgrade renames it, the unit tests' host assertion fails loudly.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import fal_client
import fal_client.client
import httpx
from asyncstdlib import cached_property as async_cached_property
from fal_client.client import USER_AGENT, AsyncBackupDomainTransport
from opentelemetry.sdk.trace import TracerProvider

from reelhouse.dispatcher.providers.traced_http import traced_transport

# (status code, JSON body) of the latest queue response seen in this task
last_response: ContextVar[tuple[int, Any] | None] = ContextVar("fal_last_response", default=None)
# what fal billed for the request, in the model's price unit: the ``x-fal-billable-units``
# header of the latest response that had one (fal sends it on the result)
BILLABLE_UNITS_HEADER = "x-fal-billable-units"
last_billable_units: ContextVar[str | None] = ContextVar("fal_billable_units", default=None)


async def _remember_response(response: httpx.Response) -> None:
    units = response.headers.get(BILLABLE_UNITS_HEADER)
    if units is not None:
        last_billable_units.set(units[:50])
    body: Any = None
    if "json" in response.headers.get("content-type", ""):
        await response.aread()
        with contextlib.suppress(ValueError):
            body = response.json()
    last_response.set((response.status_code, body))


def ssl_context(ca_file: Path | None) -> ssl.SSLContext | bool:
    """The system trust store (honouring SSL_CERT_FILE), plus ``ca_file`` when given."""
    if ca_file is None:
        return True
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=str(ca_file))
    return context


class QueueHostTransport(httpx.AsyncBaseTransport):
    """Sends requests for fal's default queue origin to ``queue_url`` instead."""

    def __init__(self, queue_url: str, inner: httpx.AsyncBaseTransport) -> None:
        self.queue_url = queue_url.rstrip("/") + "/"
        self._inner = inner

    def _target(self, url: httpx.URL) -> httpx.URL | None:
        default = fal_client.client.QUEUE_URL_FORMAT  # read at call time, as the client does
        text = str(url)
        if self.queue_url == default or not text.startswith(default):
            return None
        return httpx.URL(self.queue_url + text[len(default) :])

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target = self._target(request.url)
        if target is not None:
            headers = request.headers.copy()
            headers["Host"] = target.netloc.decode("ascii")
            request = httpx.Request(
                request.method,
                target,
                headers=headers,
                stream=request.stream,
                extensions=request.extensions,
            )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class QueueClient(fal_client.AsyncClient):
    """``fal_client.AsyncClient`` whose queue requests go to ``queue_url``."""

    def __init__(
        self,
        *,
        key: str,
        queue_url: str,
        timeout_seconds: float,
        verify: ssl.SSLContext | bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        super().__init__(key=key, default_timeout=timeout_seconds)
        inner = traced_transport(
            transport
            or AsyncBackupDomainTransport(transport=httpx.AsyncHTTPTransport(verify=verify)),
            tracer_provider,
        )
        self.transport = QueueHostTransport(queue_url, inner)

    @async_cached_property(asyncio.Lock)
    async def _client(self) -> httpx.AsyncClient:
        auth = await self._auth
        return httpx.AsyncClient(
            transport=self.transport,
            headers={"Authorization": auth.header_value, "User-Agent": USER_AGENT},
            timeout=self.default_timeout,
            event_hooks={"response": [_remember_response]},
        )

    async def aclose(self) -> None:
        await self.transport.aclose()
