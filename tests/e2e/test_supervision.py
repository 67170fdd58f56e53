"""The system keeps working through what operators do to it: a renamed stream, a killed part."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator

import nats
import pytest
from nats.js.errors import NotFoundError

from reelhouse.common.events import STREAM_NAME
from tests.e2e.conftest import EmbeddedSystem, running_system
from tests.e2e.jobs import submit, wait_final

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

RENAMED = "MEDIA_JOBS"


@pytest.fixture(scope="module")
def renamed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSystem]:
    """The whole system on a stream that is not called REELHOUSE (``REELHOUSE_NATS__STREAM``)."""
    with running_system(tmp_path_factory, REELHOUSE_NATS__STREAM=RENAMED) as running:
        yield running


async def stream_names(nats_url: str) -> set[str]:
    nc = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        js = nc.jetstream()
        names = set()
        for name in (RENAMED, STREAM_NAME):
            try:
                await js.stream_info(name)
            except NotFoundError:
                continue
            names.add(name)
        return names
    finally:
        await nc.close()


def test_a_video_job_succeeds_on_a_stream_with_another_name(renamed: EmbeddedSystem) -> None:
    with renamed.client() as client:
        job = submit(client, "sandbox/text-to-video", {"prompt": "renamed fox", "duration": 1})
        final, _ = wait_final(client, job["id"])

    assert final["status"] == "succeeded", final
    assert len(final["outputs"]) == 1
    # every service published to the configured stream, and nothing made the default one
    assert asyncio.run(stream_names(renamed.nats_url)) == {RENAMED}


def test_a_killed_downloader_comes_back_and_the_pipeline_carries_on(
    renamed: EmbeddedSystem,
) -> None:
    killed = renamed.part_pids()["downloader"]
    os.kill(killed, signal.SIGKILL)

    with renamed.client() as client:
        # accepted while the downloader is down: it waits in the stream for the new one
        job = submit(client, "sandbox/text-to-video", {"prompt": "patient fox", "duration": 1})
        restarting = renamed.launcher.wait_logged(
            "embedded.part_restarting", timeout=30, part="downloader"
        )
        renamed.launcher.wait_logged("embedded.part_restarted", timeout=90, part="downloader")
        final, _ = wait_final(client, job["id"], timeout=120.0)
        after = submit(client, "sandbox/text-to-image", {"prompt": "after the restart"})
        final_after, _ = wait_final(client, after["id"])

    assert restarting["code"] == -signal.SIGKILL
    assert restarting["attempt"] == 1
    assert renamed.part_pids()["downloader"] != killed
    assert final["status"] == "succeeded", final
    assert final_after["status"] == "succeeded", final_after
    assert renamed.launcher.running
