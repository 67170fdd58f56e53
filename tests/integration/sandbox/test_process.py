"""``python -m reelhouse.sandbox`` starts from environment settings and serves predictions."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_ports
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.timeout(90)


def test_module_entry_point_serves_a_prediction(
    start_service: Callable[..., ServiceProcess], tmp_path: Path
) -> None:
    port, fal_port = free_ports(2)
    base = f"http://127.0.0.1:{port}"
    service = start_service(
        "sandbox",
        {
            "REELHOUSE_HTTP__PORT": str(port),
            "REELHOUSE_FAL_PORT": str(fal_port),
            "REELHOUSE_FAL_PUBLIC_BASE_URL": f"https://127.0.0.1:{fal_port}",
            "REELHOUSE_PUBLIC_BASE_URL": base,
            "REELHOUSE_DATA_DIR": str(tmp_path / "sandbox"),
            "REELHOUSE_QUEUE_SECONDS": "0",
            "REELHOUSE_RENDER_SECONDS": "0",
            "REELHOUSE_OUTPUT_TTL_SECONDS": "120",
        },
        ready_url=f"{base}/healthz",
    )
    with httpx.Client(base_url=base, headers={"Authorization": "Bearer t"}, timeout=30) as http:
        created = http.post(
            "/v1/models/sandbox/text-to-image/predictions",
            json={"input": {"prompt": "entry point", "width": 64, "height": 64}},
            headers={"Prefer": "wait=30"},
        )
        assert created.status_code == 201
        assert created.json()["status"] == "succeeded"
        url = created.json()["output"][0]
        assert url.startswith(f"{base}/files/")
        assert httpx.get(url, timeout=30).content[:4] == b"\x89PNG"
    assert list((tmp_path / "sandbox" / "files").iterdir())
    # the fal listener runs in the same process, over TLS with the CA it wrote to data_dir
    trusting = ssl.create_default_context(cafile=str(tmp_path / "sandbox" / "ca.pem"))
    fal_health = httpx.get(f"https://127.0.0.1:{fal_port}/healthz", verify=trusting, timeout=30)
    assert fal_health.json() == {"status": "ok"}
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it (exit status -15)
    service.terminate()
    assert "sandbox.stopped" in service.log_tail()


def test_a_killed_sandbox_finishes_its_predictions_after_a_restart(
    start_service: Callable[..., ServiceProcess], tmp_path: Path
) -> None:
    port, fal_port = free_ports(2)
    base = f"http://127.0.0.1:{port}"
    env = {
        "REELHOUSE_HTTP__PORT": str(port),
        "REELHOUSE_FAL_PORT": str(fal_port),
        "REELHOUSE_PUBLIC_BASE_URL": base,
        "REELHOUSE_DATA_DIR": str(tmp_path / "sandbox"),
    }
    first = start_service("sandbox", env, ready_url=f"{base}/healthz")
    with httpx.Client(base_url=base, headers={"Authorization": "Bearer t"}, timeout=30) as http:
        created = http.post(
            "/v1/models/sandbox/text-to-image/predictions",
            json={"input": {"prompt": "kill -9", "width": 64, "height": 64, "sandbox_delay": 2}},
        )
        assert created.status_code == 201
        prediction_id = created.json()["id"]
        first.kill()  # no graceful shutdown: only what was already on disk survives

        start_service("sandbox", env, ready_url=f"{base}/healthz")
        for _ in range(600):
            found = http.get(f"/v1/predictions/{prediction_id}").json()
            if found["status"] in ("succeeded", "failed", "canceled"):
                break
            time.sleep(0.05)
    assert found["status"] == "succeeded", found
    assert httpx.get(found["output"][0], timeout=30).content[:4] == b"\x89PNG"
