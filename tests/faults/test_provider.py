"""A provider whose file server misbehaves in the middle of a body: it stalls, or it resets.

- stall: the sandbox's ``stall_body`` fault sends half of an output's first GET, then holds
  the connection open in silence. The downloader, restarted with a short read timeout, must
  give up on the silence and fetch the rest (a range request), storing the output intact.
- reset: a ``FaultProxy`` in front of the sandbox's file URLs (the sandbox restarted with its
  public address on the proxy) aborts every open connection with a TCP RST again and again
  while large outputs stream through it. Every output must still end stored intact, once.
"""

from __future__ import annotations

import threading

import pytest

from tests.faults.batch import SMALL, Extra, Item
from tests.faults.drill import TIMEOUT, Fault, assert_clean, run_drill
from tests.faults.system import DrillSystem
from tests.support.faultproxy import FaultProxy
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.faults, pytest.mark.timeout(TIMEOUT)]

READ_TIMEOUT_SECONDS = 2.0
STALLED = 3
# outputs this large are still in flight when the proxy resets them
LARGE_MB = 20.0
LARGE = 3
RESET_EVERY_SECONDS = 1.0
# each 64 KiB chunk through the proxy waits this long: a large output takes seconds to stream,
# so the resets land in the middle of bodies
CHUNK_LATENCY_SECONDS = 0.005
RESET_HOLD_SECONDS = 8.0


def _stalled_extra() -> list[Extra]:
    video = {**SMALL, "sandbox_delay": 1.0, "sandbox_fault": "stall_body"}
    image = {"width": 128, "height": 96, "sandbox_delay": 1.0, "sandbox_fault": "stall_body"}
    extra = [
        Extra("stalled-video", "sandbox/text-to-video", {**video, "prompt": f"stall {n}"})
        for n in range(STALLED)
    ]
    extra.append(Extra("stalled-image", "sandbox/text-to-image", {**image, "prompt": "stall i"}))
    extra.append(
        Extra("stalled-fal", "sandbox-fal/text-to-video", {**video, "prompt": "stall fal"})
    )
    return extra


def test_provider_stalls_mid_body(system: DrillSystem, receiver: WebhookReceiver) -> None:
    with system.reconfigured("downloader", REELHOUSE_READ_TIMEOUT=str(READ_TIMEOUT_SECONDS)):
        fault = Fault(
            f"provider stalls mid-body (read timeout {READ_TIMEOUT_SECONDS:.0f} s)",
            # the fault is in the batch itself: every stalled output's first GET stalls
            inject=lambda s: None,
            clear=lambda s: None,
            when=frozenset({"submitted", "running", "downloading"}),
        )
        outcome = run_drill(system, fault, receiver=receiver, extra=_stalled_extra())
        stalled = system.records("sandbox", "files.stalled")
        resumed = [r for r in system.records("downloader", "download.fetched") if r["resumes"]]
    assert_clean(outcome, system)
    assert len(stalled) >= STALLED, f"only {len(stalled)} stalled answers: the fault did not act"
    # the downloader gave up on the silence and asked for the rest, not the whole file again
    assert len(resumed) >= STALLED, f"only {len(resumed)} downloads resumed after a stall"


def _large_input(prompt: str) -> dict[str, object]:
    return {**SMALL, "prompt": prompt, "sandbox_delay": 1.0, "size_mb": LARGE_MB}


def _submit_large(system: DrillSystem) -> list[Item]:
    items = []
    with system.client() as client:
        for n in range(LARGE):
            body = {"model": "sandbox/text-to-video", "input": _large_input(f"large late {n}")}
            answer = client.post("/v1/generations", json=body)
            assert answer.status_code == 202, answer.text
            items.append(Item("large-video", str(answer.json()["id"]), "succeeded"))
    return items


class _Resetter:
    """Calls ``proxy.reset()`` every ``every`` seconds while started."""

    def __init__(self, proxy: FaultProxy, every: float) -> None:
        self.proxy = proxy
        self.every = every
        self.resets = 0
        self.interrupted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="resetter", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.interrupted += self.proxy.connections_open
            self.proxy.reset()
            self.resets += 1

    def start(self, system: DrillSystem) -> None:
        self.proxy.latency(CHUNK_LATENCY_SECONDS)
        self._thread.start()

    def stop(self, system: DrillSystem) -> None:
        self._stop.set()
        self._thread.join(timeout=10.0)
        self.proxy.pass_through()


def test_provider_resets_mid_body(system: DrillSystem, receiver: WebhookReceiver) -> None:
    with FaultProxy(system.roles["sandbox"].port) as proxy:
        with system.reconfigured("sandbox", REELHOUSE_PUBLIC_BASE_URL=proxy.url()):
            resetter = _Resetter(proxy, RESET_EVERY_SECONDS)
            large = [
                Extra("large-video", "sandbox/text-to-video", _large_input(f"large {n}"))
                for n in range(LARGE)
            ]
            fault = Fault(
                f"provider resets connections mid-body every {RESET_EVERY_SECONDS} s"
                f" for {RESET_HOLD_SECONDS:.0f} s",
                inject=resetter.start,
                clear=resetter.stop,
                hold_seconds=RESET_HOLD_SECONDS,
                when=frozenset({"downloading"}),
                # more of them as the resets start: submitted only before a big batch, they
                # were downloaded before it had been submitted, and nothing was cut
                more_work=_submit_large,
            )
            outcome = run_drill(system, fault, receiver=receiver, extra=large)
        accepted = proxy.connections_accepted
        through = proxy.url()
        cut = [
            r
            for r in system.records("downloader", "download.fetched")
            if str(r["url"]).startswith(through) and (r["resumes"] or int(str(r["attempts"])) > 1)
        ]
    assert_clean(outcome, system)
    assert cut, "no download through the proxy was cut and taken up again"
    assert accepted > 0, "nothing went through the proxy: the sandbox's URLs bypass it"
    assert resetter.resets > 0
    assert resetter.interrupted > 0, "no connection was open at any reset: nothing was cut"
