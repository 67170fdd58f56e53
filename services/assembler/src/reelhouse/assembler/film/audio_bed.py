"""Lay one track under the whole film: faded in at the start, faded out where it ends.

The track plays from the film's start and is cut at the film's end; a shorter track simply
ends early, its fade-out at its own end, and silence fills the rest of the film. A first, cheap pass counts the
track's samples so the fade-out lands exactly where the audio stops.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from reelhouse.assembler.film.audio_out import RATE, AacWriter, Samples, decoded_samples, silence
from reelhouse.assembler.film.errors import FilmError, reason
from reelhouse.assembler.film.pulse import Pulse

MAX_FADE_SECONDS = 1.0
FADE_SHARE = 0.1  # of the film's length


def _track_seconds(path: Path, pulse: Pulse) -> float:
    """How long the track really plays: every frame decoded, samples counted."""
    with av.open(str(path), mode="r", metadata_errors="ignore") as container:
        stream = next(iter(container.streams.audio), None)
        if stream is None:
            raise FilmError("the audio track has no audio stream")
        samples = 0.0
        for frame in container.decode(stream):
            pulse.beat()
            samples += frame.samples / frame.sample_rate
        if samples <= 0:
            raise FilmError("the audio track has no decodable audio")
        return samples


def fade_gain(first: int, count: int, end: int, fade: int) -> Samples:
    """The gain of samples ``first … first + count - 1`` of a track of ``end`` samples."""
    index = np.arange(first, first + count, dtype=np.float64) + 0.5
    ramp = np.minimum(np.minimum(index / fade, (end - index) / fade), 1.0)
    gain: Samples = np.clip(ramp, 0.0, 1.0).astype(np.float32)[None, :]
    return gain


def write_bed(track: Path, film_seconds: float, target: Path, pulse: Pulse) -> float:
    """Encode the faded track, cut or padded with silence to ``film_seconds``, into ``target``
    (AAC in MP4); returns how many seconds of it are the track."""
    try:
        track_seconds = _track_seconds(track, pulse)
        end = round(min(track_seconds, film_seconds) * RATE)
        fade = max(
            1,
            min(round(MAX_FADE_SECONDS * RATE), round(FADE_SHARE * film_seconds * RATE), end // 2),
        )
        with (
            av.open(str(track), mode="r", metadata_errors="ignore") as container,
            AacWriter(target) as writer,
        ):
            stream = container.streams.audio[0]
            position = 0
            for samples in decoded_samples(container, stream, pulse):
                count = min(samples.shape[1], end - position)
                if count <= 0:
                    break
                writer.write(samples[:, :count] * fade_gain(position, count, end, fade))
                position += count
            # silence to the film's end: the track lasts as long as the pictures
            writer.write(silence(round(film_seconds * RATE) - position))
        return position / RATE
    except (av.FFmpegError, ValueError, EOFError) as exc:
        raise FilmError(f"the audio track could not be decoded: {reason(exc)}") from exc
