"""What a file really is, from its first bytes: the claimed Content-Type never wins.

``sniff`` names a supported media type or returns None; ``require_media`` turns None into
a ``not_media`` failure whose message says what arrived instead (an HTML error page, a
JSON error body, text, or unrecognised bytes), what it claimed to be, its size, and a
short printable excerpt, so a user sees a reason and not just a code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reelhouse.common.errors import PermanentError
from reelhouse.common.signatures import AUDIO_BRANDS, starts_like_mp3

Kind = Literal["video", "image", "audio"]

# enough for every signature below and for a readable excerpt of a text body
HEAD_BYTES = 512
HINT_CHARS = 64


@dataclass(frozen=True, slots=True)
class MediaType:
    content_type: str
    ext: str
    kind: Kind


MP4 = MediaType("video/mp4", "mp4", "video")
MOV = MediaType("video/quicktime", "mov", "video")
M4A = MediaType("audio/mp4", "m4a", "audio")
WEBM = MediaType("video/webm", "webm", "video")
MKV = MediaType("video/x-matroska", "mkv", "video")
PNG = MediaType("image/png", "png", "image")
JPEG = MediaType("image/jpeg", "jpg", "image")
GIF = MediaType("image/gif", "gif", "image")
WEBP = MediaType("image/webp", "webp", "image")
MP3 = MediaType("audio/mpeg", "mp3", "audio")
WAV = MediaType("audio/wav", "wav", "audio")

_QUICKTIME_BRAND = b"qt  "
# ISO-BMFF still images (AVIF, HEIF): real media, but not a type we store
_IMAGE_BRANDS = frozenset({b"avif", b"avis", b"heic", b"heix", b"hevc", b"heim", b"mif1", b"msf1"})
# QuickTime files written without an ftyp box start straight with one of these atoms
_BARE_QUICKTIME_ATOMS = frozenset({b"moov", b"mdat", b"wide"})
_EBML = b"\x1a\x45\xdf\xa3"


def _iso_bmff(head: bytes) -> MediaType | None:
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == _QUICKTIME_BRAND:
            return MOV
        if brand in AUDIO_BRANDS:
            return M4A
        if brand in _IMAGE_BRANDS:
            return None
        return MP4
    if head[4:8] in _BARE_QUICKTIME_ATOMS:
        return MOV
    return None


def sniff(head: bytes) -> MediaType | None:
    """The supported media type ``head`` starts like, or None."""
    if len(head) >= 12 and (found := _iso_bmff(head)) is not None:
        return found
    if head.startswith(_EBML):
        return WEBM if b"webm" in head[:64] else MKV
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return WAV
    if starts_like_mp3(head):
        return MP3
    return None


def _text(head: bytes) -> str | None:
    """``head`` as text when it reads as text (a cut multi-byte character at the end is fine)."""
    if b"\x00" in head:
        return None
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return text if text and printable >= 0.95 * len(text) else None


def describe(head: bytes) -> str:
    """What a body that is not supported media looks like, in a few words."""
    if not head:
        return "an empty body"
    if head[4:8] == b"ftyp":
        return f"an ISO media file of unsupported brand {head[8:12].decode('latin-1')!r}"
    if head.startswith(b"RIFF"):
        return f"a RIFF file of unsupported type {head[8:12].decode('latin-1')!r}"
    text = _text(head)
    if text is None:
        return "unrecognised binary data"
    lowered = text.lstrip().lower()
    if lowered.startswith(("<!doctype html", "<html")) or "<html" in lowered or "<body" in lowered:
        return "an HTML page"
    if lowered.startswith("<?xml") or lowered.startswith("<"):
        return "an XML document"
    if lowered.startswith(("{", "[")):
        return "a JSON document"
    return "plain text"


def printable_hint(head: bytes, limit: int = HINT_CHARS) -> str:
    """The first bytes as one printable ASCII line: whitespace runs shrink to a space, other bytes become ``.``."""
    chars = [" " if b in b" \r\n\t" else chr(b) if 0x21 <= b <= 0x7E else "." for b in head]
    line = " ".join("".join(chars).split())
    return line[:limit] + ("…" if len(line) > limit else "")


def require_media(head: bytes, *, claimed_type: str | None, size: int | None) -> MediaType:
    """The sniffed media type, or ``not_media`` naming what was received instead."""
    media = sniff(head)
    if media is not None:
        return media
    size_text = "of unknown size" if size is None else f"{size:,} bytes"
    raise PermanentError(
        "not_media",
        f"Expected a media file but received {describe(head)} "
        f"(claimed Content-Type {claimed_type or 'none'}, {size_text}, "
        f"starting {printable_hint(head)!r}).",
    )
