"""Choosing the answer to a GET or HEAD of an existing object, before any byte is read.

Preconditions first (304, 412), then ``If-Range`` and ``Range`` (416, 206 with
one range or ``multipart/byteranges``, or 200), as RFC 9110 §13.2.2 orders them.
The result is either a complete bodiless response or a ``BodyPlan``: the status,
the headers and the segments of the body to stream.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import Response

from reelhouse.common.storage import ObjectInfo
from reelhouse.media.conditional import (
    Precondition,
    Validators,
    evaluate_preconditions,
    range_applies,
)
from reelhouse.media.multipart import Segment, layout, worth_sending
from reelhouse.media.problems import problem
from reelhouse.media.ranges import (
    ByteRange,
    RangeNotSatisfiableError,
    coalesce,
    requested_ranges,
)


@dataclass(frozen=True, slots=True)
class BodyPlan:
    status: int
    headers: dict[str, str]
    segments: list[Segment]
    length: int


def plan_response(
    request_headers: Headers,
    info: ObjectInfo,
    *,
    cache_control: str,
    disposition: str | None,
    with_body: bool,
) -> BodyPlan | Response:
    validators = Validators(opaque_etag=info.etag, last_modified=info.last_modified)
    headers = {"Accept-Ranges": "bytes", "ETag": validators.etag, "Cache-Control": cache_control}
    outcome = evaluate_preconditions(request_headers, validators)
    if outcome is Precondition.NOT_MODIFIED:
        return Response(status_code=304, headers=headers)
    if outcome is Precondition.PRECONDITION_FAILED:
        return problem("precondition_failed", headers=headers, include_body=with_body)
    headers["Last-Modified"] = validators.http_date
    if disposition is not None:
        headers["Content-Disposition"] = disposition

    ranges: list[ByteRange] | None = None
    range_header = request_headers.get("range")
    if range_header is not None and range_applies(request_headers, validators):
        try:
            ranges = requested_ranges(range_header, info.size)
        except RangeNotSatisfiableError:
            return problem(
                "range_not_satisfiable",
                headers={**headers, "Content-Range": f"bytes */{info.size}"},
                include_body=with_body,
            )
    if ranges is not None:
        ranges = coalesce(ranges)
        if len(ranges) > 1 and not worth_sending(ranges, info.size):
            # many small parts would frame more bytes than the object holds: never amplify
            ranges = None

    headers["X-Content-Type-Options"] = "nosniff"
    if ranges is None:
        headers["Content-Type"] = info.content_type
        whole: list[Segment] = [ByteRange(0, info.size - 1)] if info.size else []
        return _plan(200, headers, whole, info.size)
    if len(ranges) == 1:
        headers["Content-Type"] = info.content_type
        headers["Content-Range"] = ranges[0].content_range(info.size)
        return _plan(206, headers, list(ranges), ranges[0].length)
    body = layout(ranges, size=info.size, content_type=info.content_type, etag=info.etag)
    headers["Content-Type"] = body.content_type
    return _plan(206, headers, body.segments, body.length)


def _plan(status: int, headers: dict[str, str], segments: list[Segment], length: int) -> BodyPlan:
    headers["Content-Length"] = str(length)
    return BodyPlan(status=status, headers=headers, segments=segments, length=length)
