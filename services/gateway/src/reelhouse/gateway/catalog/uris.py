"""Inputs declared ``"format": "uri"``: what a provider can fetch, and nothing else.

Accepted: an ``https`` URL with a host; a ``data:`` URI (RFC 2397) no longer than the
configured limit; plain ``http`` only when the deployment allows it (the embedded mode);
and references the API itself issued, by scheme (``REFERENCE_SCHEMES``: ``upload://upl_…``,
resolved on submit by ``uploads/references.py``). Anything else — ``file:``, ``ftp:``, a bare path, a URL without a host — is a field error.

A field may say what media it takes with ``contentMediaType`` (``"image/*"``): an upload
reference of another kind is then refused on submit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from reelhouse.gateway.catalog.validation import InputError

# schemes of references the API issues itself (``upload://upl_…``, see uploads/references.py)
REFERENCE_SCHEMES: frozenset[str] = frozenset({"upload"})
MAX_URL_LENGTH = 2048
DEFAULT_DATA_URI_MAX_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class UriPolicy:
    data_uri_max_bytes: int = DEFAULT_DATA_URI_MAX_BYTES
    allow_http: bool = False
    reference_schemes: frozenset[str] = REFERENCE_SCHEMES


def uri_problem(value: str, policy: UriPolicy) -> str | None:
    """Why ``value`` is not an acceptable input URI, or None."""
    scheme, _, _ = value.partition(":")
    scheme = scheme.lower()
    if scheme == "data":
        if "," not in value:
            return "not a valid data: URI (RFC 2397: data:[<media type>][;base64],<data>)"
        if len(value) > policy.data_uri_max_bytes:
            return f"data: URI longer than {policy.data_uri_max_bytes} bytes"
        return None
    if scheme in policy.reference_schemes:
        return None
    allowed = "an https URL, a data: URI" + (", an http URL" if policy.allow_http else "")
    if scheme not in ("https", "http") or (scheme == "http" and not policy.allow_http):
        return f"must be {allowed}"
    if len(value) > MAX_URL_LENGTH:
        return f"URL longer than {MAX_URL_LENGTH} characters"
    try:
        host = urlsplit(value).hostname
    except ValueError:
        host = None
    if not host:
        return "URL without a host"
    return None


@dataclass(frozen=True, slots=True)
class UriField:
    """One ``"format": "uri"`` string of an input, where it is and what its schema takes."""

    path: str
    value: str
    # the schema's ``contentMediaType`` ("image/*", "audio/mpeg" …), if it declares one
    media_type: str | None = None


def uri_fields(schema: Mapping[str, Any], value: Any, path: str = "input") -> list[UriField]:
    """Every string in ``value`` that ``schema`` declares ``"format": "uri"``, with its path."""
    found: list[UriField] = []
    if schema.get("format") == "uri" and isinstance(value, str):
        media_type = schema.get("contentMediaType")
        found.append(UriField(path, value, media_type if isinstance(media_type, str) else None))
    properties = schema.get("properties")
    if isinstance(properties, Mapping) and isinstance(value, Mapping):
        for name, sub in properties.items():
            if name in value and isinstance(sub, Mapping):
                found.extend(uri_fields(sub, value[name], f"{path}.{name}"))
    items = schema.get("items")
    if isinstance(items, Mapping) and isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(uri_fields(items, item, f"{path}.{index}"))
    return found


def media_type_matches(media_range: str, content_type: str) -> bool:
    """Whether ``content_type`` (``audio/mp4``) is within ``media_range`` (``audio/*``)."""
    wanted_type, _, wanted_subtype = media_range.lower().partition("/")
    actual_type, _, actual_subtype = content_type.lower().partition(";")[0].strip().partition("/")
    return wanted_type in ("*", actual_type) and wanted_subtype in ("*", "", actual_subtype)


def uri_errors(
    schema: Mapping[str, Any], value: Any, policy: UriPolicy, path: str = "input"
) -> list[InputError]:
    """Every ``"format": "uri"`` string in ``value`` that ``policy`` refuses, with its path."""
    errors: list[InputError] = []
    for field in uri_fields(schema, value, path):
        problem = uri_problem(field.value, policy)
        if problem is not None:
            errors.append(InputError(path=field.path, message=problem))
    return errors
