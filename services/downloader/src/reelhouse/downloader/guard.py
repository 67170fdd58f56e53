"""The downloader's side of the SSRF guard: aiohttp resolves through it.

The policy itself (``UrlGuard``: schemes, allow-lists, which addresses are refused) lives in
``reelhouse.common.urlguard``, shared with the gateway's webhook sender; it is re-exported
here. ``GuardedResolver`` judges every address a host name resolves to, at connection time,
so the address checked is the address connected to (no second lookup to rebind); aiohttp
never hands IP literals to a resolver, so ``UrlGuard.check_url`` judges those.
"""

from __future__ import annotations

import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from reelhouse.common.urlguard import BlockedAddressError, UrlGuard, host_matches

__all__ = ["BlockedAddressError", "GuardedResolver", "UrlGuard", "host_matches"]


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
