"""What the sandbox's routes share, built once in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from reelhouse.sandbox.outputs import OutputFiles
from reelhouse.sandbox.predictions import PredictionStore
from reelhouse.sandbox.runner import Clock, Runner
from reelhouse.sandbox.settings import Settings


@dataclass(frozen=True, slots=True)
class SandboxContext:
    settings: Settings
    clock: Clock
    store: PredictionStore
    outputs: OutputFiles
    runner: Runner


def context_of(request: Request) -> SandboxContext:
    context: SandboxContext = request.app.state.sandbox
    return context
