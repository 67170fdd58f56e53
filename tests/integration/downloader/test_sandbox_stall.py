"""A provider that stalls mid-body (the sandbox's ``stall_body``): the read timeout fires, the
transfer resumes with ``Range``, and the stored object is the whole file."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from reelhouse.common.events import GenerationStored
from reelhouse.common.settings import StorageSettings
from tests.integration.downloader.conftest import RunDownloader
from tests.integration.downloader.jobs import output_ready
from tests.integration.downloader.observations import JetStreamEvents
from tests.integration.downloader.test_ingest_flow import OUTCOME, read_object
from tests.integration.sandbox.conftest import TOKEN, RunningSandbox, sandbox_settings, serve

pytestmark = pytest.mark.timeout(90)

# far below the sandbox's stall (STALL_BODY_SECONDS): the downloader must give up on the silence
READ_TIMEOUT = 1.0
POLLS = 300


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    settings = sandbox_settings(tmp_path / "sandbox")
    with serve(settings):
        yield RunningSandbox(url=settings.public_base_url, settings=settings)


async def output_url(sandbox: RunningSandbox, **extra: Any) -> str:
    """Create a sandbox prediction over Replicate's protocol; its output URL once it succeeds."""
    body = {"input": {"prompt": "stall", "width": 160, "height": 90, "duration": 1, **extra}}
    async with httpx.AsyncClient(
        base_url=sandbox.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    ) as http:
        created = await http.post("/v1/models/sandbox/text-to-video/predictions", json=body)
        created.raise_for_status()
        prediction: dict[str, Any] = created.json()
        for _ in range(POLLS):
            if prediction["status"] in ("succeeded", "failed", "canceled"):
                break
            await asyncio.sleep(0.05)
            prediction = (await http.get(f"/v1/predictions/{prediction['id']}")).json()
    assert prediction["status"] == "succeeded", prediction
    url: str = prediction["output"][0]
    return url


async def test_an_output_that_stalls_mid_body_is_resumed_and_stored_whole(
    sandbox: RunningSandbox,
    events: JetStreamEvents,
    run_downloader: RunDownloader,
    storage: StorageSettings,
) -> None:
    url = await output_url(sandbox, sandbox_fault="stall_body", size_mb=1)
    event = output_ready(url)

    async with run_downloader(read_timeout=READ_TIMEOUT):
        await events.publish(event)
        outcome = await events.wait_for(OUTCOME, event.job_id)

    assert isinstance(outcome, GenerationStored), outcome
    [asset] = outcome.assets
    prediction_id = urlsplit(url).path.split("/")[2]
    rendered = (sandbox.settings.data_dir / "files" / prediction_id / "output.mp4").read_bytes()
    assert asset.size == len(rendered)
    assert asset.sha256 == hashlib.sha256(rendered).hexdigest()
    assert await read_object(storage, asset.key) == rendered
    calls = sandbox.control(prediction_id)["calls"]
    # the stalled GET, then one Range request for the rest: nothing fetched twice
    assert (calls["stalled_files"], calls["files"]) == (1, 2)
