"""A pure parser for the HTTP ``Range`` request header (RFC 9110 §14.1–14.2).

``parse_range_header`` resolves every requested range against the object's size
and either returns them all (in request order, unsatisfiable ones dropped) or
raises a typed error: ``MalformedRangeError`` means "ignore the header and send
the whole representation"; ``RangeNotSatisfiableError`` means "answer 416".
``coalesce`` merges overlapping and adjacent ranges (RFC 9110 §14.2 allows it),
keeping the order in which they were asked for, so a multipart response never
sends a byte twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# More ranges than this in one header is treated as abuse and the header ignored (RFC 9110 §14.2).
MAX_RANGES = 100

_DIGITS = re.compile(r"[0-9]+")
# OWS = *( SP / HTAB ), the only whitespace HTTP allows around list elements
_OWS = " \t"


class RangeError(Exception):
    """The Range header cannot be honoured as it stands."""


class MalformedRangeError(RangeError):
    """Invalid syntax or a unit other than bytes: the header is ignored (200, whole body)."""


class RangeNotSatisfiableError(RangeError):
    """No requested range overlaps the object: 416 with ``Content-Range: bytes */size``."""

    def __init__(self, size: int) -> None:
        super().__init__(f"no requested range is satisfiable for a representation of {size} bytes")
        self.size = size


@dataclass(frozen=True, slots=True)
class ByteRange:
    """The bytes ``start..end`` of an object, both inclusive, as in ``Content-Range``."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


@dataclass(frozen=True, slots=True)
class _Spec:
    first: int | None  # None: a suffix range "-n"
    last: int | None  # None: open-ended "a-" (or, for a suffix range, unused)
    suffix_length: int = 0


def parse_range_header(header: str, size: int) -> list[ByteRange]:
    """Resolve ``header`` against an object of ``size`` bytes.

    Raises ``MalformedRangeError`` when the header must be ignored and
    ``RangeNotSatisfiableError`` when it is valid but selects nothing.
    """
    if size < 0:
        raise ValueError("size must not be negative")
    specs = _parse_specs(header)
    ranges = [r for r in (_resolve(spec, size) for spec in specs) if r is not None]
    if not ranges:
        raise RangeNotSatisfiableError(size)
    return ranges


def requested_ranges(header: str | None, size: int) -> list[ByteRange] | None:
    """The ranges to serve, or ``None`` to send the whole object (no header, or one to ignore).

    Still raises ``RangeNotSatisfiableError``.
    """
    if header is None:
        return None
    try:
        return parse_range_header(header, size)
    except MalformedRangeError:
        return None


def coalesce(ranges: list[ByteRange]) -> list[ByteRange]:
    """Merge ranges that overlap or touch; a merged range takes its first part's position."""
    merged: list[ByteRange] = []
    for candidate in ranges:
        touching = [
            i
            for i, kept in enumerate(merged)
            if kept.start <= candidate.end + 1 and candidate.start <= kept.end + 1
        ]
        if not touching:
            merged.append(candidate)
            continue
        # kept ranges never touch each other, so the union of the candidate and those it touches
        # is one interval that touches nothing else
        union = ByteRange(
            min(candidate.start, *(merged[i].start for i in touching)),
            max(candidate.end, *(merged[i].end for i in touching)),
        )
        merged = [kept for i, kept in enumerate(merged) if i not in touching]
        merged.insert(touching[0], union)
    return merged


def _parse_specs(header: str) -> list[_Spec]:
    unit, sep, range_set = header.strip(_OWS).partition("=")
    if not sep:
        raise MalformedRangeError("a Range header needs 'unit=ranges'")
    # range units are case-insensitive (RFC 9110 §14.1)
    if unit.strip(_OWS).lower() != "bytes":
        raise MalformedRangeError(f"unsupported range unit {unit!r}")
    # "#" lists allow empty elements and OWS around commas (RFC 9110 §5.6.1)
    elements = [e.strip(_OWS) for e in range_set.split(",")]
    specs = [_parse_spec(e) for e in elements if e]
    if not specs:
        raise MalformedRangeError("no ranges in the Range header")
    if len(specs) > MAX_RANGES:
        raise MalformedRangeError(f"more than {MAX_RANGES} ranges")
    return specs


def _parse_spec(element: str) -> _Spec:
    first, sep, last = element.partition("-")
    if not sep:
        raise MalformedRangeError(f"range {element!r} has no '-'")
    if not first:
        # suffix-range = "-" suffix-length
        if not _DIGITS.fullmatch(last):
            raise MalformedRangeError(f"invalid suffix range {element!r}")
        return _Spec(first=None, last=None, suffix_length=int(last))
    if not _DIGITS.fullmatch(first) or (last and not _DIGITS.fullmatch(last)):
        raise MalformedRangeError(f"invalid range {element!r}")
    start = int(first)
    end = int(last) if last else None
    if end is not None and end < start:
        # last-pos < first-pos makes the whole ranges-specifier invalid (RFC 9110 §14.1.1)
        raise MalformedRangeError(f"range {element!r} ends before it starts")
    return _Spec(first=start, last=end)


def _resolve(spec: _Spec, size: int) -> ByteRange | None:
    """Clamp one spec to the object; ``None`` when it selects nothing.

    RFC 9110 calls a non-zero suffix range satisfiable even on an empty
    representation, but no ``Content-Range`` can describe zero bytes, so an empty
    object satisfies no range at all.
    """
    if size == 0:
        return None
    if spec.first is None:
        if spec.suffix_length == 0:
            return None
        return ByteRange(max(0, size - spec.suffix_length), size - 1)
    if spec.first >= size:
        return None
    end = size - 1 if spec.last is None else min(spec.last, size - 1)
    return ByteRange(spec.first, end)
