"""Switchable faults, chosen per prediction with the input ``sandbox_fault``.

A fault does not act by itself: it edits a ``FaultPlan``, and each part of the sandbox reads
the field it owns — the runner reads ``stall_in`` and ``model_error``, the URL signer reads
``url_ttl_seconds``, the file server reads ``file_body``. To add a fault, add the field its
hook point needs (for example a list of HTTP answers for "rate_limit_submit" or
"server_error_poll") and one entry in ``FAULTS``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

MODEL_ERROR_MESSAGE = "sandbox: the model raised an error (fault 'model_error' was requested)"


class UnknownFaultError(ValueError):
    """The input named a fault the sandbox does not have."""


class Stage(StrEnum):
    STARTING = "starting"
    PROCESSING = "processing"


FileBody = Literal["media", "html", "truncated"]


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
    # output URL lifetime after completion, instead of the server's output_ttl_seconds
    url_ttl_seconds: float | None = None


FaultEffect = Callable[[FaultPlan, FaultParams], FaultPlan]


def _never_starts(plan: FaultPlan, _: FaultParams) -> FaultPlan:
    return dataclasses.replace(plan, stall_in=Stage.STARTING)


def _never_finishes(plan: FaultPlan, _: FaultParams) -> FaultPlan:
    return dataclasses.replace(plan, stall_in=Stage.PROCESSING)


def _model_error(plan: FaultPlan, _: FaultParams) -> FaultPlan:
    return dataclasses.replace(plan, model_error=MODEL_ERROR_MESSAGE)


def _html_instead_of_media(plan: FaultPlan, _: FaultParams) -> FaultPlan:
    return dataclasses.replace(plan, file_body="html")


def _truncated(plan: FaultPlan, _: FaultParams) -> FaultPlan:
    return dataclasses.replace(plan, file_body="truncated")


def _expire_url(plan: FaultPlan, params: FaultParams) -> FaultPlan:
    return dataclasses.replace(plan, url_ttl_seconds=params.expire_after_seconds)


FAULTS: dict[str, FaultEffect] = {
    "never_starts": _never_starts,
    "never_finishes": _never_finishes,
    "model_error": _model_error,
    "html_instead_of_media": _html_instead_of_media,
    "truncated": _truncated,
    "expire_url": _expire_url,
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
