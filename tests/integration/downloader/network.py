"""A fake DNS and a socket factory that refuses to connect anywhere but loopback.

The SSRF tests point host names at private, link-local and metadata addresses without any
such address ever being contacted: ``FakeDns`` answers from a table, and ``LoopbackOnly``
is handed every connection attempt the HTTP client makes: loopback gets a real socket,
anything else is recorded (the test then fails) and refused.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult

# names the tests use, and where a hostile DNS would send them
HOSTILE_ANSWERS = {
    "private.test": "10.0.0.1",
    "metadata.test": "169.254.169.254",
    "ula.test": "fd00::1",
    "mapped.test": "::ffff:10.0.0.1",
    "nat64.test": "64:ff9b::a00:1",
    "sixtofour.test": "2002:a00:1::1",
}


class FakeDns(AbstractResolver):
    """Answers names from a table (``origin.test`` → 127.0.0.1 and the hostile ones)."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        address = self.answers.get(host)
        if address is None:
            raise OSError(f"fake DNS: no answer for {host}")
        ip = ipaddress.ip_address(address)
        found = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        return [
            ResolveResult(hostname=host, host=address, port=port, family=found, proto=0, flags=0)
        ]

    async def close(self) -> None:
        return None


class LoopbackOnly:
    """A ``socket_factory``: real sockets for loopback, a recorded refusal for anything else."""

    def __init__(self) -> None:
        self.refused: list[str] = []
        self.connected: list[str] = []

    def __call__(self, addr_info: Any) -> socket.socket:
        family, kind, proto, _, sockaddr = addr_info
        address = str(sockaddr[0])
        if not ipaddress.ip_address(address).is_loopback:
            self.refused.append(address)
            raise OSError(f"test transport: refused to connect to {address}")
        self.connected.append(address)
        return socket.socket(family, kind, proto)
