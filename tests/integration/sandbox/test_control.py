"""``/_sandbox/predictions``: the provider's side, for tests through the whole stack."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from replicate.client import Client

from tests.integration.sandbox.conftest import RunningSandbox

pytestmark = pytest.mark.timeout(60)

SMALL: dict[str, Any] = {"prompt": "control", "width": 160, "height": 90, "duration": 1}


def test_one_prediction_describes_protocol_plan_and_calls(
    client: Client, sandbox: RunningSandbox
) -> None:
    created = client.models.predictions.create(
        model="sandbox/text-to-video", input={**SMALL, "sandbox_fault": "expire_url,no_webhook"}
    )
    created.wait()
    control = sandbox.control(created.id)
    assert control["id"] == created.id
    assert (control["protocol"], control["model"]) == ("replicate", "sandbox/text-to-video")
    assert (control["status"], control["reported_status"]) == ("succeeded", "succeeded")
    assert control["faults"] == ["expire_url", "no_webhook"]
    assert control["fault_plan"]["webhooks"] is False
    assert control["calls"]["create"] == 1
    assert control["calls"]["poll"] >= 1
    assert control["webhook"] is None
    assert control["webhooks"] == []


def test_listing_filters_by_model_and_unknown_ids_are_404(
    client: Client, sandbox: RunningSandbox
) -> None:
    created = client.models.predictions.create(
        model="sandbox/text-to-image", input={"prompt": "listed", "width": 64, "height": 64}
    )
    listed = httpx.get(
        f"{sandbox.url}/_sandbox/predictions", params={"model": "sandbox/text-to-image"}, timeout=30
    ).json()["results"]
    assert created.id in [item["id"] for item in listed]
    assert {item["model"] for item in listed} == {"sandbox/text-to-image"}
    missing = httpx.get(f"{sandbox.url}/_sandbox/predictions/nope", timeout=30)
    assert missing.status_code == 404
