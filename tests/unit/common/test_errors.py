import pytest

from reelhouse.common.errors import CATALOGUE, PermanentError, TransientError

PUBLIC_CODES = {
    "not_media",
    "truncated",
    "too_large",
    "corrupt_media",
    "output_url_expired",
    "download_blocked",
    "provider_model_error",
    "provider_protocol_error",
    "provider_timeout",
    "provider_rejected_input",
    "unauthorized",
    "not_found",
    "validation_error",
    "unknown_model",
}


def test_public_codes_are_catalogued_with_status_and_message() -> None:
    for code in PUBLIC_CODES:
        entry = CATALOGUE[code]
        assert 400 <= entry.status < 600
        assert entry.message.endswith(".")


def test_error_carries_default_message_and_retryability() -> None:
    err = TransientError("download_failed")
    assert err.retryable
    assert err.message == CATALOGUE["download_failed"].message
    perm = PermanentError("not_media", "received text/html, 512 bytes", detail="<html>")
    assert not perm.retryable
    assert perm.detail == "<html>"


def test_unknown_code_is_refused() -> None:
    with pytest.raises(KeyError):
        PermanentError("no_such_code")
