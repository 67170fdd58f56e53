"""Upload references in a job's input become short-lived signed media URLs, per submit.

The gateway keeps ``upload://upl_…`` in the job's input and lists each reference's object key
in ``GenerationRequested.input_objects``. Right before each provider submit (every attempt,
so a fallback route gets fresh URLs) every string equal to a reference — anywhere in the
input — is replaced by ``{public media base}/o/{key}?exp&kid&sig``, valid for
``upload_url_ttl_seconds``. The URL is a bearer credential: it is never logged (the upload
ids are).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from reelhouse.common.errors import PermanentError
from reelhouse.common.signing import UrlSigner

log = structlog.get_logger(__name__)

REFERENCE_PREFIX = "upload://"


def replaced(value: Any, urls: Mapping[str, str]) -> Any:
    """``value`` with every string that is a key of ``urls`` replaced by its URL (recursively)."""
    if isinstance(value, str):
        return urls.get(value, value)
    if isinstance(value, dict):
        return {k: replaced(v, urls) for k, v in value.items()}
    if isinstance(value, list):
        return [replaced(item, urls) for item in value]
    return value


@dataclass(frozen=True, slots=True)
class UploadLinks:
    """Signs upload object keys under the public media address; no signer: no signing keys."""

    signer: UrlSigner | None
    public_media_base_url: str
    ttl_seconds: int

    def provider_input(
        self, input_: dict[str, Any], input_objects: Mapping[str, str]
    ) -> dict[str, Any]:
        """The input a provider is sent: each upload reference as a fresh signed URL."""
        if not input_objects:
            return input_
        if self.signer is None:
            raise PermanentError(
                "internal_error",
                detail="the dispatcher has no REELHOUSE_SIGNING__KEYS to sign upload URLs with",
            )
        signer = self.signer
        urls = {
            reference: signer.signed_url(
                self.public_media_base_url, key, ttl_seconds=self.ttl_seconds
            )
            for reference, key in input_objects.items()
        }
        log.info(
            "dispatch.upload_urls",
            uploads=sorted(r.removeprefix(REFERENCE_PREFIX) for r in input_objects),
            ttl_seconds=self.ttl_seconds,
        )
        result: dict[str, Any] = replaced(input_, urls)
        return result
