"""Real H.264/AAC MP4 clips and JPEG posters made for the tests (PyAV, NumPy, Pillow)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

SAMPLE_RATE = 48_000


@dataclass(frozen=True)
class Clip:
    width: int = 320
    height: int = 240
    fps: int = 25
    seconds: int = 2
    keyframe_every: int = 12
    # moov before mdat, as a browser needs to start playing before the whole file arrives
    faststart: bool = False
    # incompressible frames make a large file from a short clip
    noise: bool = False
    # constant rate factor (x264); low values keep noise incompressible (0, lossless, would need
    # the High 4:4:4 profile browsers do not decode)
    crf: int = 23

    def frame(self, index: int, rng: np.random.Generator) -> np.ndarray:
        if self.noise:
            return rng.integers(0, 256, (self.height, self.width, 3), dtype=np.uint8)
        image = np.zeros((self.height, self.width, 3), dtype=np.uint8)
        image[:, :, 0] = (index * 5) % 256
        image[:, : (index * 4) % self.width, 1] = 200
        image[: self.height // 4, :, 2] = (index * 11) % 256
        return image


def write_mp4(path: Path, clip: Clip) -> None:
    """An H.264 (yuv420p) + AAC file with moving colours, so frames differ."""
    options = {"movflags": "+faststart"} if clip.faststart else {}
    rng = np.random.default_rng(7)
    with av.open(str(path), "w", format="mp4", options=options) as container:
        video = container.add_stream("libx264", rate=clip.fps)
        video.width, video.height, video.pix_fmt = clip.width, clip.height, "yuv420p"
        video.codec_context.gop_size = clip.keyframe_every
        video.codec_context.options = {"crf": str(clip.crf), "preset": "ultrafast"}
        audio = container.add_stream("aac", rate=SAMPLE_RATE)
        for index in range(clip.fps * clip.seconds):
            frame = av.VideoFrame.from_ndarray(clip.frame(index, rng), format="rgb24")
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        samples = 1024
        for index in range(SAMPLE_RATE * clip.seconds // samples):
            t = np.arange(samples) + index * samples
            tone = (0.2 * np.sin(2 * np.pi * 440 * t / SAMPLE_RATE)).astype(np.float32)
            sound = av.AudioFrame.from_ndarray(tone.reshape(1, -1), format="fltp", layout="mono")
            sound.sample_rate = SAMPLE_RATE
            sound.pts = index * samples
            sound.time_base = Fraction(1, SAMPLE_RATE)
            container.mux(audio.encode(sound))
        container.mux(audio.encode(None))


def write_poster(path: Path, *, size: tuple[int, int], color: tuple[int, int, int]) -> None:
    Image.new("RGB", size, color).save(path, format="JPEG", quality=90)
