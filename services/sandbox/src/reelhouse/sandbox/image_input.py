"""The input image of image-to-video: fetched and decoded when the prediction starts.

Like Replicate's and fal's workers, the sandbox downloads the file itself from the URL it
was given (``http``/``https``; a ``data:`` URI is decoded in place), bounded in time, size
and redirects, then decodes it with Pillow under a pixel limit. Whatever goes wrong raises
``InputFileError`` carrying the kind of error fal reports (``file_download_error`` when
the bytes cannot be had, ``image_load_error`` when they are not an image), so each
protocol can fail the prediction in its provider's own shape. Synchronous: the runner
calls it in the render thread, never on the event loop.
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes, urlsplit

import httpx
from PIL import Image, ImageOps, UnidentifiedImageError

from reelhouse.sandbox.render import RenderStoppedError, StopCheck

FETCH_TIMEOUT_SECONDS = 15.0
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 5
# a decompression-bomb guard: a small file may still claim a huge canvas
MAX_IMAGE_PIXELS = 40_000_000
CHUNK_BYTES = 64 * 1024
URL_SCHEMES = ("http", "https", "data")
USER_AGENT = "reelhouse-sandbox/1 (input fetch)"

DOWNLOAD_ERROR = "file_download_error"
LOAD_ERROR = "image_load_error"


class InputFileError(Exception):
    """The input file could not be fetched or decoded; ``error_type`` names the kind."""

    def __init__(self, field: str, error_type: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.error_type = error_type
        self.message = message


def _never_stop() -> bool:
    return False


def describe(url: str) -> str:
    """``url`` for messages and logs: no credentials, no query (a signed URL's signature), no
    data."""
    if url[:5].lower() == "data:":
        return "a data: URI"
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}"


def decode_data_uri(uri: str, *, field: str, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    """The bytes of a ``data:[<media type>][;base64],<data>`` URI (RFC 2397)."""
    header, comma, payload = uri.partition(",")
    if not comma or header[:5].lower() != "data:":
        raise InputFileError(field, DOWNLOAD_ERROR, "Malformed data: URI (no comma).")
    if len(payload) > max_bytes * 4 // 3 + 4 * 3:
        raise InputFileError(field, DOWNLOAD_ERROR, f"The data: URI holds over {max_bytes} bytes.")
    raw = unquote_to_bytes(payload)
    if header.lower().endswith(";base64"):
        try:
            raw = base64.b64decode(b"".join(raw.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InputFileError(
                field, DOWNLOAD_ERROR, "The data: URI is not valid base64."
            ) from exc
    if len(raw) > max_bytes:
        raise InputFileError(field, DOWNLOAD_ERROR, f"The data: URI holds over {max_bytes} bytes.")
    return raw


@dataclass(frozen=True, slots=True)
class Fetcher:
    """Downloads one input file with bounds on time, size and redirects."""

    timeout_seconds: float = FETCH_TIMEOUT_SECONDS
    max_bytes: int = MAX_IMAGE_BYTES
    max_redirects: int = MAX_REDIRECTS

    def fetch(self, url: str, *, field: str, should_stop: StopCheck = _never_stop) -> bytes:
        """The bytes behind ``url`` (``http``, ``https`` or ``data:``)."""
        scheme = url.partition(":")[0].lower()
        if scheme == "data":
            return decode_data_uri(url, field=field, max_bytes=self.max_bytes)
        if scheme not in ("http", "https"):
            raise InputFileError(field, DOWNLOAD_ERROR, f"Unsupported URL scheme {scheme!r}.")
        where = describe(url)
        try:
            with (
                httpx.Client(
                    timeout=self.timeout_seconds,
                    follow_redirects=True,
                    max_redirects=self.max_redirects,
                    headers={"User-Agent": USER_AGENT},
                ) as client,
                client.stream("GET", url) as response,
            ):
                if response.status_code >= 400:
                    reason = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
                    raise InputFileError(
                        field, DOWNLOAD_ERROR, f"Failed to download {where}: {reason}."
                    )
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise self._too_large(field, where)
                body = bytearray()
                for chunk in response.iter_bytes(CHUNK_BYTES):
                    if should_stop():
                        raise RenderStoppedError
                    body.extend(chunk)
                    if len(body) > self.max_bytes:
                        raise self._too_large(field, where)
                return bytes(body)
        except httpx.TooManyRedirects as exc:
            raise InputFileError(
                field, DOWNLOAD_ERROR, f"Failed to download {where}: too many redirects."
            ) from exc
        except httpx.HTTPError as exc:
            raise InputFileError(
                field, DOWNLOAD_ERROR, f"Failed to download {where}: {type(exc).__name__}."
            ) from exc

    def _too_large(self, field: str, where: str) -> InputFileError:
        return InputFileError(
            field,
            DOWNLOAD_ERROR,
            f"Failed to download {where}: larger than {self.max_bytes} bytes.",
        )


def decode_image(data: bytes, *, field: str, max_pixels: int = MAX_IMAGE_PIXELS) -> Image.Image:
    """``data`` as an RGB image (first frame of an animation, EXIF orientation applied,
    transparency over black); ``InputFileError`` when it is not a decodable image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                width, height = opened.size
                if width * height > max_pixels:
                    raise InputFileError(
                        field,
                        LOAD_ERROR,
                        f"The image is {width}x{height}: over {max_pixels} pixels.",
                    )
                opened.seek(0)
                opened.load()
                upright = ImageOps.exif_transpose(opened)
                if upright.mode in ("RGBA", "LA", "P", "PA"):
                    rgba = upright.convert("RGBA")
                    canvas = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
                    return Image.alpha_composite(canvas, rgba).convert("RGB")
                return upright.convert("RGB")
    except InputFileError:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        ValueError,
        SyntaxError,
    ) as exc:
        raise InputFileError(
            field, LOAD_ERROR, "Failed to load the image: the file is not a decodable image."
        ) from exc
