"""Switchable faults, chosen per prediction with the input ``sandbox_fault``.

A fault does not act by itself: it edits a ``FaultPlan``, and each part of the sandbox reads
the field it owns: the submit path reads ``queue_factor``/``queue_depth`` and
``throttled_submits``, the runner ``stall_in``, ``model_error``, ``unknown_status`` and
``complete_on_cancel``, the protocol routes ``poll_failures`` and ``unknown_status``, the
webhook sender the ``webhook_*`` fields, the URL signer ``url_ttl_seconds``, the file server
``file_body``, ``cut_unranged``, ``stalled_first_gets`` and ``redirect_to``, the renderer the ``render_*`` fields. Both protocols (Replicate and fal) read the same plan. To add a fault, add the
field its hook point needs and one entry in ``FAULTS``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

MODEL_ERROR_MESSAGE = "sandbox: the model raised an error (fault 'model_error' was requested)"
UNKNOWN_STATUS_MESSAGE = "sandbox: the prediction ended in a status the client does not know"
SLOW_QUEUE_FACTOR = 5.0
SLOW_QUEUE_DEPTH = 12
THROTTLED_SUBMITS = 2
POLL_FAILURES = 2
# ``expired_url``: the URL's expiry lies this far in the past when the prediction completes
EXPIRED_URL_TTL_SECONDS = -60.0
# ``oversized``: the Content-Length the file server declares (far above any sane cap)
OVERSIZED_BYTES = 64 * 1024**4
# ``redirect_disallowed``: a host under the reserved ``.invalid`` domain (RFC 6761): it can
# never resolve, so nothing is reached even by a downloader without a guard
DISALLOWED_REDIRECT_HOST = "outputs.sandbox.invalid"
# ``stall_body``: how long the stalled answer holds its connection open before dropping it
# (sooner when the client goes away)
STALL_BODY_SECONDS = 120.0


class UnknownFaultError(ValueError):
    """The input named a fault the sandbox does not have."""


class Stage(StrEnum):
    STARTING = "starting"
    PROCESSING = "processing"


FileBody = Literal["media", "html", "truncated", "oversized"]


@dataclass(frozen=True, slots=True)
class FaultParams:
    """Tuning values for faults, from the ``sandbox_*`` inputs."""

    expire_after_seconds: float = 1.0


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """What one prediction will do wrong; the default plan does everything right."""

    names: tuple[str, ...] = ()
    # stay in this status until canceled
    stall_in: Stage | None = None
    # end ``failed`` with this error instead of rendering
    model_error: str | None = None
    # what the output URL serves
    file_body: FileBody = "media"
    # the first this many requests for an output file get the HTML page, later ones the file
    html_first_requests: int = 0
    # output URL lifetime after completion, instead of the server's output_ttl_seconds
    url_ttl_seconds: float | None = None
    # the queue lasts this many times longer; fal's queue_position starts below this depth
    queue_factor: float = 1.0
    queue_depth: int = 3
    # identical submits (same model and input) answered 429 before one is accepted
    throttled_submits: int = 0
    # the first status polls of the prediction answered with a 5xx
    poll_failures: int = 0
    # end (after the queue) in a status the official clients cannot parse
    unknown_status: bool = False
    # a cancel makes the prediction succeed at once; the cancel reports that terminal state
    complete_on_cancel: bool = False
    # the file server drops every request without a ``Range`` header half-way through
    cut_unranged: bool = False
    # the first this many GETs of an output file send half the body, then nothing (the
    # connection held open up to STALL_BODY_SECONDS); later GETs are served whole
    stalled_first_gets: int = 0
    # the file server answers with a redirect to this host instead of the file
    redirect_to: str | None = None
    # the render: ``moov`` after ``mdat`` (no faststart), the first second black
    render_moov_at_end: bool = False
    render_black_start: bool = False
    # webhooks: sent at all, copies of each, a stale one after the terminal one, signature
    webhooks: bool = True
    webhook_copies: int = 1
    webhook_stale_after_terminal: bool = False
    webhook_bad_signature: bool = False


FaultEffect = Callable[[FaultPlan, FaultParams], FaultPlan]


def _set(**changes: Any) -> FaultEffect:
    """An effect that sets fixed plan fields."""

    def effect(plan: FaultPlan, _: FaultParams) -> FaultPlan:
        return dataclasses.replace(plan, **changes)

    return effect


def _expire_url(plan: FaultPlan, params: FaultParams) -> FaultPlan:
    return dataclasses.replace(plan, url_ttl_seconds=params.expire_after_seconds)


FAULTS: dict[str, FaultEffect] = {
    "slow_queue": _set(queue_factor=SLOW_QUEUE_FACTOR, queue_depth=SLOW_QUEUE_DEPTH),
    "never_starts": _set(stall_in=Stage.STARTING),
    "never_finishes": _set(stall_in=Stage.PROCESSING),
    "rate_limit_submit": _set(throttled_submits=THROTTLED_SUBMITS),
    "server_error_poll": _set(poll_failures=POLL_FAILURES),
    "model_error": _set(model_error=MODEL_ERROR_MESSAGE),
    "unknown_status": _set(unknown_status=True),
    "duplicate_webhook": _set(webhook_copies=2),
    "out_of_order_webhook": _set(webhook_stale_after_terminal=True),
    "no_webhook": _set(webhooks=False),
    "bad_signature": _set(webhook_bad_signature=True),
    "html_instead_of_media": _set(file_body="html"),
    "truncated": _set(file_body="truncated"),
    "html_once": _set(html_first_requests=1),
    "expire_url": _expire_url,
    "cancel_race": _set(complete_on_cancel=True),
    "expired_url": _set(url_ttl_seconds=EXPIRED_URL_TTL_SECONDS),
    "cut_connection": _set(cut_unranged=True),
    "stall_body": _set(stalled_first_gets=1),
    "moov_at_end": _set(render_moov_at_end=True),
    "black_start": _set(render_black_start=True),
    "oversized": _set(file_body="oversized"),
    "redirect_disallowed": _set(redirect_to=DISALLOWED_REDIRECT_HOST),
}


def plan_faults(names: Sequence[str], params: FaultParams | None = None) -> FaultPlan:
    """Combine the named faults into one plan; raise UnknownFaultError for a name we lack."""
    params = params or FaultParams()
    plan = FaultPlan(names=tuple(names))
    for name in names:
        effect = FAULTS.get(name)
        if effect is None:
            known = ", ".join(sorted(FAULTS))
            raise UnknownFaultError(f"unknown sandbox_fault {name!r}; known faults: {known}")
        plan = effect(plan, params)
    return plan
