from urllib.parse import parse_qs, urlsplit

import pytest

from reelhouse.common.signing import SignatureError, SignatureExpiredError, UrlSigner

SIGNER = UrlSigner(keys={"k1": b"first-secret", "k2": b"second-secret"}, active_key_id="k2")


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_signed_url_verifies_for_its_object_until_expiry() -> None:
    url = SIGNER.signed_url("http://media", "outputs/j1/0.mp4", ttl_seconds=60, now=1000)
    assert urlsplit(url).path == "/o/outputs/j1/0.mp4"
    q = _query(url)
    assert q["kid"] == "k2"
    assert SIGNER.verify("outputs/j1/0.mp4", now=1059, **q) == 1060


def test_signature_is_bound_to_one_object() -> None:
    q = SIGNER.sign("outputs/j1/0.mp4", ttl_seconds=60, now=1000)
    with pytest.raises(SignatureError):
        SIGNER.verify("outputs/j2/0.mp4", now=1000, **q)


def test_expired_signature_is_distinguishable_from_a_wrong_one() -> None:
    q = SIGNER.sign("k", ttl_seconds=60, now=1000)
    with pytest.raises(SignatureExpiredError):
        SIGNER.verify("k", now=1061, **q)
    tampered = {**q, "exp": str(int(q["exp"]) + 3600)}
    with pytest.raises(SignatureError) as excinfo:
        SIGNER.verify("k", now=1000, **tampered)
    assert not isinstance(excinfo.value, SignatureExpiredError)


def test_old_key_still_verifies_after_rotation_and_unknown_key_fails() -> None:
    old = UrlSigner(keys={"k1": b"first-secret"}, active_key_id="k1")
    q = old.sign("k", ttl_seconds=60, now=1000)
    assert SIGNER.verify("k", now=1000, **q) == 1060
    with pytest.raises(SignatureError):
        SIGNER.verify("k", now=1000, **{**q, "kid": "k9"})


def test_non_ascii_signature_is_a_signature_error_not_a_crash() -> None:
    q = SIGNER.sign("k", ttl_seconds=60, now=1000)
    with pytest.raises(SignatureError):
        SIGNER.verify("k", now=1000, **{**q, "sig": "é" * 43})


def test_leeway_accepts_a_url_that_far_past_its_expiry_and_no_further() -> None:
    lenient = UrlSigner(keys=SIGNER.keys, active_key_id="k2", leeway_seconds=300)
    q = lenient.sign("k", ttl_seconds=60, now=1000)
    # the signer's clock ran 90 s behind this one: the URL is fresh, yet "expired" here
    assert lenient.verify("k", now=1150, **q) == 1060
    assert lenient.verify("k", now=1360, **q) == 1060
    with pytest.raises(SignatureExpiredError):
        lenient.verify("k", now=1361, **q)
