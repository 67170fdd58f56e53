"""Join the scenes' own audio into one continuous track, each scene's under its own pictures.

Scene ``i``'s audio fills its span of the film (padded with silence if it is shorter). Under
a crossfade it plays on for the overlap and is mixed with the next scene's first samples, the
same linear ramp as the pictures; at a cut a few milliseconds of fade keep the joint from
clicking. Only one overlap of samples is held at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import av
import numpy as np

from reelhouse.assembler.film.audio_out import RATE, AacWriter, Samples, decoded_samples, silence
from reelhouse.assembler.film.errors import FilmError, reason
from reelhouse.assembler.film.inputs import SceneInfo
from reelhouse.assembler.film.pulse import Pulse
from reelhouse.assembler.film.segments import Segment

JOINT_FADE_SAMPLES = round(0.005 * RATE)


def _scene_samples(scene: SceneInfo, count: int, pulse: Pulse) -> Iterator[Samples]:
    """The scene's first ``count`` samples at the film's rate, padded with silence."""
    position = 0
    with av.open(str(scene.path), mode="r", metadata_errors="ignore") as container:
        stream = container.streams.audio[0]
        for samples in decoded_samples(container, stream, pulse):
            take = min(samples.shape[1], count - position)
            if take <= 0:
                break
            yield samples[:, :take]
            position += take
    if position < count:
        yield silence(count - position)


def _lay_scene(
    scene: SceneInfo, span: int, overlap: int, tail: Samples, writer: AacWriter, pulse: Pulse
) -> Samples:
    """Write the scene's ``span`` samples, the first ``len(tail)`` mixed into the previous
    scene's ``tail``; returns its own tail: the ``overlap`` samples that follow its span."""
    head = tail.shape[1]
    held: list[Samples] = []
    position = 0
    for chunk in _scene_samples(scene, span + overlap, pulse):
        count = chunk.shape[1]
        at = np.arange(position, position + count, dtype=np.float64) + 0.5
        gain = np.ones(count)
        if head == 0:  # a cut before it: a short fade in
            gain = np.minimum(gain, at / JOINT_FADE_SAMPLES)
        if overlap == 0:  # a cut (or the film's end) after it: a short fade out
            gain = np.minimum(gain, (span - at) / JOINT_FADE_SAMPLES)
        out = chunk * np.clip(gain, 0.0, 1.0).astype(np.float32)
        mixed = max(0, min(head - position, count))
        if mixed:
            alpha = (at[:mixed] / head).astype(np.float32)
            out[:, :mixed] = (
                tail[:, position : position + mixed] * (1 - alpha) + out[:, :mixed] * alpha
            )
        own = max(0, min(span - position, count))
        writer.write(out[:, :own])
        held.append(out[:, own:])
        position += count
    return np.concatenate(held, axis=1) if held else silence(0)


def write_scene_audio(
    scenes: Sequence[SceneInfo], spans: Sequence[Segment], target: Path, pulse: Pulse
) -> None:
    """Encode the scenes' audio, laid on ``spans``, into ``target`` (AAC in MP4)."""
    with AacWriter(target) as writer:
        tail = silence(0)
        for scene, span in zip(scenes, spans, strict=True):
            # sample boundaries from the film's clock, so rounding never drifts
            own = max(0, round(span.end * RATE) - writer.received)
            try:
                tail = _lay_scene(scene, own, round(span.overlap * RATE), tail, writer, pulse)
            except (av.FFmpegError, ValueError, EOFError) as exc:
                raise FilmError(
                    f"scene {scene.index}'s audio could not be decoded: {reason(exc)}"
                ) from exc
