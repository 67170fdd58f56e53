"""The text/event-stream wire format (WHATWG HTML, "Server-sent events"): pure functions.

An event is ``id:``, ``event:`` and one ``data:`` line of compact JSON (JSON escapes every
line break, so one line always suffices), closed by a blank line. A line starting with
``:`` is a comment: clients ignore it, proxies see traffic (keep-alive).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

MEDIA_TYPE = "text/event-stream"
KEEP_ALIVE = b": keep-alive\n\n"
_LINE_BREAKS = ("\r", "\n", "\x00")


class UnsafeFieldError(ValueError):
    """An ``id`` or ``event`` value would break the framing (a line break or a NUL)."""


def _field(name: str, value: str) -> str:
    if any(c in value for c in _LINE_BREAKS):
        raise UnsafeFieldError(f"SSE {name} must not contain a line break or NUL")
    return f"{name}: {value}\n"


def encode_event(*, event_id: str, event: str, data: Mapping[str, Any]) -> bytes:
    """One SSE event; raises ``UnsafeFieldError`` for an id or type that cannot be framed."""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    return (_field("id", event_id) + _field("event", event) + f"data: {body}\n\n").encode()


def encode_retry(milliseconds: int) -> bytes:
    """The reconnection delay hint."""
    return f"retry: {int(milliseconds)}\n\n".encode()


def encode_comment(text: str) -> bytes:
    return b"".join(f": {line}\n".encode() for line in text.splitlines() or [""]) + b"\n"


def wants_event_stream(accept: str | None) -> bool:
    """Whether an ``Accept`` header asks for ``text/event-stream`` (with a non-zero q)."""
    if not accept:
        return False
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media.lower() != MEDIA_TYPE:
            continue
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False
