"""API keys: required everywhere under /v1, hashed at rest, scoped to their owner."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from reelhouse.gateway.auth.cli import issue_api_key
from reelhouse.gateway.db.models import ApiKey
from tests.integration.gateway.harness import BOOTSTRAP_KEY, Gateway, running_gateway


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"Authorization": "Bearer rh_wrong"}, id="wrong-bearer"),
        pytest.param({"X-API-Key": "rh_wrong"}, id="wrong-x-api-key"),
        pytest.param({"Authorization": f"Basic {BOOTSTRAP_KEY}"}, id="wrong-scheme"),
    ],
)
async def test_requests_without_a_valid_key_are_401_problems(
    gateway: Gateway, headers: dict[str, str]
) -> None:
    for method, path in [
        ("POST", "/v1/generations"),
        ("GET", "/v1/generations"),
        ("GET", "/v1/generations/gen_x"),
        ("GET", "/v1/models"),
    ]:
        response = await gateway.client.request(
            method, path, headers=headers, json={"model": "sandbox/text-to-video"}
        )
        assert response.status_code == 401, (method, path)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["code"] == "unauthorized"


async def test_the_key_works_in_either_header(gateway: Gateway) -> None:
    for headers in ({"Authorization": f"Bearer {BOOTSTRAP_KEY}"}, {"X-API-Key": BOOTSTRAP_KEY}):
        response = await gateway.client.get("/v1/generations", headers=headers)
        assert response.status_code == 200


async def test_another_owners_job_is_404(gateway: Gateway) -> None:
    job_id = (await gateway.submit("private"))["id"]
    other_key = await gateway.new_key("someone-else")

    for path in (f"/v1/generations/{job_id}", f"/v1/generations/{job_id}/events"):
        response = await gateway.client.get(path, headers=gateway.auth(other_key))
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("job_id", ["gen_0", "nul%00byte", "x" * 300, "gen_" + "0" * 32])
async def test_ids_that_name_no_job_are_404(gateway: Gateway, job_id: str) -> None:
    response = await gateway.client.get(f"/v1/generations/{job_id}", headers=gateway.auth())

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_only_a_hash_of_the_key_is_stored(gateway: Gateway) -> None:
    new_key = await gateway.new_key("someone-else")
    assert new_key.startswith("rh_")

    async with gateway.sessions() as session:
        rows = (await session.execute(select(ApiKey))).scalars().all()
    stored = " ".join(f"{r.key_hash} {r.prefix} {r.name}" for r in rows)
    assert BOOTSTRAP_KEY not in stored
    assert new_key not in stored


async def test_the_bootstrap_key_is_ensured_once_across_restarts(gateway: Gateway) -> None:
    async with running_gateway(gateway.settings) as again:
        assert (await again.client.get("/v1/generations", headers=again.auth())).status_code == 200

    async with gateway.sessions() as session:
        keys = (await session.execute(select(ApiKey).where(ApiKey.owner_id == "dev"))).all()
    assert len(keys) == 1


async def test_an_operator_issued_key_works_for_its_owner_only(gateway: Gateway) -> None:
    job_id = (await gateway.submit("dev's job"))["id"]

    issued = await issue_api_key(gateway.settings.database_url, owner_id="alice", name="ops")
    key = issued.key

    assert key.startswith("rh_")
    listing = await gateway.client.get("/v1/generations", headers=gateway.auth(key))
    assert listing.status_code == 200
    assert listing.json()["data"] == []
    other = await gateway.client.get(f"/v1/generations/{job_id}", headers=gateway.auth(key))
    assert other.status_code == 404
