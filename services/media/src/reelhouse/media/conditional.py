"""Conditional requests (RFC 9110 §13): validators and the preconditions evaluated so far.

Implemented: ``If-None-Match`` (weak comparison, ``*``, lists) answering 304 to
GET/HEAD, ``If-Modified-Since`` when ``If-None-Match`` is absent, and
``If-Range`` deciding whether a ``Range`` header still applies.
Not yet (a later issue): ``If-Match`` and ``If-Unmodified-Since`` (412).
``evaluate_preconditions`` is the seam where they will go, in RFC order.
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


def evaluate_preconditions(headers: Headers, validators: Validators) -> Precondition:
    """The outcome of the request's preconditions for a GET or HEAD of an existing object."""
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
        if since is not None and _utc(validators.last_modified).replace(microsecond=0) <= since:
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
    return since is not None and since == _utc(validators.last_modified).replace(microsecond=0)
