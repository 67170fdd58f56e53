"""Text-to-music: a short melody over a bass line, as AAC in an M4A file.

The notes come from the prompt and the seed (the same pair always plays the same tune): a
pentatonic scale on a drawn key, a drawn tempo, a melody that mostly steps between
neighbouring notes, and a bass note per bar. Each note has a short attack and release, so
the tune is continuous music without clicks. Samples are made note by note and encoded in
AAC frames as they come, so a five-minute score needs no more memory than a note.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from reelhouse.sandbox.render import (
    AUDIO_FRAME_SAMPLES,
    ProgressCallback,
    Rendered,
    RenderStoppedError,
    StopCheck,
)

MUSIC_RATE = 44_100
CONTENT_TYPE = "audio/mp4"
# the major pentatonic scale, in semitones over the key's root
PENTATONIC = (0, 2, 4, 7, 9)
ATTACK_SECONDS = 0.01
RELEASE_SECONDS = 0.04
MELODY_GAIN = 0.22
BASS_GAIN = 0.12
BEATS_PER_BAR = 4
# a melody note lasts half a beat, a beat or a beat and a half
NOTE_BEATS = (0.5, 0.5, 1.0, 1.0, 1.5)


@dataclass(frozen=True, slots=True)
class MusicSpec:
    prompt: str
    duration: float
    seed: int
    # ``moov`` before ``mdat`` (ready to stream); False writes it at the end, as many encoders do
    faststart: bool = True

    @property
    def total_samples(self) -> int:
        return max(1, round(self.duration * MUSIC_RATE))


@dataclass(frozen=True, slots=True)
class Note:
    samples: int
    melody_hz: float
    bass_hz: float


def _hz(midi: int) -> float:
    return float(440.0 * 2 ** ((midi - 69) / 12))


def melody(spec: MusicSpec) -> Iterator[Note]:
    """The notes of ``spec``'s tune, until they fill its duration (the last one cut short)."""
    rng = random.Random(f"{spec.prompt}\0{spec.seed}")  # noqa: S311 (a tune, not cryptography)
    root = 57 + rng.randrange(12)  # a key from A3 to G#4
    beat_samples = round(MUSIC_RATE * 60 / rng.randint(90, 140))
    scale = [root + octave * 12 + step for octave in (0, 1) for step in PENTATONIC]
    # the bass walks the key's I, IV, V and vi chords, one per bar
    progression = [rng.choice((0, 5, 7, 9)) for _ in range(4)]
    position = rng.randrange(len(scale))
    remaining = spec.total_samples
    beat = 0.0
    while remaining > 0:
        length = min(remaining, round(rng.choice(NOTE_BEATS) * beat_samples))
        bar = int(beat // BEATS_PER_BAR)
        bass = root - 24 + progression[bar % len(progression)]
        yield Note(samples=length, melody_hz=_hz(scale[position]), bass_hz=_hz(bass))
        position = min(len(scale) - 1, max(0, position + rng.choice((-2, -1, -1, 1, 1, 2))))
        beat += length / beat_samples
        remaining -= length


def _envelope(samples: int) -> npt.NDArray[np.float64]:
    """Rises over the attack, holds, falls to silence over the release."""
    attack = max(1, min(samples // 2, round(ATTACK_SECONDS * MUSIC_RATE)))
    release = max(1, min(samples - attack, round(RELEASE_SECONDS * MUSIC_RATE)))
    envelope = np.ones(samples, dtype=np.float64)
    envelope[:attack] = np.linspace(0.0, 1.0, attack, endpoint=False)
    envelope[samples - release :] = np.linspace(1.0, 0.0, release)
    return envelope


def _voice(hz: float, t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """A soft tone: the fundamental with two quieter harmonics."""
    phase = math.tau * hz * t
    return np.sin(phase) + 0.3 * np.sin(2 * phase) + 0.1 * np.sin(3 * phase)


def note_samples(note: Note) -> npt.NDArray[np.float32]:
    """One note as stereo samples, shape ``(2, note.samples)``: the melody a little left."""
    t = np.arange(note.samples, dtype=np.float64) / MUSIC_RATE
    envelope = _envelope(note.samples)
    tune = MELODY_GAIN * envelope * _voice(note.melody_hz, t)
    bass = BASS_GAIN * envelope * _voice(note.bass_hz, t)
    return np.stack([0.6 * tune + bass, 0.4 * tune + bass]).astype(np.float32)


def render_music(
    spec: MusicSpec,
    target: Path,
    *,
    progress: ProgressCallback,
    should_stop: StopCheck,
) -> Rendered:
    """Encode ``spec``'s tune as stereo AAC in an M4A file (``moov`` first unless asked) at
    ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    total = spec.total_samples
    options = {"movflags": "+faststart"} if spec.faststart else {}
    try:
        with av.open(str(tmp), mode="w", format="ipod", container_options=options) as container:
            stream = container.add_stream("aac", rate=MUSIC_RATE, layout="stereo")
            pending = np.zeros((2, 0), dtype=np.float32)
            written = 0
            for note in melody(spec):
                if should_stop():
                    raise RenderStoppedError
                pending = np.concatenate([pending, note_samples(note)], axis=1)
                while pending.shape[1] >= AUDIO_FRAME_SAMPLES:
                    written = _encode(container, stream, pending[:, :AUDIO_FRAME_SAMPLES], written)
                    pending = pending[:, AUDIO_FRAME_SAMPLES:]
                progress(min(written, total), total)
            if pending.shape[1]:
                written = _encode(container, stream, pending, written)
            container.mux(stream.encode(None))
        progress(total, total)
        os.replace(tmp, target)
        return Rendered(path=target, content_type=CONTENT_TYPE, size=target.stat().st_size)
    finally:
        tmp.unlink(missing_ok=True)


def _encode(
    container: av.container.OutputContainer,
    stream: av.AudioStream,
    samples: npt.NDArray[np.float32],
    pts: int,
) -> int:
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(samples), format="fltp", layout="stereo"
    )
    frame.sample_rate = MUSIC_RATE
    frame.pts = pts
    container.mux(stream.encode(frame))
    return pts + int(samples.shape[1])
