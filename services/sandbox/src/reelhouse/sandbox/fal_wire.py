"""The JSON shapes of fal's queue API, as the official ``fal-client`` 1.0.3 parses them.

Statuses: ``IN_QUEUE`` (202, ``queue_position`` required), ``IN_PROGRESS`` (202, key
``logs`` always present), ``COMPLETED`` (200, ``logs``, ``metrics``; a failure is still
``COMPLETED``, with ``error`` and ``error_type``). The fault ``unknown_status`` reports
``FAILED``, which the client rejects (``ValueError: Unknown status``).
"""

from __future__ import annotations

import math
from typing import Any

from starlette.responses import JSONResponse

from reelhouse.sandbox.outputs import OutputFiles, content_type_for
from reelhouse.sandbox.predictions import Prediction, Status
from reelhouse.sandbox.wire import timestamp

UNKNOWN_STATUS = "FAILED"
MODEL_ERROR_TYPE = "internal_server_error"
CANCELED_ERROR = "The request was cancelled."
CANCELED_ERROR_TYPE = "request_cancelled"
# a model's input error (a file it could not fetch or read): the result answers 422
INPUT_ERROR_STATUS = 422
ERROR_DOCS_URL = "https://docs.fal.ai/errors#"


def app_path(model: str) -> str:
    """``owner/app``: the part of a model id status, result and cancel URLs use."""
    return "/".join(model.split("/")[:2])


def request_urls(prediction: Prediction, base_url: str) -> dict[str, str]:
    response_url = f"{base_url.rstrip('/')}/{app_path(prediction.model)}/requests/{prediction.id}"
    return {
        "response_url": response_url,
        "status_url": f"{response_url}/status",
        "cancel_url": f"{response_url}/cancel",
    }


def queue_position(prediction: Prediction, now: float) -> int:
    """Counts down from ``queue_depth - 1`` to 0 as the queue time passes."""
    depth = prediction.plan.queue_depth
    if prediction.queue_seconds <= 0:
        return 0
    left = max(0.0, prediction.created_at + prediction.queue_seconds - now)
    return min(depth - 1, math.floor(left / prediction.queue_seconds * depth))


def submit_json(prediction: Prediction, base_url: str, now: float) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "IN_QUEUE",
        "request_id": prediction.id,
        **request_urls(prediction, base_url),
        "queue_position": queue_position(prediction, now),
    }
    if prediction.gateway_request_id is not None:
        body["gateway_request_id"] = prediction.gateway_request_id
    return body


def logs_json(prediction: Prediction) -> list[dict[str, Any]]:
    at = timestamp(prediction.started_at or prediction.created_at)
    return [
        {"message": line, "level": "INFO", "source": "stdout", "timestamp": at}
        for line in prediction.logs.splitlines()
        if line
    ]


def failure_of(prediction: Prediction) -> tuple[str, str] | None:
    """``(error, error_type)`` of a request that ended without a result; None otherwise."""
    if prediction.status is Status.CANCELED:
        return CANCELED_ERROR, CANCELED_ERROR_TYPE
    if prediction.status is Status.FAILED:
        return prediction.error or "The model failed.", prediction.error_type or MODEL_ERROR_TYPE
    return None


def input_error_detail(prediction: Prediction) -> list[dict[str, Any]] | None:
    """fal's 422 ``detail`` for a request failed by one of its inputs (None otherwise):
    typed errors with their location, like a validation error."""
    if prediction.status is not Status.FAILED or prediction.error_type is None:
        return None
    field = prediction.error_field or "input"
    item: dict[str, Any] = {
        "loc": ["body", field],
        "msg": prediction.error or "The input could not be used.",
        "type": prediction.error_type,
        "url": ERROR_DOCS_URL + prediction.error_type,
    }
    value = prediction.input.get(field)
    if isinstance(value, str) and value[:4].lower() == "http":
        item["input"] = value
    return [item]


def status_json(
    prediction: Prediction, base_url: str, *, now: float, with_logs: bool
) -> tuple[int, dict[str, Any]]:
    """``(HTTP status, body)`` of ``GET …/requests/{id}/status``."""
    body: dict[str, Any] = {"request_id": prediction.id, **request_urls(prediction, base_url)}
    logs = logs_json(prediction) if with_logs else None
    if prediction.status is Status.STARTING:
        return 202, {
            **body,
            "status": "IN_QUEUE",
            "queue_position": queue_position(prediction, now),
        }
    if prediction.status is Status.PROCESSING:
        return 202, {**body, "status": "IN_PROGRESS", "logs": logs}
    predict_time = prediction.predict_time
    metrics = {} if predict_time is None else {"inference_time": round(predict_time, 6)}
    body.update({"status": "COMPLETED", "logs": logs, "metrics": metrics})
    failure = failure_of(prediction)
    if failure is not None:
        body["error"], body["error_type"] = failure
        if prediction.plan.unknown_status:
            body["status"] = UNKNOWN_STATUS
    return 200, body


def _file_json(prediction: Prediction, outputs: OutputFiles, name: str, url: str) -> dict[str, Any]:
    try:
        size: int | None = outputs.path_for(prediction.id, name).stat().st_size
    except OSError:
        size = None
    return {
        "url": url,
        "content_type": content_type_for(name),
        "file_name": name,
        "file_size": size,
    }


BILLABLE_UNITS_HEADER = "x-fal-billable-units"
# the models' ``duration`` defaults (models.py)
VIDEO_DEFAULT_SECONDS = 3.0
MUSIC_DEFAULT_SECONDS = 10.0


def billable_units(result: dict[str, Any], prediction: Prediction) -> str:
    """The simulated ``x-fal-billable-units`` of a result: seconds of video or audio, or images."""
    if "video" in result or "audio" in result:
        default = MUSIC_DEFAULT_SECONDS if "audio" in result else VIDEO_DEFAULT_SECONDS
        duration = prediction.input.get("duration", default)
        return f"{float(duration) if isinstance(duration, int | float) else default:g}"
    return str(len(result.get("images", [])))


def result_json(prediction: Prediction, outputs: OutputFiles) -> dict[str, Any] | None:
    """The model's output for a succeeded request (None when it has none, or no longer)."""
    if prediction.status is not Status.SUCCEEDED or not prediction.output:
        return None
    files = [
        _file_json(prediction, outputs, name, url)
        for name, url in zip(prediction.output_files or [], prediction.output, strict=False)
    ]
    if not files:
        return None
    seed = prediction.seed
    if files[0]["content_type"].startswith("video/"):
        return {"video": files[0], "seed": seed}
    if files[0]["content_type"].startswith("audio/"):
        return {"audio": files[0], "seed": seed}
    width = int(prediction.input.get("width", 640))
    height = int(prediction.input.get("height", 360))
    images = [{**file, "width": width, "height": height} for file in files]
    return {"images": images, "seed": seed, "prompt": prediction.input.get("prompt")}


def error_response(
    status: int,
    detail: Any,
    error_type: str | None = None,
    *,
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """fal's error shape: ``{detail, error_type}``, the type also in ``X-Fal-Error-Type``."""
    body: dict[str, Any] = {"detail": detail}
    extra = dict(headers or {})
    if error_type is not None:
        body["error_type"] = error_type
        extra["X-Fal-Error-Type"] = error_type
    if request_id is not None:
        extra["x-fal-request-id"] = request_id
    return JSONResponse(body, status_code=status, headers=extra)


def webhook_json(prediction: Prediction, outputs: OutputFiles) -> dict[str, Any]:
    """The body fal POSTs to ``fal_webhook`` once the request has finished."""
    body: dict[str, Any] = {
        "request_id": prediction.id,
        "gateway_request_id": prediction.gateway_request_id or prediction.id,
    }
    result = result_json(prediction, outputs)
    if result is not None:
        return {**body, "status": "OK", "payload": result}
    detail = input_error_detail(prediction)
    if detail is not None:
        return {
            **body,
            "status": "ERROR",
            "error": f"Invalid status code: {INPUT_ERROR_STATUS}",
            "payload": {"detail": detail},
        }
    error, error_type = failure_of(prediction) or ("The request has no result.", MODEL_ERROR_TYPE)
    code = 400 if prediction.status is Status.CANCELED else 500
    return {
        **body,
        "status": "ERROR",
        "error": f"Invalid status code: {code}",
        "payload": {"detail": error, "error_type": error_type},
    }


def stale_webhook_json(prediction: Prediction) -> dict[str, Any]:
    """A late, stale message (fault ``out_of_order_webhook``): the request still running."""
    return {
        "request_id": prediction.id,
        "gateway_request_id": prediction.gateway_request_id or prediction.id,
        "status": "IN_PROGRESS",
        "payload": None,
    }
