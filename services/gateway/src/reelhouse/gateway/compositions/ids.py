"""Composition ids, statuses and the names of a composition's parts."""

from __future__ import annotations

import re
import uuid
from enum import StrEnum

COMPOSITION_ID_PREFIX = "cmp_"
_COMPOSITION_ID = re.compile(r"cmp_[0-9a-f]{32}")
# ``jobs.composition_part`` of the generated score (a scene's part is its index, from 0)
AUDIO_PART = -1
MAX_SCENES = 20


class CompositionStatus(StrEnum):
    GENERATING = "generating"  # scenes (and the score) are being generated
    ASSEMBLING = "assembling"  # the assembler is joining them
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


FINAL_STATUSES = frozenset(
    {CompositionStatus.SUCCEEDED, CompositionStatus.FAILED, CompositionStatus.CANCELED}
)


class Policy(StrEnum):
    FAIL_FAST = "fail_fast"  # one part failing fails the composition and cancels the rest
    BEST_EFFORT = "best_effort"  # the film is made of the scenes that succeeded


def new_composition_id() -> str:
    return COMPOSITION_ID_PREFIX + uuid.uuid4().hex


def is_composition_id(value: str) -> bool:
    """Whether ``value`` could be a composition id (anything else is a 404 without a query)."""
    return _COMPOSITION_ID.fullmatch(value) is not None


def film_key(composition_id: str) -> str:
    """The film's base key: each assembly run stores it beside, as ``0.<run>.mp4`` (ADR 0014)."""
    return f"outputs/{composition_id}/0.mp4"


def poster_key(composition_id: str) -> str:
    return f"posters/{composition_id}/0.jpg"
