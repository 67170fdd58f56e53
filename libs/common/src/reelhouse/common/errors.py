"""The error-code catalogue and the two exception families workers raise.

Codes are a public interface: the API, the events and the UI all carry them.
Each has an HTTP status (for API problems), whether retrying may help, and a
default human message.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErrorCode:
    code: str
    status: int
    retryable: bool
    message: str


def _catalogue(*codes: ErrorCode) -> dict[str, ErrorCode]:
    return {c.code: c for c in codes}


CATALOGUE: dict[str, ErrorCode] = _catalogue(
    # API problems
    ErrorCode("unauthorized", 401, False, "A valid API key is required."),
    ErrorCode("forbidden", 403, False, "This API key may not do that."),
    ErrorCode(
        "insufficient_scope", 403, False, "This API key lacks the scope this operation needs."
    ),
    ErrorCode("not_found", 404, False, "No such resource."),
    ErrorCode("method_not_allowed", 405, False, "This resource does not support that method."),
    ErrorCode("validation_error", 422, False, "The request is not valid."),
    ErrorCode(
        "malformed_body",
        400,
        False,
        "The request body is not a JSON document in valid UTF-8 (with no lone surrogates).",
    ),
    ErrorCode(
        "payload_too_large", 413, False, "The request body is larger than this gateway accepts."
    ),
    ErrorCode("unsupported_media_type", 415, False, "The request body must be `application/json`."),
    ErrorCode(
        "rate_limited", 429, True, "Too many submits for this owner; retry after `Retry-After`."
    ),
    ErrorCode(
        "budget_exceeded",
        402,
        False,
        "This submit would take the owner past their monthly budget.",
    ),
    ErrorCode("unknown_model", 422, False, "This deployment does not offer that model."),
    ErrorCode("invalid_cursor", 422, False, "The pagination cursor is not valid."),
    ErrorCode(
        "idempotency_key_invalid",
        400,
        False,
        "The Idempotency-Key header must be 1 to 255 printable ASCII characters.",
    ),
    ErrorCode(
        "idempotency_key_reused",
        422,
        False,
        "This Idempotency-Key was already used with a different request body.",
    ),
    ErrorCode(
        "idempotency_key_in_flight",
        409,
        True,
        "A request with this Idempotency-Key is still being processed; retry shortly.",
    ),
    ErrorCode(
        "unknown_last_event_id",
        400,
        False,
        "Last-Event-ID names no event of this stream; reconnect without it.",
    ),
    ErrorCode("too_many_streams", 429, True, "Too many open event streams; close one first."),
    ErrorCode(
        "invalid_webhook_url",
        422,
        False,
        "The webhook URL is not one we may deliver to (scheme, host or address).",
    ),
    ErrorCode(
        "invalid_webhook_events",
        422,
        False,
        "The webhook events are not valid (unknown name, or no webhook URL).",
    ),
    ErrorCode("job_final", 409, False, "The job has already finished; it can no longer change."),
    # retries (POST /v1/generations/{id}/retry) and the catalogue's availability
    ErrorCode(
        "job_not_final",
        409,
        False,
        "The job is still in progress; only a finished job can be retried.",
    ),
    ErrorCode("job_not_retryable", 409, False, "Only a failed or canceled job can be retried."),
    ErrorCode(
        "already_retried",
        409,
        False,
        "The job was retried already; retry its newest retry instead.",
    ),
    ErrorCode(
        "model_unavailable",
        422,
        False,
        "No provider of this model is configured on this deployment.",
    ),
    ErrorCode(
        "upload_too_large",
        413,
        False,
        "The upload is larger than this gateway accepts (bytes or image pixels).",
    ),
    ErrorCode(
        "unsupported_media",
        415,
        False,
        "The upload is not a JPEG, PNG, WebP or GIF image, an MP4 or WebM video, or M4A (AAC), "
        "MP3 or WAV audio.",
    ),
    # compositions (POST /v1/compositions and the assembler)
    ErrorCode(
        "composition_final",
        409,
        False,
        "The composition has already finished or is being assembled; it can no longer be canceled.",
    ),
    ErrorCode(
        "composition_not_retryable",
        409,
        False,
        "Only a failed or canceled composition, or one assembled without some scenes, can be"
        " retried.",
    ),
    ErrorCode(
        "no_scene_succeeded",
        422,
        False,
        "No scene of the composition succeeded, so there is nothing to assemble.",
    ),
    ErrorCode("assembly_failed", 422, False, "The scenes could not be joined into one film."),
    ErrorCode("internal_error", 500, True, "Something went wrong on our side."),
    ErrorCode("broker_unavailable", 503, True, "The message broker is unreachable."),
    ErrorCode("database_unavailable", 503, True, "The database is unreachable; try again shortly."),
    # provider stage
    ErrorCode("provider_model_error", 502, False, "The model failed to produce an output."),
    ErrorCode("provider_rejected_input", 422, False, "The provider rejected the input."),
    ErrorCode("provider_rate_limited", 503, True, "The provider is rate limiting us."),
    ErrorCode("provider_unavailable", 503, True, "The provider is unreachable or failing."),
    ErrorCode(
        "provider_protocol_error",
        502,
        False,
        "The provider answered in a form we do not understand.",
    ),
    ErrorCode(
        "provider_timeout", 504, False, "The provider did not finish before the job's deadline."
    ),
    ErrorCode("provider_canceled", 409, False, "The provider canceled the generation."),
    ErrorCode("provider_no_output", 502, False, "The provider finished without any output."),
    # download stage
    ErrorCode("not_media", 422, False, "The provider's output is not a media file."),
    ErrorCode("truncated", 422, False, "The provider's output was cut short."),
    ErrorCode("too_large", 413, False, "The provider's output is larger than allowed."),
    ErrorCode("corrupt_media", 422, False, "The media could not be decoded."),
    ErrorCode(
        "output_url_expired",
        410,
        False,
        "The provider's output URL expired before we could fetch it.",
    ),
    ErrorCode(
        "download_blocked", 403, False, "The output URL points somewhere we may not fetch from."
    ),
    ErrorCode("download_failed", 502, True, "The provider's output could not be downloaded."),
    ErrorCode(
        "disk_full", 503, True, "A worker's temporary directory is full; the work is retried."
    ),
    # storage and delivery
    ErrorCode("storage_unavailable", 503, True, "Object storage is unreachable."),
    ErrorCode("max_deliveries_exceeded", 500, False, "The job kept failing and was given up."),
    # media delivery (signed URLs, ranges)
    ErrorCode(
        "signed_url_invalid", 403, False, "The media URL's signature is missing or not valid."
    ),
    ErrorCode(
        "signed_url_expired", 410, False, "The media URL has expired; ask the API for a fresh one."
    ),
    ErrorCode(
        "range_not_satisfiable", 416, False, "The requested byte range lies outside the object."
    ),
    ErrorCode(
        "precondition_failed", 412, False, "The object no longer matches the request's condition."
    ),
)


def lookup(code: str) -> ErrorCode:
    return CATALOGUE[code]


class ReelhouseError(Exception):
    """An expected failure with a catalogued code."""

    def __init__(self, code: str, message: str | None = None, *, detail: str | None = None) -> None:
        entry = CATALOGUE[code]
        self.code = code
        self.message = message or entry.message
        self.detail = detail
        super().__init__(f"{code}: {self.message}")

    @property
    def retryable(self) -> bool:
        return CATALOGUE[self.code].retryable


class PermanentError(ReelhouseError):
    """Retrying cannot help: publish a failure event and acknowledge."""


class TransientError(ReelhouseError):
    """Retrying later may help: negatively acknowledge with a delay."""
