"""Retrying failed jobs through the whole stack: re-download when the output is still there,
generate again otherwise; and the embedded catalogue tells which models can run.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import EmbeddedSystem
from tests.e2e.jobs import submit, wait_final

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SMALL = {"duration": 1, "width": 160, "height": 90, "sandbox_delay": 1}


def retry(client: httpx.Client, job_id: str) -> dict[str, Any]:
    response = client.post(f"/v1/generations/{job_id}/retry")
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job


def failed_with(client: httpx.Client, fault: str, code: str) -> dict[str, Any]:
    job = submit(
        client, "sandbox/text-to-video", {"prompt": fault, **SMALL, "sandbox_fault": fault}
    )
    final, _ = wait_final(client, job["id"], timeout=120)
    assert final["status"] == "failed", final
    assert final["error"]["code"] == code
    return final


def test_a_download_that_failed_once_is_downloaded_again_without_a_new_generation(
    system: EmbeddedSystem,
) -> None:
    with system.client() as client:
        old = failed_with(client, "html_once", "not_media")
        request_id = old["attempts"][-1]["provider_request_id"]

        new = retry(client, old["id"])
        assert new["status"] == "downloading"
        done, _ = wait_final(client, new["id"], timeout=120)

        assert done["status"] == "succeeded", done
        assert done["retry_of"] == old["id"]
        assert client.get(f"/v1/generations/{old['id']}").json()["retried_by"] == new["id"]
        assert [(a["provider_request_id"], a["redownload_of"]) for a in done["attempts"]] == [
            (request_id, old["id"])
        ]
        [output] = done["outputs"]
        assert output["content_type"] == "video/mp4"
        media = httpx.get(output["url"], timeout=10.0)
        assert media.status_code == 200
        assert media.content[4:8] == b"ftyp"
    # the provider made one prediction and served its file twice
    calls = system.provider_view(request_id)["calls"]
    assert (calls["create"], calls["files"]) == (1, 2)


def test_an_expired_output_is_generated_again(system: EmbeddedSystem) -> None:
    with system.client() as client:
        old = failed_with(client, "expired_url", "output_url_expired")

        new = retry(client, old["id"])
        assert new["status"] == "queued"
        again, seen = wait_final(client, new["id"], timeout=120)

    # a new prediction (the fault is in the input, so it expires again)
    assert "submitted" in seen or again["attempts"], seen
    [first] = old["attempts"]
    [second] = again["attempts"]
    assert second["provider_request_id"] != first["provider_request_id"]
    assert second["redownload_of"] is None
    assert again["retry_of"] == old["id"]
    assert system.provider_view(second["provider_request_id"])["calls"]["create"] == 1


def test_the_embedded_catalogue_offers_the_sandbox_and_refuses_unconfigured_models(
    system: EmbeddedSystem,
) -> None:
    with system.client() as client:
        models = {m["id"]: m for m in client.get("/v1/models").json()["data"]}
        refused = client.post(
            "/v1/generations", json={"model": "minimax/video-01", "input": {"prompt": "a fox"}}
        )

    assert all(m["available"] for m_id, m in models.items() if m_id.startswith("sandbox"))
    assert models["minimax/video-01"]["available"] is False
    assert models["fal-ai/flux/schnell"]["unavailable_reason"]
    assert refused.status_code == 422
    assert refused.json()["code"] == "model_unavailable"
