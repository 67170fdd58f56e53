"""The SSE wire format, read back with httpx-sse (an independent parser)."""

from __future__ import annotations

import json

import httpx
import pytest
from httpx_sse import EventSource

from reelhouse.gateway.live.sse import (
    KEEP_ALIVE,
    UnsafeFieldError,
    encode_comment,
    encode_event,
    encode_retry,
    wants_event_stream,
)


def _parse(body: bytes) -> list[tuple[str, str, str, int | None]]:
    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    return [(e.id, e.event, e.data, e.retry) for e in EventSource(response).iter_sse()]


def test_event_carries_id_type_and_one_line_of_json() -> None:
    data = {"job_id": "gen_1", "status": "running", "logs": "line one\nline two\r\n", "n": 1}
    body = encode_event(event_id="gen_1:progress:1", event="reelhouse.x.v1", data=data)

    assert body.endswith(b"\n\n")
    assert body.count(b"\n") == 4  # id, event, data, blank
    [(event_id, event, raw, _)] = _parse(body)
    assert (event_id, event) == ("gen_1:progress:1", "reelhouse.x.v1")
    assert json.loads(raw) == data


def test_non_ascii_text_round_trips() -> None:
    [(_, _, raw, _)] = _parse(encode_event(event_id="e", event="t", data={"logs": "héron 🐦"}))
    assert json.loads(raw) == {"logs": "héron 🐦"}


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\x00b"])
def test_an_id_or_type_with_a_line_break_is_refused(bad: str) -> None:
    with pytest.raises(UnsafeFieldError):
        encode_event(event_id=bad, event="t", data={})
    with pytest.raises(UnsafeFieldError):
        encode_event(event_id="e", event=bad, data={})


def test_keep_alive_and_comments_are_ignored_by_clients() -> None:
    body = (
        KEEP_ALIVE + encode_comment("two\nlines") + encode_event(event_id="e", event="t", data={})
    )
    assert KEEP_ALIVE == b": keep-alive\n\n"
    assert [event_id for event_id, *_ in _parse(body)] == ["e"]


def test_retry_hint() -> None:
    assert encode_retry(3000) == b"retry: 3000\n\n"
    body = encode_retry(1500) + encode_event(event_id="e", event="t", data={})
    assert [retry for *_, retry in _parse(body)] == [1500, None]


@pytest.mark.parametrize(
    ("accept", "wanted"),
    [
        ("text/event-stream", True),
        ("application/json, text/event-stream;q=0.5", True),
        ("TEXT/EVENT-STREAM", True),
        ("text/event-stream;q=0", False),
        ("text/event-stream;q=nope", False),
        ("application/json", False),
        ("*/*", False),
        ("", False),
        (None, False),
    ],
)
def test_accept_header_negotiation(accept: str | None, wanted: bool) -> None:
    assert wants_event_stream(accept) is wanted
