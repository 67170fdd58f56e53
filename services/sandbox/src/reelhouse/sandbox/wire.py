"""The JSON shapes Replicate's API speaks, as the official 1.0.7 client parses them.

The client's pydantic model is strict: ``id``, ``model``, ``version`` and ``status`` must
be non-null strings, ``status`` one of five values, and ``urls`` may hold only strings.
Errors are RFC 7807 problem documents, which the client reads into ``ReplicateError``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from starlette.responses import JSONResponse

from reelhouse.sandbox.models import ModelSpec
from reelhouse.sandbox.predictions import Prediction, Status

PROBLEM_TYPE_BASE = "https://reelhouse.dev/problems/sandbox/"
# what a prediction with the fault ``unknown_status`` reports once it has ended: a status
# Replicate documents (deadline hit before start) that the 1.0.7 client cannot parse
UNKNOWN_STATUS = "aborted"


def timestamp(value: float | None) -> str | None:
    if value is None:
        return None
    return (
        datetime.fromtimestamp(value, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    )


def prediction_json(
    prediction: Prediction, base_url: str, *, status: Status | None = None
) -> dict[str, Any]:
    """The prediction object; ``status`` overrides the reported status (sync-wait expiry)."""
    base = base_url.rstrip("/")
    get_url = f"{base}/v1/predictions/{prediction.id}"
    reported = status or prediction.status
    reported_text = str(reported)
    if prediction.plan.unknown_status and reported is Status.FAILED:
        reported_text = UNKNOWN_STATUS
    predict_time = prediction.predict_time
    return {
        "id": prediction.id,
        "model": prediction.model,
        "version": prediction.version,
        "status": reported_text,
        "input": prediction.input,
        "output": prediction.output if reported is Status.SUCCEEDED else None,
        "error": prediction.error,
        "logs": prediction.logs,
        "metrics": {} if predict_time is None else {"predict_time": round(predict_time, 6)},
        "created_at": timestamp(prediction.created_at),
        "started_at": timestamp(prediction.started_at),
        "completed_at": timestamp(prediction.completed_at),
        "urls": {"get": get_url, "cancel": f"{get_url}/cancel", "web": f"{base}/p/{prediction.id}"},
        "data_removed": prediction.data_removed,
        "source": "api",
    }


def stale_prediction_json(prediction: Prediction, base_url: str) -> dict[str, Any]:
    """The prediction as it was while running: a late webhook (``out_of_order_webhook``)."""
    body = prediction_json(prediction, base_url, status=Status.PROCESSING)
    body.update({"completed_at": None, "metrics": {}, "error": None})
    return body


def version_json(spec: ModelSpec) -> dict[str, Any]:
    return {
        "id": spec.version_id,
        "created_at": "2025-01-01T00:00:00.000000Z",
        "cog_version": "0.13.0",
        "openapi_schema": spec.openapi_schema(),
    }


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    slug = title.lower().replace(" ", "-")
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    body.update(extra or {})
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def invalid_input(error: ValidationError | ValueError) -> JSONResponse:
    """422 in Replicate's shape: a readable ``detail`` and the ``invalid_fields``."""
    if isinstance(error, ValidationError):
        fields = [
            {
                "type": item["type"],
                "field": ".".join(["input", *(str(part) for part in item["loc"])]),
                "description": item["msg"],
            }
            for item in error.errors(include_url=False)
        ]
    else:
        fields = [{"type": "value_error", "field": "input", "description": str(error)}]
    detail = "\n".join(f"- {f['field']}: {f['description']}" for f in fields)
    return problem(422, "Input validation failed", detail, extra={"invalid_fields": fields})
