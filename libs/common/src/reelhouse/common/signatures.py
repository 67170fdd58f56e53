"""Magic bytes that more than one role recognises (the downloader's and the uploads' sniffers)."""

from __future__ import annotations

# ISO base media ``ftyp`` brands of audio files (iTunes' M4A, audiobooks, protected M4A)
AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P "})


def _mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG audio frame header: 11 sync bits, a valid version and a layer (ADTS AAC has 00)."""
    if len(head) < 2 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0b11
    layer = (head[1] >> 1) & 0b11
    return version != 0b01 and layer != 0b00


def starts_like_mp3(head: bytes) -> bool:
    """An ID3 tag or an MPEG audio frame first: how an MP3 file begins."""
    return head.startswith(b"ID3") or _mpeg_audio_frame(head)
