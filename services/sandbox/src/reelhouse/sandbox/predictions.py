"""Predictions and their state machine, and the store that holds them.

``starting → processing → succeeded``; ``failed`` and ``canceled`` are reachable from every
non-terminal status; a terminal prediction never changes again (cancel on it is a no-op).
Every change calls the prediction's ``on_change`` hook, which the store points at its
journal (``persistence.py``), so the state survives a restart of the sandbox.
"""

from __future__ import annotations

import asyncio
import base64
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from reelhouse.sandbox.activity import Activity
from reelhouse.sandbox.faults import FaultPlan


class Status(StrEnum):
    STARTING = "starting"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


TERMINAL_STATUSES = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELED})

# the wire protocol a prediction was created through (it is read back through the same one)
Protocol = Literal["replicate", "fal"]

ChangeHook = Callable[["Prediction"], None]


def new_prediction_id() -> str:
    """26 lowercase base32 characters, the shape of Replicate's ids."""
    return base64.b32encode(os.urandom(16)).decode().rstrip("=").lower()


@dataclass(eq=False)
class Prediction:
    id: str
    model: str
    version: str
    input: dict[str, Any]
    created_at: float
    queue_seconds: float
    render_seconds: float
    plan: FaultPlan = field(default_factory=FaultPlan)
    # the seed the render uses (drawn at creation when the input left it open)
    seed: int | None = None
    status: Status = Status.STARTING
    started_at: float | None = None
    completed_at: float | None = None
    output: list[str] | None = None
    # the files behind ``output`` (under files/{id}/) and when their URLs expire
    output_files: list[str] | None = None
    output_expires_at: float | None = None
    error: str | None = None
    # a failure caused by an input (fal's error type, e.g. ``file_download_error``, and the
    # input field); None for the model's own failures
    error_type: str | None = None
    error_field: str | None = None
    logs: str = ""
    data_removed: bool = False
    protocol: Protocol = "replicate"
    # where its webhooks go and (Replicate) which events; fal's id of the delivering gateway
    webhook_url: str | None = None
    webhook_events: tuple[str, ...] = ()
    gateway_request_id: str | None = None
    # calls and webhooks seen (memory only)
    activity: Activity = field(default_factory=Activity)
    # set to skip what is left of the queue and render waits (fault ``cancel_race``)
    hurry: asyncio.Event = field(default_factory=asyncio.Event)
    # set once the prediction is terminal: wakes ``Prefer: wait`` holds and the runner
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    # read by the render thread between frames
    stop_requested: threading.Event = field(default_factory=threading.Event)
    # called after every change (the store saves the prediction)
    on_change: ChangeHook | None = field(default=None, repr=False)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def predict_time(self) -> float | None:
        if self.started_at is None or self.completed_at is None:
            return None
        return max(0.0, self.completed_at - self.started_at)

    def append_log(self, line: str) -> None:
        if not self.data_removed:
            self.logs += line + "\n"
            self._changed()

    def start(self, now: float) -> bool:
        if self.status is not Status.STARTING:
            return False
        self.status = Status.PROCESSING
        self.started_at = now
        self._changed()
        return True

    def succeed(
        self,
        now: float,
        output: list[str],
        *,
        files: Sequence[str] = (),
        expires_at: float | None = None,
    ) -> bool:
        """Succeed with ``output`` URLs; ``files`` are their names on disk, ``expires_at``
        their expiry (kept so the same URLs can be issued again after a restart)."""
        if self.status is not Status.PROCESSING:
            return False
        self.output = output
        self.output_files = list(files)
        self.output_expires_at = expires_at
        return self._finish(now, Status.SUCCEEDED)

    def fail(
        self,
        now: float,
        error: str,
        *,
        error_type: str | None = None,
        error_field: str | None = None,
    ) -> bool:
        if self.is_terminal:
            return False
        self.error = error
        self.error_type = error_type
        self.error_field = error_field
        return self._finish(now, Status.FAILED)

    def cancel(self, now: float) -> bool:
        if self.is_terminal:
            return False
        return self._finish(now, Status.CANCELED)

    def remove_data(self) -> None:
        """What Replicate does after its retention window: inputs, outputs and logs go."""
        self.data_removed = True
        self.input = {}
        self.output = None
        self.output_files = None
        self.logs = ""
        self._changed()

    def _finish(self, now: float, status: Status) -> bool:
        self.status = status
        self.completed_at = now
        self.stop_requested.set()
        self.finished.set()
        self._changed()
        return True

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)


class PredictionStore:
    """Predictions by id, in creation order; ``save`` is called on every change of one."""

    def __init__(self, save: ChangeHook | None = None) -> None:
        self._items: dict[str, Prediction] = {}
        self._save = save

    def add(self, prediction: Prediction) -> None:
        """A new prediction: kept, watched and saved."""
        self.restore(prediction)
        if self._save is not None:
            self._save(prediction)

    def restore(self, prediction: Prediction) -> None:
        """A prediction loaded from disk: kept and watched (it is saved already)."""
        prediction.on_change = self._save
        self._items[prediction.id] = prediction

    def get(self, prediction_id: str) -> Prediction | None:
        return self._items.get(prediction_id)

    def __len__(self) -> int:
        return len(self._items)

    def all(self) -> Sequence[Prediction]:
        return list(self._items.values())

    def page(
        self, *, offset: int, limit: int, protocol: Protocol | None = None
    ) -> tuple[list[Prediction], int | None]:
        """Newest first (of ``protocol`` only, if given); returns the page and the offset of
        the next page (None at the end)."""
        newest_first = [
            prediction
            for prediction in reversed(self._items.values())
            if protocol is None or prediction.protocol == protocol
        ]
        items = newest_first[offset : offset + limit]
        following = offset + limit
        return items, (following if following < len(newest_first) else None)
