"""The downloader's metrics: downloads by outcome, bytes ingested, refused outputs by code."""

from __future__ import annotations

from prometheus_client import Counter

from reelhouse.common.errors import PermanentError
from reelhouse.common.events import GenerationStored
from reelhouse.common.metrics import VALIDATION_FAILURES

SERVICE = "downloader"

DOWNLOADS = Counter(
    "reelhouse_downloads_total",
    "Deliveries of gen.output.v1 handled, by outcome (stored, failed, transient_error) and code",
    ["outcome", "code"],
)
BYTES_INGESTED = Counter(
    "reelhouse_download_bytes_total",
    "Bytes of provider outputs stored in object storage",
)
# permanent refusals that say the provider's output itself is not acceptable
VALIDATION_CODES = frozenset({"not_media", "truncated", "too_large", "corrupt_media"})


def observe_stored(stored: GenerationStored) -> None:
    DOWNLOADS.labels("stored", "").inc()
    BYTES_INGESTED.inc(sum(asset.size for asset in stored.assets))


def observe_failure(exc: Exception) -> None:
    """A delivery that raised: permanent (the job fails) or transient (the delivery policy
    retries it, or gives the job up on its last delivery)."""
    if isinstance(exc, PermanentError):
        DOWNLOADS.labels("failed", exc.code).inc()
        if exc.code in VALIDATION_CODES:
            VALIDATION_FAILURES.labels(SERVICE, exc.code).inc()
    else:
        DOWNLOADS.labels("transient_error", getattr(exc, "code", type(exc).__name__)).inc()
