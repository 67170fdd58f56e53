"""Scopes: ``generate`` submits and cancels, ``read`` reads, ``admin`` manages keys; else 403."""

from __future__ import annotations

from sqlalchemy import select, update

from reelhouse.gateway.auth.service import BOOTSTRAP_OWNER, create_api_key
from reelhouse.gateway.db.models import ApiKey
from tests.integration.gateway.harness import BOOTSTRAP_KEY, Gateway, running_gateway

SUBMIT = {"model": "sandbox/text-to-video", "input": {"prompt": "a fox"}}


async def key_with(gateway: Gateway, *scopes: str, owner: str = BOOTSTRAP_OWNER) -> str:
    async with gateway.sessions.begin() as session:
        return await create_api_key(session, owner_id=owner, name="scoped", scopes=scopes)


def assert_insufficient(response_status: int, body: dict[str, object], scope: str) -> None:
    assert response_status == 403
    assert body["code"] == "insufficient_scope"
    assert scope in str(body["detail"])


async def test_a_read_only_key_reads_but_cannot_submit_or_cancel(gateway: Gateway) -> None:
    job_id = (await gateway.submit())["id"]
    reader = await key_with(gateway, "read")

    submit = await gateway.client.post("/v1/generations", json=SUBMIT, headers=gateway.auth(reader))
    cancel = await gateway.cancel(job_id, key=reader)

    assert_insufficient(submit.status_code, submit.json(), "generate")
    assert 'error="insufficient_scope"' in submit.headers["www-authenticate"]
    assert_insufficient(cancel.status_code, cancel.json(), "generate")
    for path in (
        "/v1/generations",
        f"/v1/generations/{job_id}",
        f"/v1/generations/{job_id}/events",
        "/v1/models",
        "/v1/models/sandbox/text-to-video",
    ):
        response = await gateway.client.get(path, headers=gateway.auth(reader))
        assert response.status_code == 200, path


async def test_a_generate_only_key_submits_and_cancels_but_cannot_read(gateway: Gateway) -> None:
    writer = await key_with(gateway, "generate")

    submit = await gateway.client.post("/v1/generations", json=SUBMIT, headers=gateway.auth(writer))
    assert submit.status_code == 202
    job_id = submit.json()["id"]
    cancel = await gateway.cancel(job_id, key=writer)
    assert cancel.status_code == 202
    for path in ("/v1/generations", f"/v1/generations/{job_id}", "/v1/models"):
        response = await gateway.client.get(path, headers=gateway.auth(writer))
        assert_insufficient(response.status_code, response.json(), "read")


async def test_only_admin_keys_manage_keys(gateway: Gateway) -> None:
    ordinary = await key_with(gateway, "generate", "read")
    some_key = await key_with(gateway, "read", owner="alice")
    async with gateway.sessions() as session:
        key_id = (
            await session.execute(select(ApiKey.id).where(ApiKey.owner_id == "alice"))
        ).scalar_one()

    for method, path, body in (
        ("POST", "/v1/keys", {"owner": "alice"}),
        ("GET", "/v1/keys", None),
        ("DELETE", f"/v1/keys/{key_id}", None),
    ):
        response = await gateway.client.request(
            method, path, json=body, headers=gateway.auth(ordinary)
        )
        assert_insufficient(response.status_code, response.json(), "admin")
    still = await gateway.client.get("/v1/models", headers=gateway.auth(some_key))
    assert still.status_code == 200


async def test_an_admin_key_made_through_the_api_can_make_keys(gateway: Gateway) -> None:
    created = await gateway.client.post(
        "/v1/keys", json={"owner": "ops", "scopes": ["admin"]}, headers=gateway.auth()
    )
    admin = created.json()["key"]

    made = await gateway.client.post("/v1/keys", json={"owner": "zoe"}, headers=gateway.auth(admin))
    jobs = await gateway.client.get("/v1/generations", headers=gateway.auth(admin))

    assert made.status_code == 201
    assert jobs.status_code == 403  # admin alone does not read jobs


async def test_the_bootstrap_key_has_every_scope_even_when_it_predates_scopes(
    gateway: Gateway,
) -> None:
    async with gateway.sessions.begin() as session:
        # as the migration leaves a key from before scopes
        await session.execute(
            update(ApiKey)
            .where(ApiKey.owner_id == BOOTSTRAP_OWNER)
            .values(scopes=["generate", "read"])
        )

    async with running_gateway(gateway.settings) as restarted:
        response = await restarted.client.get("/v1/keys", headers=restarted.auth(BOOTSTRAP_KEY))

    assert response.status_code == 200
    dev = [k for k in response.json()["data"] if k["owner"] == BOOTSTRAP_OWNER]
    assert dev[0]["scopes"] == ["generate", "read", "admin"]


async def test_another_owners_key_gets_nothing_from_the_keys_api(gateway: Gateway) -> None:
    alice = await key_with(gateway, "generate", "read", owner="alice")
    async with gateway.sessions() as session:
        alice_id = (
            await session.execute(select(ApiKey.id).where(ApiKey.owner_id == "alice"))
        ).scalar_one()
    mallory = await key_with(gateway, "generate", "read", owner="mallory")

    for method, path, body in (
        ("GET", "/v1/keys", None),
        ("GET", "/v1/keys?owner=alice", None),
        ("POST", "/v1/keys", {"owner": "alice", "scopes": ["admin"]}),
        ("DELETE", f"/v1/keys/{alice_id}", None),
    ):
        response = await gateway.client.request(
            method, path, json=body, headers=gateway.auth(mallory)
        )
        assert_insufficient(response.status_code, response.json(), "admin")
        # a problem document, nothing else: no key, no owner, no listing
        assert set(response.json()) <= {"type", "title", "status", "detail", "code", "instance"}
        assert "rh_" not in response.text

    still = await gateway.client.get("/v1/generations", headers=gateway.auth(alice))
    assert still.status_code == 200
