"""One output's bytes across attempts: what has arrived, and how to ask for the rest.

``Download`` holds the state a resumed request needs: the bytes received so far (in the
sink, hashed on the way), the size the origin announced, and the validator of its first
answer (a strong ``ETag``, else ``Last-Modified``). A follow-up request asks for
``Range: bytes=<received>-`` with ``If-Range: <validator>``; a ``206`` whose
``Content-Range`` starts exactly there and has the same total is appended, a ``200`` (the
origin ignored the range, or the file changed) starts over. A body that stops early raises
``CutError``, which the fetcher answers with another attempt.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO, Generic, Literal, TypeVar

import aiohttp

from reelhouse.common.errors import PermanentError, TransientError
from reelhouse.common.media.sniff import HEAD_BYTES

T = TypeVar("T")

# measured: 256 KiB chunks hashed and written inline beat smaller chunks and a writer thread
CHUNK_SIZE = 256 * 1024
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)

CutKind = Literal["short", "broken", "stalled"]


@dataclass(frozen=True, slots=True)
class Head:
    """The first bytes of a body, handed to the caller's classifier before the rest is read."""

    data: bytes
    claimed_type: str | None
    # the whole body's size when known (Content-Length, or bytes read at the end)
    size: int | None


class CutError(Exception):
    """The body stopped before its end: closed early, broken off, or silent too long."""

    def __init__(self, kind: CutKind, received: int, total: int | None, reason: str) -> None:
        self.kind = kind
        self.received = received
        self.total = total
        super().__init__(reason)


def check_size(size: int, limit: int, *, declared: bool) -> None:
    """``too_large`` once ``size`` passes ``limit`` (declared by Content-Length, or counted)."""
    if size <= limit:
        return
    if declared:
        message = f"The output is {size:,} bytes; the limit is {limit:,} bytes."
    else:
        message = f"The output grew past the limit of {limit:,} bytes while downloading."
    raise PermanentError("too_large", message)


def parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    """``bytes first-last/total`` as numbers (total None for ``*``); None when malformed."""
    match = _CONTENT_RANGE.match(value or "")
    if match is None:
        return None
    first, last, total = match.groups()
    return int(first), int(last), None if total == "*" else int(total)


def _validator(response: aiohttp.ClientResponse) -> str | None:
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag  # weak ETags may not be used with If-Range (RFC 9110 §13.1.5)
    return response.headers.get("Last-Modified")


@dataclass
class Download(Generic[T]):
    sink: BinaryIO
    classify: Callable[[Head], T]
    limit: int
    received: int = 0
    total: int | None = None
    validator: str | None = None
    claimed_type: str | None = None
    resumable: bool = True
    resumes: int = 0
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    head: bytes = b""
    verdicts: list[T] = field(default_factory=list)  # a list: T may be None

    def restart(self) -> None:
        """Forget what arrived: the next answer is read from its first byte."""
        self.received = 0
        self.total = None
        self.digest = hashlib.sha256()
        self.head = b""
        self.verdicts.clear()
        self.sink.seek(0)
        self.sink.truncate()

    def request_headers(self) -> dict[str, str]:
        """``Range`` (and ``If-Range``) for the rest, once something has arrived."""
        if self.received == 0 or not self.resumable:
            return {}
        headers = {"Range": f"bytes={self.received}-"}
        if self.validator:
            headers["If-Range"] = self.validator
        return headers

    def accept(self, response: aiohttp.ClientResponse, *, ranged: bool) -> None:
        """Check the answer fits what was asked; start over when it is the whole file again."""
        if ranged and response.status == 206:
            parsed = parse_content_range(response.headers.get("Content-Range"))
            if parsed is None or parsed[0] != self.received or parsed[2] != self.total:
                got = response.headers.get("Content-Range")
                asked = self.received
                self.restart()
                raise TransientError(
                    "download_failed", f"Asked for the rest from byte {asked:,}, got {got!r}."
                )
            self.resumes += 1
            return
        if ranged:
            # 200: the origin ignored the range or the file changed (If-Range); 416: lost
            self.restart()
            if response.status != 200:
                raise TransientError(
                    "download_failed", f"The origin refused the resume (HTTP {response.status})."
                )
        elif response.status != 200:
            raise TransientError(
                "download_failed", f"Expected HTTP 200 for the output, got {response.status}."
            )
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        identity = encoding in ("", "identity")
        # Content-Length counts encoded bytes; we store (and count) decoded ones
        self.total = response.content_length if identity else None
        if self.total is not None:
            check_size(self.total, self.limit, declared=True)
        self.claimed_type = response.headers.get("Content-Type")
        self.validator = _validator(response)
        ranges = response.headers.get("Accept-Ranges", "").strip().lower()
        self.resumable = identity and ranges != "none"

    async def consume(self, response: aiohttp.ClientResponse) -> None:
        """Append the body to the sink; ``CutError`` when it stops before its end."""
        try:
            async for chunk in response.content.iter_chunked(CHUNK_SIZE):
                self._take(chunk)
        except aiohttp.ClientPayloadError as exc:
            raise CutError("short", self.received, self.total, repr(exc)) from exc
        except TimeoutError as exc:
            raise CutError("stalled", self.received, self.total, "no data in time") from exc
        except aiohttp.ClientConnectionError as exc:
            raise CutError("broken", self.received, self.total, repr(exc)) from exc
        if self.total is not None and self.received < self.total:
            raise CutError("short", self.received, self.total, "the body ended early")

    def _take(self, chunk: bytes) -> None:
        self.received += len(chunk)
        check_size(self.received, self.limit, declared=False)
        if not self.verdicts:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
            if len(self.head) >= HEAD_BYTES:
                self.verdicts.append(self.classify(Head(self.head, self.claimed_type, self.total)))
        self.digest.update(chunk)
        self.sink.write(chunk)

    def verdict(self) -> T:
        """The classifier's verdict, judging a body shorter than the head size at the end."""
        if not self.verdicts:
            self.verdicts.append(self.classify(Head(self.head, self.claimed_type, self.received)))
        return self.verdicts[0]
