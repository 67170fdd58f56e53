"""What the sandbox's routes share (both listeners), built once in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from reelhouse.sandbox.outputs import OutputFiles
from reelhouse.sandbox.predictions import Prediction, PredictionStore, Protocol
from reelhouse.sandbox.runner import Clock, Runner
from reelhouse.sandbox.settings import Settings
from reelhouse.sandbox.submissions import Submitter
from reelhouse.sandbox.webhook_signing import WebhookKeys


@dataclass(frozen=True, slots=True)
class SandboxContext:
    settings: Settings
    clock: Clock
    store: PredictionStore
    outputs: OutputFiles
    runner: Runner
    submitter: Submitter
    keys: WebhookKeys

    def find(self, prediction_id: str, protocol: Protocol) -> Prediction | None:
        """The prediction, if it was created through ``protocol``."""
        prediction = self.store.get(prediction_id)
        if prediction is None or prediction.protocol != protocol:
            return None
        return prediction


def context_of(request: Request) -> SandboxContext:
    context: SandboxContext = request.app.state.sandbox
    return context
