"""Size caps and what each HTTP answer from an output URL means for the job."""

from __future__ import annotations

import pytest
from yarl import URL

from reelhouse.common.errors import PermanentError, TransientError
from reelhouse.downloader.fetch import check_size, public_url, status_error

URL_WITH_SIGNATURE = URL("https://user:pw@cdn.example/out/0.mp4?X-Amz-Signature=abc#t=1")


def test_a_declared_size_at_the_limit_passes() -> None:
    check_size(1000, 1000, declared=True)


def test_a_declared_size_over_the_limit_is_too_large_before_reading() -> None:
    with pytest.raises(PermanentError) as caught:
        check_size(2 * 1024**3 + 1, 2 * 1024**3, declared=True)
    assert caught.value.code == "too_large"
    assert "2,147,483,649 bytes" in caught.value.message
    assert "limit is 2,147,483,648 bytes" in caught.value.message


def test_counted_bytes_over_the_limit_are_too_large_while_reading() -> None:
    with pytest.raises(PermanentError) as caught:
        check_size(1001, 1000, declared=False)
    assert caught.value.code == "too_large"
    assert "while downloading" in caught.value.message


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_gone_or_forbidden_urls_have_expired(status: int) -> None:
    error = status_error(status, URL_WITH_SIGNATURE, b"<Error><Code>AccessDenied</Code></Error>")
    assert isinstance(error, PermanentError)
    assert error.code == "output_url_expired"
    assert error.detail is not None
    assert error.detail.startswith(f"HTTP {status}: <Error><Code>AccessDenied")


@pytest.mark.parametrize("status", [400, 405, 415, 451])
def test_other_client_errors_are_permanent_download_failures(status: int) -> None:
    error = status_error(status, URL_WITH_SIGNATURE, b"")
    assert isinstance(error, PermanentError)
    assert error.code == "download_failed"


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_server_errors_and_throttling_are_retried(status: int) -> None:
    error = status_error(status, URL_WITH_SIGNATURE, b"")
    assert isinstance(error, TransientError)
    assert error.code == "download_failed"
    assert error.retryable


def test_success_is_no_error() -> None:
    assert status_error(200, URL_WITH_SIGNATURE, b"") is None


def test_messages_never_carry_the_url_signature_or_credentials() -> None:
    error = status_error(403, URL_WITH_SIGNATURE, b"")
    assert error is not None
    assert "Signature" not in error.message
    assert "pw" not in error.message
    assert public_url(URL_WITH_SIGNATURE) == "https://cdn.example/out/0.mp4"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "/relative/path?sig=1", "not a url", ""])
def test_any_url_can_be_shown_without_raising(url: str) -> None:
    shown = public_url(url)
    assert "sig=" not in shown
