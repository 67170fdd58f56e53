"""Output URLs are signed and expire; only the sandbox that issued them accepts them."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from reelhouse.common.signing import SignatureError, SignatureExpiredError
from reelhouse.sandbox.outputs import OutputFiles, content_type_for

NOW = 1_700_000_000.0


@pytest.fixture
def outputs(tmp_path: Path) -> OutputFiles:
    return OutputFiles(tmp_path, "http://127.0.0.1:8010/", secret=b"s3cret")


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def test_url_points_at_the_file_route_with_exp_and_sig(outputs: OutputFiles) -> None:
    url = outputs.url_for("abc123", "output.mp4", expires_at=NOW + 60)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "http://127.0.0.1:8010/files/abc123/output.mp4"
    )
    assert set(query_of(url)) == {"exp", "sig"}
    assert query_of(url)["exp"] == str(int(NOW + 60))


def test_fresh_url_verifies(outputs: OutputFiles) -> None:
    query = query_of(outputs.url_for("abc123", "output.mp4", expires_at=NOW + 60))
    outputs.verify("abc123", "output.mp4", exp=query["exp"], sig=query["sig"], now=NOW + 59)


def test_url_after_its_expiry_is_rejected_as_expired(outputs: OutputFiles) -> None:
    query = query_of(outputs.url_for("abc123", "output.mp4", expires_at=NOW + 60))
    with pytest.raises(SignatureExpiredError):
        outputs.verify("abc123", "output.mp4", exp=query["exp"], sig=query["sig"], now=NOW + 61)


def test_fractional_expiry_rounds_up_so_the_url_lives_at_least_that_long(
    outputs: OutputFiles,
) -> None:
    query = query_of(outputs.url_for("abc123", "output.mp4", expires_at=NOW + 0.2))
    assert query["exp"] == str(int(NOW) + 1)
    outputs.verify("abc123", "output.mp4", exp=query["exp"], sig=query["sig"], now=NOW + 0.2)


@pytest.mark.parametrize(
    ("prediction_id", "name", "exp_delta"),
    [("other1", "output.mp4", 0), ("abc123", "output.png", 0), ("abc123", "output.mp4", 3600)],
)
def test_signature_is_bound_to_file_and_expiry(
    outputs: OutputFiles, prediction_id: str, name: str, exp_delta: int
) -> None:
    query = query_of(outputs.url_for("abc123", "output.mp4", expires_at=NOW + 60))
    exp = str(int(query["exp"]) + exp_delta)
    with pytest.raises(SignatureError):
        outputs.verify(prediction_id, name, exp=exp, sig=query["sig"], now=NOW)


def test_another_process_secret_does_not_verify(tmp_path: Path, outputs: OutputFiles) -> None:
    query = query_of(outputs.url_for("abc123", "output.mp4", expires_at=NOW + 60))
    restarted = OutputFiles(tmp_path, "http://127.0.0.1:8010")
    with pytest.raises(SignatureError):
        restarted.verify("abc123", "output.mp4", exp=query["exp"], sig=query["sig"], now=NOW)


def test_missing_signature_is_rejected(outputs: OutputFiles) -> None:
    with pytest.raises(SignatureError):
        outputs.verify("abc123", "output.mp4", exp=None, sig=None, now=NOW)


@pytest.mark.parametrize(
    ("prediction_id", "name"), [("..", "x.mp4"), ("abc", "../x"), ("ABC", "x")]
)
def test_unsafe_paths_are_refused(outputs: OutputFiles, prediction_id: str, name: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        outputs.path_for(prediction_id, name)


def test_content_types_come_from_the_extension() -> None:
    assert content_type_for("output.mp4") == "video/mp4"
    assert content_type_for("output.png") == "image/png"
    assert content_type_for("output.bin") == "application/octet-stream"
