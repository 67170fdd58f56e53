"""Measuring a set of URLs of one object the same way, and printing the rows (``bench/media.py``).

The first URL is the baseline (direct S3, or nginx on local disk): every ratio
of a row is against the baseline's figure from the same run.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field
from enum import Enum

from bench.media_load import MIB, Throughput, slow_viewers, throughput, ttfb_medians
from bench.media_servers import PeakRss


class Target(Enum):
    """Issue 11's targets for the media service."""

    throughput = ("≥", 0.9, "")
    ttfb = ("≤", 1.3, "")
    rss = ("<", 200.0, " MB")

    def met(self, value: float) -> bool:
        sign, bound, _ = self.value
        return value >= bound if sign == "≥" else value <= bound if sign == "≤" else value < bound

    def judge(self, value: float) -> str:
        sign, bound, unit = self.value
        verdict = "meets target" if self.met(value) else "MISSES target"
        digits = 0 if unit else 2
        return f"{value:.{digits}f}{unit} ({verdict} {sign} {bound:g}{unit})"


@dataclass(slots=True)
class Measured:
    name: str
    runs: list[Throughput] = field(default_factory=list)
    cpu_seconds: float = 0.0
    ttfb: float = 0.0
    throughput_ratio: float = 1.0
    ttfb_ratio: float = 1.0
    load_rss: int = 0
    idle_rss: int = 0
    viewers_rss: int = 0
    viewers_ok: int = 0
    viewer_bytes: int = 0
    seconds: float = 0.0

    @property
    def gbytes_per_s(self) -> float:
        return sum(r.gbytes_per_s for r in self.runs) / len(self.runs)

    @property
    def failures(self) -> int:
        return sum(r.failures for r in self.runs)

    @property
    def tool(self) -> str:
        return self.runs[0].tool

    @property
    def cpu_ms_per_mib(self) -> float:
        """The server's CPU (all its processes) per MiB served under the throughput load."""
        mib = sum(r.gbytes_per_s for r in self.runs) * self.seconds * 1e9 / MIB
        return self.cpu_seconds * 1e3 / mib if mib else 0.0


def measure(
    args: argparse.Namespace, size: int, urls: dict[str, str], rss: dict[str, PeakRss | None]
) -> list[Measured]:
    """Throughput (runs interleaved), TTFB (requests alternating), then slow viewers, per URL."""
    results = {name: Measured(name, seconds=args.seconds) for name in urls}
    for url in urls.values():  # warm-up: page cache, connection pools
        throughput(url, size=size, seconds=2, concurrency=args.concurrency)
    for tracker in rss.values():
        if tracker is not None:
            tracker.reset()
    for _ in range(args.repeats):
        for name, url in urls.items():
            tracker = rss[name]
            before = tracker.cpu_seconds() if tracker else 0.0
            results[name].runs.append(
                throughput(url, size=size, seconds=args.seconds, concurrency=args.concurrency)
            )
            if tracker is not None:
                results[name].cpu_seconds += tracker.cpu_seconds() - before
    for name, tracker in rss.items():
        results[name].load_rss = tracker.peak if tracker else 0

    last = size - 1
    medians = ttfb_medians(
        list(urls.values()), range_header=f"bytes={last}-{last}", rounds=args.rounds
    )
    for result, median in zip(results.values(), medians, strict=True):
        result.ttfb = median

    for name, tracker in list(rss.items())[1:]:  # the baseline's own memory is not the point
        if tracker is None:
            continue
        result = results[name]
        result.idle_rss = tracker.reset()
        result.viewer_bytes, result.viewers_ok = asyncio.run(
            slow_viewers(
                urls[name],
                viewers=args.viewers,
                bytes_per_second=args.viewer_kib_per_s * 1024,
                seconds=args.viewer_seconds,
            )
        )
        result.viewers_rss = tracker.peak

    ordered = list(results.values())
    baseline = ordered[0]
    for result in ordered:
        result.throughput_ratio = result.gbytes_per_s / baseline.gbytes_per_s
        result.ttfb_ratio = result.ttfb / baseline.ttfb
    return ordered


def print_rows(title: str, results: list[Measured]) -> None:
    print(f"{title}:")
    print(
        f"  {'':26} {'GB/s':>6} {'ratio':>6} {'TTFB ms':>8} {'ratio':>6} {'CPU ms/MiB':>10} "
        f"{'RSS load':>9} {'RSS 64 viewers':>15}"
    )
    for result in results:
        rss = (
            f"{result.load_rss / 1e6:>6.0f} MB {result.viewers_rss / 1e6:>12.0f} MB"
            if result.viewers_rss
            else f"{'-':>9} {'-':>15}"
        )
        cpu = f"{result.cpu_ms_per_mib:.2f}" if result.cpu_seconds else "-"
        print(
            f"  {result.name:26} {result.gbytes_per_s:6.3f} {result.throughput_ratio:6.2f} "
            f"{result.ttfb * 1e3:8.2f} {result.ttfb_ratio:6.2f} {cpu:>10} {rss}"
        )
