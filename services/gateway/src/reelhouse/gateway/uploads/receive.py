"""Reading a ``multipart/form-data`` upload straight to a temporary file, bounded while it arrives.

The body is parsed as it streams in (python-multipart); the part named ``file`` goes to disk
chunk by chunk, other parts are skipped. Memory holds one chunk at a time. The file part may
be at most ``max_bytes`` and the whole body at most that plus ``FORM_OVERHEAD_BYTES`` (part
headers, boundaries, small extra fields): the moment either is passed the request is refused
with 413 ``upload_too_large`` and nothing is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header

from reelhouse.gateway.problems import FieldError, ProblemError

FILE_FIELD = "file"
# room in the body for everything but the file's own bytes
FORM_OVERHEAD_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    path: Path
    size: int
    filename: str | None


async def discard(*paths: Path) -> None:
    """Delete temporary files, quietly (off the event loop)."""

    def unlink() -> None:
        for path in paths:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)

    await asyncio.shield(asyncio.to_thread(unlink))


def too_large(max_bytes: int) -> ProblemError:
    # the rest of the body is never read: the connection cannot be reused
    return ProblemError(
        "upload_too_large",
        f"The upload is larger than {max_bytes} bytes.",
        headers={"Connection": "close"},
    )


def multipart_boundary(content_type: str | None) -> bytes:
    """The boundary of a ``multipart/form-data`` type; 415 for any other type."""
    media, params = parse_options_header(content_type or "")
    if media.lower() != b"multipart/form-data":
        raise ProblemError(
            "unsupported_media_type",
            "Send the file as multipart/form-data, in a part named `file` "
            "(curl -F file=@photo.png).",
        )
    boundary = params.get(b"boundary")
    if not boundary:
        raise ProblemError("malformed_body", "The multipart/form-data type names no boundary.")
    return boundary


@dataclass
class _FilePart:
    """The parser's callbacks: which part it is in, and where the ``file`` part goes."""

    out: IO[bytes]
    max_bytes: int
    size: int = 0
    filename: str | None = None
    found: bool = False
    done: bool = False
    too_large: bool = False
    _writing: bool = False
    _header: bytearray = field(default_factory=bytearray)
    _value: bytearray = field(default_factory=bytearray)
    _disposition: bytes = b""

    def on_part_begin(self) -> None:
        self._disposition = b""
        self._writing = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        if bytes(self._header).lower() == b"content-disposition":
            self._disposition = bytes(self._value)
        self._header.clear()
        self._value.clear()

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self._disposition)
        if params.get(b"name") == FILE_FIELD.encode() and not self.found:
            self.found = self._writing = True
            raw = params.get(b"filename")
            self.filename = raw.decode("utf-8", "replace")[:255] if raw is not None else None

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._writing or self.too_large:
            return
        self.size += end - start
        if self.size > self.max_bytes:
            self.too_large = True
            return
        self.out.write(data[start:end])

    def on_part_end(self) -> None:
        if self._writing:
            self.done = True
        self._writing = False


async def receive_file(
    chunks: AsyncIterator[bytes],
    *,
    content_type: str | None,
    max_bytes: int,
    directory: Path | None,
) -> ReceivedFile:
    """The ``file`` part of the body, on disk (the caller deletes ``path``)."""
    boundary = multipart_boundary(content_type)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept past this function on purpose
        prefix="upload-", suffix=".part", dir=directory, delete=False
    )
    path = Path(handle.name)
    try:
        with handle:
            part = _FilePart(out=handle, max_bytes=max_bytes)
            parser = MultipartParser(
                boundary,
                callbacks={
                    "on_part_begin": part.on_part_begin,
                    "on_header_field": part.on_header_field,
                    "on_header_value": part.on_header_value,
                    "on_header_end": part.on_header_end,
                    "on_headers_finished": part.on_headers_finished,
                    "on_part_data": part.on_part_data,
                    "on_part_end": part.on_part_end,
                },
            )
            total = 0
            async for chunk in chunks:
                total += len(chunk)
                if total > max_bytes + FORM_OVERHEAD_BYTES:
                    raise too_large(max_bytes)
                parser.write(chunk)
                if part.too_large:
                    raise too_large(max_bytes)
            parser.finalize()
        if not part.found or not part.done:
            raise ProblemError(
                "validation_error",
                "The body has no complete part named `file`.",
                errors=[FieldError(path=FILE_FIELD, message="required")],
            )
    except MultipartParseError as exc:
        await discard(path)
        raise ProblemError("malformed_body", f"The multipart body is not valid: {exc}.") from exc
    except BaseException:
        await discard(path)
        raise
    return ReceivedFile(path=path, size=part.size, filename=part.filename)
