"""``/v1/keys``: admins create (the key shown once), list and revoke keys of every owner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from reelhouse.gateway.db.models import ApiKey
from tests.integration.gateway.harness import Gateway


async def create(gateway: Gateway, **body: Any) -> dict[str, Any]:
    response = await gateway.client.post(
        "/v1/keys", json={"owner": "alice", **body}, headers=gateway.auth()
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def listing(gateway: Gateway, **params: Any) -> dict[str, Any]:
    response = await gateway.client.get("/v1/keys", params=params, headers=gateway.auth())
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_an_admin_creates_a_key_and_sees_it_once(gateway: Gateway) -> None:
    expires = datetime.now(UTC) + timedelta(days=30)

    created = await create(
        gateway, name="web app", scopes=["read", "generate"], expires_at=expires.isoformat()
    )

    assert created["key"].startswith("rh_")
    assert created["key"].startswith(created["prefix"])
    assert created["owner"] == "alice"
    assert created["name"] == "web app"
    assert created["scopes"] == ["generate", "read"]
    assert datetime.fromisoformat(created["expires_at"]) == expires
    assert created["last_used_at"] is None
    assert created["revoked_at"] is None
    listed = (await listing(gateway, owner="alice"))["data"]
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0]
    assert created["key"] not in str(listed)


async def test_the_new_key_works_for_its_owner_only(gateway: Gateway) -> None:
    dev_job = await gateway.submit("dev's own")
    key = (await create(gateway))["key"]

    mine = await gateway.client.get("/v1/generations", headers=gateway.auth(key))
    theirs = await gateway.client.get(f"/v1/generations/{dev_job['id']}", headers=gateway.auth(key))

    assert mine.status_code == 200
    assert mine.json()["data"] == []
    assert theirs.status_code == 404


async def test_scopes_default_to_generate_and_read(gateway: Gateway) -> None:
    created = await create(gateway)

    assert created["scopes"] == ["generate", "read"]
    assert created["expires_at"] is None


async def test_a_revoked_key_is_401_on_its_next_request(gateway: Gateway) -> None:
    created = await create(gateway)
    before = await gateway.client.get("/v1/generations", headers=gateway.auth(created["key"]))
    assert before.status_code == 200

    revoked = await gateway.client.delete(f"/v1/keys/{created['id']}", headers=gateway.auth())
    after = await gateway.client.get("/v1/generations", headers=gateway.auth(created["key"]))
    again = await gateway.client.delete(f"/v1/keys/{created['id']}", headers=gateway.auth())

    assert revoked.status_code == 204
    assert revoked.content == b""
    assert after.status_code == 401
    assert after.json()["code"] == "unauthorized"
    assert again.status_code == 204
    listed = (await listing(gateway, owner="alice"))["data"]
    assert listed[0]["revoked_at"] is not None


async def test_revoking_an_unknown_key_is_404(gateway: Gateway) -> None:
    for key_id in ("0" * 32, "nope", "x" * 300):
        response = await gateway.client.delete(f"/v1/keys/{key_id}", headers=gateway.auth())
        assert response.status_code == 404, key_id
        assert response.json()["code"] == "not_found"


async def test_an_expired_key_is_401(gateway: Gateway) -> None:
    created = await create(gateway)
    async with gateway.sessions.begin() as session:
        await session.execute(
            update(ApiKey)
            .where(ApiKey.id == created["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )

    response = await gateway.client.get("/v1/generations", headers=gateway.auth(created["key"]))

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert "expired" in response.json()["detail"]


async def test_creating_with_bad_fields_is_422(gateway: Gateway) -> None:
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    for body in (
        {"owner": "alice", "scopes": ["superuser"]},
        {"owner": "alice", "scopes": []},
        {"owner": "alice", "expires_at": past},
        {"owner": "alice", "expires_at": "2099-01-01T00:00:00"},  # no time zone
        {"owner": ""},
        {"owner": "a" * 65},
        {"owner": "has space"},
        {"name": "no owner"},
        {"owner": "alice", "unknown": 1},
    ):
        response = await gateway.client.post("/v1/keys", json=body, headers=gateway.auth())
        assert response.status_code == 422, body
        assert response.json()["code"] == "validation_error", body


async def test_the_list_filters_by_owner_and_pages(gateway: Gateway) -> None:
    ids = [(await create(gateway, owner="bob", name=f"k{i}"))["id"] for i in range(3)]
    await create(gateway, owner="carol")

    first = await listing(gateway, owner="bob", limit=2)
    second = await listing(gateway, owner="bob", limit=2, cursor=first["next_cursor"])
    everyone = await listing(gateway)

    paged = [k["id"] for k in first["data"] + second["data"]]
    assert len(first["data"]) == 2
    assert sorted(paged) == sorted(ids)  # each once, across the two pages
    assert second["next_cursor"] is None
    assert {k["owner"] for k in everyone["data"]} == {"dev", "bob", "carol"}
    bad = await gateway.client.get("/v1/keys?cursor=garbage", headers=gateway.auth())
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_cursor"


async def test_last_used_is_recorded_at_most_once_a_minute(gateway: Gateway) -> None:
    created = await create(gateway)

    for _ in range(3):
        response = await gateway.client.get("/v1/models", headers=gateway.auth(created["key"]))
        assert response.status_code == 200
    async with gateway.sessions() as session:
        first = (
            await session.execute(select(ApiKey.last_used_at).where(ApiKey.id == created["id"]))
        ).scalar_one()
    await gateway.client.get("/v1/models", headers=gateway.auth(created["key"]))
    listed = (await listing(gateway, owner="alice"))["data"][0]

    assert first is not None
    assert datetime.fromisoformat(listed["last_used_at"]) == first
