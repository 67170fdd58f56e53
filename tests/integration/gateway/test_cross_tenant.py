"""Another owner's key, on every operation the API documents: ``404`` (or ``403`` for scope), never data.

The operations are read from the OpenAPI document, so an endpoint added later without a
case here fails ``test_every_operation_has_a_cross_tenant_case``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from reelhouse.common.events import GenerationFailed, JobError
from tests.integration.gateway.harness import Gateway, wait_until_projected
from tests.unit.gateway.upload_samples import png_bytes

EVENT_STREAM = {"Accept": "text/event-stream"}
# operations that are not owner data (probes, metrics, the web page, the catalogue)
PUBLIC_OR_SHARED = {
    ("get", "/livez"),
    ("get", "/readyz"),
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/"),
    ("get", "/v1/models"),
    ("get", "/v1/models/{model_id}"),
}


async def _owner_a_job(gateway: Gateway, publish: Any, nats_url: str) -> dict[str, Any]:
    """Owner A's failed job, with a webhook (so it has a delivery) and a recorded history."""
    job = await gateway.submit_to(
        "sandbox/text-to-video",
        {"prompt": "owner a's secret fox"},
        webhook_url="https://hooks.example.com/a",
        webhook_events=["failed"],
    )
    await publish(
        GenerationFailed(
            event_id=f"{job['id']}:failed",
            job_id=job["id"],
            error=JobError(stage="provider", code="provider_model_error", message="boom"),
        )
    )
    await gateway.wait_for_status(job["id"], "failed")
    await wait_until_projected(nats_url)
    return job


def _cases(
    job_id: str,
    delivery_id: str,
    key_id: str,
    event_id: str,
    upload_id: str = "upl_x",
    composition_id: str = "cmp_x",
) -> dict[tuple[str, str], Any]:
    """(method, documented path) → the request owner B makes: (url, json body, extra headers)."""
    return {
        ("post", "/v1/generations"): None,  # makes B's own job: checked apart
        ("get", "/v1/generations"): None,  # B's list: checked apart
        ("get", "/v1/generations/{job_id}"): (f"/v1/generations/{job_id}", None, {}),
        ("get", "/v1/generations/{job_id}/events"): (f"/v1/generations/{job_id}/events", None, {}),
        ("post", "/v1/generations/{job_id}/cancel"): (
            f"/v1/generations/{job_id}/cancel",
            None,
            {},
        ),
        ("post", "/v1/generations/{job_id}/retry"): (f"/v1/generations/{job_id}/retry", None, {}),
        ("get", "/v1/generations/{job_id}/deliveries"): (
            f"/v1/generations/{job_id}/deliveries",
            None,
            {},
        ),
        ("post", "/v1/generations/{job_id}/deliveries/{delivery_id}/redeliver"): (
            f"/v1/generations/{job_id}/deliveries/{delivery_id}/redeliver",
            None,
            {},
        ),
        ("get", "/v1/events"): ("/v1/events", None, {"Last-Event-ID": event_id}),
        ("post", "/v1/uploads"): None,  # makes B's own upload: checked apart
        ("get", "/v1/uploads"): None,  # B's list: checked apart
        ("get", "/v1/uploads/{upload_id}"): (f"/v1/uploads/{upload_id}", None, {}),
        ("delete", "/v1/uploads/{upload_id}"): (f"/v1/uploads/{upload_id}", None, {}),
        ("post", "/v1/compositions"): None,  # makes B's own composition: checked apart
        ("get", "/v1/compositions"): None,  # B's list: checked apart
        ("get", "/v1/compositions/{composition_id}"): (
            f"/v1/compositions/{composition_id}",
            None,
            {},
        ),
        ("get", "/v1/compositions/{composition_id}/events"): (
            f"/v1/compositions/{composition_id}/events",
            None,
            EVENT_STREAM,
        ),
        ("post", "/v1/compositions/{composition_id}/cancel"): (
            f"/v1/compositions/{composition_id}/cancel",
            None,
            {},
        ),
        ("post", "/v1/compositions/{composition_id}/retry"): (
            f"/v1/compositions/{composition_id}/retry",
            None,
            {},
        ),
        ("get", "/v1/compositions/{composition_id}/deliveries"): (
            f"/v1/compositions/{composition_id}/deliveries",
            None,
            {},
        ),
        ("post", "/v1/compositions/{composition_id}/deliveries/{delivery_id}/redeliver"): (
            f"/v1/compositions/{composition_id}/deliveries/{delivery_id}/redeliver",
            None,
            {},
        ),
        ("get", "/v1/webhooks/secret"): None,  # B's own secret: checked apart
        ("post", "/v1/webhooks/secret/rotate"): None,  # B's own secret: checked apart
        ("post", "/v1/keys"): ("/v1/keys", {"owner": "b", "name": "x"}, {}),
        ("get", "/v1/keys"): ("/v1/keys", None, {}),
        ("delete", "/v1/keys/{key_id}"): (f"/v1/keys/{key_id}", None, {}),
        # another owner's usage needs the admin scope (``owner`` is A's owner, "dev")
        ("get", "/v1/usage"): ("/v1/usage?owner=dev&group_by=model", None, {}),
        ("post", "/v1/admin/generations/retry"): (
            "/v1/admin/generations/retry",
            {"dry_run": True},
            {},
        ),
        ("post", "/v1/admin/generations/cancel"): (
            "/v1/admin/generations/cancel",
            {"dry_run": True},
            {},
        ),
    }


def _operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    methods = {"get", "post", "put", "patch", "delete"}
    return {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in methods
    }


async def test_every_operation_has_a_cross_tenant_case(gateway: Gateway) -> None:
    document = (await gateway.client.get("/openapi.json")).json()

    known = set(_cases("j", "d", "k", "e")) | PUBLIC_OR_SHARED

    assert _operations(document) - known == set(), "add the new operation to this test"


async def test_another_owner_gets_404_or_403_and_never_data(
    gateway: Gateway, publish: Any, nats_server: Any
) -> None:
    job = await _owner_a_job(gateway, publish, nats_server.url)
    job_id = job["id"]
    a_events = await gateway.events(job_id)
    deliveries = await gateway.client.get(
        f"/v1/generations/{job_id}/deliveries", headers=gateway.auth()
    )
    assert deliveries.status_code == 200
    delivery_id = deliveries.json()["data"][0]["id"]
    a_keys = (await gateway.client.get("/v1/keys", headers=gateway.auth())).json()["data"]
    a_upload = await gateway.client.post(
        "/v1/uploads", files={"file": ("a.png", png_bytes(), "image/png")}, headers=gateway.auth()
    )
    assert a_upload.status_code == 201, a_upload.text
    upload_id = a_upload.json()["id"]
    a_composition = await gateway.client.post(
        "/v1/compositions",
        json={"scenes": [{"model": "sandbox/text-to-video", "input": {"prompt": "owner a's"}}]},
        headers=gateway.auth(),
    )
    assert a_composition.status_code == 202, a_composition.text
    composition_id = a_composition.json()["id"]
    b_key = await gateway.new_key("owner-b")  # generate + read, not admin
    b = gateway.auth(b_key)

    for (method, documented), case in _cases(
        job_id, delivery_id, a_keys[0]["id"], a_events[-1]["id"], upload_id, composition_id
    ).items():
        if case is None:
            continue
        url, body, headers = case
        response = await gateway.client.request(
            method.upper(), url, json=body, headers={**b, **headers}, timeout=10.0
        )
        # the problem's ``instance`` is the path B asked for (it names the id B sent)
        problem = {k: v for k, v in response.json().items() if k != "instance"}
        text = json.dumps(problem)
        assert response.status_code in (400, 403, 404), (documented, response.status_code, text)
        assert job_id not in text, documented
        assert composition_id not in problem.get("detail", ""), documented
        assert upload_id not in problem.get("detail", ""), documented
        assert "owner a" not in text, documented
        for key in a_keys:
            assert key["id"] not in text, documented
            assert key["prefix"] not in text, documented
        if documented.startswith(("/v1/keys", "/v1/admin", "/v1/usage")):
            assert response.json()["code"] == "insufficient_scope", documented
        elif documented == "/v1/events":
            # A's event id is no event of B's: refused, nothing streamed
            assert response.json()["code"] == "unknown_last_event_id"
        else:
            assert response.json()["code"] == "not_found", documented

    # the SSE form of A's job stream is refused the same way
    stream = await gateway.client.get(
        f"/v1/generations/{job_id}/events", headers={**b, **EVENT_STREAM}, timeout=10.0
    )
    assert stream.status_code == 404

    # B's own list, secret and a fresh B job show nothing of A
    listing = await gateway.client.get("/v1/generations", headers=b)
    assert listing.status_code == 200
    assert listing.json()["data"] == []
    b_secret = (await gateway.client.get("/v1/webhooks/secret", headers=b)).json()["secret"]
    a_secret = (await gateway.client.get("/v1/webhooks/secret", headers=gateway.auth())).json()[
        "secret"
    ]
    assert b_secret != a_secret
    rotated = await gateway.client.post("/v1/webhooks/secret/rotate", headers=b)
    assert rotated.status_code == 200
    assert (await gateway.client.get("/v1/webhooks/secret", headers=gateway.auth())).json()[
        "secret"
    ] == a_secret
    mine = await gateway.client.post(
        "/v1/generations",
        json={"model": "sandbox/text-to-video", "input": {"prompt": "b's own"}},
        headers=b,
    )
    assert mine.status_code == 202
    assert job_id not in mine.text
    # B's usage counts B's one job, none of A's
    usage = await gateway.client.get("/v1/usage?group_by=model", headers=b)
    assert usage.status_code == 200
    assert [(row["model"], row["jobs"]) for row in usage.json()["data"]] == [
        ("sandbox/text-to-video", 1)
    ]

    # B's compositions list shows none of A's
    b_compositions = await gateway.client.get("/v1/compositions", headers=b)
    assert b_compositions.json()["data"] == []

    # B's uploads list shows none of A's; a B submit naming A's upload is refused
    b_uploads = await gateway.client.get("/v1/uploads", headers=b)
    assert b_uploads.json()["data"] == []
    b_upload = await gateway.client.post(
        "/v1/uploads", files={"file": ("b.png", png_bytes(), "image/png")}, headers=b
    )
    assert b_upload.status_code == 201
    assert b_upload.json()["id"] != upload_id
    borrowed = await gateway.client.post(
        "/v1/generations",
        json={
            "model": "minimax/video-01",
            "input": {"prompt": "x", "first_frame_image": f"upload://{upload_id}"},
        },
        headers=b,
    )
    assert borrowed.status_code == 422
    assert borrowed.json()["errors"][0]["path"] == "input.first_frame_image"
    # A's upload is still there after B's DELETE
    kept = await gateway.client.get(f"/v1/uploads/{upload_id}", headers=gateway.auth())
    assert kept.status_code == 200

    # A's job is untouched by everything B tried
    after = await gateway.job(job_id)
    assert after["status"] == "failed"
    assert after.get("retried_by") is None
    assert not after["cancel_requested"]


async def test_a_revoked_key_is_refused_everywhere_at_once(gateway: Gateway) -> None:
    b_key = await gateway.new_key("owner-b")
    keys = (await gateway.client.get("/v1/keys?owner=owner-b", headers=gateway.auth())).json()
    revoked = await gateway.client.delete(
        f"/v1/keys/{keys['data'][0]['id']}", headers=gateway.auth()
    )
    assert revoked.status_code == 204

    for path in ("/v1/generations", "/v1/models", "/v1/webhooks/secret"):
        response = await gateway.client.get(path, headers=gateway.auth(b_key))
        assert response.status_code == 401, path
        assert isinstance(response, httpx.Response)
