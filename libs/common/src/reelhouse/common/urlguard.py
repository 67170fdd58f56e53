"""The SSRF guard: which URLs a service may send requests to (downloader, gateway webhooks).

Two checks, one policy:

- ``UrlGuard.check_url`` runs before every request (and every redirect hop): the scheme must
  be allowed, the host must be on the provider's allow-list when the deployment has one
  (``allowed_hosts``), and a host written as an IP literal is judged at once;
- ``UrlGuard.refusal`` judges every address a host name resolves to, at connection time, so
  the address checked is the address connected to (the downloader's ``GuardedResolver``,
  the gateway's webhook sender).

Refused: loopback (unless ``allow_loopback``), private, link-local, multicast, reserved and
other addresses that are not globally routable, except networks a deployment allows on
purpose. IPv6 addresses that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``,
IPv4-compatible ``::a.b.c.d``, 6to4 ``2002::/16``, Teredo, NAT64 ``64:ff9b::/96``) are judged
by the IPv4 address inside as well, since that is where a packet may end up.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from reelhouse.common.errors import PermanentError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

NAT64_NETWORKS = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
)
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
ANY_HOST = "*"


class BlockedAddressError(OSError):
    """A host resolved to an address the guard refuses (raised where the connection is made)."""


class UrlParts(Protocol):
    """What the guard reads of a URL (``yarl.URL`` and ``httpx.URL`` both have it)."""

    @property
    def scheme(self) -> str: ...

    @property
    def host(self) -> str | None: ...


def parse_ip(text: str) -> IPAddress | None:
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


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (6to4, Teredo, NAT64, IPv4-compatible)."""
    found: list[ipaddress.IPv4Address] = []
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if any(ip in net for net in NAT64_NETWORKS) or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def host_matches(host: str, pattern: str) -> bool:
    """``pattern`` is a host name, ``*.example.com`` (any subdomain, not the apex) or ``*``."""
    host = host.lower().rstrip(".")
    pattern = pattern.lower().rstrip(".")
    if pattern == ANY_HOST:
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


@dataclass(frozen=True, slots=True)
class UrlGuard:
    allowed_schemes: frozenset[str]
    allow_loopback: bool = False
    allowed_networks: tuple[IPNetwork, ...] = field(default_factory=tuple)
    # per provider: the hosts its outputs (and their redirects) may come from; a provider
    # missing here may use any host whose addresses pass the checks
    allowed_hosts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # how a refusal is reported: the catalogue code and what the URL is, for the message
    refusal_code: str = "download_blocked"
    subject: str = "output URL"

    @classmethod
    def build(
        cls,
        *,
        allowed_schemes: Iterable[str],
        allow_loopback: bool = False,
        allowed_networks: Iterable[IPNetwork] = (),
        allowed_hosts: Mapping[str, Iterable[str]] | None = None,
        refusal_code: str = "download_blocked",
        subject: str = "output URL",
    ) -> UrlGuard:
        return cls(
            allowed_schemes=frozenset(s.lower() for s in allowed_schemes),
            allow_loopback=allow_loopback,
            allowed_networks=tuple(allowed_networks),
            allowed_hosts={p: tuple(h) for p, h in (allowed_hosts or {}).items()},
            refusal_code=refusal_code,
            subject=subject,
        )

    def _judge(self, ip: IPAddress) -> str | None:
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

    def refusal(self, address: str) -> str | None:
        """Why ``address`` may not be fetched from, or None when it may."""
        ip = parse_ip(address)
        if ip is None:
            return "not an IP address"
        if isinstance(ip, ipaddress.IPv6Address):
            for inner in embedded_ipv4(ip):
                if (inner_reason := self._judge(inner)) is not None:
                    return f"{inner_reason} (IPv4 {inner} inside)"
        return self._judge(ip)

    def check_url(self, url: UrlParts, *, provider: str | None = None) -> None:
        """Refuse a URL by scheme, by host allow-list, or by its host when it is an IP literal."""
        scheme = url.scheme.lower()
        if scheme not in self.allowed_schemes:
            allowed = ", ".join(sorted(self.allowed_schemes))
            raise PermanentError(
                self.refusal_code,
                f"The {self.subject} uses the scheme {scheme or '(none)'!r}; allowed: {allowed}.",
            )
        host = url.host
        if not host:
            raise PermanentError(self.refusal_code, f"The {self.subject} has no host.")
        patterns = self.allowed_hosts.get(provider or "")
        if patterns is not None and not any(host_matches(host, p) for p in patterns):
            raise PermanentError(
                self.refusal_code,
                f"The {self.subject}'s host {host} is not on the allow-list of provider "
                f"{provider!r}.",
            )
        if parse_ip(host) is not None and (reason := self.refusal(host)) is not None:
            raise PermanentError(
                self.refusal_code, f"The {self.subject} points to a {reason} address ({host})."
            )
