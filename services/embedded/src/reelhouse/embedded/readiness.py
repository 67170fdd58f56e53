"""Probes that tell when a part is ready: its HTTP readiness endpoint, or NATS itself."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import httpx
import nats
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from nats.js.errors import Error as JetStreamError

Probe = Callable[[], Awaitable[bool]]

PROBE_TIMEOUT = 2.0


def port_in_use(host: str, port: int) -> bool:
    """Whether something already accepts connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def http_ok(url: str) -> Probe:
    async def probe() -> bool:
        try:
            async with httpx.AsyncClient(timeout=PROBE_TIMEOUT) as client:
                return (await client.get(url)).is_success
        except httpx.HTTPError:
            return False

    return probe


async def _quiet(_: Exception) -> None:
    """A failed probe is expected while a server starts: no error log for it."""


async def _with_nats(url: str, check: Callable[[NatsClient], Awaitable[bool]]) -> bool:
    host_port = urlsplit(url)
    if not port_in_use(host_port.hostname or "127.0.0.1", host_port.port or 4222):
        return False
    try:
        async with asyncio.timeout(PROBE_TIMEOUT * 2):
            nc = await nats.connect(
                url,
                connect_timeout=PROBE_TIMEOUT,
                allow_reconnect=False,
                max_reconnect_attempts=0,
                error_cb=_quiet,
            )
            try:
                return await check(nc)
            finally:
                await nc.close()
    except (TimeoutError, OSError, NatsError, JetStreamError):
        return False


def jetstream_ok(url: str) -> Probe:
    async def check(nc: NatsClient) -> bool:
        await nc.jetstream().account_info()
        return True

    return lambda: _with_nats(url, check)
