"""The film's one audio track: decode anything to 48 kHz stereo, write it as AAC.

``decoded_samples`` turns a file's audio stream into float planes at the film's rate and
layout, chunk by chunk; ``AacWriter`` takes such chunks (any length) and encodes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from reelhouse.assembler.film.pulse import Pulse

RATE = 48_000
LAYOUT = "stereo"
CHANNELS = 2
AAC_FRAME = 1024  # samples per AAC frame
AAC_BIT_RATE = 160_000
# FFmpeg's "fast" AAC coder: about half the CPU of the default "twoloop", and at 160 kb/s the
# difference is hard to hear; audio encoding is most of the work when the video is copied
AAC_OPTIONS = {"aac_coder": "fast"}

Samples = npt.NDArray[np.float32]  # CHANNELS × n, in [-1, 1]


def silence(count: int) -> Samples:
    return np.zeros((CHANNELS, max(0, count)), dtype=np.float32)


def decoded_samples(container: Any, stream: Any, pulse: Pulse) -> Iterator[Samples]:
    """``stream``'s audio resampled to ``RATE`` stereo float (``av`` errors pass through)."""
    resampler = av.AudioResampler(format="fltp", layout=LAYOUT, rate=RATE)
    for frame in container.decode(stream):
        pulse.beat()
        for out in resampler.resample(frame):
            yield out.to_ndarray().astype(np.float32, copy=False)
    for out in resampler.resample(None):
        yield out.to_ndarray().astype(np.float32, copy=False)


def fade_gain(first: int, count: int, end: int, fade: int) -> Samples:
    """The gain of samples ``first … first + count - 1`` of a sound of ``end`` samples that
    fades in over its first ``fade`` samples and out over its last ``fade``."""
    index = np.arange(first, first + count, dtype=np.float64) + 0.5
    ramp = np.minimum(np.minimum(index / fade, (end - index) / fade), 1.0)
    gain: Samples = np.clip(ramp, 0.0, 1.0).astype(np.float32)[None, :]
    return gain


def write_faded(
    container: Any, stream: Any, writer: AacWriter, end: int, fade: int, pulse: Pulse
) -> int:
    """Write ``stream``'s first ``end`` samples (or all, if fewer) faded in and out over
    ``fade`` samples; returns how many were written."""
    position = 0
    for samples in decoded_samples(container, stream, pulse):
        count = min(samples.shape[1], end - position)
        if count <= 0:
            break
        writer.write(samples[:, :count] * fade_gain(position, count, end, fade))
        position += count
    return position


class AacWriter:
    """An MP4 holding one AAC stream, fed chunks of samples of any length."""

    def __init__(self, target: Path) -> None:
        self._container = av.open(str(target), mode="w", format="mp4")
        self._stream = self._container.add_stream(
            "aac", rate=RATE, layout=LAYOUT, options=dict(AAC_OPTIONS)
        )
        self._stream.bit_rate = AAC_BIT_RATE
        self._pending: list[Samples] = []
        self._pending_count = 0
        self.written = 0  # samples encoded so far
        self.received = 0  # samples written to this writer so far (some maybe not yet encoded)

    def write(self, samples: Samples) -> None:
        if samples.shape[1] == 0:
            return
        self.received += samples.shape[1]
        self._pending.append(samples)
        self._pending_count += samples.shape[1]
        if self._pending_count >= AAC_FRAME:
            joined = np.concatenate(self._pending, axis=1)
            whole = joined.shape[1] // AAC_FRAME * AAC_FRAME
            for start in range(0, whole, AAC_FRAME):
                self._encode(joined[:, start : start + AAC_FRAME])
            rest = joined[:, whole:]
            self._pending = [rest] if rest.shape[1] else []
            self._pending_count = rest.shape[1]

    def _encode(self, chunk: Samples) -> None:
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(chunk), format="fltp", layout=LAYOUT
        )
        frame.sample_rate = RATE
        frame.pts = self.written
        self._container.mux(self._stream.encode(frame))
        self.written += chunk.shape[1]

    def close(self) -> None:
        if self._pending_count:
            self._encode(np.concatenate(self._pending, axis=1))
            self._pending, self._pending_count = [], 0
        self._container.mux(self._stream.encode(None))
        self._container.close()

    def __enter__(self) -> AacWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self._container.close()
