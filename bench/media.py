"""Media delivery benchmark: the media service against the S3 server it reads from, one run.

``make bench-media`` (or ``python -m bench.media``) starts SeaweedFS and
``python -m reelhouse.media`` on loopback ports, stores a 1 GiB object and prints:

- throughput of random 1 MiB range reads at concurrency 32, through the media
  service and directly against S3 (a presigned URL), as a ratio (target ≥ 0.8);
- median time to first byte of a one-byte range at the end of the object,
  through the media service and directly, as a ratio (target ≤ 1.5);
- the media process's peak RSS while 64 slow clients stream the object
  (target < 200 MB).

wrk is used for throughput when it is installed (``apt-get install wrk``), an
aiohttp load generator otherwise; the figures are same-run ratios either way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
from minio import Minio

from bench.media_load import MIB, Throughput, slow_viewers, throughput, ttfb_pair
from reelhouse.common.settings import S3Settings
from reelhouse.common.signing import UrlSigner
from reelhouse.media.sigv4 import SigV4Signer, object_path
from tests.support.ports import free_port
from tests.support.processes import ServiceProcess
from tests.support.s3 import SeaweedServer

KEY = "outputs/bench/0.mp4"
SIGNING_SECRET = "bench-secret"  # noqa: S105 - a throwaway key for a throwaway server


def write_object(path: Path, size: int) -> None:
    rng = random.Random(2025)
    with path.open("wb") as out:
        for _ in range(size // MIB):
            out.write(rng.randbytes(MIB))


def presigned(settings: S3Settings, key: str) -> str:
    signer = SigV4Signer(
        settings.access_key.get_secret_value(),
        settings.secret_key.get_secret_value(),
        region=settings.region or "us-east-1",
    )
    return signer.presign(
        "GET",
        scheme="http",
        host=settings.endpoint,
        path=object_path(settings.bucket, key),
        expires_seconds=4 * 3600,
    )


@contextmanager
def media_process(settings: S3Settings, workdir: Path) -> Iterator[tuple[ServiceProcess, str]]:
    port = free_port()
    env = {
        "REELHOUSE_HTTP__PORT": str(port),
        "REELHOUSE_STORAGE__BACKEND": "s3",
        "REELHOUSE_STORAGE__S3__ENDPOINT": settings.endpoint,
        "REELHOUSE_STORAGE__S3__ACCESS_KEY": settings.access_key.get_secret_value(),
        "REELHOUSE_STORAGE__S3__SECRET_KEY": settings.secret_key.get_secret_value(),
        "REELHOUSE_STORAGE__S3__BUCKET": settings.bucket,
        "REELHOUSE_SIGNING__KEYS": json.dumps({"k1": SIGNING_SECRET}),
        "REELHOUSE_LOG__JSON": "true",
    }
    service = ServiceProcess("media", env, workdir / "media.log")
    service.start()
    try:
        service.wait_ready(f"http://127.0.0.1:{port}/healthz", timeout=30)
        yield service, f"http://127.0.0.1:{port}"
    finally:
        service.terminate(timeout=10)


class PeakRss:
    """Samples a process's RSS every 20 ms in a thread; ``peak`` since the last ``reset``."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def reset(self) -> int:
        self.peak = self.process.memory_info().rss
        return self.peak

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def run(args: argparse.Namespace) -> None:
    size = args.object_mib * MIB
    with tempfile.TemporaryDirectory(prefix="bench-media-") as tmp:
        workdir = Path(tmp)
        server = SeaweedServer(workdir / "s3")
        server.workdir.mkdir()
        server.start()
        try:
            settings = server.settings
            source = workdir / "object.bin"
            write_object(source, size)
            client = Minio(
                settings.endpoint,
                access_key=settings.access_key.get_secret_value(),
                secret_key=settings.secret_key.get_secret_value(),
                secure=False,
            )
            client.fput_object(
                settings.bucket, KEY, str(source), content_type="video/mp4", part_size=64 * MIB
            )
            source.unlink()
            direct = presigned(settings, KEY)
            with (
                media_process(settings, workdir) as (service, base_url),
                PeakRss(service.pid or 0) as rss,
            ):
                signer = UrlSigner({"k1": SIGNING_SECRET.encode()}, "k1")
                via_media = signer.signed_url(base_url, KEY, ttl_seconds=4 * 3600)
                report(args, size, direct, via_media, rss)
        finally:
            server.stop()


def report(args: argparse.Namespace, size: int, direct: str, via_media: str, rss: PeakRss) -> None:
    print(
        f"object: {size // MIB} MiB in SeaweedFS; media pid {rss.process.pid}; {os.cpu_count()} cores"
    )
    # warm-up: page cache, connection pools
    throughput(direct, size=size, seconds=2, concurrency=args.concurrency)
    throughput(via_media, size=size, seconds=2, concurrency=args.concurrency)
    runs: dict[str, list[Throughput]] = {"direct": [], "media": []}
    rss.reset()
    for _ in range(args.repeats):
        for name, url in (("direct", direct), ("media", via_media)):
            runs[name].append(
                throughput(url, size=size, seconds=args.seconds, concurrency=args.concurrency)
            )
    load_peak = rss.peak
    mean = {name: sum(r.gbytes_per_s for r in rs) / len(rs) for name, rs in runs.items()}
    failures = {name: sum(r.failures for r in rs) for name, rs in runs.items()}
    ratio = mean["media"] / mean["direct"]
    tool = runs["media"][0].tool
    print(
        f"1 MiB range reads, concurrency {args.concurrency}, {args.repeats}×{args.seconds:.0f} s "
        f"each ({tool}): direct S3 {mean['direct']:.3f} GB/s, media {mean['media']:.3f} GB/s, "
        f"failures {failures['direct']}/{failures['media']}"
    )
    print(f"  throughput ratio media/direct: {ratio:.2f} ({verdict(ratio >= 0.8)} ≥ 0.8)")

    last = size - 1
    media_ttfb, direct_ttfb = ttfb_pair(
        (via_media, direct), range_header=f"bytes={last}-{last}", rounds=args.rounds
    )
    ttfb_ratio = media_ttfb / direct_ttfb
    print(
        f"TTFB of bytes={last}-{last}, median of {args.rounds}: direct {direct_ttfb * 1e3:.2f} ms, "
        f"media {media_ttfb * 1e3:.2f} ms"
    )
    print(f"  TTFB ratio media/direct: {ttfb_ratio:.2f} ({verdict(ttfb_ratio <= 1.5)} ≤ 1.5)")

    idle = rss.reset()
    started = time.monotonic()
    total, ok = asyncio.run(
        slow_viewers(
            via_media,
            viewers=args.viewers,
            bytes_per_second=args.viewer_kib_per_s * 1024,
            seconds=args.viewer_seconds,
        )
    )
    elapsed = time.monotonic() - started
    peak_mb = rss.peak / 1e6
    print(
        f"{args.viewers} slow viewers ({ok} got 200) at {args.viewer_kib_per_s} KiB/s each "
        f"for {elapsed:.0f} s: {total / MIB:.0f} MiB streamed; media RSS idle "
        f"{idle / 1e6:.0f} MB, peak {peak_mb:.0f} MB ({verdict(peak_mb < 200)} < 200 MB); "
        f"peak under the throughput load {load_peak / 1e6:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--object-mib", type=int, default=1024)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--viewers", type=int, default=64)
    parser.add_argument("--viewer-kib-per-s", type=int, default=1024)
    parser.add_argument("--viewer-seconds", type=float, default=15.0)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
