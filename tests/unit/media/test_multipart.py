"""multipart/byteranges framing: the announced length is the length sent, parts parse back."""

from __future__ import annotations

import re

from reelhouse.media.multipart import boundary_for, layout, worth_sending
from reelhouse.media.ranges import ByteRange

DATA = bytes(range(256)) * 40


def render(segments: list[bytes | ByteRange]) -> bytes:
    return b"".join(s if isinstance(s, bytes) else DATA[s.start : s.end + 1] for s in segments)


def test_the_body_is_exactly_as_long_as_announced() -> None:
    ranges = [ByteRange(0, 9), ByteRange(5000, 5099), ByteRange(10_000, 10_239)]
    body = layout(ranges, size=len(DATA), content_type="video/mp4", etag="e1")
    assert len(render(body.segments)) == body.length


def test_each_part_carries_its_range_and_type_and_the_close_delimiter_ends_it() -> None:
    ranges = [ByteRange(100, 199), ByteRange(0, 9)]
    body = layout(ranges, size=len(DATA), content_type="video/mp4", etag="e1")
    raw = render(body.segments)
    delimiter = f"--{body.boundary}".encode()
    assert raw.endswith(delimiter + b"--\r\n")
    parts = raw.split(delimiter)[1:-1]
    assert len(parts) == 2
    for part, byte_range in zip(parts, ranges, strict=True):
        head, _, payload = part.partition(b"\r\n\r\n")
        assert b"Content-Type: video/mp4" in head
        match = re.search(rb"Content-Range: bytes (\d+)-(\d+)/(\d+)", head)
        assert match is not None
        assert (int(match[1]), int(match[2]), int(match[3])) == (
            byte_range.start,
            byte_range.end,
            len(DATA),
        )
        # the CRLF before the next delimiter belongs to the delimiter
        assert payload == DATA[byte_range.start : byte_range.end + 1] + b"\r\n"


def test_the_boundary_depends_only_on_the_etag() -> None:
    assert boundary_for("e1") == boundary_for("e1") != boundary_for("e2")
    body = layout([ByteRange(0, 0), ByteRange(2, 2)], size=10, content_type="x/y", etag="e1")
    assert body.content_type == f"multipart/byteranges; boundary={boundary_for('e1')}"


def test_many_tiny_parts_are_not_worth_sending_but_a_few_real_ones_are() -> None:
    tiny = [ByteRange(i * 3, i * 3) for i in range(90)]
    assert not worth_sending(tiny, 300)
    assert worth_sending([ByteRange(0, 999), ByteRange(5000, 5999)], 100_000)
