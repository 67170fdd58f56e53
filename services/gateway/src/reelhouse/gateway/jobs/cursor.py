"""Opaque keyset cursors for listing jobs newest first: ``(created_at, id)`` of the last item."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime


class InvalidCursorError(ValueError):
    """The cursor was not made by ``encode_cursor``."""


@dataclass(frozen=True, slots=True)
class Cursor:
    created_at: datetime
    job_id: str


def encode_cursor(cursor: Cursor) -> str:
    raw = json.dumps(
        {"t": cursor.created_at.isoformat(), "id": cursor.job_id}, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def decode_cursor(token: str) -> Cursor:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        created_at = datetime.fromisoformat(data["t"])
        job_id = data["id"]
    except (ValueError, TypeError, KeyError, UnicodeError, binascii.Error) as exc:
        raise InvalidCursorError(token) from exc
    if created_at.tzinfo is None or not isinstance(job_id, str) or not job_id:
        raise InvalidCursorError(token)
    return Cursor(created_at=created_at, job_id=job_id)
