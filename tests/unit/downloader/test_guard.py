"""The SSRF guard: which schemes and addresses the downloader may fetch from."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from reelhouse.common.errors import PermanentError
from reelhouse.downloader.guard import BlockedAddressError, GuardedResolver, UrlGuard, host_matches

PRODUCTION = UrlGuard.build(allowed_schemes=["https"])
DEVELOPMENT = UrlGuard.build(allowed_schemes=["http", "https"], allow_loopback=True)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("93.184.215.14", None),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", None),
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "private"),
        ("100.64.0.1", "not globally routable"),
    ],
)
def test_production_refuses_every_non_public_address(address: str, reason: str | None) -> None:
    assert PRODUCTION.refusal(address) == reason


def test_allow_loopback_opens_loopback_only() -> None:
    assert DEVELOPMENT.refusal("127.0.0.1") is None
    assert DEVELOPMENT.refusal("::1") is None
    assert DEVELOPMENT.refusal("169.254.169.254") == "link-local"
    assert DEVELOPMENT.refusal("192.168.1.1") == "private"


def test_allowed_networks_open_exactly_those_ranges() -> None:
    guard = UrlGuard.build(
        allowed_schemes=["http"], allowed_networks=[ipaddress.ip_network("172.16.0.0/12")]
    )
    assert guard.refusal("172.18.0.5") is None
    assert guard.refusal("10.0.0.5") == "private"


@pytest.mark.parametrize(
    "url",
    ["http://cdn.example.com/out.mp4", "ftp://cdn.example.com/out.mp4", "file:///etc/passwd"],
)
def test_production_refuses_schemes_other_than_https(url: str) -> None:
    with pytest.raises(PermanentError) as caught:
        PRODUCTION.check_url(URL(url))
    assert caught.value.code == "download_blocked"
    assert "allowed: https" in caught.value.message


def test_an_ip_literal_host_is_judged_before_any_request() -> None:
    with pytest.raises(PermanentError) as caught:
        PRODUCTION.check_url(URL("https://169.254.169.254/latest/meta-data/"))
    assert caught.value.code == "download_blocked"
    assert "link-local" in caught.value.message


def test_public_https_urls_pass() -> None:
    PRODUCTION.check_url(URL("https://replicate.delivery/pbxt/abc/out.mp4?sig=1"))
    PRODUCTION.check_url(URL("https://93.184.215.14/out.mp4"))


class FixedResolver(AbstractResolver):
    """Answers every name with the given addresses, like a DNS server we control."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=a, port=port, family=family, proto=0, flags=0)
            for a in self.addresses
        ]

    async def close(self) -> None:
        return None


async def test_resolver_refuses_a_name_that_resolves_to_a_private_address() -> None:
    resolver = GuardedResolver(PRODUCTION, FixedResolver("10.0.0.7"))
    with pytest.raises(BlockedAddressError, match=r"internal\.example resolves to a private"):
        await resolver.resolve("internal.example", 443)


async def test_resolver_refuses_a_name_mixing_public_and_private_answers() -> None:
    resolver = GuardedResolver(PRODUCTION, FixedResolver("93.184.215.14", "127.0.0.1"))
    with pytest.raises(BlockedAddressError, match="loopback"):
        await resolver.resolve("rebind.example", 443)


async def test_resolver_passes_public_answers_through() -> None:
    resolver = GuardedResolver(PRODUCTION, FixedResolver("93.184.215.14"))
    results = await resolver.resolve("cdn.example", 443)
    assert [r["host"] for r in results] == ["93.184.215.14"]


@pytest.mark.parametrize(
    ("address", "inside"),
    [
        ("::ffff:10.0.0.1", "private"),
        ("2002:a00:1::1", "private (IPv4 10.0.0.1 inside)"),
        ("64:ff9b::a9fe:a9fe", "link-local (IPv4 169.254.169.254 inside)"),
        ("::10.0.0.1", "private (IPv4 10.0.0.1 inside)"),
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private (IPv4 10.0.0.1 inside)"),
        ("fd00::1", "private"),
    ],
)
def test_ipv6_addresses_carrying_an_internal_ipv4_are_refused(address: str, inside: str) -> None:
    assert PRODUCTION.refusal(address) == inside


def test_nat64_is_refused_unless_the_deployment_allows_its_prefix() -> None:
    public = "64:ff9b::5db8:d70e"  # NAT64 of 93.184.215.14
    assert PRODUCTION.refusal(public) == "not globally routable"
    nat64 = UrlGuard.build(
        allowed_schemes=["https"], allowed_networks=[ipaddress.ip_network("64:ff9b::/96")]
    )
    assert nat64.refusal(public) is None
    assert nat64.refusal("64:ff9b::a00:1") == "private (IPv4 10.0.0.1 inside)"


@pytest.mark.parametrize(
    ("host", "pattern", "matches"),
    [
        ("replicate.delivery", "replicate.delivery", True),
        ("REPLICATE.delivery.", "replicate.delivery", True),
        ("pbxt.replicate.delivery", "*.replicate.delivery", True),
        ("replicate.delivery", "*.replicate.delivery", False),
        ("evilreplicate.delivery", "*.replicate.delivery", False),
        ("anything.example", "*", True),
    ],
)
def test_host_patterns(host: str, pattern: str, matches: bool) -> None:
    assert host_matches(host, pattern) is matches


def test_a_providers_allow_list_applies_to_that_provider_only() -> None:
    guard = UrlGuard.build(
        allowed_schemes=["https"], allowed_hosts={"replicate": ["*.replicate.delivery"]}
    )
    guard.check_url(URL("https://pbxt.replicate.delivery/o.mp4"), provider="replicate")
    guard.check_url(URL("https://cdn.example.com/o.mp4"), provider="fal")
    with pytest.raises(PermanentError) as caught:
        guard.check_url(URL("https://cdn.example.com/o.mp4"), provider="replicate")
    assert caught.value.code == "download_blocked"
    assert "allow-list" in caught.value.message
