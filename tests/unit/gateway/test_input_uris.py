"""Inputs declared ``"format": "uri"`` and which providers count as configured."""

from __future__ import annotations

import pytest

from reelhouse.gateway.catalog.availability import configured_providers
from reelhouse.gateway.catalog.uris import UriPolicy, uri_errors, uri_problem

SCHEMA = {
    "type": "object",
    "properties": {
        "image": {"type": "string", "format": "uri"},
        "refs": {"type": "array", "items": {"type": "string", "format": "uri"}},
        "prompt": {"type": "string"},
    },
}


@pytest.mark.parametrize(
    "value", ["https://example.com/a.png", "data:image/png;base64,AAAA", "DATA:,hello"]
)
def test_https_urls_and_data_uris_are_accepted(value: str) -> None:
    assert uri_problem(value, UriPolicy()) is None


@pytest.mark.parametrize(
    "value",
    ["http://example.com/a.png", "file:///etc/passwd", "https://", "data:nocomma", "a.png"],
)
def test_other_uris_are_refused(value: str) -> None:
    assert uri_problem(value, UriPolicy()) is not None


def test_http_and_issued_references_only_when_the_policy_says() -> None:
    policy = UriPolicy(allow_http=True, reference_schemes=frozenset({"upload"}))

    assert uri_problem("http://127.0.0.1:8010/a.png", policy) is None
    assert uri_problem("upload://up_123", policy) is None
    assert uri_problem("upload://up_123", UriPolicy(reference_schemes=frozenset())) is not None


def test_data_uris_are_bounded() -> None:
    assert uri_problem("data:," + "a" * 20, UriPolicy(data_uri_max_bytes=10)) is not None


def test_errors_name_the_field_inside_arrays_and_skip_other_strings() -> None:
    errors = uri_errors(
        SCHEMA,
        {"image": "ftp://x/a.png", "refs": ["https://x/b.png", "file:///c"], "prompt": "ftp://"},
        UriPolicy(),
    )

    assert [e.path for e in errors] == ["input.image", "input.refs.1"]


def test_providers_follow_the_dispatchers_variables_unless_listed() -> None:
    assert configured_providers(None, {}) == {"sandbox", "sandbox-fal"}
    assert configured_providers(
        None,
        {
            "REELHOUSE_PROVIDERS__REPLICATE__API_TOKEN": "r8_x",
            "REELHOUSE_PROVIDERS__FAL__KEY": " ",
            "REELHOUSE_PROVIDERS__SANDBOX__API_TOKEN": "",
        },
    ) == {"sandbox-fal", "replicate"}
    assert configured_providers(["fal"], {"REELHOUSE_PROVIDERS__REPLICATE__API_TOKEN": "x"}) == {
        "fal"
    }
