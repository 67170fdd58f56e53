"""Lay one track under the whole film: faded in at the start, faded out where it ends.

The track plays from the film's start and is cut at the film's end; a shorter track ends
early, its fade-out at its own end, and silence fills the rest of the film. A first, cheap
pass (``track_seconds``) counts the track's samples so the fade-out lands where the audio stops.
"""

from __future__ import annotations

from pathlib import Path

import av

from reelhouse.assembler.film.audio_out import RATE, AacWriter, silence, write_faded
from reelhouse.assembler.film.errors import FilmError, reason
from reelhouse.assembler.film.pulse import Pulse

MAX_FADE_SECONDS = 1.0
FADE_SHARE = 0.1  # of the film's length


def track_seconds(path: Path, pulse: Pulse) -> float:
    """How long the track really plays (every frame decoded, samples counted): run before the
    pictures are made, so a track that is not audio fails the film early."""
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            stream = next(iter(container.streams.audio), None)
            if stream is None:
                raise FilmError("the audio track has no audio stream")
            seconds = 0.0
            for frame in container.decode(stream):
                pulse.beat()
                seconds += frame.samples / frame.sample_rate
    except (av.FFmpegError, ValueError, EOFError) as exc:
        raise FilmError(f"the audio track could not be decoded: {reason(exc)}") from exc
    if seconds <= 0:
        raise FilmError("the audio track has no decodable audio")
    return seconds


def write_bed(
    track: Path, track_seconds: float, film_seconds: float, target: Path, pulse: Pulse
) -> float:
    """Encode the faded track, cut or padded with silence to ``film_seconds``, into ``target``
    (AAC in MP4); returns how many seconds of it are the track."""
    try:
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
            position = write_faded(container, stream, writer, end, fade, pulse)
            # silence to the film's end: the track lasts as long as the pictures
            writer.write(silence(round(film_seconds * RATE) - position))
        return position / RATE
    except (av.FFmpegError, ValueError, EOFError) as exc:
        raise FilmError(f"the audio track could not be decoded: {reason(exc)}") from exc
