"""Listing generations: newest first, opaque cursors, scoped to the caller."""

from __future__ import annotations

from tests.integration.gateway.harness import Gateway


async def test_pages_walk_every_job_newest_first_without_repeats(gateway: Gateway) -> None:
    submitted = [(await gateway.submit(f"job {n}"))["id"] for n in range(7)]

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        response = await gateway.client.get(
            "/v1/generations", params=params, headers=gateway.auth()
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["data"]) <= 3
        seen += [job["id"] for job in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == list(reversed(submitted))
    assert pages == 3


async def test_listed_jobs_have_the_same_shape_as_a_single_read(gateway: Gateway) -> None:
    job_id = (await gateway.submit())["id"]

    listing = (await gateway.client.get("/v1/generations", headers=gateway.auth())).json()

    [listed] = listing["data"]
    single = await gateway.job(job_id)
    assert listed == single
    assert listing["next_cursor"] is None


async def test_a_tampered_cursor_is_a_422_problem(gateway: Gateway) -> None:
    response = await gateway.client.get(
        "/v1/generations", params={"cursor": "not-a-cursor"}, headers=gateway.auth()
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_cursor"


async def test_each_owner_lists_only_their_own_jobs(gateway: Gateway) -> None:
    await gateway.submit("owned by dev")
    other_key = await gateway.new_key("someone-else")

    response = await gateway.client.get("/v1/generations", headers=gateway.auth(other_key))

    assert response.status_code == 200
    assert response.json() == {"data": [], "next_cursor": None}
