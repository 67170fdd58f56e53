"""Signed URLs guard every object: wrong or missing signatures, expiry, other keys, absent objects."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from reelhouse.common.signing import UrlSigner
from tests.integration.media.media_server import MediaServer

pytestmark = pytest.mark.usefixtures("blob")

KEY = "outputs/job-1/0.mp4"
OTHER_KEY = "outputs/job-9/0.mp4"


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["detail"]


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def test_a_wrong_signature_is_403(media: MediaServer) -> None:
    params = {**query_of(media.url(KEY)), "sig": "A" * 43}
    response = await media.client.get(f"{media.base_url}/o/{KEY}", params=params)
    assert_problem(response, 403, "signed_url_invalid")


@pytest.mark.parametrize("missing", ["exp", "kid", "sig"])
async def test_a_missing_signature_part_is_403(media: MediaServer, missing: str) -> None:
    params = {k: v for k, v in query_of(media.url(KEY)).items() if k != missing}
    response = await media.client.get(f"{media.base_url}/o/{KEY}", params=params)
    assert_problem(response, 403, "signed_url_invalid")


async def test_no_query_at_all_is_403(media: MediaServer) -> None:
    response = await media.client.get(f"{media.base_url}/o/{KEY}")
    assert_problem(response, 403, "signed_url_invalid")


@pytest.mark.parametrize(
    ("name", "value"), [("kid", "nope"), ("exp", "soon"), ("sig", "ü" * 10), ("exp", "")]
)
async def test_tampered_signature_parts_are_403(media: MediaServer, name: str, value: str) -> None:
    params = {**query_of(media.url(KEY)), name: value}
    response = await media.client.get(f"{media.base_url}/o/{KEY}", params=params)
    assert_problem(response, 403, "signed_url_invalid")


async def test_a_later_expiry_with_the_old_signature_is_403(media: MediaServer) -> None:
    params = query_of(media.url(KEY))
    params["exp"] = str(int(params["exp"]) + 3600)
    response = await media.client.get(f"{media.base_url}/o/{KEY}", params=params)
    assert_problem(response, 403, "signed_url_invalid")


async def test_an_expired_url_is_410(media: MediaServer) -> None:
    url = media.url(KEY, ttl=60, now=time.time() - 3600)
    response = await media.client.get(url)
    assert_problem(response, 410, "signed_url_expired")


async def test_head_of_an_expired_url_is_410_without_a_body(media: MediaServer) -> None:
    response = await media.client.head(media.url(KEY, ttl=60, now=time.time() - 3600))
    assert response.status_code == 410
    assert response.content == b""


async def test_a_signature_for_one_key_does_not_open_another(media: MediaServer) -> None:
    await media.put(OTHER_KEY, b"someone else's video", content_type="video/mp4")
    params = query_of(media.url(KEY))

    response = await media.client.get(f"{media.base_url}/o/{OTHER_KEY}", params=params)
    assert_problem(response, 403, "signed_url_invalid")


async def test_a_signature_does_not_open_a_sibling_path(media: MediaServer) -> None:
    params = query_of(media.url(KEY))
    siblings = (
        f"/o/{KEY}/",
        f"/o/{KEY}.bak",
        "/o/outputs/job-1/",
        "/o/outputs/job-1/%2E%2E/job-1/0.mp4",
        "/o/outputs%2Fjob-1%2F0.mp4x",
    )
    for path in siblings:
        response = await media.client.get(f"{media.base_url}{path}", params=params)
        assert_problem(response, 403, "signed_url_invalid")


async def test_a_validly_signed_unknown_key_is_404(media: MediaServer) -> None:
    response = await media.client.get(media.url("outputs/no-such-job/0.mp4"))
    assert_problem(response, 404, "not_found")


async def test_urls_signed_with_a_retired_but_trusted_key_still_work(
    media: MediaServer, blob_data: bytes
) -> None:
    keys = media.signer.keys
    old_signer = UrlSigner(keys, active_key_id="k0")
    response = await media.client.get(
        old_signer.signed_url(media.base_url, KEY, ttl_seconds=600), headers={"range": "bytes=0-99"}
    )
    assert response.status_code == 206
    assert response.content == blob_data[:100]


async def test_a_url_signed_with_an_unknown_secret_is_403(media: MediaServer) -> None:
    stranger = UrlSigner({"k1": b"not our secret"}, active_key_id="k1")
    response = await media.client.get(stranger.signed_url(media.base_url, KEY, ttl_seconds=600))
    assert_problem(response, 403, "signed_url_invalid")


async def test_other_methods_are_not_allowed(media: MediaServer) -> None:
    response = await media.client.delete(media.url(KEY))
    assert response.status_code == 405
    assert await media.store.stat(KEY)


async def test_a_url_just_past_its_expiry_is_served_within_the_clock_skew_leeway(
    media: MediaServer,
) -> None:
    """The gateway's clock may run behind this one: a URL expired 90 s ago by this clock is
    still served (default leeway 300 s), with nothing left of it to cache."""
    response = await media.client.get(media.url(KEY, ttl=60, now=time.time() - 150))
    assert response.status_code == 200
    assert "max-age=0" in response.headers["cache-control"]
