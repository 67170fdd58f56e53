"""HTTP beside the broker: ``POST /webhooks/{provider}/{job_id}`` (health: ``app.py``).

A verified webhook is only a trigger to look at the provider again now (a one-off
``dispatch.poll.v1``); the provider's state, read by the poll, is the truth. A bad,
stale or missing signature → 401 and nothing published. A webhook about an
attempt that is no longer current → 200 and nothing published.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reelhouse.common.logging import job_context
from reelhouse.dispatcher.webhooks.errors import WebhookRejectedError
from reelhouse.dispatcher.webhooks.verifiers import WebhookVerifier

log = structlog.get_logger(__name__)

# (provider, job id, provider request id, delivery token) → whether a poll was scheduled
Trigger = Callable[[str, str, str, str], Awaitable[bool]]
MAX_BODY_BYTES = 4 * 1024 * 1024


def build_routes(verifiers: Mapping[str, WebhookVerifier], trigger: Trigger) -> list[Route]:
    async def receive(request: Request) -> Response:
        provider = request.path_params["provider"]
        job_id = request.path_params["job_id"]
        verifier = verifiers.get(provider)
        if verifier is None:
            return JSONResponse({"detail": "no such provider"}, status_code=404)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return JSONResponse({"detail": "body too large"}, status_code=413)
        with job_context(job_id, provider=provider):
            try:
                webhook = await verifier.verify(request.headers, body)
            except WebhookRejectedError as exc:
                log.warning("webhook.rejected", reason=str(exc))
                return JSONResponse({"detail": "invalid webhook signature"}, status_code=401)
            except Exception as exc:  # the secret or key set could not be fetched
                log.error("webhook.verification_unavailable", error=repr(exc))
                return JSONResponse({"detail": "cannot verify right now"}, status_code=503)
            try:
                scheduled = await trigger(provider, job_id, webhook.request_id, webhook.token)
            except Exception as exc:
                log.error("webhook.trigger_failed", error=repr(exc))
                return JSONResponse({"detail": "try again"}, status_code=503)
        return JSONResponse({"status": "accepted" if scheduled else "ignored"})

    return [
        Route("/webhooks/{provider}/{job_id}", receive, methods=["POST"]),
    ]
