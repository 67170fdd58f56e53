"""Where each scene sits in the film: the one shape the video and audio halves share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Segment:
    """A scene's span in the film, in seconds: from ``start`` (where it cuts or starts fading
    in) to where the next scene does; under a crossfade it plays on for ``overlap``."""

    start: float
    length: float
    overlap: float = 0.0

    @property
    def end(self) -> float:
        return self.start + self.length


def film_duration(segments: Sequence[Segment]) -> float:
    return max(segment.end for segment in segments)
