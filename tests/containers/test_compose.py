"""compose.yaml for real: images from deploy/Dockerfile, scaled workers, a killed replica.

Over HTTP only (the gateway and media ports), plus what an operator sees: the S3 bucket's
listing and each container's logs. The tests run in file order on one stack; the last one
takes it down and checks nothing is left behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import urllib3
from minio import Minio

from tests.containers.drill_target import ComposeTarget
from tests.containers.stack import SCALE, Engine, Stack, first_found, run
from tests.e2e.jobs import submit, wait_final
from tests.e2e.media_checks import decoded_frames, top_level_boxes
from tests.faults import batch as mixed
from tests.faults import checks, drill
from tests.support.webhook_receiver import WebhookReceiver

# the first test pays for the engine (cold: apt, debootstrap), the builds and the start
pytestmark = [pytest.mark.containers, pytest.mark.timeout(1500)]

MODEL = "sandbox/text-to-video"
BATCH_WAIT = 240.0


def small_video(n: int) -> dict[str, Any]:
    return {"prompt": f"container test {n}", "duration": 1, "width": 160, "height": 90}


def submit_batch(client: httpx.Client, count: int) -> list[str]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        jobs = list(pool.map(lambda n: submit(client, MODEL, small_video(n)), range(count)))
    return [job["id"] for job in jobs]


def wait_all(client: httpx.Client, job_ids: list[str]) -> dict[str, dict[str, Any]]:
    return {job_id: wait_final(client, job_id, timeout=BATCH_WAIT)[0] for job_id in job_ids}


def stored_objects(stack: Stack) -> list[str]:
    client = Minio(
        stack.s3_endpoint,
        access_key=stack.s3_access_key,
        secret_key=stack.s3_secret_key,
        secure=False,
        http_client=urllib3.PoolManager(timeout=urllib3.Timeout(connect=5, read=30), retries=False),
    )
    return [obj.object_name for obj in client.list_objects(stack.bucket, recursive=True)]


def job_ids_logged(stack: Stack, container: str, event: str | None = None) -> Counter[str]:
    """How many structured lines (of ``event``, or any) name each job id in a container's log."""
    return Counter(
        record["job_id"]
        for record in stack.logs(container)
        if "job_id" in record and (event is None or record.get("event") == event)
    )


def latest_to_receive(stack: Stack, containers: list[str]) -> str:
    """The container that most recently took an output to download (the likeliest busy)."""

    def last_received(name: str) -> str:
        times = [r["timestamp"] for r in stack.logs(name) if r.get("event") == "download.received"]
        return max(times, default="")

    return max(containers, key=last_received)


def assert_each_stored_once(stack: Stack, jobs: dict[str, dict[str, Any]]) -> None:
    """Every job succeeded with one output, and the bucket holds exactly one object for it."""
    failed = {job_id: job["error"] for job_id, job in jobs.items() if job["status"] != "succeeded"}
    assert not failed, f"jobs not succeeded: {failed}"
    assert all(len(job["outputs"]) == 1 for job in jobs.values())
    outputs = Counter(
        key.split("/")[1]
        for key in stored_objects(stack)
        if key.startswith("outputs/") and key.split("/")[1] in jobs
    )
    assert outputs == Counter(dict.fromkeys(jobs, 1))


def test_compose_file_is_ready_for_operators_and_scaling(engine: Engine) -> None:
    """compose.yaml alone, as an operator runs it with the committed .env.example."""
    config = ["config", "--format", "json"]
    rendered = run(
        ["docker", "compose", "--env-file", ".env.example", "-f", "compose.yaml", *config],
        timeout=60,
        env=engine.docker_env(),
    )
    services: dict[str, dict[str, Any]] = json.loads(rendered.stdout)["services"]
    ours = ("gateway", "dispatcher", "downloader", "assembler", "media", "sandbox")

    assert set(services) == {"nats", "minio", "bucket-init", "postgres", *ours}
    # replicas need free names and no host port of their own
    assert [name for name, s in services.items() if "container_name" in s] == []
    assert "ports" not in services["dispatcher"]
    assert "ports" not in services["downloader"]
    assert "ports" not in services["assembler"]
    assert [p["target"] for p in services["gateway"]["ports"]] == [8000]
    assert [p["target"] for p in services["media"]["ports"]] == [8001]
    for name in ours:
        service = services[name]
        assert service["init"] is True, name
        assert service["healthcheck"]["test"][-1] == "/readyz", name
        assert service["build"]["args"]["SERVICE"] == name
        assert "stop_grace_period" in service, name
    assert services["nats"]["healthcheck"]["test"][-1].endswith("/healthz?js-enabled-only=true")
    for worker in ("downloader", "assembler"):
        assert services[worker]["depends_on"]["bucket-init"]["condition"] == (
            "service_completed_successfully"
        )
    # a container restarted after a crash sweeps what the dead process left in it
    assert services["assembler"]["environment"]["REELHOUSE_TEMP_DIR"] == "/tmp/assembly"


def test_one_job_end_to_end(stack: Stack) -> None:
    with stack.client() as client:
        job_id = submit(client, MODEL, {"prompt": "a red fox in snow", "duration": 2})["id"]
        job, seen = wait_final(client, job_id, timeout=BATCH_WAIT)
    assert job["status"] == "succeeded", (seen, job["error"])
    url = job["outputs"][0]["url"]
    assert url.startswith(f"http://127.0.0.1:{stack.ports['MEDIA_PORT']}/")

    whole = httpx.get(url, timeout=30.0)
    part = httpx.get(url, headers={"Range": "bytes=1000-1999"}, timeout=30.0)

    assert whole.status_code == 200
    assert part.status_code == 206
    assert part.content == whole.content[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(whole.content)}"
    assert top_level_boxes(whole.content).index("moov") < top_level_boxes(whole.content).index(
        "mdat"
    )
    frames, facts = decoded_frames(whole.content)
    assert len(frames) > 0
    assert (facts["video_codec"], facts["audio_codec"]) == ("h264", "aac")


def test_scaled_replicas_share_the_work(stack: Stack) -> None:
    downloaders = [c.Name for c in stack.containers("downloader")]
    dispatchers = [c.Name for c in stack.containers("dispatcher")]
    assert (len(downloaders), len(dispatchers)) == (SCALE["downloader"], SCALE["dispatcher"])

    with stack.client() as client:
        job_ids = submit_batch(client, 30)
        jobs = wait_all(client, job_ids)

    assert_each_stored_once(stack, jobs)
    stored = Counter[str]()
    for name in downloaders:
        mine = job_ids_logged(stack, name, "download.stored")
        assert set(mine) & set(job_ids), f"downloader {name} stored none of the 30 jobs"
        stored.update(mine)
    # stored exactly once across the replicas: no job fetched and written twice
    assert {job_id: stored[job_id] for job_id in job_ids} == dict.fromkeys(job_ids, 1)
    for name in dispatchers:
        assert set(job_ids_logged(stack, name)) & set(job_ids), (
            f"dispatcher {name} worked on none of the 30 jobs"
        )


def downloading_now(stack: Stack, containers: list[str], job_ids: list[str]) -> str | None:
    """A container that took one of ``job_ids`` and has not stored it yet, if any."""
    for name in containers:
        records = stack.logs(name)
        received = {r["job_id"] for r in records if r.get("event") == "download.received"}
        stored = {r["job_id"] for r in records if r.get("event") == "download.stored"}
        if (received - stored) & set(job_ids):
            return name
    return None


def test_killed_downloader_loses_and_duplicates_nothing(stack: Stack) -> None:
    downloaders = [c.Name for c in stack.containers("downloader") if c.State == "running"]
    # longer videos than elsewhere: each download (fetch, probe, poster, store) takes longer
    longer = {"duration": 8, "width": 640, "height": 360}
    with stack.client() as client:
        first = [submit(client, MODEL, {**small_video(n), **longer})["id"] for n in range(12)]
        # in the middle of the batch, preferably while a replica holds an unfinished download
        # (its message then comes back to a survivor after the ack wait)
        victim = first_found(
            lambda: downloading_now(stack, downloaders, first), timeout=60
        ) or latest_to_receive(stack, downloaders)
        stack.docker("kill", victim)
        second = submit_batch(client, 12)
        jobs = wait_all(client, first + second)

    assert_each_stored_once(stack, jobs)


# a video whose download stalls half-way on its first GET (the sandbox's ``stall_body``): the
# downloader that takes it holds a partial file and an unacknowledged message when it dies
STALLED = {
    "prompt": "stalled download",
    **mixed.SMALL,
    "sandbox_delay": 1.0,
    "sandbox_fault": "stall_body",
}
HEALTHY_SECONDS = 180.0
# what a client submitting the moment the downloader died is answered
PROBE = {"model": "sandbox/text-to-image", "input": {"prompt": "probe", "width": 64}}


@dataclass
class CrashOutcome(drill.Outcome):
    # from the kill until the restarted container passed its health check
    healthy_s: float = 0.0


def test_drill_crashed_downloader_is_restarted_and_loses_nothing(
    stack: Stack, tmp_path: Path
) -> None:
    """The fault drill "a downloader container killed under compose", on this module's stack.

    The mixed batch (tests/faults/batch.py, every item: compose runs the sandbox on both
    protocols, uploads, and the assembler) plus one video whose download stalls half-way. The
    downloader holding that download is SIGKILLed from the host, as the kernel's OOM killer
    or a crash would: its restart policy (``restart: unless-stopped``) must bring it back
    without an operator. (``docker kill`` is a stop by hand: Docker applies no restart policy
    after it: the replica an earlier test killed so stays down until started, which this
    drill does first.) Recovery is measured from the kill: the container healthy again, a new
    job succeeded, every item final (the dead replica's unacknowledged message comes back
    after the ack wait, ``REELHOUSE_NATS__ACK_WAIT_SECONDS``). Then every check of the drill
    harness; the temp check reads each worker container's /tmp.
    """
    target = ComposeTarget(stack, tmp_path)
    # every replica up (an earlier test may have left one killed)
    running = target.ensure_running("downloader", timeout=HEALTHY_SECONDS)
    with WebhookReceiver() as receiver:
        extra = [mixed.Extra("stalled-download", MODEL, STALLED)]
        batch = mixed.submit_batch(target, receiver, drill.copies(), extra)
        stalled = next(item.id for item in batch.items if item.kind == "stalled-download")
        with target.client() as client:
            victim = first_found(lambda: downloading_now(stack, running, [stalled]), timeout=90)
            assert victim is not None, "no downloader took the stalled download within 90s"
            struck = dict(Counter(mixed.statuses(client, batch).values()))
            restarts = target.restarts(victim)
            pid = int(target.inspect(victim, "{{.State.Pid}}"))
            with ThreadPoolExecutor(max_workers=1) as pool:
                killed_at = time.monotonic()
                os.kill(pid, signal.SIGKILL)
                # a client's new job, submitted the moment the container died
                canary = pool.submit(drill.canary, target)
                probe = client.post("/v1/generations", json=PROBE)
                during = dict(Counter(mixed.statuses(client, batch).values()))
                healthy_at = target.wait_healthy(
                    victim, restarted_from=restarts, timeout=HEALTHY_SECONDS
                )
                recovered = canary.result(timeout=drill.CANARY_SECONDS + 10)
            drained_at = mixed.wait_all_final(target, batch, timeout=drill.DRAIN_SECONDS)
        problems = checks.check_final_states(target, batch)
        output_problems, checked = checks.check_outputs(target, batch)
        problems += output_problems
        problems += checks.check_provider_calls(target, batch)
        problems += checks.check_terminal_events(target, batch)
        problems += checks.check_webhooks(target, batch, receiver)
        problems += checks.check_storage(target)
    outcome = CrashOutcome(
        fault="SIGKILL downloader container (compose)",
        items=len(batch.items),
        outputs_checked=checked,
        recovered_s=round(recovered, 1),
        drained_s=round(drained_at - killed_at, 1),
        struck=struck,
        during=during,
        submit_during=str(probe.status_code),
        after=dict(checks.summary_counts(target, batch)),
        problems=problems,
        healthy_s=round(healthy_at - killed_at, 1),
    )
    drill.record(outcome)
    assert not problems, "\n".join(problems[:40]) + "\n" + stack.diagnosis()


def test_everything_is_cleaned_up_afterwards(stack: Stack, engine: Engine) -> None:
    stack.down()
    assert stack.project_leftovers() == []

    engine_dir = Path(engine.env["DOCKER_HOST"].removeprefix("unix://")).parent
    engine.stop()
    if engine.stopped_here:
        pid_file = engine_dir / "docker.pid"
        assert not pid_file.exists()
        mounts = Path("/proc/mounts").read_text().split("\n")
        assert [m for m in mounts if f" {engine_dir}/" in m] == []
        dockerd = subprocess.run(
            ["pgrep", "-f", f"dockerd.*{engine_dir}"], capture_output=True, timeout=10, check=False
        )
        assert dockerd.stdout == b""
    elif os.environ.get("CI") == "true":
        pytest.fail("in CI the tier starts the engine itself and must stop it", pytrace=False)
