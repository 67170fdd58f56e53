"""Read back what the film tests wrote: streams, decoded frames, audio samples, packet order."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from reelhouse.assembler.film import FilmResult, assemble_film
from reelhouse.common.composition_events import OutputFormat, Transition

CUT = Transition()


@dataclass(frozen=True, slots=True)
class Written:
    video_streams: int
    audio_streams: int
    width: int
    height: int
    fps: float
    frames: int  # decoded
    video_seconds: float
    audio_seconds: float | None
    sizes: frozenset[tuple[int, int]]  # of every decoded frame


def film(
    tmp_path: Path,
    scenes: list[Path],
    *,
    audio: Path | None = None,
    transition: Transition = CUT,
    output: OutputFormat | None = None,
    name: str = "film.mp4",
) -> tuple[FilmResult, Path]:
    target = tmp_path / name
    result = assemble_film(
        scenes=scenes,
        audio=audio,
        transition=transition,
        output=output or OutputFormat(),
        target=target,
        workdir=tmp_path / f"work-{name}",
    )
    return result, target


def read_film(path: Path) -> Written:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = next(iter(container.streams.audio), None)
        sizes = set()
        frames = 0
        for frame in container.decode(video):
            sizes.add((frame.width, frame.height))
            frames += 1
        rate = video.average_rate
        assert rate is not None
        return Written(
            video_streams=len(container.streams.video),
            audio_streams=len(container.streams.audio),
            width=video.codec_context.width,
            height=video.codec_context.height,
            fps=float(rate),
            frames=frames,
            video_seconds=frames / float(rate),
            audio_seconds=audio_seconds(path) if audio is not None else None,
            sizes=frozenset(sizes),
        )


def frame_at(path: Path, number: int) -> npt.NDArray[np.uint8]:
    """Decoded frame ``number`` (from 0) as RGB."""
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index == number:
                pixels: npt.NDArray[np.uint8] = np.asarray(
                    frame.to_ndarray(format="rgb24"), dtype=np.uint8
                )
                return pixels
    raise AssertionError(f"the film has no frame {number}")


def audio_samples(path: Path) -> npt.NDArray[np.float32]:
    """The film's audio, decoded to 48 kHz mono float (a few seconds: fine in memory)."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=48_000)
    chunks: list[npt.NDArray[np.float32]] = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1).astype(np.float32))
    return np.concatenate(chunks)


def audio_seconds(path: Path) -> float:
    return len(audio_samples(path)) / 48_000


def rms(samples: npt.NDArray[np.float32]) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def video_dts(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        return [p.dts for p in container.demux(video=0) if p.dts is not None]


def keyframe_times(path: Path) -> list[float]:
    """When the film's video keyframes are shown, in seconds, in order."""
    with av.open(str(path)) as container:
        return sorted(
            float(packet.pts * packet.time_base)
            for packet in container.demux(video=0)
            if packet.is_keyframe and packet.pts is not None
        )
