"""A real decode probe with PyAV: open the file, find its stream, read what it is, decode a frame.

Magic bytes only say what a file claims to be; this says whether it plays. PyAV is blocking
C code, so ``probe`` runs it in a worker thread and the event loop keeps sending heartbeats.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from reelhouse.common.errors import PermanentError
from reelhouse.common.media.sniff import Kind, MediaType


@dataclass(frozen=True, slots=True)
class MediaInfo:
    kind: Kind
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    bit_rate: int | None = None


def _positive(value: Any) -> int | None:
    return int(value) if value else None


def _seconds(container: Any, stream: Any) -> float | None:
    if container.duration:
        return float(container.duration) / av.time_base
    if stream is not None and stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return None


def _fps(stream: Any) -> float | None:
    rate: Fraction | None = stream.average_rate or stream.guessed_rate
    return round(float(rate), 3) if rate else None


def _reason(exc: Exception) -> str:
    # FFmpegError's str() carries our temporary path; its strerror is the readable part
    return str(getattr(exc, "strerror", None) or exc or type(exc).__name__)


def probe_file(path: Path, media: MediaType) -> MediaInfo:
    """Describe and test-decode ``path`` (blocking); ``corrupt_media`` when it does not decode."""
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            video = next(iter(container.streams.video), None)
            audio = next(iter(container.streams.audio), None)
            # an audio-only MP4 or WebM is audio, whatever its container suggested
            kind: Kind = "audio" if media.kind == "video" and video is None else media.kind
            primary = audio if kind == "audio" else video
            if primary is None:
                wanted = "audio" if kind == "audio" else "video or image"
                raise PermanentError(
                    "corrupt_media",
                    f"The file looks like {media.content_type} but has no {wanted} stream.",
                )
            if next(container.decode(primary), None) is None:
                raise PermanentError(
                    "corrupt_media",
                    f"The file looks like {media.content_type} but no frame could be decoded.",
                )
            timed = kind != "image"
            return MediaInfo(
                kind=kind,
                duration=_seconds(container, primary) if timed else None,
                width=_positive(video.codec_context.width) if video is not None else None,
                height=_positive(video.codec_context.height) if video is not None else None,
                fps=_fps(video) if video is not None and kind == "video" else None,
                video_codec=video.codec_context.name if video is not None else None,
                audio_codec=audio.codec_context.name if audio is not None else None,
                bit_rate=_positive(container.bit_rate) if timed else None,
            )
    except (av.FFmpegError, ValueError, EOFError) as exc:
        raise PermanentError(
            "corrupt_media",
            f"The file looks like {media.content_type} but could not be decoded: {_reason(exc)}.",
        ) from exc


async def probe(path: Path, media: MediaType) -> MediaInfo:
    """``probe_file`` off the event loop."""
    return await asyncio.to_thread(probe_file, path, media)
