"""Driving jobs over the public HTTP API, with bounded waits."""

from __future__ import annotations

import time
from typing import Any

import httpx

FINAL = {"succeeded", "failed", "canceled"}


def submit(client: httpx.Client, model: str, job_input: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/generations", json={"model": model, "input": job_input})
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job


def wait_final(
    client: httpx.Client, job_id: str, *, timeout: float = 90.0
) -> tuple[dict[str, Any], list[str]]:
    """Poll the job until it is final; returns it and every distinct status seen, in order."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(f"/v1/generations/{job_id}")
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        if not seen or seen[-1] != job["status"]:
            seen.append(job["status"])
        if job["status"] in FINAL:
            return job, seen
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} not final after {timeout}s; statuses seen: {seen}")
