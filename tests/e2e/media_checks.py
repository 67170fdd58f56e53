"""What a player needs from a stored file, checked on the bytes themselves."""

from __future__ import annotations

import io
import struct

import av
import numpy as np


def top_level_boxes(data: bytes) -> list[str]:
    """The MP4 top-level box types in file order."""
    boxes: list[str] = []
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:
            size = len(data) - offset
        boxes.append(kind.decode("latin-1"))
        if size < 8:
            break
        offset += size
    return boxes


def decoded_frames(data: bytes) -> tuple[list[np.ndarray], dict[str, str | float]]:
    """Decode every video frame (small test videos) and describe the streams."""
    with av.open(io.BytesIO(data), mode="r") as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0]
        facts: dict[str, str | float] = {
            "video_codec": video.codec_context.name,
            "audio_codec": audio.codec_context.name,
            "duration": float(container.duration or 0) / av.time_base,
        }
        frames = [frame.to_ndarray(format="gray") for frame in container.decode(video=0)]
    return frames, facts
