"""``multipart/byteranges`` (RFC 9110 §14.6): the framing around several ranges of one object.

The whole layout is computed before anything is sent, so ``Content-Length`` is
exact and ``HEAD`` can state it. The boundary is derived from the ETag: the same
request gets the same headers whether it is a GET or a HEAD.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from reelhouse.media.ranges import ByteRange

# the framing of one part (boundary line, Content-Type, Content-Range) is about this long: a
# response that would frame so many small parts that it outgrows the object is sent whole instead
PART_OVERHEAD_ESTIMATE = 120

# A literal piece of the body, or a range of the object's bytes
Segment = bytes | ByteRange


@dataclass(frozen=True, slots=True)
class MultipartLayout:
    boundary: str
    segments: list[Segment]
    length: int

    @property
    def content_type(self) -> str:
        return f"multipart/byteranges; boundary={self.boundary}"


def boundary_for(etag: str) -> str:
    return "reelhouse-" + hashlib.sha256(etag.encode()).hexdigest()[:32]


def layout(ranges: list[ByteRange], *, size: int, content_type: str, etag: str) -> MultipartLayout:
    """The body of a 206 carrying ``ranges`` (at least two) of an object of ``size`` bytes."""
    boundary = boundary_for(etag)
    segments: list[Segment] = []
    length = 0
    for index, byte_range in enumerate(ranges):
        head = (
            ("" if index == 0 else "\r\n")
            + f"--{boundary}\r\n"
            + f"Content-Type: {content_type}\r\n"
            + f"Content-Range: {byte_range.content_range(size)}\r\n\r\n"
        ).encode("latin-1")
        segments += [head, byte_range]
        length += len(head) + byte_range.length
    tail = f"\r\n--{boundary}--\r\n".encode("latin-1")
    segments.append(tail)
    return MultipartLayout(boundary=boundary, segments=segments, length=length + len(tail))


def worth_sending(ranges: list[ByteRange], size: int) -> bool:
    """Whether the parts, with their framing, stay smaller than the whole object."""
    return sum(r.length + PART_OVERHEAD_ESTIMATE for r in ranges) < size
