"""Drives each prediction along its clock: queue, render in a worker thread, finish.

One asyncio task per prediction. The render itself runs in a thread pool so the event loop
keeps answering polls; it reports progress into the logs (tqdm-shaped, so the client's
``prediction.progress`` parses it) and stops between frames once the prediction is canceled.

Each phase ends at a wall-clock time derived from the prediction's own times (``created_at +
queue_seconds``, ``started_at + render_seconds``), so a prediction loaded after a restart
(``resume``) carries on where it was; an interrupted render is redone from the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from concurrent.futures import Executor
from typing import Any, Protocol

import structlog

from reelhouse.sandbox.faults import UNKNOWN_STATUS_MESSAGE, Stage
from reelhouse.sandbox.image_input import InputFileError
from reelhouse.sandbox.models import RenderJob
from reelhouse.sandbox.outputs import OutputFiles
from reelhouse.sandbox.predictions import Prediction, PredictionStore, Status
from reelhouse.sandbox.render import Rendered

log = structlog.get_logger(__name__)

PROGRESS_STEPS = 10
BAR_WIDTH = 10
# how long a cancel of a ``cancel_race`` prediction waits for its hurried render to finish
RACE_WAIT_SECONDS = 30.0


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float) -> Awaitable[None]: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def progress_line(done: int, total: int) -> str:
    """``' 50%|#####     | 36/72'``: the tqdm shape Replicate's client parses."""
    fraction = done / total if total else 1.0
    filled = round(fraction * BAR_WIDTH)
    bar = "#" * filled + " " * (BAR_WIDTH - filled)
    return f"{round(fraction * 100):3d}%|{bar}| {done}/{total}"


class Runner:
    def __init__(
        self,
        *,
        clock: Clock,
        executor: Executor,
        outputs: OutputFiles,
        output_ttl_seconds: float,
    ) -> None:
        self._clock = clock
        self._executor = executor
        self._outputs = outputs
        self._output_ttl_seconds = output_ttl_seconds
        self._tasks: set[asyncio.Task[None]] = set()

    def launch(self, prediction: Prediction, job: RenderJob) -> asyncio.Task[None]:
        task = asyncio.create_task(self.run(prediction, job), name=f"prediction-{prediction.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def resume(self, prediction: Prediction, job: RenderJob) -> asyncio.Task[None]:
        """Carry on with a prediction loaded after a restart (``starting`` or ``processing``)."""
        if prediction.status is Status.PROCESSING:
            # whatever an interrupted render left behind goes; the render starts again
            self._outputs.remove(prediction.id)
            prediction.append_log("The sandbox restarted: rendering again")
        log.info("prediction.resumed", prediction_id=prediction.id, status=str(prediction.status))
        return self.launch(prediction, job)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def run(self, prediction: Prediction, job: RenderJob) -> None:
        with structlog.contextvars.bound_contextvars(prediction_id=prediction.id):
            try:
                await self._lifecycle(prediction, job)
            except Exception as exc:
                log.exception("prediction.crashed")
                prediction.fail(self._clock.now(), f"sandbox internal error: {exc}")
            if prediction.status == "canceled":
                log.info("prediction.canceled")

    async def _lifecycle(self, prediction: Prediction, job: RenderJob) -> None:
        plan = prediction.plan
        if prediction.status is Status.STARTING:
            queue_left = self._left(prediction.created_at, prediction.queue_seconds)
            log.info("prediction.queued", queue_seconds=queue_left, faults=plan.names)
            if not await self._hold(prediction, queue_left):
                return
            if plan.stall_in is Stage.STARTING:
                log.info("prediction.stalled", status="starting")
                await prediction.finished.wait()
                return
            if plan.unknown_status:
                prediction.fail(self._clock.now(), UNKNOWN_STATUS_MESSAGE)
                log.info("prediction.failed", error=UNKNOWN_STATUS_MESSAGE)
                return
            prediction.start(self._clock.now())
            log.info("prediction.started")
            for line in job.description:
                prediction.append_log(line)
        if plan.stall_in is Stage.PROCESSING:
            log.info("prediction.stalled", status="processing")
            await prediction.finished.wait()
            return
        if plan.model_error is not None:
            render_left = self._left(prediction.started_at, prediction.render_seconds)
            if await self._hold(prediction, render_left):
                prediction.append_log("Traceback (most recent call last): sandbox fault")
                prediction.fail(self._clock.now(), plan.model_error)
                log.info("prediction.failed", error=plan.model_error)
            return
        rendered = await self._render(prediction, job)
        if rendered is None:
            return
        now = self._clock.now()
        ttl = self._output_ttl_seconds if plan.url_ttl_seconds is None else plan.url_ttl_seconds
        name = rendered.path.name
        url = self._outputs.url_for(prediction.id, name, expires_at=now + ttl)
        if prediction.succeed(now, [url], files=[name], expires_at=now + ttl):
            log.info("prediction.succeeded", bytes=rendered.size, url_ttl_seconds=ttl)

    async def _until(self, prediction: Prediction, awaitable: asyncio.Future[Any]) -> None:
        """Wait for ``awaitable`` to finish, or for the prediction to end (by cancel)."""
        ender = asyncio.ensure_future(prediction.finished.wait())
        try:
            await asyncio.wait({awaitable, ender}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ender.cancel()

    async def _hold(self, prediction: Prediction, seconds: float) -> bool:
        """Wait ``seconds`` on the clock, cut short when the prediction is hurried; False
        when the prediction ended meanwhile."""
        waiters = {
            asyncio.ensure_future(self._clock.sleep(seconds)),
            asyncio.ensure_future(prediction.hurry.wait()),
            asyncio.ensure_future(prediction.finished.wait()),
        }
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        return not prediction.is_terminal

    async def cancel(self, prediction: Prediction) -> bool:
        """Cancel at the caller's request; True when the prediction became ``canceled``.

        With the fault ``cancel_race`` the prediction instead finishes at once: the rest of
        its queue and render time is skipped, and the cancel finds it ``succeeded``.
        """
        if prediction.plan.complete_on_cancel and not prediction.is_terminal:
            log.info("prediction.cancel_race", prediction_id=prediction.id)
            prediction.hurry.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(prediction.finished.wait(), timeout=RACE_WAIT_SECONDS)
        if prediction.cancel(self._clock.now()):
            log.info("prediction.cancel_requested", prediction_id=prediction.id)
            return True
        return False

    async def _render(self, prediction: Prediction, job: RenderJob) -> Rendered | None:
        """Render, taking at least ``render_seconds``; None when canceled or failed."""
        loop = asyncio.get_running_loop()
        target = self._outputs.path_for(prediction.id, job.output_name)
        last_step = -1

        def on_progress(done: int, total: int) -> None:
            nonlocal last_step
            step = done * PROGRESS_STEPS // max(1, total)
            if step != last_step and not prediction.is_terminal:
                last_step = step
                prediction.append_log(progress_line(done, total))

        def report(done: int, total: int) -> None:  # called in the render thread
            loop.call_soon_threadsafe(on_progress, done, total)

        work: asyncio.Future[Rendered] = loop.run_in_executor(
            self._executor, job.run, target, report, prediction.stop_requested.is_set
        )
        await self._until(prediction, work)
        if not prediction.is_terminal:
            error = work.exception()
            if isinstance(error, InputFileError):
                # what a provider does when it cannot fetch or read an input: fail at once
                log.info("input.rejected", field=error.field, error_type=error.error_type)
                prediction.append_log(f"Error: {error.message}")
                prediction.fail(
                    self._clock.now(),
                    f"Input '{error.field}': {error.message}",
                    error_type=error.error_type,
                    error_field=error.field,
                )
                return None
            if error is not None:
                log.error("render.failed", exc_info=error)
                prediction.fail(self._clock.now(), f"render failed: {error}")
                return None
            # a render quicker than render_seconds still shows ``processing`` that long
            await self._hold(
                prediction, self._left(prediction.started_at, prediction.render_seconds)
            )
        if prediction.is_terminal:
            # canceled: the thread stops at its next frame; keep nothing it wrote
            with contextlib.suppress(Exception):
                await work
            self._outputs.remove(prediction.id)
            return None
        rendered = work.result()
        log.info("render.done", bytes=rendered.size, content_type=rendered.content_type)
        return rendered

    def _left(self, since: float | None, seconds: float) -> float:
        """What remains of ``seconds`` counted from the wall-clock time ``since``."""
        elapsed = 0.0 if since is None else self._clock.now() - since
        return max(0.0, seconds - elapsed)

    def sweep(self, store: PredictionStore, *, now: float, retention_seconds: float) -> int:
        """Drop the data of predictions finished longer ago than ``retention_seconds``."""
        removed = 0
        for prediction in store.all():
            done_at = prediction.completed_at
            if prediction.data_removed or done_at is None or now - done_at < retention_seconds:
                continue
            prediction.remove_data()
            self._outputs.remove(prediction.id)
            removed += 1
        if removed:
            log.info("retention.swept", predictions=removed)
        return removed
