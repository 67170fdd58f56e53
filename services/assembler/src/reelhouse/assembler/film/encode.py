"""Encode the film's frames as H.264 (yuv420p, a keyframe at least every two seconds)."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av

from reelhouse.assembler.film.normalise import Pixels
from reelhouse.assembler.film.pulse import Pulse

# the first one this PyAV build can write
H264_ENCODERS = ("libx264", "libopenh264", "h264")
X264_OPTIONS = {"preset": "veryfast", "crf": "21"}
KEYFRAME_SECONDS = 2


def h264_encoder() -> str:
    available = av.codecs_available
    for name in H264_ENCODERS:
        if name in available:
            try:
                av.Codec(name, "w")
            except (av.FFmpegError, ValueError):
                continue
            return name
    raise RuntimeError("this PyAV build has no H.264 encoder")


def encode_video(
    frames: Iterable[Pixels], target: Path, width: int, height: int, fps: Fraction, pulse: Pulse
) -> int:
    """Write ``frames`` (RGB, ``width × height``) at ``fps`` into ``target`` (MP4, video only);
    returns how many were written."""
    encoder = h264_encoder()
    options = X264_OPTIONS if encoder == "libx264" else {}
    written = 0
    with av.open(str(target), mode="w", format="mp4") as output:
        stream = output.add_stream(encoder, rate=fps, options=dict(options))
        if not isinstance(stream, av.VideoStream):
            raise TypeError(f"{encoder} did not give a video stream")
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = 1 / fps
        stream.codec_context.gop_size = max(1, int(KEYFRAME_SECONDS * fps))
        for pixels in frames:
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = written
            frame.time_base = 1 / fps
            output.mux(stream.encode(frame))
            written += 1
            pulse.beat()
        output.mux(stream.encode(None))
    return written
