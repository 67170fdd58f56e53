"""Join the scenes' own audio into one continuous track, each scene's under its own pictures.

Scene ``i``'s audio fills exactly its segment of the film (cut where the next scene starts,
padded with silence if it is shorter), with a few milliseconds of fade at each joint so the
cut does not click.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import av

from reelhouse.assembler.film.audio_out import RATE, AacWriter, silence, write_faded
from reelhouse.assembler.film.errors import FilmError, reason
from reelhouse.assembler.film.inputs import SceneInfo
from reelhouse.assembler.film.pulse import Pulse
from reelhouse.assembler.film.segments import Segment

JOINT_FADE_SAMPLES = round(0.005 * RATE)


def _write_scene(scene: SceneInfo, length: int, writer: AacWriter, pulse: Pulse) -> None:
    fade = max(1, min(JOINT_FADE_SAMPLES, length // 2))
    with av.open(str(scene.path), mode="r", metadata_errors="ignore") as container:
        stream = container.streams.audio[0]
        position = write_faded(container, stream, writer, length, fade, pulse)
    writer.write(silence(length - position))


def write_scene_audio(
    scenes: Sequence[SceneInfo], spans: Sequence[Segment], target: Path, pulse: Pulse
) -> None:
    """Encode the scenes' audio, laid on ``spans``, into ``target`` (AAC in MP4)."""
    with AacWriter(target) as writer:
        for scene, span in zip(scenes, spans, strict=True):
            # sample boundaries from the film's clock, so rounding never drifts
            length = round(span.end * RATE) - writer.received
            try:
                _write_scene(scene, max(0, length), writer, pulse)
            except (av.FFmpegError, ValueError, EOFError) as exc:
                raise FilmError(
                    f"scene {scene.index}'s audio could not be decoded: {reason(exc)}"
                ) from exc
