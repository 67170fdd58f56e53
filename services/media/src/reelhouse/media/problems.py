"""RFC 9457 problem details for the media service's refusals, with a catalogued ``code``."""

from __future__ import annotations

import json
from http import HTTPStatus

from starlette.responses import Response

from reelhouse.common.errors import lookup

PROBLEM_JSON = "application/problem+json"


def problem(
    code: str,
    *,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    include_body: bool = True,
) -> Response:
    """A problem response; HEAD gets the same headers (and ``Content-Length``) without the body."""
    entry = lookup(code)
    body = json.dumps(
        {
            "type": "about:blank",
            "title": HTTPStatus(entry.status).phrase,
            "status": entry.status,
            "code": code,
            "detail": detail or entry.message,
        }
    ).encode()
    all_headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": "no-store",
        "Content-Length": str(len(body)),
        **(headers or {}),
    }
    return Response(
        body if include_body else b"",
        status_code=entry.status,
        headers=all_headers,
        media_type=PROBLEM_JSON,
    )
