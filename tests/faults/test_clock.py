"""Clocks that disagree: one role's wall clock skewed with libfaketime (Debian's ``faketime``).

The skewed process is restarted with ``LD_PRELOAD=libfaketime`` and ``FAKETIME=±Ns``: its
``time.time()`` and ``datetime.now()`` are off by N seconds, its monotonic clock is not. The
drill's batch runs while it is skewed, and its checks (outputs fetched through the media
service, webhooks, provider calls) run before the clock is put right.

- media ahead of / behind the gateway (which signs media URLs): outputs are still served,
  even a URL signed with the shortest lifetime the gateway allows (60 s), thanks to the media
  service's ``REELHOUSE_DELIVERY__CLOCK_SKEW_SECONDS``; a URL truly expired is refused;
- the gateways' clocks skewed against the client's webhook receiver (and each other): every
  delivery verifies with ``standardwebhooks`` at the receiver's clock (tolerance 5 min);
- the provider's clock skewed far past the dispatcher's webhook tolerance: its webhooks are
  refused (``webhook.rejected``), and polling finishes every job all the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from reelhouse.common.signing import UrlSigner
from tests.faults.drill import TIMEOUT, Fault, assert_clean, run_drill
from tests.faults.system import DrillSystem
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.faults, pytest.mark.timeout(TIMEOUT)]

FAKETIME_LIBRARIES = (
    Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"),
    Path("/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1"),
    Path("/usr/lib/faketime/libfaketime.so.1"),
)
# a realistic skew between two hosts whose NTP is broken
SKEW_SECONDS = 90
# far past the dispatcher's webhook tolerance (300 s by default)
PROVIDER_SKEW_SECONDS = 600
# the shortest media URL lifetime the gateway may be configured with
MIN_URL_TTL_SECONDS = 60
# the media service's default leeway (DeliverySettings.clock_skew_seconds)
MEDIA_LEEWAY_SECONDS = 300


def _library() -> Path:
    found = next((path for path in FAKETIME_LIBRARIES if path.exists()), None)
    if found is None:
        pytest.skip(
            "libfaketime is missing: install Debian's `faketime` package (`make test` does)"
        )
    return found


def skewed(seconds: int) -> dict[str, str]:
    """The variables that run a process ``seconds`` off the real wall clock (checked here)."""
    env = {
        "LD_PRELOAD": str(_library()),
        "FAKETIME": f"{seconds:+d}s",
        # asyncio's timers and every timeout run on the monotonic clock: leave it alone
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "FAKETIME_DONT_RESET": "1",
    }
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import time, datetime, json;"
            "print(json.dumps([time.time(), datetime.datetime.now(datetime.UTC).timestamp()]))",
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    now = time.time()
    if probe.returncode != 0:
        pytest.skip(f"libfaketime does not work here: {probe.stderr.strip()[-300:]}")
    for seen in json.loads(probe.stdout):
        if abs(seen - now - seconds) > 10:
            pytest.skip(f"libfaketime did not skew the clock by {seconds} s (off by {seen - now})")
    return env


def _nothing(system: DrillSystem) -> None:
    """The fault is the skewed clock the drill runs under: nothing to do at the moment."""


def _clock_fault(name: str) -> Fault:
    return Fault(name, inject=_nothing, clear=_nothing, when=frozenset({"submitted", "running"}))


def _an_output_key(system: DrillSystem, job_id: str) -> str:
    with system.client() as client:
        found = client.get(f"/v1/generations/{job_id}").json()
    url = found["outputs"][0]["url"]
    return unquote(urlsplit(url).path.removeprefix("/o/"))


def _signer(system: DrillSystem) -> UrlSigner:
    env = system.roles["media"].env
    keys = json.loads(env["REELHOUSE_SIGNING__KEYS"])
    active = env.get("REELHOUSE_SIGNING__ACTIVE_KEY_ID", next(iter(keys)))
    return UrlSigner({kid: secret.encode() for kid, secret in keys.items()}, active)


@pytest.mark.parametrize("skew", [SKEW_SECONDS, -SKEW_SECONDS], ids=["ahead", "behind"])
def test_media_clock_skewed_from_the_gateway(
    skew: int, system: DrillSystem, receiver: WebhookReceiver
) -> None:
    clock = skewed(skew)
    with system.reconfigured("media", **clock):
        outcome = run_drill(
            system, _clock_fault(f"media clock {skew:+d} s off the gateway's"), receiver=receiver
        )
        assert outcome.batch is not None
        job = next(item.id for item in outcome.batch.jobs if item.kind == "video")
        key = _an_output_key(system, job)
        signer = _signer(system)
        media = system.roles["media"].url
        now = time.time()
        shortest = signer.signed_url(media, key, ttl_seconds=MIN_URL_TTL_SECONDS, now=now)
        # expired by more than the leeway and the skew together, by any of the two clocks
        gone = now - MIN_URL_TTL_SECONDS - MEDIA_LEEWAY_SECONDS - SKEW_SECONDS - 30
        expired = signer.signed_url(media, key, ttl_seconds=MIN_URL_TTL_SECONDS, now=gone)
        with httpx.Client(timeout=15.0) as browser:
            fresh = browser.get(shortest)
            refused = browser.get(expired)
    assert_clean(outcome, system)
    assert fresh.status_code == 200, (
        f"a fresh {MIN_URL_TTL_SECONDS} s URL was refused by a media service {skew:+d} s off:"
        f" {fresh.status_code} {fresh.text[:200]}"
    )
    assert refused.status_code == 410, f"an expired URL was answered {refused.status_code}"
    assert refused.json()["code"] == "signed_url_expired"
    assert parse_qs(urlsplit(shortest).query)["exp"]


def test_gateway_clocks_skewed_from_the_webhook_receiver(
    system: DrillSystem, receiver: WebhookReceiver
) -> None:
    """One gateway ahead, the other behind: whichever relays a delivery, it verifies."""
    ahead, behind = skewed(SKEW_SECONDS), skewed(-SKEW_SECONDS)
    with system.reconfigured("gateway", **ahead), system.reconfigured("gateway-b", **behind):
        outcome = run_drill(
            system,
            _clock_fault(f"gateways {SKEW_SECONDS:+d} s and {-SKEW_SECONDS:+d} s off the receiver"),
            receiver=receiver,
        )
        with system.client() as client:
            secret = client.get("/v1/webhooks/secret").json()["secret"]
    assert_clean(outcome, system)
    assert outcome.batch is not None
    hooked = {item.id for item in outcome.batch.items if item.webhook}
    mine = [r for r in receiver.received if r.json().get("data", {}).get("id") in hooked]
    assert mine, "no webhook of this drill's jobs arrived"
    verifier = Webhook(secret)
    for request in mine:
        # at the receiver's clock, with standardwebhooks' tolerance (5 min)
        verifier.verify(request.body, request.headers)


def test_provider_clock_skewed_past_the_webhook_tolerance(
    system: DrillSystem, receiver: WebhookReceiver
) -> None:
    """The provider's webhooks carry timestamps 10 min off: refused, and polling finishes."""
    with system.reconfigured("sandbox", **skewed(PROVIDER_SKEW_SECONDS)):
        outcome = run_drill(
            system,
            _clock_fault(f"provider clock {PROVIDER_SKEW_SECONDS:+d} s off the dispatcher's"),
            receiver=receiver,
        )
    rejected = system.records("dispatcher", "webhook.rejected")
    assert_clean(outcome, system)
    assert any("tolerance" in str(record.get("reason")) for record in rejected), (
        "no provider webhook was refused for its timestamp: the skew did not reach it"
    )
