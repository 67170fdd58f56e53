"""Where the downloader may fetch from: allowed schemes and a minimal SSRF guard.

Two checks, one policy:

- ``UrlGuard.check_url`` runs before every request and every redirect hop: the scheme must
  be allowed, and a host written as an IP literal is judged at once (aiohttp never hands
  literals to a resolver);
- ``GuardedResolver`` judges every address a host name resolves to, at connection time, so
  the address checked is the address connected to (no second lookup to rebind).

Refused: loopback (unless ``allow_loopback``), private, link-local, multicast and other
addresses that are not globally routable, except networks a deployment allows on purpose.
A fuller guard (host allow-lists, per-provider rules) can replace this module behind the
same two names.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from reelhouse.common.errors import PermanentError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class BlockedAddressError(OSError):
    """A host resolved to an address the guard refuses (raised inside aiohttp's connector)."""


def _parse_ip(text: str) -> IPAddress | None:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id is not None:
            ip = ipaddress.IPv6Address(text.split("%", 1)[0])
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
    return ip


@dataclass(frozen=True, slots=True)
class UrlGuard:
    allowed_schemes: frozenset[str]
    allow_loopback: bool = False
    allowed_networks: tuple[IPNetwork, ...] = field(default_factory=tuple)

    @classmethod
    def build(
        cls,
        *,
        allowed_schemes: Iterable[str],
        allow_loopback: bool = False,
        allowed_networks: Iterable[IPNetwork] = (),
    ) -> UrlGuard:
        return cls(
            allowed_schemes=frozenset(s.lower() for s in allowed_schemes),
            allow_loopback=allow_loopback,
            allowed_networks=tuple(allowed_networks),
        )

    def refusal(self, address: str) -> str | None:
        """Why ``address`` may not be fetched from, or None when it may."""
        ip = _parse_ip(address)
        if ip is None:
            return "not an IP address"
        if any(ip in net for net in self.allowed_networks if net.version == ip.version):
            return None
        if ip.is_loopback:
            return None if self.allow_loopback else "loopback"
        if ip.is_link_local:
            return "link-local"
        if ip.is_multicast:
            return "multicast"
        if ip.is_private:
            return "private"
        if ip.is_unspecified or ip.is_reserved or not ip.is_global:
            return "not globally routable"
        return None

    def check_url(self, url: URL) -> None:
        """Refuse a URL by scheme, or by its host when the host is an IP literal."""
        scheme = url.scheme.lower()
        if scheme not in self.allowed_schemes:
            allowed = ", ".join(sorted(self.allowed_schemes))
            raise PermanentError(
                "download_blocked",
                f"The output URL uses the scheme {scheme or '(none)'!r}; allowed: {allowed}.",
            )
        host = url.host
        if not host:
            raise PermanentError("download_blocked", "The output URL has no host.")
        if _parse_ip(host) is not None and (reason := self.refusal(host)) is not None:
            raise PermanentError(
                "download_blocked", f"The output URL points to a {reason} address ({host})."
            )


class GuardedResolver(AbstractResolver):
    """Resolves like aiohttp's default resolver, then refuses forbidden addresses.

    One forbidden address refuses the host: a name that mixes public and private answers
    is exactly what a rebinding attack looks like.
    """

    def __init__(self, guard: UrlGuard, inner: AbstractResolver | None = None) -> None:
        self._guard = guard
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            reason = self._guard.refusal(result["host"])
            if reason is not None:
                raise BlockedAddressError(
                    f"{host} resolves to a {reason} address ({result['host']})"
                )
        return results

    async def close(self) -> None:
        await self._inner.close()
