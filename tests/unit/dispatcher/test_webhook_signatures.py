"""Webhook signatures, with vectors made here: good, tampered, stale, missing, unknown key."""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from replicate.webhook import Webhooks, WebhookSigningSecret

from reelhouse.dispatcher.webhooks import fal, replicate
from reelhouse.dispatcher.webhooks.errors import WebhookRejectedError

SECRET = "whsec_" + base64.b64encode(b"reelhouse-test-secret-0123456789").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"somebody-else-secret-0123456789").decode()
BODY = b'{"id":"p1","status":"succeeded","output":["https://cdn.test/a.mp4"]}'
NOW = 1_760_000_000
TOLERANCE = 300


def replicate_headers(
    body: bytes = BODY, *, secret: str = SECRET, timestamp: int = NOW
) -> dict[str, str]:
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": replicate.sign(secret, "msg_1", timestamp, body),
    }


def test_replicate_signature_verifies_and_matches_the_official_helper() -> None:
    headers = replicate_headers(timestamp=int(time.time()))

    checked = replicate.verify(headers, BODY, SECRET, tolerance_seconds=TOLERANCE)

    assert checked.webhook_id == "msg_1"
    # the replicate client's own validator accepts the same vector (it returns None)
    Webhooks.validate(
        headers=headers, body=BODY.decode(), secret=WebhookSigningSecret(key=SECRET), tolerance=5
    )


def test_replicate_signature_among_several_is_found() -> None:
    headers = replicate_headers()
    headers["webhook-signature"] = "v1,bm90LXRoaXMtb25l " + headers["webhook-signature"]

    replicate.verify(headers, BODY, SECRET, tolerance_seconds=TOLERANCE, now=NOW)


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (replicate_headers(), BODY.replace(b"succeeded", b"processing")),  # tampered body
        (replicate_headers(BODY + b" "), BODY),  # one byte more than what was signed
        (replicate_headers(secret=OTHER_SECRET), BODY),  # signed with another key
        (replicate_headers(timestamp=NOW - TOLERANCE - 1), BODY),  # stale
        (replicate_headers(timestamp=NOW + TOLERANCE + 1), BODY),  # from the future
        ({k: v for k, v in replicate_headers().items() if k != "webhook-signature"}, BODY),
        ({k: v for k, v in replicate_headers().items() if k != "webhook-id"}, BODY),
        ({**replicate_headers(), "webhook-timestamp": "yesterday"}, BODY),
        (replicate_headers(b""), b""),
    ],
)
def test_replicate_webhook_that_is_not_ours_is_rejected(
    headers: Mapping[str, str], body: bytes
) -> None:
    with pytest.raises(WebhookRejectedError):
        replicate.verify(headers, body, SECRET, tolerance_seconds=TOLERANCE, now=NOW)


async def test_replicate_secret_is_fetched_once_and_refetched_after_a_rotation() -> None:
    served = [SECRET]
    fetches = 0
    clock = 1000.0

    async def fetch() -> str:
        nonlocal fetches
        fetches += 1
        return served[-1]

    source = replicate.SecretSource(None, fetch, clock=lambda: clock)
    await replicate.verify_with_source(
        replicate_headers(timestamp=int(time.time())), BODY, source, tolerance_seconds=TOLERANCE
    )
    await replicate.verify_with_source(
        replicate_headers(timestamp=int(time.time())), BODY, source, tolerance_seconds=TOLERANCE
    )
    assert fetches == 1

    served.append(OTHER_SECRET)
    clock += replicate.REFRESH_AFTER_FAILURE_SECONDS + 1
    rotated = replicate_headers(secret=OTHER_SECRET, timestamp=int(time.time()))
    await replicate.verify_with_source(rotated, BODY, source, tolerance_seconds=TOLERANCE)
    assert fetches == 2

    # a forged one right after does not make us hammer the provider
    with pytest.raises(WebhookRejectedError):
        await replicate.verify_with_source(
            replicate_headers(timestamp=int(time.time())), BODY, source, tolerance_seconds=TOLERANCE
        )
    assert fetches == 2


# ---- fal: Ed25519 over request_id \n user_id \n timestamp \n sha256hex(body)

KEY = Ed25519PrivateKey.generate()
UNKNOWN_KEY = Ed25519PrivateKey.generate()


def jwks(*keys: Ed25519PrivateKey) -> dict[str, object]:
    def jwk(key: Ed25519PrivateKey) -> dict[str, str]:
        raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode(),
        }

    return {"keys": [{"kty": "RSA", "n": "ignored", "e": "AQAB"}, *(jwk(k) for k in keys)]}


def fal_headers(
    body: bytes = BODY, *, key: Ed25519PrivateKey = KEY, timestamp: int = NOW
) -> dict[str, str]:
    message = fal.signed_message("req-1", "user-1", str(timestamp), body)
    return {
        "x-fal-webhook-request-id": "req-1",
        "x-fal-webhook-user-id": "user-1",
        "x-fal-webhook-timestamp": str(timestamp),
        "x-fal-webhook-signature": key.sign(message).hex(),
    }


def test_fal_signature_verifies_against_any_key_of_the_set() -> None:
    keys = fal.keys_from_jwks(jwks(UNKNOWN_KEY, KEY))

    checked = fal.verify(fal_headers(), BODY, keys, tolerance_seconds=TOLERANCE, now=NOW)

    assert (checked.request_id, checked.user_id) == ("req-1", "user-1")


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (fal_headers(), BODY + b"\n"),  # tampered body
        (fal_headers(key=UNKNOWN_KEY), BODY),  # a key not in the JWKS
        (fal_headers(timestamp=NOW - TOLERANCE - 1), BODY),  # stale
        ({**fal_headers(), "x-fal-webhook-request-id": "req-2"}, BODY),  # another request
        ({**fal_headers(), "x-fal-webhook-signature": "zz"}, BODY),  # not hex
        ({k: v for k, v in fal_headers().items() if k != "x-fal-webhook-signature"}, BODY),
        ({k: v for k, v in fal_headers().items() if k != "x-fal-webhook-user-id"}, BODY),
    ],
)
def test_fal_webhook_that_is_not_ours_is_rejected(headers: Mapping[str, str], body: bytes) -> None:
    keys = fal.keys_from_jwks(jwks(KEY))

    with pytest.raises(WebhookRejectedError):
        fal.verify(headers, body, keys, tolerance_seconds=TOLERANCE, now=NOW)


async def test_jwks_is_cached_for_its_ttl() -> None:
    fetches = 0
    clock = 0.0

    async def fetch() -> object:
        nonlocal fetches
        fetches += 1
        return jwks(KEY)

    source = fal.JwksSource(fetch, ttl_seconds=100, clock=lambda: clock)
    await source.get()
    clock = 50.0
    await source.get()
    assert fetches == 1
    clock = 101.0
    await source.get()
    assert fetches == 2
