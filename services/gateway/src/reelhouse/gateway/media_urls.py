"""Signed media URLs for stored outputs, minted fresh every time a job is read."""

from __future__ import annotations

from dataclasses import dataclass

from reelhouse.common.signing import UrlSigner


@dataclass(frozen=True, slots=True)
class MediaUrls:
    signer: UrlSigner
    base_url: str
    ttl_seconds: int

    def url_for(self, key: str) -> str:
        """``{media_base_url}/o/{key}?exp=..&kid=..&sig=..`` for one stored object."""
        return self.signer.signed_url(self.base_url, key, ttl_seconds=self.ttl_seconds)
