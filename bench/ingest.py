"""Ingest benchmark: the downloader against curl + ``fput_object``, one run, same bytes.

``make bench-ingest`` (or ``python -m bench.ingest``) starts on loopback ports NATS, SeaweedFS
and the sandbox, asks the sandbox for a video of ``--size-mb`` (default 1100 MB, over 1 GiB:
a real H.264/AAC clip grown with a ``free`` box, still valid media), then alternates:

- baseline: ``curl`` fetches the output URL into a temporary file, and the ``minio`` client's
  ``fput_object`` (its defaults, the downloader's part size) uploads it to the same SeaweedFS;
- reelhouse: ``python -m reelhouse.downloader`` receives a ``gen.output.v1`` for the same URL
  and streams, sniffs, probes, makes a poster and stores it; the time runs from publishing
  the event to seeing ``gen.stored.v1``.

It prints the downloader's peak RSS (the kernel's high-water mark, ``VmHWM``; target under
150 MB) and throughput as the ratio of the best baseline time to the best reelhouse time
(target ≥ 0.8). Linux only (``/proc``). Every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import nats
from minio import Minio

from reelhouse.common.events import GenerationOutputReady, OutputFile
from reelhouse.common.settings import NatsSettings, S3Settings
from reelhouse.common.streams import ensure_stream
from tests.support.nats import NatsServer
from tests.support.ports import free_ports
from tests.support.processes import ServiceProcess
from tests.support.s3 import SeaweedServer, s3_env

MIB = 1024 * 1024
# the baseline uploads as a user of the minio client would: its defaults (3 parts in flight),
# with the part size the downloader uses
PART_SIZE = S3Settings().part_size_mb * MIB
RENDER_TIMEOUT = 600.0
INGEST_TIMEOUT = 900.0
READY_TIMEOUT = 60.0
VOLUME_LIMIT = "-master.volumeSizeLimitMB=4096"


class BenchSeaweed(SeaweedServer):
    """The tests' SeaweedFS with volumes big enough for GiB objects (tests use 64 MB ones)."""

    def _args(self, config: Path, data: Path) -> list[str]:
        args = super()._args(config, data)
        return [VOLUME_LIMIT if a.startswith("-master.volumeSizeLimitMB=") else a for a in args]


def peak_rss_bytes(pid: int) -> int:
    """The process's peak resident set size so far (``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


def s3_client(settings: S3Settings) -> Minio:
    return Minio(
        settings.endpoint,
        access_key=settings.access_key.get_secret_value(),
        secret_key=settings.secret_key.get_secret_value(),
        secure=False,
    )


def sandbox_output(base_url: str, size_mb: float) -> str:
    """Ask the sandbox for a large video and wait for its output URL."""
    job = {"prompt": "ingest benchmark", "duration": 2, "width": 320, "height": 180}
    headers = {"Authorization": "Bearer bench"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        created = client.post(
            "/v1/models/sandbox/text-to-video/predictions",
            json={"input": {**job, "size_mb": size_mb}},
        )
        created.raise_for_status()
        prediction_id = created.json()["id"]
        deadline = time.monotonic() + RENDER_TIMEOUT
        while time.monotonic() < deadline:
            prediction = client.get(f"/v1/predictions/{prediction_id}").json()
            if prediction["status"] == "succeeded":
                return str(prediction["output"][0])
            if prediction["status"] in ("failed", "canceled"):
                raise RuntimeError(f"the sandbox render failed: {prediction['error']}")
            time.sleep(0.5)
    raise TimeoutError("the sandbox did not render in time")


def baseline(url: str, s3: S3Settings, workdir: Path, key: str) -> float:
    """Seconds for curl to a temporary file plus ``fput_object`` of that file."""
    target = workdir / "curl.bin"
    started = time.perf_counter()
    subprocess.run(["curl", "-sS", "--fail", "-o", str(target), url], check=True, timeout=600)
    s3_client(s3).fput_object(s3.bucket, key, str(target), part_size=PART_SIZE)
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


async def ingest(nats_url: str, url: str, size: int) -> float:
    """Seconds from publishing ``gen.output.v1`` to seeing the job's ``gen.stored.v1``."""
    client = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        js = client.jetstream()
        await ensure_stream(js, NatsSettings(url=nats_url))
        job_id = f"bench-{uuid.uuid4().hex[:12]}"
        outcome: asyncio.Future[tuple[str, bytes]] = asyncio.get_running_loop().create_future()

        async def on_event(msg: Any) -> None:
            if job_id.encode() in msg.data and not outcome.done():
                outcome.set_result((msg.subject, msg.data))

        await client.subscribe("gen.stored.v1", cb=on_event)
        await client.subscribe("gen.failed.v1", cb=on_event)
        event = GenerationOutputReady(
            event_id=f"{job_id}:output",
            job_id=job_id,
            provider="sandbox",
            provider_request_id=job_id,
            outputs=[OutputFile(index=0, url=url, size=size)],
        )
        headers = {**event.ce_headers("bench"), "content-type": "application/json"}
        started = time.perf_counter()
        await js.publish(event.subject, event.model_dump_json().encode(), headers=headers)
        subject, data = await asyncio.wait_for(outcome, timeout=INGEST_TIMEOUT)
        elapsed = time.perf_counter() - started
        if subject != "gen.stored.v1":
            raise RuntimeError(f"the downloader failed the job: {data.decode()}")
        return elapsed
    finally:
        await client.close()


def downloader_env(nats_url: str, s3: S3Settings, temp_dir: Path) -> dict[str, str]:
    return {
        "REELHOUSE_NATS__URL": nats_url,
        **s3_env(s3),
        "REELHOUSE_ALLOW_LOOPBACK": "true",
        "REELHOUSE_ALLOWED_SCHEMES": json.dumps(["http", "https"]),
        "REELHOUSE_MAX_BYTES": str(8 * 1024**3),
        "REELHOUSE_TEMP_DIR": str(temp_dir),
        "REELHOUSE_LOG__JSON": "true",
    }


def wait_for_log(service: ServiceProcess, event: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if service.log_path.exists() and f'"{event}"' in service.log_path.read_text():
            return
        if not service.running:
            raise RuntimeError(f"{service.role} exited:\n{service.log_tail()}")
        time.sleep(0.2)
    raise TimeoutError(f"{service.role} never logged {event}")


def run(args: argparse.Namespace, workdir: Path) -> None:
    nats_server = NatsServer(workdir / "nats")
    (workdir / "nats").mkdir()
    weed = BenchSeaweed(workdir / "weed")
    weed.workdir.mkdir()
    http_port, fal_port = free_ports(2)
    sandbox_url = f"http://127.0.0.1:{http_port}"
    sandbox = ServiceProcess(
        "sandbox",
        {
            "REELHOUSE_HTTP__PORT": str(http_port),
            "REELHOUSE_PUBLIC_BASE_URL": sandbox_url,
            "REELHOUSE_FAL_PORT": str(fal_port),
            "REELHOUSE_FAL_PUBLIC_BASE_URL": f"https://127.0.0.1:{fal_port}",
            "REELHOUSE_DATA_DIR": str(workdir / "sandbox"),
            "REELHOUSE_QUEUE_SECONDS": "0.1",
            "REELHOUSE_RENDER_SECONDS": "0.1",
        },
        workdir / "sandbox.log",
    )
    downloader: ServiceProcess | None = None
    try:
        nats_server.start()
        weed.start()
        sandbox.start()
        sandbox.wait_ready(f"{sandbox_url}/healthz", timeout=READY_TIMEOUT)
        url = sandbox_output(sandbox_url, args.size_mb)
        size = int(httpx.head(url, timeout=30).headers["content-length"])
        downloader = ServiceProcess(
            "downloader",
            downloader_env(nats_server.url, weed.settings, workdir / "downloads"),
            workdir / "downloader.log",
        )
        downloader.start()
        wait_for_log(downloader, "download.worker_ready")
        assert downloader.pid is not None
        idle_rss = peak_rss_bytes(downloader.pid)
        base_times: list[float] = []
        ours: list[float] = []
        for round_no in range(args.rounds):
            base_times.append(baseline(url, weed.settings, workdir, f"baseline/{round_no}.mp4"))
            ours.append(asyncio.run(ingest(nats_server.url, url, size)))
            print(
                f"round {round_no + 1}: baseline {base_times[-1]:.2f} s, reelhouse {ours[-1]:.2f} s"
            )
        peak = peak_rss_bytes(downloader.pid)
        report(size, base_times, ours, idle_rss, peak)
    finally:
        for service in (downloader, sandbox):
            if service is not None:
                service.terminate(timeout=10.0)
        weed.stop()
        nats_server.stop()


def report(size: int, base_times: list[float], ours: list[float], idle: int, peak: int) -> None:
    best_base, best_ours = min(base_times), min(ours)
    print(f"output: {size:,} bytes ({size / MIB:.0f} MiB), {len(ours)} rounds, best of each")
    print(f"baseline (curl + fput_object): {best_base:.2f} s = {size / best_base / 1e6:.0f} MB/s")
    print(f"reelhouse downloader:          {best_ours:.2f} s = {size / best_ours / 1e6:.0f} MB/s")
    ratio = best_base / best_ours
    print(f"throughput ratio reelhouse/baseline: {ratio:.2f} (target >= 0.8)")
    print(f"downloader peak RSS: {peak / 1e6:.0f} MB (idle {idle / 1e6:.0f} MB; target < 150 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=1100.0, help="output size (10^6 bytes)")
    parser.add_argument("--rounds", type=int, default=2, choices=range(1, 6))
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary dir")
    args = parser.parse_args()
    if shutil.which("curl") is None:
        raise SystemExit("curl is needed for the baseline (apt-get install curl)")
    workdir = Path(tempfile.mkdtemp(prefix="reelhouse-bench-ingest-", dir=args.workdir))
    try:
        run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
