"""Start-up after a restart: load the saved predictions and carry on with the unfinished ones."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from pydantic import ValidationError

from reelhouse.sandbox.models import RenderJob, find_model
from reelhouse.sandbox.persistence import PredictionJournal
from reelhouse.sandbox.predictions import Prediction, PredictionStore
from reelhouse.sandbox.runner import Runner

log = structlog.get_logger(__name__)

CANNOT_RESUME = "sandbox: the prediction could not be resumed after a restart"


def _job_for(prediction: Prediction) -> RenderJob | None:
    spec = find_model(prediction.model)
    if spec is None:
        return None
    try:
        return spec.rebuild_job(prediction.input, prediction.seed)
    except ValidationError:
        return None


def restore_predictions(
    journal: PredictionJournal,
    store: PredictionStore,
    runner: Runner,
    *,
    now: float,
    remember: Callable[[Prediction], None] | None = None,
) -> int:
    """Put every saved prediction back in ``store``; resume the unfinished. Returns how many.

    ``remember`` sees each prediction as it was loaded, before anything changes it (the
    webhook notifier uses it to not send again what was sent before the restart).
    """
    resumed = 0
    for prediction in journal.load():
        if remember is not None:
            remember(prediction)
        store.restore(prediction)
        if prediction.is_terminal:
            continue
        job = _job_for(prediction)
        if job is None:
            log.warning("prediction.resume_failed", prediction_id=prediction.id)
            prediction.fail(now, CANNOT_RESUME)
            continue
        runner.resume(prediction, job)
        resumed += 1
    log.info("persistence.loaded", predictions=len(store), resumed=resumed)
    return resumed
