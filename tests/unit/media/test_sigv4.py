"""Our SigV4 signatures equal the minio client's for the same request and moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from minio import Minio
from minio.credentials.credentials import Credentials
from minio.signer import sign_v4_s3

from reelhouse.media.sigv4 import SigV4Signer, object_path

MOMENT = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
SIGNER = SigV4Signer("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", region="eu-west-1")
KEYS = ["outputs/job-1/0.mp4", "uploads/dev/clip with spaces & ünïcode.webm", "a/b~c+d=e.mp4"]


@pytest.mark.parametrize("key", KEYS)
def test_presigned_urls_match_the_minio_clients(key: str) -> None:
    minio = Minio(
        "127.0.0.1:9000",
        access_key=SIGNER.access_key,
        secret_key=SIGNER.secret_key,
        secure=False,
        region="eu-west-1",
    )
    overrides: dict[str, str | list[str] | tuple[str]] = {
        "response-content-type": "video/mp4",
        "response-content-disposition": "attachment; filename*=UTF-8''%C3%BC.mp4",
    }
    expected = minio.presigned_get_object(
        "media",
        key,
        expires=timedelta(seconds=300),
        request_date=MOMENT,
        response_headers=overrides,
    )
    ours = SIGNER.presign(
        "GET",
        scheme="http",
        host="127.0.0.1:9000",
        path=object_path("media", key),
        expires_seconds=300,
        params={k: str(v) for k, v in overrides.items()},
        now=MOMENT,
    )
    theirs, mine = urlsplit(expected), urlsplit(ours)
    assert mine.path == theirs.path
    assert sorted(parse_qsl(mine.query)) == sorted(parse_qsl(theirs.query))


@pytest.mark.parametrize("key", KEYS)
def test_signed_headers_match_the_minio_signer(key: str) -> None:
    path = object_path("media", key)
    ours = SIGNER.sign_headers("GET", "s3.example.com:9000", path, now=MOMENT)
    headers: dict[str, str | list[str] | tuple[str]] = {
        "Host": "s3.example.com:9000",
        "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
        "x-amz-date": MOMENT.strftime("%Y%m%dT%H%M%SZ"),
    }
    theirs = sign_v4_s3(
        method="GET",
        url=urlsplit(f"http://s3.example.com:9000{path}"),
        region="eu-west-1",
        headers=headers,
        credentials=Credentials(SIGNER.access_key, SIGNER.secret_key),
        content_sha256="UNSIGNED-PAYLOAD",
        date=MOMENT,
    )
    assert ours["authorization"] == theirs["Authorization"]


def test_a_presigned_url_lives_at_most_seven_days() -> None:
    with pytest.raises(ValueError, match="7 days"):
        SIGNER.presign("GET", scheme="http", host="h", path="/b/k", expires_seconds=8 * 24 * 3600)
