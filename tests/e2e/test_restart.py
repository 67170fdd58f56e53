"""A second `make run` finishes the jobs the first one accepted."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import embedded_system
from tests.e2e.jobs import submit, wait_final
from tests.support.processes import ServiceRunner

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]


def test_job_accepted_before_a_stop_completes_after_the_restart(
    services: ServiceRunner, tmp_path_factory: pytest.TempPathFactory
) -> None:
    system = embedded_system(services, tmp_path_factory.mktemp("reelhouse-data"))
    system.start()
    with system.client() as client:
        job = submit(
            client,
            "sandbox/text-to-video",
            {"prompt": "patient fox", "duration": 1, "sandbox_delay": 4},
        )
    assert system.stop() is not None

    system.start()
    with system.client() as client:
        final, _ = wait_final(client, job["id"], timeout=120.0)
    assert final["status"] == "succeeded", final
    assert len(final["outputs"]) == 1
