"""Ready to stream: an MP4/MOV whose ``moov`` box follows ``mdat`` gets it moved to the front.

A browser can only start playing (or seek) once it has read ``moov``; at the end of a large
file that means downloading all of it first. ``remux_faststart`` copies every audio and
video packet unchanged into a new file written with ``movflags=faststart`` (no re-encode),
in a worker thread: PyAV is blocking C code.
"""

from __future__ import annotations

import struct
from pathlib import Path

import av
import structlog

from reelhouse.common.errors import PermanentError
from reelhouse.common.media.sniff import MOV, MediaType

log = structlog.get_logger(__name__)

ISO_BMFF_EXTS = frozenset({"mp4", "mov", "m4a"})
# a file with more top-level boxes than this is not one we rearrange
MAX_BOXES = 4096


def top_level_boxes(path: Path) -> list[str]:
    """The types of the file's top-level ISO-BMFF boxes, in order, reading only their headers."""
    boxes: list[str] = []
    size_of_file = path.stat().st_size
    with path.open("rb") as handle:
        offset = 0
        while offset + 8 <= size_of_file and len(boxes) < MAX_BOXES:
            handle.seek(offset)
            header = handle.read(16)
            size, kind = struct.unpack(">I4s", header[:8])
            if size == 1 and len(header) >= 16:
                (size,) = struct.unpack(">Q", header[8:16])
            elif size == 0:
                size = size_of_file - offset
            boxes.append(kind.decode("latin-1"))
            if size < 8:
                break
            offset += size
    return boxes


def needs_faststart(path: Path, media: MediaType) -> bool:
    """Whether ``path`` is an MP4/MOV whose ``moov`` comes after its ``mdat``."""
    if media.ext not in ISO_BMFF_EXTS:
        return False
    boxes = top_level_boxes(path)
    if "moov" not in boxes or "mdat" not in boxes:
        return False
    return boxes.index("mdat") < boxes.index("moov")


def remux_faststart(source: Path, target: Path, media: MediaType) -> int:
    """Copy the audio and video packets of ``source`` into ``target``, ``moov`` first.

    Returns the number of packets copied. Other streams (timecode, data) are left out.
    """
    fmt = "mov" if media == MOV else "mp4"
    try:
        with (
            av.open(str(source), mode="r", metadata_errors="ignore") as src,
            av.open(
                str(target), mode="w", format=fmt, container_options={"movflags": "+faststart"}
            ) as dst,
        ):
            kept = [s for s in src.streams if s.type in ("video", "audio")]
            mapping = {s.index: dst.add_stream_from_template(s) for s in kept}
            copied = 0
            for packet in src.demux(kept):
                if packet.dts is None:
                    continue  # the demuxer's flush packet
                packet.stream = mapping[packet.stream.index]
                dst.mux(packet)
                copied += 1
    except (av.FFmpegError, ValueError) as exc:
        raise PermanentError(
            "corrupt_media", f"The file could not be rearranged for streaming: {exc}."
        ) from exc
    log.info("download.faststart", packets=copied, streams=len(kept))
    return copied
