"""Conditional requests (RFC 9110 §13): validators and preconditions, in the RFC's order.

``evaluate_preconditions`` follows §13.2.2 for a GET or HEAD of an existing
object: ``If-Match`` (strong comparison), else ``If-Unmodified-Since``, failing
with 412; then ``If-None-Match`` (weak comparison), else ``If-Modified-Since``,
answering 304. ``range_applies`` is step 5: ``If-Range`` with an ETag (strong
comparison) or a date (an exact match of ``Last-Modified``) decides whether a
``Range`` header is honoured (206) or the whole object sent (200).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.datastructures import Headers

# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE
_ENTITY_TAG = re.compile(r'(W/)?"([^"]*)"')


class Precondition(enum.Enum):
    PROCEED = "proceed"
    NOT_MODIFIED = "not_modified"
    PRECONDITION_FAILED = "precondition_failed"


@dataclass(frozen=True, slots=True)
class Validators:
    """The object's validators: an opaque (unquoted) strong ETag and a second-precision date."""

    opaque_etag: str
    last_modified: datetime

    @property
    def etag(self) -> str:
        """The ``ETag`` header value: a quoted, strong entity tag."""
        return f'"{self.opaque_etag}"'

    @property
    def http_date(self) -> str:
        """The ``Last-Modified`` header value (IMF-fixdate)."""
        return http_date(self.last_modified)


def http_date(moment: datetime) -> str:
    return format_datetime(_utc(moment).replace(microsecond=0), usegmt=True)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _parse_http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return _utc(parsed)


def _entity_tags(value: str) -> list[tuple[bool, str]]:
    """``(weak, opaque)`` for each entity tag in a list header."""
    return [(bool(weak), opaque) for weak, opaque in _ENTITY_TAG.findall(value)]


def _truncated(validators: Validators) -> datetime:
    return _utc(validators.last_modified).replace(microsecond=0)


def evaluate_preconditions(headers: Headers, validators: Validators) -> Precondition:
    """The outcome of the request's preconditions for a GET or HEAD of an existing object."""
    if_match = headers.get("if-match")
    if if_match is not None:
        # strong comparison (RFC 9110 §13.1.1): a weak tag never matches
        if if_match.strip() != "*" and (False, validators.opaque_etag) not in _entity_tags(
            if_match
        ):
            return Precondition.PRECONDITION_FAILED
    else:
        if_unmodified_since = headers.get("if-unmodified-since")
        since = None if if_unmodified_since is None else _parse_http_date(if_unmodified_since)
        # an invalid date is ignored (RFC 9110 §13.1.4)
        if since is not None and _truncated(validators) > since:
            return Precondition.PRECONDITION_FAILED
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        # weak comparison (RFC 9110 §13.1.2): W/"x" matches "x"
        if if_none_match.strip() == "*" or any(
            opaque == validators.opaque_etag for _, opaque in _entity_tags(if_none_match)
        ):
            return Precondition.NOT_MODIFIED
        return Precondition.PROCEED
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since is not None:
        since = _parse_http_date(if_modified_since)
        if since is not None and _truncated(validators) <= since:
            return Precondition.NOT_MODIFIED
    return Precondition.PROCEED


def range_applies(headers: Headers, validators: Validators) -> bool:
    """Whether a ``Range`` header may be honoured: no ``If-Range``, or one that still matches."""
    if_range = headers.get("if-range")
    if if_range is None:
        return True
    if_range = if_range.strip()
    if if_range.startswith(('"', "W/")):
        # strong comparison (RFC 9110 §13.1.5): a weak tag never matches
        tags = _entity_tags(if_range)
        return len(tags) == 1 and tags[0] == (False, validators.opaque_etag)
    since = _parse_http_date(if_range)
    return since is not None and since == _truncated(validators)
