"""Media delivery benchmark: the media service against the S3 server it reads from, one run.

``make bench-media`` (or ``python -m bench.media``) starts SeaweedFS and the media
service (``python -m reelhouse.media``, as shipped) on loopback ports, stores a
1 GiB object and prints, first, for the shipped configuration:

- throughput of random 1 MiB range reads at concurrency 32, through the media
  service and directly against S3 (a presigned URL), as a ratio (target ≥ 0.9);
- median time to first byte of a one-byte range at the end of the object,
  through the media service and directly, as a ratio (target ≤ 1.3);
- the media process's peak RSS while 64 slow clients stream the object
  (target < 200 MB).

Then the same figures for the variants (``bench/media_variants.py``: other S3
clients, another ASGI server, several worker processes), each against the same
run's direct S3; then local disk: the media service on
``REELHOUSE_STORAGE__BACKEND=local`` against nginx serving the same file.

wrk is used for throughput when it is installed (``apt-get install wrk``), an
aiohttp load generator otherwise; the figures are same-run ratios either way.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
from contextlib import ExitStack
from pathlib import Path

import psutil
from minio import Minio

from bench.media_load import MIB
from bench.media_report import Measured, Target, measure, print_rows
from bench.media_servers import (
    SIGNING_SECRET,
    PeakRss,
    Variant,
    local_env,
    media_process,
    nginx,
)
from reelhouse.common.settings import S3Settings
from reelhouse.common.signing import UrlSigner
from reelhouse.common.storage import LocalObjectStore
from reelhouse.media.sigv4 import SigV4Signer, object_path
from tests.support.s3 import SeaweedServer, s3_env

KEY = "outputs/bench/0.mp4"
URL_TTL = 4 * 3600

# the shipped configuration first: the headline lines describe it
SHIPPED = Variant("media")
S3_VARIANTS = {
    "media-obstore": Variant("media-obstore", "bench.media_variants", ("--reader", "obstore")),
    "media-aiobotocore": Variant(
        "media-aiobotocore", "bench.media_variants", ("--reader", "aiobotocore")
    ),
    "media-aiohttp": Variant("media-aiohttp", "bench.media_variants", ("--reader", "aiohttp")),
    "media-granian": Variant("media-granian", "bench.media_variants", ("--server", "granian")),
    "media-2-workers": Variant("media-2-workers", env={"REELHOUSE_SERVING__WORKERS": "2"}),
    "media-granian-2-workers": Variant(
        "media-granian-2-workers",
        "bench.media_variants",
        ("--server", "granian", "--workers", "2"),
    ),
}
LOCAL_VARIANTS = {
    "media-local": Variant("media-local"),
    "media-local-granian": Variant(
        "media-local-granian", "bench.media_variants", ("--server", "granian")
    ),
}


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
        expires_seconds=URL_TTL,
    )


def weed_usage() -> PeakRss:
    """SeaweedFS's CPU and memory: the ``weed`` process this run started."""
    weed = next(p for p in psutil.Process().children() if p.name() == "weed")
    return PeakRss(weed.pid)


def run(args: argparse.Namespace) -> None:
    size = args.object_mib * MIB
    signer = UrlSigner({"k1": SIGNING_SECRET.encode()}, "k1")
    with tempfile.TemporaryDirectory(prefix="bench-media-") as tmp:
        workdir = Path(tmp)
        # nginx's workers drop to an unprivileged user when started as root: let them read
        workdir.chmod(0o755)
        source = workdir / "object.bin"
        write_object(source, size)
        print(f"object: {size // MIB} MiB; {os.cpu_count()} cores; wrk -t2 -c{args.concurrency}")
        if args.s3:
            run_s3(args, size, source, workdir, signer)
        if args.local:
            run_local(args, size, source, workdir, signer)


def run_s3(
    args: argparse.Namespace, size: int, source: Path, workdir: Path, signer: UrlSigner
) -> None:
    server = SeaweedServer(workdir / "s3")
    server.workdir.mkdir()
    server.start()
    try:
        settings = server.settings
        client = Minio(
            settings.endpoint,
            access_key=settings.access_key.get_secret_value(),
            secret_key=settings.secret_key.get_secret_value(),
            secure=False,
        )
        client.fput_object(
            settings.bucket, KEY, str(source), content_type="video/mp4", part_size=64 * MIB
        )
        variants = [SHIPPED, *(S3_VARIANTS[name] for name in args.variants)]
        with ExitStack() as stack:
            urls: dict[str, str] = {"direct S3": presigned(settings, KEY)}
            rss: dict[str, PeakRss | None] = {"direct S3": stack.enter_context(weed_usage())}
            for variant in variants:
                service, base = stack.enter_context(
                    media_process(variant, s3_env(settings), workdir)
                )
                urls[variant.name] = signer.signed_url(base, KEY, ttl_seconds=URL_TTL)
                rss[variant.name] = stack.enter_context(PeakRss(service.pid or 0))
            results = measure(args, size, urls, rss)
        headline(args, results)
        print_rows("S3 (SeaweedFS), every row against the same run's direct S3", results)
    finally:
        server.stop()


def run_local(
    args: argparse.Namespace, size: int, source: Path, workdir: Path, signer: UrlSigner
) -> None:
    root = workdir / "local"
    store = LocalObjectStore(root)
    asyncio.run(store.ensure_ready())
    asyncio.run(store.put_file(KEY, source, content_type="video/mp4"))
    source.unlink()
    with ExitStack() as stack:
        pid, base = stack.enter_context(nginx(root / "data", workdir))
        urls: dict[str, str] = {"nginx": f"{base}/{KEY}"}
        rss: dict[str, PeakRss | None] = {"nginx": stack.enter_context(PeakRss(pid))}
        for variant in LOCAL_VARIANTS.values():
            service, media_base = stack.enter_context(
                media_process(variant, local_env(root), workdir)
            )
            urls[variant.name] = signer.signed_url(media_base, KEY, ttl_seconds=URL_TTL)
            rss[variant.name] = stack.enter_context(PeakRss(service.pid or 0))
        results = measure(args, size, urls, rss)
    local = results[1]
    print(
        f"local disk: throughput ratio media-local/nginx: {local.throughput_ratio:.2f}; "
        f"TTFB ratio media-local/nginx: {local.ttfb_ratio:.2f}"
    )
    print_rows("local disk, every row against the same run's nginx (sendfile)", results)


def headline(args: argparse.Namespace, results: list[Measured]) -> None:
    direct, media = results[0], results[1]
    print(
        f"1 MiB range reads, concurrency {args.concurrency}, {args.repeats}×{args.seconds:.0f} s "
        f"each ({media.tool}): direct S3 {direct.gbytes_per_s:.3f} GB/s, media "
        f"{media.gbytes_per_s:.3f} GB/s, failures {direct.failures}/{media.failures}"
    )
    print(f"  throughput ratio media/direct: {Target.throughput.judge(media.throughput_ratio)}")
    print(
        f"TTFB of the last byte, median of {args.rounds}: direct {direct.ttfb * 1e3:.2f} ms, "
        f"media {media.ttfb * 1e3:.2f} ms"
    )
    print(f"  TTFB ratio media/direct: {Target.ttfb.judge(media.ttfb_ratio)}")
    print(
        f"{args.viewers} slow viewers ({media.viewers_ok} got 200) at {args.viewer_kib_per_s} "
        f"KiB/s each: media RSS idle {media.idle_rss / 1e6:.0f} MB, peak "
        f"{Target.rss.judge(media.viewers_rss / 1e6)}; peak under the throughput load "
        f"{media.load_rss / 1e6:.0f} MB"
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
    parser.add_argument("--viewer-seconds", type=float, default=10.0)
    parser.add_argument(
        "--variants",
        nargs="*",
        choices=sorted(S3_VARIANTS),
        default=list(S3_VARIANTS),
        help="S3 variants measured after the shipped configuration (default: all)",
    )
    parser.add_argument(
        "--no-local", dest="local", action="store_false", help="skip local disk vs nginx"
    )
    parser.add_argument("--no-s3", dest="s3", action="store_false", help="local disk only")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
