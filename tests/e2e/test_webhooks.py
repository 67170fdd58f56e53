"""Webhooks through the whole embedded system (``make run``) to a real receiver.

A sandbox job runs to the end; the receiver hears every status change and the success,
each signed (checked with ``standardwebhooks``), the last one carrying the stored outputs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import EmbeddedSystem, running_system
from tests.e2e.jobs import wait_final
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSystem]:
    with running_system(tmp_path_factory) as running:
        yield running


def test_a_sandbox_job_reports_each_status_and_its_success_signed(
    system: EmbeddedSystem,
) -> None:
    with WebhookReceiver() as receiver, system.client() as client:
        secret = client.get("/v1/webhooks/secret").json()["secret"]
        response = client.post(
            "/v1/generations",
            json={
                "model": "sandbox/text-to-image",
                "input": {"prompt": "a red fox"},
                "webhook_url": receiver.url,
                "webhook_events": ["status", "succeeded"],
            },
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        final, _ = wait_final(client, job_id)
        assert final["status"] == "succeeded"

        # one `status` per transition the job made after queued, and the success itself
        events = client.get(f"/v1/generations/{job_id}/events").json()["data"]
        moves = [e["status"] for e in events if e["status"] not in (None, "queued")]
        assert moves[-1] == "succeeded"
        requests = receiver.wait_for(len(moves) + 1, timeout=60.0)
        bodies = [Webhook(secret).verify(r.body, r.headers) for r in requests]
        statuses = [b["data"]["status"] for b in bodies if b["type"] == "generation.status"]
        assert sorted(statuses) == sorted(moves)
        assert [b["type"] for b in bodies].count("generation.succeeded") == 1
        (success,) = [b for b in bodies if b["type"] == "generation.succeeded"]
        assert success["data"]["id"] == job_id
        assert success["data"]["status"] == "succeeded"
        assert success["data"]["outputs"][0]["content_type"].startswith("image/")
        assert success["data"]["links"]["self"] == f"{system.gateway}/v1/generations/{job_id}"
        assert len({r.headers["webhook-id"] for r in requests}) == len(requests)
