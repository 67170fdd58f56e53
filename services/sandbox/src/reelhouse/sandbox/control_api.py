"""``/_sandbox/*``: what tests through the whole stack read to see the provider's side.

``GET /_sandbox/predictions/{id}`` tells the status, the protocol, the fault plan, how many
create/poll/cancel/result calls the prediction got and every webhook sent with the
receiver's answers; ``GET /_sandbox/predictions`` lists them all (newest first, optional
``?model=`` filter). No authentication: the sandbox is a local test peer. Counters live in
memory, so a restart starts them again.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reelhouse.sandbox import fal_wire, wire
from reelhouse.sandbox.context import SandboxContext, context_of
from reelhouse.sandbox.predictions import Prediction


def reported_status(context: SandboxContext, prediction: Prediction) -> str:
    """The status as the prediction's own protocol reports it to its clients."""
    if prediction.protocol == "fal":
        _, body = fal_wire.status_json(
            prediction,
            context.settings.fal_public_base_url,
            now=context.clock.now(),
            with_logs=False,
        )
        return str(body["status"])
    return str(wire.prediction_json(prediction, context.settings.public_base_url)["status"])


def describe(context: SandboxContext, prediction: Prediction) -> dict[str, Any]:
    return {
        "id": prediction.id,
        "protocol": prediction.protocol,
        "model": prediction.model,
        "status": str(prediction.status),
        "reported_status": reported_status(context, prediction),
        "faults": list(prediction.plan.names),
        "fault_plan": dataclasses.asdict(prediction.plan),
        "input": prediction.input,
        "output": prediction.output,
        "error": prediction.error,
        "error_type": prediction.error_type,
        "created_at": wire.timestamp(prediction.created_at),
        "started_at": wire.timestamp(prediction.started_at),
        "completed_at": wire.timestamp(prediction.completed_at),
        "data_removed": prediction.data_removed,
        "webhook": (
            None
            if prediction.webhook_url is None
            else {"url": prediction.webhook_url, "events": list(prediction.webhook_events)}
        ),
        "gateway_request_id": prediction.gateway_request_id,
        **prediction.activity.as_json(),
    }


async def get_one(request: Request) -> Response:
    context = context_of(request)
    prediction = context.store.get(request.path_params["prediction_id"])
    if prediction is None:
        return JSONResponse({"detail": "no such prediction"}, status_code=404)
    return JSONResponse(describe(context, prediction))


async def list_all(request: Request) -> Response:
    context = context_of(request)
    model = request.query_params.get("model")
    found = [
        describe(context, prediction)
        for prediction in reversed(context.store.all())
        if model is None or prediction.model == model
    ]
    return JSONResponse({"results": found})


routes = [
    Route("/_sandbox/predictions", list_all, methods=["GET"]),
    Route("/_sandbox/predictions/{prediction_id}", get_one, methods=["GET"]),
]
