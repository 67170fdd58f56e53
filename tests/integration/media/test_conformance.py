"""RFC 9110 conformance of the running service over real HTTP, on local disk and on S3.

Every body and every multipart part is compared byte for byte with what was stored.
"""

from __future__ import annotations

import time
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urlencode

import httpx
import pytest

from tests.integration.media.byteranges import parse_byteranges
from tests.integration.media.media_server import MediaServer

pytestmark = pytest.mark.usefixtures("blob")

KEY = "outputs/job-1/0.mp4"


async def get(media: MediaServer, *, key: str = KEY, **headers: str) -> httpx.Response:
    return await media.client.get(media.url(key), headers=headers)


def assert_parts(response: httpx.Response, data: bytes, expected: list[tuple[int, int]]) -> None:
    parts = parse_byteranges(response)
    assert [(p.start, p.end) for p in parts] == expected
    for part in parts:
        assert part.size == len(data)
        assert part.content_type == "video/mp4"
        assert part.payload == data[part.start : part.end + 1]


async def test_several_ranges_are_sent_as_multipart_byteranges_in_request_order(
    media: MediaServer, blob_data: bytes
) -> None:
    size = len(blob_data)
    response = await get(media, range="bytes=300000-300099, 0-9,-500")

    assert response.headers["accept-ranges"] == "bytes"
    assert "content-range" not in response.headers
    assert_parts(response, blob_data, [(300000, 300099), (0, 9), (size - 500, size - 1)])


async def test_overlapping_and_adjacent_ranges_are_coalesced(
    media: MediaServer, blob_data: bytes
) -> None:
    response = await get(media, range="bytes=0-99,50-149,150-199,5000-5009,5005-")
    size = len(blob_data)
    assert_parts(response, blob_data, [(0, 199), (5000, size - 1)])


async def test_ranges_that_coalesce_into_one_get_a_single_part_response(
    media: MediaServer, blob_data: bytes
) -> None:
    response = await get(media, range="bytes=100-199,0-99,150-250")

    assert response.status_code == 206
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["content-range"] == f"bytes 0-250/{len(blob_data)}"
    assert response.content == blob_data[:251]


async def test_unsatisfiable_members_of_a_range_set_are_dropped(
    media: MediaServer, blob_data: bytes
) -> None:
    response = await get(media, range=f"bytes={len(blob_data) + 5}-,10-19")
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 10-19/{len(blob_data)}"
    assert response.content == blob_data[10:20]


async def test_a_range_set_with_nothing_satisfiable_is_416(
    media: MediaServer, blob_data: bytes
) -> None:
    size = len(blob_data)
    response = await get(media, range=f"bytes={size}-,{size + 10}-{size + 20},-0")
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{size}"
    assert response.headers["accept-ranges"] == "bytes"


async def test_an_abusive_number_of_ranges_is_answered_whole(
    media: MediaServer, blob_data: bytes
) -> None:
    many = ",".join(f"{i * 1000}-{i * 1000}" for i in range(101))
    response = await get(media, range=f"bytes={many}")
    assert response.status_code == 200
    assert response.content == blob_data


async def test_ranges_whose_framing_would_outgrow_the_object_are_answered_whole(
    media: MediaServer,
) -> None:
    small = bytes(range(200))
    await media.put("outputs/job-3/0.mp4", small, content_type="video/mp4")
    tiny = ",".join(f"{i * 4}-{i * 4}" for i in range(50))

    response = await get(media, key="outputs/job-3/0.mp4", range=f"bytes={tiny}")

    # never amplified: the answer is no larger than the object itself
    assert response.status_code == 200
    assert response.content == small


async def test_head_of_a_multipart_request_states_the_get_headers(media: MediaServer) -> None:
    headers = {"range": "bytes=0-9,1000-1999"}
    got = await media.client.get(media.url(KEY), headers=headers)
    head = await media.client.head(media.url(KEY), headers=headers)

    def comparable(response: httpx.Response) -> dict[str, str]:
        return {k: v for k, v in response.headers.items() if k not in {"date", "cache-control"}}

    assert head.status_code == got.status_code == 206
    assert head.content == b""
    assert comparable(head) == comparable(got)
    assert int(head.headers["content-length"]) == len(got.content)


@pytest.mark.parametrize(
    "header", ["bytes=0-9,", "bytes=,0-9", "bytes=0-9,x", "bytes=1-0,5-9", "bytes 0-9", "=0-9"]
)
async def test_invalid_range_sets_are_ignored(
    media: MediaServer, blob_data: bytes, header: str
) -> None:
    response = await get(media, range=header)
    if header in {"bytes=0-9,", "bytes=,0-9"}:
        # empty list elements are allowed (RFC 9110 §5.6.1): these are single ranges
        assert response.status_code == 206
        assert response.content == blob_data[:10]
    else:
        assert response.status_code == 200
        assert response.content == blob_data


async def test_every_kind_of_answer_carries_accept_ranges(media: MediaServer) -> None:
    etag = (await get(media)).headers["etag"]
    answers = [
        await get(media),
        await get(media, range="bytes=0-0"),
        await get(media, range="bytes=0-0,2-2"),
        await get(media, range="bytes=99999999-"),
        await get(media, **{"if-none-match": etag}),
        await get(media, **{"if-match": '"other"'}),
        await get(media, key="outputs/none/0.mp4"),
        await media.client.get(media.url(KEY, ttl=60, now=time.time() - 3600)),
        await media.client.get(f"{media.base_url}/o/{KEY}"),
    ]
    assert [a.status_code for a in answers] == [200, 206, 206, 416, 304, 412, 404, 410, 403]
    assert all(a.headers["accept-ranges"] == "bytes" for a in answers)


async def test_if_match_with_the_current_etag_serves_and_another_is_412(
    media: MediaServer, blob_data: bytes
) -> None:
    etag = (await get(media)).headers["etag"]

    assert (await get(media, **{"if-match": etag})).content == blob_data
    assert (await get(media, **{"if-match": f'"x", {etag}'})).status_code == 200
    for stale in ('"other"', f"W/{etag}"):
        failed = await get(media, **{"if-match": stale}, range="bytes=0-9")
        assert failed.status_code == 412
        assert failed.headers["content-type"] == "application/problem+json"
        assert failed.json()["code"] == "precondition_failed"


async def test_if_unmodified_since_before_the_last_change_is_412(media: MediaServer) -> None:
    last_modified = parsedate_to_datetime((await get(media)).headers["last-modified"])
    before = format_datetime(last_modified - timedelta(seconds=1), usegmt=True)
    after = format_datetime(last_modified + timedelta(hours=1), usegmt=True)

    assert (await get(media, **{"if-unmodified-since": before})).status_code == 412
    assert (await get(media, **{"if-unmodified-since": after})).status_code == 200
    # If-Match, when present, is the one evaluated
    etag = (await get(media)).headers["etag"]
    both = {"if-match": etag, "if-unmodified-since": before}
    assert (await get(media, **both)).status_code == 200


async def test_if_modified_since_the_last_change_is_304_unless_if_none_match_disagrees(
    media: MediaServer,
) -> None:
    last_modified = (await get(media)).headers["last-modified"]

    not_modified = await get(media, **{"if-modified-since": last_modified})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"]
    assert not_modified.headers["cache-control"].startswith("private, max-age=")

    both = {"if-modified-since": last_modified, "if-none-match": '"other"'}
    assert (await get(media, **both)).status_code == 200


async def test_if_range_with_the_last_modified_date_keeps_the_range(
    media: MediaServer, blob_data: bytes
) -> None:
    last_modified = parsedate_to_datetime((await get(media)).headers["last-modified"])
    exact = format_datetime(last_modified, usegmt=True)
    older = format_datetime(last_modified - timedelta(seconds=1), usegmt=True)

    ranged = await get(media, range="bytes=0-9", **{"if-range": exact})
    assert ranged.status_code == 206
    assert ranged.content == blob_data[:10]
    whole = await get(media, range="bytes=0-9", **{"if-range": older})
    assert whole.status_code == 200
    assert whole.content == blob_data


async def test_if_range_with_a_weak_or_stale_validator_sends_the_whole_object(
    media: MediaServer, blob_data: bytes
) -> None:
    etag = (await get(media)).headers["etag"]
    for validator in (f"W/{etag}", '"stale"'):
        # a failed If-Range ignores the Range entirely: not even an unsatisfiable one is a 416
        for header in ("bytes=0-9", "bytes=0-9,20-29", f"bytes={len(blob_data)}-"):
            response = await get(media, range=header, **{"if-range": validator})
            assert response.status_code == 200
            assert response.content == blob_data
    multi = await get(media, range="bytes=0-9,20-29", **{"if-range": etag})
    assert_parts(multi, blob_data, [(0, 9), (20, 29)])


async def test_download_adds_a_safe_attachment_disposition(media: MediaServer) -> None:
    url = media.url(KEY)
    plain = await media.client.get(url, headers={"range": "bytes=0-0"})
    assert "content-disposition" not in plain.headers

    download = await media.client.get(f"{url}&download=1", headers={"range": "bytes=0-0"})
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"job-1-0.mp4\"; filename*=UTF-8''job-1-0.mp4"
    )
    head = await media.client.head(f"{url}&download=1")
    assert head.headers["content-disposition"] == download.headers["content-disposition"]

    name = urlencode({"filename": "../Fuchs im Schnee ü.mp4"})
    named = await media.client.get(f"{url}&download=1&{name}")
    assert named.headers["content-disposition"] == (
        'attachment; filename="_Fuchs im Schnee _.mp4"; '
        "filename*=UTF-8''_Fuchs%20im%20Schnee%20%C3%BC.mp4"
    )


async def test_cross_origin_reads_see_the_range_headers(media: MediaServer) -> None:
    origin = "https://player.example"
    response = await get(media, range="bytes=0-9", origin=origin)

    assert response.headers["access-control-allow-origin"] == "*"
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert {"content-range", "accept-ranges", "content-length", "etag"} <= exposed


async def test_a_preflight_for_a_multi_range_read_is_allowed(media: MediaServer) -> None:
    response = await media.client.options(
        media.url(KEY),
        headers={
            "origin": "https://player.example",
            "access-control-request-method": "GET",
            "access-control-request-headers": "range, if-range",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert {"GET", "HEAD"} <= {
        m.strip() for m in response.headers["access-control-allow-methods"].split(",")
    }
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert {"range", "if-range"} <= allowed
    assert int(response.headers["access-control-max-age"]) > 0


async def test_posters_are_served_like_the_files_they_belong_to(media: MediaServer) -> None:
    poster = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 20 + b"\xff\xd9"
    await media.put("posters/job-1/0.jpg", poster, content_type="image/jpeg")

    whole = await get(media, key="posters/job-1/0.jpg")
    assert whole.status_code == 200
    assert whole.content == poster
    assert whole.headers["content-type"] == "image/jpeg"
    assert whole.headers["etag"]
    ranged = await get(media, key="posters/job-1/0.jpg", range="bytes=-2")
    assert ranged.status_code == 206
    assert ranged.content == b"\xff\xd9"
    fresh = await get(media, key="posters/job-1/0.jpg", **{"if-none-match": whole.headers["etag"]})
    assert fresh.status_code == 304


async def test_a_zero_length_object_answers_every_kind_of_request(media: MediaServer) -> None:
    key = "outputs/job-2/empty.bin"
    await media.put(key, b"", content_type="application/octet-stream")

    head = await media.client.head(media.url(key))
    assert (head.status_code, head.headers["content-length"]) == (200, "0")
    multi = await get(media, key=key, range="bytes=0-0,5-9")
    assert (multi.status_code, multi.headers["content-range"]) == (416, "bytes */0")
    etag = head.headers["etag"]
    assert (await get(media, key=key, **{"if-none-match": etag})).status_code == 304
    ignored = await get(media, key=key, range="bytes=0-0", **{"if-range": '"stale"'})
    assert (ignored.status_code, ignored.content) == (200, b"")


async def test_a_replaced_object_is_served_with_its_new_bytes_and_etag(
    media: MediaServer, blob_data: bytes
) -> None:
    before = await get(media, range="bytes=0-99")
    replacement = bytes(reversed(blob_data))
    await media.put(KEY, replacement, content_type="video/mp4")

    after = await get(media, range="bytes=0-99")

    assert after.status_code == 206
    assert after.content == replacement[:100]
    assert after.headers["etag"] != before.headers["etag"]
