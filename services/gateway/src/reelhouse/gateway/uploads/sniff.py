"""What an upload is by its first bytes: JPEG, PNG, WebP, GIF, MP4, WebM, M4A, MP3 or WAV, or
nothing we take.

Magic bytes only say what a file claims to be; ``decode.py`` then checks that it really is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reelhouse.common.signatures import AUDIO_BRANDS, starts_like_mp3

UploadKind = Literal["image", "video", "audio"]
# enough for every signature below (WebM's DocType sits within the EBML header)
SNIFF_BYTES = 64
# ISO base media files that are still images (HEIF, AVIF), not videos
_IMAGE_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"}
)


@dataclass(frozen=True, slots=True)
class MediaType:
    kind: UploadKind
    content_type: str
    # the file name extension of the stored object
    extension: str
    # Pillow's format name (images only)
    pillow_format: str | None = None
    # FFmpeg's demuxer, when only that one may read it (None: FFmpeg probes)
    ffmpeg_format: str | None = None


JPEG = MediaType("image", "image/jpeg", "jpg", "JPEG")
PNG = MediaType("image", "image/png", "png", "PNG")
WEBP = MediaType("image", "image/webp", "webp", "WEBP")
GIF = MediaType("image", "image/gif", "gif", "GIF")
MP4 = MediaType("video", "video/mp4", "mp4")
WEBM = MediaType("video", "video/webm", "webm")
M4A = MediaType("audio", "audio/mp4", "m4a")
MP3 = MediaType("audio", "audio/mpeg", "mp3", ffmpeg_format="mp3")
WAV = MediaType("audio", "audio/wav", "wav", ffmpeg_format="wav")


def upload_kind(value: str) -> UploadKind:
    """A stored row's ``kind`` (the column only ever holds a ``MediaType.kind``)."""
    match value:
        case "video" | "audio":
            return value
        case _:
            return "image"


def sniff(head: bytes) -> MediaType | None:
    """The accepted type whose signature ``head`` (the file's first bytes) carries, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in AUDIO_BRANDS:
            return M4A
        return None if brand in _IMAGE_BRANDS or brand == b"qt  " else MP4
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head[:SNIFF_BYTES]:
        return WEBM
    if starts_like_mp3(head):
        return MP3
    return None
