"""The mixed batch every drill submits, and waiting (bounded) until all of it is final.

One *set* is: two videos (one over each provider protocol), an image, an image whose provider
fails on purpose (``model_error``), a long video canceled at once, an image whose client wants
signed webhooks, an image-to-video from an upload, and a two-scene composition. ``copies``
sets repeat it: CI runs one set per drill, ``make drills`` many. The sandbox delays are spread
so that, whenever the fault lands, some work is at every stage.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.faults.target import DrillSystem
from tests.support.still_images import quadrant_png
from tests.support.webhook_receiver import WebhookReceiver

FINAL = {"succeeded", "failed", "canceled"}
SMALL = {"width": 160, "height": 96, "fps": 12, "duration": 1}
# seconds each provider takes, spread so that a fault lands on work at every stage
DELAYS = (0.5, 1.5, 3.0, 5.0)
# the canceled video would take this long: it is canceled long before
CANCELED_DELAY = 40.0
WEBHOOK_EVENTS = ["status", "succeeded", "failed", "canceled"]


@dataclass(frozen=True, slots=True)
class Item:
    """One thing the batch asked for, and how it must end whatever the fault."""

    kind: str
    id: str
    expect: str
    code: str | None = None
    webhook: bool = False

    @property
    def composition(self) -> bool:
        return self.kind == "composition"


@dataclass(frozen=True, slots=True)
class Extra:
    """One more generation a drill adds to the batch: its model, input and expected status."""

    kind: str
    model: str
    input: dict[str, Any]
    expect: str = "succeeded"
    code: str | None = None


@dataclass(slots=True)
class Batch:
    items: list[Item] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)
    submitted_at: float = 0.0

    @property
    def jobs(self) -> list[Item]:
        return [item for item in self.items if not item.composition]

    @property
    def compositions(self) -> list[Item]:
        return [item for item in self.items if item.composition]


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> str:
    response = client.post(path, json=body)
    assert response.status_code == 202, f"{path}: {response.status_code} {response.text}"
    return str(response.json()["id"])


def _video(prompt: str, delay: float, **extra: Any) -> dict[str, Any]:
    return {"prompt": prompt, **SMALL, "sandbox_delay": delay, **extra}


def submit_batch(
    system: DrillSystem,
    receiver: WebhookReceiver,
    copies: int = 1,
    extra: Sequence[Extra] = (),
) -> Batch:
    """Submit ``copies`` sets (and ``extra`` once) through the first gateway; returns what
    each must become."""
    batch = Batch(submitted_at=time.monotonic())
    with system.client() as client:
        for more in extra:
            body = {"model": more.model, "input": more.input}
            job = _post(client, "/v1/generations", body)
            batch.items.append(Item(more.kind, job, more.expect, code=more.code))
        for n in range(copies):
            delay = DELAYS[n % len(DELAYS)]
            later = DELAYS[(n + 2) % len(DELAYS)]
            add = batch.items.append
            gen = "/v1/generations"
            add(
                Item(
                    "video",
                    _post(
                        client,
                        gen,
                        {"model": "sandbox/text-to-video", "input": _video(f"v{n}", delay)},
                    ),
                    "succeeded",
                )
            )
            add(
                Item(
                    "video-fal",
                    _post(
                        client,
                        gen,
                        {"model": "sandbox-fal/text-to-video", "input": _video(f"f{n}", later)},
                    ),
                    "succeeded",
                )
            )
            image = {"prompt": f"i{n}", "width": 128, "height": 96, "sandbox_delay": later}
            add(
                Item(
                    "image",
                    _post(client, gen, {"model": "sandbox/text-to-image", "input": image}),
                    "succeeded",
                )
            )
            broken = {**image, "prompt": f"x{n}", "sandbox_fault": "model_error"}
            add(
                Item(
                    "provider-fault",
                    _post(client, gen, {"model": "sandbox/text-to-image", "input": broken}),
                    "failed",
                    code="provider_model_error",
                )
            )
            long = _video(f"c{n}", CANCELED_DELAY)
            canceled = _post(client, gen, {"model": "sandbox/text-to-video", "input": long})
            answer = client.post(f"{gen}/{canceled}/cancel")
            assert answer.status_code in (200, 202), answer.text
            add(Item("cancel", canceled, "canceled", code=None))
            hooked = {
                "model": "sandbox/text-to-image",
                "input": {**image, "prompt": f"w{n}"},
                "webhook_url": receiver.url,
                "webhook_events": WEBHOOK_EVENTS,
            }
            add(Item("webhook", _post(client, gen, hooked), "succeeded", webhook=True))
            uploaded = client.post(
                "/v1/uploads", files={"file": (f"u{n}.png", quadrant_png(160, 96), "image/png")}
            )
            assert uploaded.status_code == 201, uploaded.text
            upload = uploaded.json()
            batch.uploads.append(upload["id"])
            from_upload = {
                "model": "sandbox/image-to-video",
                "input": {**_video(f"u{n}", delay), "image": upload["reference"]},
            }
            add(Item("upload", _post(client, gen, from_upload), "succeeded"))
            scenes = [
                {
                    "model": "sandbox/text-to-video",
                    "input": _video(f"s{n}-{k}", DELAYS[(n + k) % len(DELAYS)]),
                    "duration": 1,
                }
                for k in range(2)
            ]
            # a crossfade: the assembler re-encodes, so a fault can land while it works
            add(
                Item(
                    "composition",
                    _post(
                        client,
                        "/v1/compositions",
                        {"scenes": scenes, "transition": {"type": "crossfade", "seconds": 0.5}},
                    ),
                    "succeeded",
                )
            )
    return batch


def statuses(client: httpx.Client, batch: Batch) -> dict[str, str]:
    """Each item's status as the API shows it now; ``unknown`` where it did not answer (after
    the first unanswered read the rest are not asked: a stopped gateway answers none)."""
    found: dict[str, str] = dict.fromkeys((item.id for item in batch.items), "unknown")
    for item in batch.items:
        path = "/v1/compositions/" if item.composition else "/v1/generations/"
        try:
            response = client.get(path + item.id)
        except httpx.HTTPError:
            break
        if response.status_code == 200:
            found[item.id] = response.json()["status"]
    return found


def wait_all_final(system: DrillSystem, batch: Batch, *, timeout: float) -> float:
    """Poll the API until every item is final; the monotonic time it was first seen so."""
    deadline = time.monotonic() + timeout
    seen: dict[str, str] = {}
    with system.client() as client:
        while time.monotonic() < deadline:
            seen = statuses(client, batch)
            if all(status in FINAL for status in seen.values()):
                return time.monotonic()
            time.sleep(0.25)
    stuck = {item.kind: seen.get(item.id) for item in batch.items if seen.get(item.id) not in FINAL}
    raise AssertionError(f"stuck after {timeout:.0f}s: {stuck}")
