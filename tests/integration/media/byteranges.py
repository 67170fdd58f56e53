"""A strict reader of ``multipart/byteranges`` bodies (RFC 9110 §14.6) for the conformance tests."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


@dataclass(frozen=True)
class Part:
    start: int
    end: int
    size: int
    content_type: str
    payload: bytes


def boundary_of(response: httpx.Response) -> str:
    content_type = response.headers["content-type"]
    match = re.fullmatch(
        r"multipart/byteranges; boundary=([0-9A-Za-z'()+_,\-./:=?]{1,70})", content_type
    )
    assert match, content_type
    return match.group(1)


def parse_byteranges(response: httpx.Response) -> list[Part]:
    """Every part of a 206 multipart response; fails on any framing error."""
    assert response.status_code == 206
    boundary = boundary_of(response).encode()
    body = response.content
    assert len(body) == int(response.headers["content-length"])
    delimiter = b"--" + boundary
    assert body.startswith(delimiter + b"\r\n"), body[:100]
    assert body.endswith(b"\r\n" + delimiter + b"--\r\n"), body[-100:]
    inner = body[len(delimiter) + 2 : -(len(delimiter) + 6)]
    parts = []
    for raw in inner.split(b"\r\n" + delimiter + b"\r\n"):
        head, sep, payload = raw.partition(b"\r\n\r\n")
        assert sep, raw[:200]
        fields = dict(line.split(": ", 1) for line in head.decode("latin-1").split("\r\n"))
        assert set(fields) == {"Content-Type", "Content-Range"}, fields
        match = _CONTENT_RANGE.fullmatch(fields["Content-Range"])
        assert match, fields["Content-Range"]
        start, end, size = (int(g) for g in match.groups())
        assert len(payload) == end - start + 1
        parts.append(Part(start, end, size, fields["Content-Type"], payload))
    return parts
