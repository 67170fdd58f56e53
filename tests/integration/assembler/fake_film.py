"""A stand-in for ``reelhouse.assembler.film.assemble_film`` in these tests only.

It decodes every scene's video frames in order and encodes them into one H.264 MP4 (the first
scene's size, or the requested one), calling ``heartbeat`` as it goes: a real film made by
PyAV, without the real core's copy path, crossfades or audio. The service under test takes it
as its ``film_maker``; the real core is tested on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av

from reelhouse.common.composition_events import OutputFormat, Transition


class FakeFilmError(Exception):
    """A scene the stand-in cannot use."""


@dataclass(frozen=True, slots=True)
class FakeFilmResult:
    method: Literal["copy", "reencode"]
    duration: float
    width: int
    height: int
    fps: float


def make_film(
    *,
    scenes: Sequence[Path],
    audio: Path | None,
    transition: Transition,
    output: OutputFormat,
    target: Path,
    workdir: Path,
    heartbeat: Callable[[], None] | None = None,
) -> FakeFilmResult:
    fps = int(output.fps or 24)
    frames = 0
    with av.open(
        str(target), mode="w", format="mp4", container_options={"movflags": "+faststart"}
    ) as out:
        stream: av.VideoStream | None = None
        for position, scene in enumerate(scenes):
            try:
                source = av.open(str(scene), mode="r")
            except av.FFmpegError as exc:
                raise FakeFilmError(f"Scene {position} could not be opened: {exc}") from exc
            with source:
                if not source.streams.video:
                    raise FakeFilmError(f"Scene {position} has no video stream.")
                for frame in source.decode(video=0):
                    if stream is None:
                        stream = out.add_stream("libx264", rate=fps)
                        stream.width = output.width or frame.width
                        stream.height = output.height or frame.height
                        stream.pix_fmt = "yuv420p"
                    image = frame.reformat(
                        width=stream.width, height=stream.height, format="yuv420p"
                    )
                    image.pts = frames
                    image.time_base = Fraction(1, fps)
                    for packet in stream.encode(image):
                        out.mux(packet)
                    frames += 1
                    if heartbeat is not None:
                        heartbeat()
        if stream is None:
            raise FakeFilmError("No scene had a frame.")
        for packet in stream.encode():
            out.mux(packet)
        width, height = stream.width, stream.height
    return FakeFilmResult("reencode", frames / fps, width, height, float(fps))


def refusing_film(message: str) -> Callable[..., FakeFilmResult]:
    """A film function that refuses every composition with ``FakeFilmError(message)``."""

    def refuse(**_: object) -> FakeFilmResult:
        raise FakeFilmError(message)

    return refuse
