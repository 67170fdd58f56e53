"""Creating a prediction, the same for both protocols: validate the input, plan its faults,
apply the submit throttle, then store and launch it. Each protocol renders the errors raised
here in its own shape (Replicate's RFC 7807 problems, fal's ``detail`` bodies)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import ValidationError

from reelhouse.sandbox.faults import UnknownFaultError, plan_faults
from reelhouse.sandbox.models import ModelSpec, seed_of, with_seed
from reelhouse.sandbox.predictions import Prediction, PredictionStore, Protocol, new_prediction_id
from reelhouse.sandbox.runner import Clock, Runner

log = structlog.get_logger(__name__)

RETRY_AFTER_SECONDS = 1


class InputRejectedError(ValueError):
    """The input does not validate (or names an unknown fault)."""

    def __init__(self, error: ValidationError | ValueError) -> None:
        super().__init__(str(error))
        self.error = error


class SubmitThrottledError(Exception):
    """Fault ``rate_limit_submit``: this identical submit is refused with a 429."""

    retry_after_seconds = RETRY_AFTER_SECONDS


def input_key(model: str, raw_input: dict[str, Any]) -> str:
    """What makes two submits identical: the model and the input JSON (keys sorted)."""
    canonical = json.dumps({"model": model, "input": raw_input}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class SubmitThrottle:
    """Counts the refusals of identical submits, so a client's retry eventually gets in."""

    def __init__(self) -> None:
        self._refused: dict[str, int] = {}

    def admit(self, key: str, *, refuse_first: int) -> bool:
        refused = self._refused.get(key, 0)
        if refused < refuse_first:
            self._refused[key] = refused + 1
            return False
        return True

    def refused(self, key: str) -> int:
        return self._refused.get(key, 0)


@dataclass(frozen=True, slots=True)
class Submission:
    spec: ModelSpec
    raw_input: dict[str, Any]
    version: str = "hidden"
    webhook_url: str | None = None
    webhook_events: tuple[str, ...] = ()

    @property
    def protocol(self) -> Protocol:
        return self.spec.protocol


@dataclass(frozen=True, slots=True)
class Submitter:
    """Everything a submit needs, shared by the protocols' routes."""

    clock: Clock
    store: PredictionStore
    runner: Runner
    throttle: SubmitThrottle
    queue_seconds: float
    render_seconds: float

    def delays(self, sandbox_delay: float | None, *, instant: bool = False) -> tuple[float, float]:
        """``(queue, render)`` seconds; ``sandbox_delay`` replaces their sum, split in halves;
        an instant model takes none unless ``sandbox_delay`` asks."""
        if sandbox_delay is not None:
            return sandbox_delay / 2, sandbox_delay / 2
        if instant:
            return 0.0, 0.0
        return self.queue_seconds, self.render_seconds

    def submit(self, submission: Submission) -> Prediction:
        """A new, launched prediction; raise InputRejectedError or SubmitThrottledError."""
        spec = submission.spec
        try:
            params = with_seed(spec.input_model.model_validate(submission.raw_input))
            plan = plan_faults(params.fault_names(), params.fault_params())
        except (ValidationError, UnknownFaultError) as exc:
            raise InputRejectedError(exc) from exc
        key = input_key(spec.ref, submission.raw_input)
        if not self.throttle.admit(key, refuse_first=plan.throttled_submits):
            log.info("prediction.throttled", model=spec.ref, refused=self.throttle.refused(key))
            raise SubmitThrottledError
        queue_seconds, render_seconds = self.delays(params.sandbox_delay, instant=spec.instant)
        fal_webhook = submission.protocol == "fal" and submission.webhook_url is not None
        prediction = Prediction(
            id=new_prediction_id(),
            model=spec.ref,
            version=submission.version,
            input=submission.raw_input,
            created_at=self.clock.now(),
            queue_seconds=queue_seconds * plan.queue_factor,
            render_seconds=render_seconds,
            plan=plan,
            seed=seed_of(params),
            protocol=submission.protocol,
            webhook_url=submission.webhook_url,
            webhook_events=submission.webhook_events,
            gateway_request_id=new_prediction_id() if fal_webhook else None,
        )
        prediction.activity.create = 1
        prediction.activity.throttled_submits = self.throttle.refused(key)
        self.store.add(prediction)
        self.runner.launch(prediction, spec.build_job(params))
        log.info(
            "prediction.created",
            prediction_id=prediction.id,
            model=spec.ref,
            protocol=submission.protocol,
            faults=plan.names,
            webhook=submission.webhook_url is not None,
        )
        return prediction
