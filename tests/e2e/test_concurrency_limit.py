"""``make run`` with a per-owner concurrency limit: jobs past it wait in ``queued``, none refused.

With a limit of 2 and five slow sandbox jobs, never more than two have left ``queued`` while
not yet final, all five succeed, and the oldest start first (FIFO per owner). The same
system answers CORS preflights from any origin, as ``make run`` does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from reelhouse.common.jobstate import FINAL_STATES
from tests.e2e.conftest import EmbeddedSystem, running_system

pytestmark = pytest.mark.timeout(300)

LIMIT = 2
JOBS = 5
WAIT_SECONDS = 180.0
FINAL = {s.value for s in FINAL_STATES}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSystem]:
    with running_system(tmp_path_factory, REELHOUSE_LIMITS__MAX_ACTIVE_JOBS=str(LIMIT)) as system:
        yield system


def test_jobs_past_the_limit_wait_queued_and_all_succeed(limited: EmbeddedSystem) -> None:
    with limited.client() as client:
        ids = []
        for n in range(JOBS):
            response = client.post(
                "/v1/generations",
                json={
                    "model": "sandbox/text-to-video",
                    "input": {"prompt": f"job {n}", "duration": 1, "sandbox_delay": 2},
                },
            )
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])

        most_at_work = 0
        started_order: list[str] = []
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            statuses = {
                job_id: client.get(f"/v1/generations/{job_id}").json()["status"] for job_id in ids
            }
            at_work = [j for j, s in statuses.items() if s not in FINAL and s != "queued"]
            most_at_work = max(most_at_work, len(at_work))
            assert len(at_work) <= LIMIT, statuses
            started_order.extend(
                j for j, s in statuses.items() if s != "queued" and j not in started_order
            )
            if all(s in FINAL for s in statuses.values()):
                break
            assert time.monotonic() < deadline, f"not all final after {WAIT_SECONDS}s: {statuses}"
            time.sleep(0.2)

    assert set(statuses.values()) == {"succeeded"}, statuses
    assert most_at_work == LIMIT
    # released oldest first: the first two started before the rest
    assert set(started_order[:LIMIT]) == set(ids[:LIMIT])
    assert started_order[-1] in ids[LIMIT:]


def test_make_run_lets_a_browser_app_on_any_origin_call_the_api(limited: EmbeddedSystem) -> None:
    with limited.client() as client:
        preflight = client.options(
            "/v1/generations",
            headers={
                "Origin": "http://localhost:5173",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
            },
        )
        listed = client.get("/v1/generations", headers={"Origin": "http://localhost:5173"})

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert preflight.headers["allow"] == "GET, OPTIONS, POST"
    assert listed.headers["access-control-allow-origin"] == "*"
