"""One HTTP attempt of a webhook delivery, through the SSRF guard.

The guard judges the URL (scheme, IP literal) and then every address its host resolves to,
at the moment of sending; the request goes to the address that was judged (``Host`` header
and TLS SNI keep the name), so a second DNS answer cannot send it elsewhere. Redirects are
not followed (a 3xx is a failed attempt); the response body is never read, only its status.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

import httpx

from reelhouse.common.errors import PermanentError
from reelhouse.common.urlguard import UrlGuard, parse_ip

USER_AGENT = "reelhouse-webhooks/1"
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What happened: a status code when the endpoint answered, else an error."""

    status_code: int | None = None
    error: str | None = None
    # the guard refused the URL: retrying cannot help
    blocked: bool = False

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def _resolve(host: str, port: int) -> list[str]:
    """Every address of ``host`` (bounded by the caller's timeout on the whole attempt)."""
    if parse_ip(host) is not None:
        return [host]
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class WebhookSender:
    def __init__(self, client: httpx.AsyncClient, guard: UrlGuard, *, timeout: float) -> None:
        self._client = client
        self._guard = guard
        self._timeout = timeout

    async def send(self, url: str, *, headers: dict[str, str], body: bytes) -> AttemptResult:
        try:
            return await asyncio.wait_for(self._send(url, headers, body), timeout=self._timeout)
        except TimeoutError:
            return AttemptResult(error=f"no answer within {self._timeout:g}s")

    async def _send(self, url: str, headers: dict[str, str], body: bytes) -> AttemptResult:
        try:
            target = httpx.URL(url)
            self._guard.check_url(target)
        except (httpx.InvalidURL, PermanentError) as exc:
            return AttemptResult(error=str(exc), blocked=True)
        host = target.host
        port = target.port or DEFAULT_PORTS.get(target.scheme, 443)
        try:
            addresses = await _resolve(host, port)
        except (OSError, UnicodeError) as exc:
            return AttemptResult(error=f"cannot resolve {host}: {exc}")
        for address in addresses:
            if (reason := self._guard.refusal(address)) is not None:
                return AttemptResult(
                    error=f"{host} resolves to a {reason} address ({address})", blocked=True
                )
        pinned = target.copy_with(host=addresses[0].split("%", 1)[0])
        extensions = {"sni_hostname": host} if target.scheme == "https" else {}
        request_headers = {
            **headers,
            "host": target.netloc.decode("ascii"),
            "content-type": "application/json",
            "user-agent": USER_AGENT,
        }
        try:
            async with self._client.stream(
                "POST", pinned, headers=request_headers, content=body, extensions=extensions
            ) as response:
                return AttemptResult(status_code=response.status_code)
        except httpx.HTTPError as exc:
            return AttemptResult(error=f"{type(exc).__name__}: {exc}"[:500])


def build_client(*, connect_timeout: float, timeout: float) -> httpx.AsyncClient:
    """No redirects, no proxies from the environment (a proxy would resolve hosts for us)."""
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=10),
    )
