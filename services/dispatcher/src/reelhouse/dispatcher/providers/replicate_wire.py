"""Replicate's wire format, normalised: model references, prediction objects, HTTP errors.

Pure functions over what the API sent, so they also read the raw JSON that the
1.0.7 client refuses to parse (``aborted`` and any status it does not know).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from replicate.exceptions import ReplicateError

from reelhouse.common.errors import PermanentError, ReelhouseError, TransientError
from reelhouse.common.events import OutputFile
from reelhouse.dispatcher.providers.base import (
    ProviderBusyError,
    ProviderState,
    ProviderStatus,
    usage_from,
)

STATUSES: dict[str, ProviderStatus] = {
    "starting": "queued",
    "processing": "running",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "canceled",
    # newer API: the prediction's Cancel-After deadline (ours) passed before it started
    "aborted": "failed",
}
ABORTED_MESSAGE = "The provider aborted the prediction before it started: its deadline passed."
_URL_PREFIXES = ("https://", "http://", "data:")


def parse_model_ref(ref: str) -> tuple[str, str | None]:
    """``owner/name`` → (``owner/name``, None); ``owner/name:version`` → (``owner/name``, version)."""
    model, _, version = ref.partition(":")
    owner, _, name = model.partition("/")
    if not owner or not name or "/" in name or (":" in ref and not version):
        raise PermanentError(
            "unknown_model",
            f"{ref!r} is not a Replicate model reference (owner/name or owner/name:version).",
        )
    return model, version or None


def error_from_replicate(
    exc: ReplicateError, *, retry_after_seconds: float | None = None
) -> ReelhouseError:
    """Map an HTTP error from the API to our catalogue (by status code)."""
    status = exc.status or 0
    detail = exc.detail or exc.title
    if status == 429:
        return ProviderBusyError(
            "provider_rate_limited", detail=detail, retry_after_seconds=retry_after_seconds
        )
    if status >= 500:
        return ProviderBusyError(
            "provider_unavailable",
            f"The provider answered HTTP {status}.",
            detail=detail,
            retry_after_seconds=retry_after_seconds,
        )
    if status in (0, 408):
        return TransientError(
            "provider_unavailable", f"The provider answered HTTP {status}.", detail=detail
        )
    if status in (401, 403):
        return PermanentError(
            "provider_rejected_input",
            f"The provider refused our credentials (HTTP {status}); check its API token.",
            detail=detail,
        )
    if status == 404:
        return PermanentError(
            "provider_rejected_input",
            "The provider has no such model or prediction (HTTP 404).",
            detail=detail,
        )
    return PermanentError("provider_rejected_input", detail=detail)


def output_urls(output: Any) -> list[str]:
    """The URLs in a prediction's ``output``: one string, a list, or a mapping of them."""
    if isinstance(output, str):
        items: list[Any] = [output]
    elif isinstance(output, list | tuple):
        items = list(output)
    elif isinstance(output, Mapping):
        items = list(output.values())
    else:
        items = []
    return [i for i in items if isinstance(i, str) and i.startswith(_URL_PREFIXES)]


def state_from_json(data: Any) -> ProviderState:
    """Normalise a prediction object (parsed by the client, raw JSON, or a webhook body)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), str) or not data["id"]:
        raise PermanentError(
            "provider_protocol_error", detail=f"not a prediction object: {str(data)[:300]}"
        )
    raw_status = str(data.get("status"))
    status = STATUSES.get(raw_status)
    if status is None:
        raise PermanentError(
            "provider_protocol_error", detail=f"unknown prediction status {raw_status!r}"
        )
    error = data.get("error")
    if error is not None and not isinstance(error, str):
        error = str(error)
    failure_code = None
    if raw_status == "aborted":
        error = error or ABORTED_MESSAGE
        failure_code = "provider_timeout"
    logs = data.get("logs")
    metrics = data.get("metrics")
    predict_time = metrics.get("predict_time") if isinstance(metrics, Mapping) else None
    urls = output_urls(data.get("output")) if status == "succeeded" else []
    return ProviderState(
        request_id=data["id"],
        status=status,
        raw_status=raw_status,
        outputs=[OutputFile(index=i, url=url) for i, url in enumerate(urls)],
        error=error,
        logs=logs if isinstance(logs, str) else None,
        failure_code=failure_code,
        usage=usage_from(predict_time=predict_time),
    )


def cancel_after(seconds: float) -> str:
    """A ``Cancel-After`` duration (whole seconds, at least one)."""
    return f"{max(1, int(seconds))}s"
