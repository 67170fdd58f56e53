"""``python -m reelhouse.media`` configured only through REELHOUSE_ environment variables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from reelhouse.common.signing import UrlSigner
from reelhouse.common.storage import LocalObjectStore
from tests.support.ports import free_port
from tests.support.processes import ServiceRunner

KEY = "posters/job-7/0.jpg"


def media_env(root: Path, port: int) -> dict[str, str]:
    return {
        "REELHOUSE_HTTP__PORT": str(port),
        "REELHOUSE_STORAGE__BACKEND": "local",
        "REELHOUSE_STORAGE__LOCAL_ROOT": str(root),
        "REELHOUSE_SIGNING__KEYS": json.dumps({"k1": "process-secret"}),
        "REELHOUSE_SIGNING__ACTIVE_KEY_ID": "k1",
        "REELHOUSE_LOG__JSON": "true",
    }


async def test_the_service_serves_ranges_and_logs_each_request_as_json(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    store = LocalObjectStore(root)
    await store.ensure_ready()
    source = tmp_path / "poster.jpg"
    source.write_bytes(b"\xff\xd8\xff" + bytes(range(256)) * 40)
    await store.put_file(KEY, source, content_type="image/jpeg")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"

    runner = ServiceRunner(tmp_path / "logs")
    try:
        service = runner.start("media", media_env(root, port), ready_url=f"{base_url}/healthz")
        url = UrlSigner({"k1": b"process-secret"}, "k1").signed_url(base_url, KEY, ttl_seconds=300)
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(url, headers={"range": "bytes=0-2"})
    finally:
        runner.stop_all()

    assert response.status_code == 206
    assert response.content == b"\xff\xd8\xff"
    assert response.headers["content-type"] == "image/jpeg"
    assert "server" not in response.headers
    lines = [
        json.loads(line)
        for line in service.log_path.read_text().splitlines()
        if line.startswith("{")
    ]
    served = [line for line in lines if line["event"] == "media.served"]
    assert served == [
        {
            **served[0],
            "service": "media",
            "key": KEY,
            "status": 206,
            "range": "bytes=0-2",
            "bytes": 3,
        }
    ]


async def test_several_worker_processes_share_the_port_and_stop_cleanly(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    store = LocalObjectStore(root)
    await store.ensure_ready()
    source = tmp_path / "poster.jpg"
    source.write_bytes(bytes(range(256)) * 400)
    await store.put_file(KEY, source, content_type="image/jpeg")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {**media_env(root, port), "REELHOUSE_SERVING__WORKERS": "2"}

    runner = ServiceRunner(tmp_path / "logs")
    service = runner.start("media", env, ready_url=f"{base_url}/healthz")
    try:
        children = psutil.Process(service.pid or 0).children(recursive=True)
        # uvicorn's supervisor spawns the servers (multiprocessing also starts a resource tracker)
        servers = [c for c in children if "spawn_main" in " ".join(c.cmdline())]
        url = UrlSigner({"k1": b"process-secret"}, "k1").signed_url(base_url, KEY, ttl_seconds=300)
        async with httpx.AsyncClient(timeout=10) as client:
            responses = [
                await client.get(url, headers={"range": f"bytes={i}-{i + 9}"}) for i in range(8)
            ]
    finally:
        exit_code = service.terminate(timeout=15)

    assert [r.content for r in responses] == [bytes(range(i, i + 10)) for i in range(8)]
    assert len(servers) == 2
    assert exit_code == 0
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"REELHOUSE_SIGNING__KEYS": "{}"}, "REELHOUSE_SIGNING__KEYS"),
        ({"REELHOUSE_SIGNING__ACTIVE_KEY_ID": "k9"}, "REELHOUSE_SIGNING__ACTIVE_KEY_ID"),
        ({"REELHOUSE_STORAGE__BACKEND": "s3"}, "REELHOUSE_STORAGE__S3__ACCESS_KEY"),
        # local-disk objects have no address to redirect to
        ({"REELHOUSE_DELIVERY__MODE": "redirect"}, "REELHOUSE_DELIVERY__MODE"),
        ({"REELHOUSE_DELIVERY__MODE": "cdn"}, "REELHOUSE_DELIVERY__MODE"),
        ({"REELHOUSE_CORS__ALLOWED_ORIGINS": "not json"}, "REELHOUSE_CORS__ALLOWED_ORIGINS"),
    ],
)
def test_a_bad_configuration_fails_at_start_naming_the_variable(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    full_env = {**media_env(tmp_path, free_port()), **env}
    result = subprocess.run(
        [sys.executable, "-m", "reelhouse.media"],
        env={"PATH": "/usr/bin:/bin", **full_env},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert named in result.stderr.decode()
