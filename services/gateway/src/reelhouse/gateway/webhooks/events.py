"""Which webhook events a job asked for, and which of them one projected event fires (pure).

- ``status``: every change of the job's status (to a final one included);
- ``progress``: every ``gen.progress.v1`` the provider reports (queue position, percent, logs);
- ``succeeded`` / ``failed`` / ``canceled``: the job reached that final state.

A composition subscribes to the same names (types ``composition.*``): ``status`` on every change
of its status, ``progress`` each time one of its parts (a scene, the score) settles while it
is generating, and the final ones.

The default, when a job gives a ``webhook_url`` but no ``webhook_events``, is the final ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from reelhouse.common.events import Event, GenerationProgressed
from reelhouse.common.jobstate import JobStatus, is_final

WEBHOOK_EVENTS = ("status", "progress", "succeeded", "failed", "canceled")
DEFAULT_EVENTS = ("succeeded", "failed", "canceled")
TYPE_PREFIX = "generation."
COMPOSITION_TYPE_PREFIX = "composition."
FINAL_EVENTS = frozenset({"succeeded", "failed", "canceled"})


class InvalidWebhookEventsError(ValueError):
    """Names outside ``WEBHOOK_EVENTS`` (kept in ``unknown``)."""

    def __init__(self, unknown: Sequence[str]) -> None:
        super().__init__(", ".join(unknown))
        self.unknown = tuple(unknown)


def normalize_events(names: Sequence[str] | None) -> list[str]:
    """The events in catalogue order, duplicates dropped; ``None`` means the default."""
    if names is None:
        return list(DEFAULT_EVENTS)
    unknown = [name for name in names if name not in WEBHOOK_EVENTS]
    if unknown:
        raise InvalidWebhookEventsError(unknown)
    return [name for name in WEBHOOK_EVENTS if name in names]


def webhook_types(
    subscribed: Sequence[str], *, event: Event, moved_to: JobStatus | None
) -> list[str]:
    """The ``type`` of every delivery ``event`` makes for a job subscribed to ``subscribed``."""
    types: list[str] = []
    if moved_to is not None:
        if "status" in subscribed:
            types.append(TYPE_PREFIX + "status")
        if is_final(moved_to) and moved_to.value in subscribed:
            types.append(TYPE_PREFIX + moved_to.value)
    if isinstance(event, GenerationProgressed) and "progress" in subscribed:
        types.append(TYPE_PREFIX + "progress")
    return types


def composition_types(
    subscribed: Sequence[str], *, moved_to: str | None, part_settled: bool
) -> list[str]:
    """The ``type`` of every delivery a composition subscribed to ``subscribed`` gets when its
    status moves to ``moved_to`` (None: it did not move) and/or one of its parts settled."""
    types: list[str] = []
    if moved_to is not None:
        if "status" in subscribed:
            types.append(COMPOSITION_TYPE_PREFIX + "status")
        if moved_to in FINAL_EVENTS and moved_to in subscribed:
            types.append(COMPOSITION_TYPE_PREFIX + moved_to)
    if part_settled and "progress" in subscribed:
        types.append(COMPOSITION_TYPE_PREFIX + "progress")
    return types
