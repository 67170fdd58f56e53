"""Why a webhook was refused (answered 401, nothing published)."""

from __future__ import annotations


class WebhookRejectedError(ValueError):
    """The webhook is not signed as it should be (or not recently enough)."""


class SignatureMismatchError(WebhookRejectedError):
    """Well-formed, but no signature matches our key (forged, or the key rotated)."""
