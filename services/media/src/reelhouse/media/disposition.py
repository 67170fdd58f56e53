"""A safe ``Content-Disposition`` (RFC 6266) naming the file a download is saved as.

The name comes from the object key (``outputs/job-1/0.mp4`` → ``job-1-0.mp4``) or
a ``filename`` query parameter; either way it is cleaned of path separators and
control characters, sent as an ASCII fallback ``filename`` and, exactly, as
``filename*=UTF-8''…`` (RFC 8187).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

# attr-char (RFC 8187 §3.2.1) besides letters and digits: everything else is percent-encoded
_ATTR_CHARS = "!#$&+-.^_`|~"
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]+")
_NOT_TOKEN_SAFE = re.compile(r"[^A-Za-z0-9!#$&+\-.^_`|~ ()\[\]{}@,=]")
MAX_NAME = 200


def download_name(key: str, requested: str | None = None) -> str:
    """The file name for ``key``: ``requested`` when given, else the key without its prefix."""
    if requested:
        name = requested
    else:
        parts = key.split("/")
        name = "-".join(parts[1:] if len(parts) > 1 else parts)
    name = _UNSAFE.sub("_", unicodedata.normalize("NFC", name)).strip(" .")
    return name[:MAX_NAME] or "download"


def content_disposition(kind: str, name: str) -> str:
    """``attachment`` or ``inline`` with ``filename`` (ASCII) and ``filename*`` (UTF-8)."""
    fallback = _NOT_TOKEN_SAFE.sub("_", name)
    encoded = quote(name, safe=_ATTR_CHARS)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
