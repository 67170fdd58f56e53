"""The real decode of an upload, before anything is kept.

Images (Pillow): the declared size is checked against the pixel budget before a pixel is
decoded (decompression bombs: 413 ``upload_too_large``), then the file is verified and fully
loaded, turned upright by its EXIF orientation and written again without EXIF, XMP, text
chunks or comments (the ICC colour profile is kept). JPEG, PNG and WebP keep their format; a
GIF becomes a PNG of its first frame (an animated WebP keeps its first frame too).

Videos (PyAV): MP4 and WebM must hold a video stream of which one frame decodes; width,
height and duration are read. An MP4 with no video but an audio stream is M4A audio.

Audio (PyAV): M4A, MP3 and WAV must hold an audio stream of which one frame decodes, read by
their own demuxer (an MP3 is not probed as something else); the duration is read.

Videos and audio are stored as received (container metadata is not stripped).

Both are blocking C code: ``check_upload`` runs them in a worker thread.
"""

from __future__ import annotations

import asyncio
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
from PIL import Image, ImageOps, UnidentifiedImageError

from reelhouse.gateway.problems import ProblemError
from reelhouse.gateway.uploads.sniff import GIF, M4A, MP4, PNG, MediaType

JPEG_QUALITY = 95
WEBP_QUALITY = 95
# what a clean image keeps of the source's info: colour, not metadata
_KEPT_INFO = ("transparency",)


@dataclass(frozen=True, slots=True)
class CheckedMedia:
    """A decoded upload: the file to store (``path``) and what it is."""

    path: Path
    media: MediaType
    # None for audio
    width: int | None
    height: int | None
    duration: float | None = None


def _corrupt(media: MediaType, reason: str) -> ProblemError:
    return ProblemError("corrupt_media", f"The file looks like {media.content_type} but {reason}.")


def _too_many_pixels(width: int, height: int, max_pixels: int) -> ProblemError:
    return ProblemError(
        "upload_too_large",
        f"The image is {width}×{height} pixels; at most {max_pixels} pixels are accepted.",
    )


def _reason(exc: BaseException) -> str:
    # FFmpegError's str() carries our temporary path; its strerror is the readable part
    return str(getattr(exc, "strerror", None) or exc or type(exc).__name__)


def _open_image(path: Path, media: MediaType, max_pixels: int) -> Image.Image:
    """``path`` opened (header only) as ``media``'s format, its size within the budget."""
    with warnings.catch_warnings():
        # our own budget decides; Pillow's warning (and its error at twice its limit) is noise
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(path, formats=[media.pillow_format or ""])
        except Image.DecompressionBombError as exc:
            raise ProblemError(
                "upload_too_large",
                f"The image declares more pixels than {max_pixels} (decompression bomb).",
            ) from exc
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise _too_many_pixels(width, height, max_pixels)
    if width < 1 or height < 1:
        image.close()
        raise _corrupt(media, "it has no pixels")
    return image


def _clean_image(image: Image.Image) -> Image.Image:
    """The first frame, upright, with nothing but its pixels (and transparency) left."""
    image.seek(0)
    image.load()
    upright = ImageOps.exif_transpose(image)
    if upright is not image:
        upright.load()
    upright.info = {k: v for k, v in image.info.items() if k in _KEPT_INFO}
    return upright


def _save_clean(image: Image.Image, icc: bytes | None, media: MediaType, out: Path) -> MediaType:
    kept = {"icc_profile": icc} if icc else {}
    if media is GIF:
        mode = "RGBA" if image.mode in ("P", "PA", "LA", "RGBA") else "RGB"
        image.convert(mode).save(out, format="PNG", optimize=False, **kept)
        return PNG
    if media.pillow_format == "JPEG":
        if image.mode not in ("L", "RGB", "CMYK"):
            image = image.convert("RGB")
        image.save(out, format="JPEG", quality=JPEG_QUALITY, **kept)
    elif media.pillow_format == "WEBP":
        image.save(out, format="WEBP", quality=WEBP_QUALITY, **kept)
    else:
        image.save(out, format="PNG", **kept)
    return media


def check_image(path: Path, media: MediaType, *, max_pixels: int, out: Path) -> CheckedMedia:
    """Verify and decode the image at ``path``; write its clean copy to ``out`` (blocking)."""
    try:
        with _open_image(path, media, max_pixels) as probe:
            probe.verify()
        with _open_image(path, media, max_pixels) as image:
            icc = image.info.get("icc_profile")
            clean = _clean_image(image)
            stored = _save_clean(clean, icc if isinstance(icc, bytes) else None, media, out)
            width, height = clean.size
    except ProblemError:
        raise
    except UnidentifiedImageError as exc:
        raise _corrupt(media, "it could not be read") from exc
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise _corrupt(media, f"it could not be decoded: {_reason(exc)}") from exc
    return CheckedMedia(path=out, media=stored, width=width, height=height)


def _seconds(container: Any, stream: Any) -> float | None:
    if container.duration:
        return round(float(container.duration) / av.time_base, 3)
    if stream.duration and stream.time_base:
        return round(float(stream.duration * stream.time_base), 3)
    return None


def check_video(path: Path, media: MediaType) -> CheckedMedia:
    """Decode one frame of the video at ``path`` and describe it (blocking)."""
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            video = next(iter(container.streams.video), None)
            if video is None and media is MP4 and container.streams.audio:
                return _decoded_audio(container, path, M4A)
            if video is None:
                raise _corrupt(media, "it has no video stream")
            frame = next(container.decode(video), None)
            if frame is None:
                raise _corrupt(media, "no frame could be decoded")
            width = int(video.codec_context.width or frame.width)
            height = int(video.codec_context.height or frame.height)
            duration = _seconds(container, video)
    except ProblemError:
        raise
    except (av.FFmpegError, ValueError, EOFError, OSError) as exc:
        raise _corrupt(media, f"it could not be decoded: {_reason(exc)}") from exc
    return CheckedMedia(path=path, media=media, width=width, height=height, duration=duration)


def _decoded_audio(container: Any, path: Path, media: MediaType) -> CheckedMedia:
    audio = next(iter(container.streams.audio), None)
    if audio is None:
        raise _corrupt(media, "it has no audio stream")
    if next(container.decode(audio), None) is None:
        raise _corrupt(media, "no audio frame could be decoded")
    duration = _seconds(container, audio)
    if not duration:
        raise _corrupt(media, "its length could not be read")
    return CheckedMedia(path=path, media=media, width=None, height=None, duration=duration)


def check_audio(path: Path, media: MediaType) -> CheckedMedia:
    """Decode one frame of the audio at ``path`` and read its length (blocking)."""
    try:
        with av.open(
            str(path), mode="r", format=media.ffmpeg_format, metadata_errors="ignore"
        ) as container:
            return _decoded_audio(container, path, media)
    except ProblemError:
        raise
    except (av.FFmpegError, ValueError, EOFError, OSError) as exc:
        raise _corrupt(media, f"it could not be decoded: {_reason(exc)}") from exc


def check_file(path: Path, media: MediaType, *, max_pixels: int, out: Path) -> CheckedMedia:
    if media.kind == "image":
        return check_image(path, media, max_pixels=max_pixels, out=out)
    if media.kind == "audio":
        return check_audio(path, media)
    return check_video(path, media)


async def check_upload(path: Path, media: MediaType, *, max_pixels: int, out: Path) -> CheckedMedia:
    """``check_file`` off the event loop."""
    return await asyncio.to_thread(check_file, path, media, max_pixels=max_pixels, out=out)
