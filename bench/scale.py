"""Pipeline benchmark: jobs of an instant sandbox model through the whole system, end to end.

``make bench-scale`` (or ``python -m bench.scale``) runs, per replica count (1, then 2
processes each of dispatcher and downloader), a fresh system of separate processes on
127.0.0.1 (``bench/scale_system.py``): PostgreSQL (a fresh database on the server at
``TEST_DATABASE_URL``, dropped afterwards), NATS, SeaweedFS S3, the sandbox provider, the
gateway, the dispatchers and the downloaders. A warm-up of a few jobs goes through first;
then ``--jobs`` submits of ``sandbox/instant-video`` (a ready-made 1 s clip, no queue or
render time, over the sandbox's Replicate protocol with webhooks) leave one httpx client
with a bounded number in flight, and the run waits (bounded) until every job succeeded.

Prints per replica count: end-to-end jobs/s (first submit to last ``succeeded``), each
role's CPU milliseconds per job from its own counters, p50/p99 from the provider's
completion to ``succeeded``, lost and duplicated jobs, and issue 11's verdicts. With
``--profile`` a py-spy profile of the busiest role (by CPU during the warm-up) under the
load of the last replica count.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.scale_checks import Findings, examine, percentile
from bench.scale_cpu import (
    CpuSnapshot,
    Profiler,
    backends_since,
    infrastructure_pids,
    postgres_backends,
)
from bench.scale_load import Submitted, submit, wait_succeeded
from bench.scale_system import MODEL, PROVIDER, System, running_system
from bench.submit import DEFAULT_POSTGRES
from tests.support.databases import TEST_DATABASE_URL_ENV
from tests.support.s3 import SeaweedServer

ROLES = ("gateway", "dispatcher", "downloader", "sandbox")
SHOWN = (*ROLES, "nats-server", "weed", "postgres")
TARGET_JOBS_PER_SECOND = 100.0
TARGET_P99_MS = 250.0


@dataclass(frozen=True, slots=True)
class Phase:
    replicas: int
    submitted: Submitted
    findings: Findings
    cpu_seconds: dict[str, float]

    @property
    def jobs_per_second(self) -> float:
        last = self.findings.last_succeeded_at
        if last is None or last <= self.submitted.first_at:
            return 0.0
        return self.findings.succeeded / (last - self.submitted.first_at)

    def cpu_ms_per_job(self, name: str) -> float:
        jobs = max(1, self.findings.succeeded)
        return self.cpu_seconds.get(name, math.nan) * 1e3 / jobs

    @property
    def roles_ms_per_job(self) -> float:
        return sum(self.cpu_ms_per_job(role) for role in ROLES if role != "sandbox")


def _busiest(system: System, before: CpuSnapshot, after: CpuSnapshot) -> tuple[str, int]:
    """The role process that used the most CPU between the two snapshots (the sandbox, the
    provider, excepted)."""
    spent = after.since(before)
    candidates = [
        (spent.get(f"{role}#{pid}", 0.0), role, pid)
        for role, pids in system.pids().items()
        if role != "sandbox"
        for pid in pids
    ]
    _, role, pid = max(candidates)
    return role, pid


def _per_process(system: System) -> dict[str, list[int]]:
    return {f"{role}#{pid}": [pid] for role, pids in system.pids().items() for pid in pids}


def run_phase(
    args: argparse.Namespace,
    workdir: Path,
    s3: SeaweedServer,
    replicas: int,
    *,
    profile: str | None,
) -> Phase:
    with running_system(
        workdir=workdir / f"replicas-{replicas}",
        postgres_url=args.postgres_url,
        s3=s3.settings,
        replicas=replicas,
        downloader_concurrency=args.downloader_concurrency,
    ) as system:
        per_process = _per_process(system)
        warm_before = CpuSnapshot.take(per_process)
        warm = asyncio.run(
            submit(system.gateway_url, jobs=args.warmup, concurrency=args.concurrency, rate=None)
        )
        asyncio.run(
            wait_succeeded(
                system.database_url, warm.job_ids, stall_seconds=args.stall, bound_seconds=args.wait
            )
        )
        busiest = _busiest(system, warm_before, CpuSnapshot.take(per_process))
        if profile not in (None, "busiest"):
            busiest = (str(profile), system.pids()[str(profile)][0])
        groups = {**system.pids(), **infrastructure_pids(), **per_process}
        profiler = None
        if profile is not None:
            out_dir: Path = args.profile_out or workdir
            out_dir.mkdir(parents=True, exist_ok=True)
            output = out_dir / f"profile-{busiest[0]}-{replicas}.txt"
            profiler = Profiler(busiest[1], output, limit_seconds=int(args.wait) + 600)
        database = urlsplit(system.database_url).path.lstrip("/")
        before = CpuSnapshot.take(groups)
        postgres_before = postgres_backends(database)
        submitted = asyncio.run(
            submit(
                system.gateway_url,
                jobs=args.jobs,
                concurrency=args.concurrency,
                rate=args.rate,
                offset=args.warmup,
            )
        )
        asyncio.run(
            wait_succeeded(
                system.database_url,
                submitted.job_ids,
                stall_seconds=args.stall,
                bound_seconds=args.wait,
            )
        )
        after = CpuSnapshot.take(groups)
        profile_error = None if profiler is None else profiler.stop()
        process_cpu = after.since(before)
        process_cpu["postgres"] = backends_since(postgres_before, postgres_backends(database))
        findings = examine(
            database_url=system.database_url,
            sandbox_url=system.sandbox_url,
            dispatchers=system.processes["dispatcher"],
            downloaders=system.processes["downloader"],
            measured=submitted.job_ids,
        )
        phase = Phase(replicas, submitted, findings, process_cpu)
        print(row(phase), flush=True)
        if profiler is not None:
            _print_profile(profiler, profile_error, busiest, phase, args.top)
        return phase


def _print_profile(
    profiler: Profiler, error: str | None, busiest: tuple[str, int], phase: Phase, top: int
) -> None:
    role, pid = busiest
    print(
        f"\nprofile of {role} (pid {pid}), "
        f"{phase.replicas} replica(s), under the load; py-spy raw stacks: {profiler.output}"
    )
    if error is not None:
        print(f"  {error}")
        return
    for line in profiler.report(cpu_ms_per_job=phase.cpu_ms_per_job(f"{role}#{pid}"), top=top):
        print(line)


HEADER = (
    f"{'replicas':>8} {'jobs':>5} {'done':>5} {'lost':>4} {'dup':>4} {'submit/s':>8} "
    f"{'jobs/s':>7} {'p50 ms':>7} {'p99 ms':>7}  CPU ms/job: "
    + " ".join(f"{name:>10}" for name in SHOWN)
    + f" {'roles':>6}"
)


def row(phase: Phase) -> str:
    f, s = phase.findings, phase.submitted
    submit_rate = len(s.job_ids) / s.seconds if s.seconds > 0 else math.nan
    cpu = " ".join(f"{phase.cpu_ms_per_job(name):>10.2f}" for name in SHOWN)
    return (
        f"{phase.replicas:>8} {f.jobs:>5} {f.succeeded:>5} {f.lost:>4} {f.duplicated:>4} "
        f"{submit_rate:>8.1f} {phase.jobs_per_second:>7.1f} "
        f"{percentile(f.latencies_ms, 0.5):>7.1f} {percentile(f.latencies_ms, 0.99):>7.1f}  "
        f"{'':12}{cpu} {phase.roles_ms_per_job:>6.2f}"
    )


def details(phase: Phase) -> list[str]:
    f, s = phase.findings, phase.submitted
    lines = [f"\n{phase.replicas} replica(s) of dispatcher and downloader:"]
    lines.append(
        f"  submitted {len(s.job_ids)} in {s.seconds:.1f} s; refused: {dict(s.refused) or 'none'};"
        f" statuses after the wait: {dict(f.statuses)}"
    )
    lines.append(
        f"  provider completion → succeeded over {len(f.latencies_ms)} jobs: "
        f"p50 {percentile(f.latencies_ms, 0.5):.1f} ms, p90 {percentile(f.latencies_ms, 0.9):.1f}"
        f" ms, p99 {percentile(f.latencies_ms, 0.99):.1f} ms, max "
        f"{max(f.latencies_ms, default=math.nan):.1f} ms"
    )
    lines.append("  work per replica: " + "; ".join(f"{what} {n}" for what, n in f.shares.items()))
    for stage, values in f.stages_ms.items():
        lines.append(
            f"    {stage}: p50 {percentile(values, 0.5):.1f} ms, "
            f"p99 {percentile(values, 0.99):.1f} ms"
        )
    for what, count in f.duplicates.items():
        lines.append(f"  duplicated work, {what}: {count}")
    return lines


def verdicts(phase: Phase) -> list[str]:
    f = phase.findings
    p99 = percentile(f.latencies_ms, 0.99)
    checks = (
        (
            f"≥ {TARGET_JOBS_PER_SECOND:.0f} jobs/s end to end",
            phase.jobs_per_second >= 100,
            f"{phase.jobs_per_second:.1f}",
        ),
        (
            "0 lost",
            f.lost == 0 and not phase.submitted.refused,
            f"{f.lost} lost, {sum(phase.submitted.refused.values())} refused",
        ),
        ("0 duplicated", f.duplicated == 0, str(f.duplicated)),
        (
            f"p99 completion → succeeded < {TARGET_P99_MS:.0f} ms",
            p99 < TARGET_P99_MS,
            f"{p99:.1f} ms",
        ),
    )
    lines = [f"\ntargets, {phase.replicas} replica(s):"]
    for what, ok, measured in checks:
        lines.append(f"  {what}: {'met' if ok else 'MISSED'} ({measured})")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(TEST_DATABASE_URL_ENV) or DEFAULT_POSTGRES,
        help=f"PostgreSQL server to make each phase's database on (${TEST_DATABASE_URL_ENV})",
    )
    parser.add_argument("--jobs", type=int, default=2000, help="measured jobs per replica count")
    parser.add_argument("--warmup", type=int, default=50, help="jobs through first, unmeasured")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, default=16, help="submits in flight at most")
    parser.add_argument("--rate", type=float, help="submits per second at most (default: no cap)")
    parser.add_argument(
        "--downloader-concurrency", type=int, help="REELHOUSE_CONCURRENCY of each downloader"
    )
    parser.add_argument("--wait", type=float, default=900.0, help="bound on the wait for jobs")
    parser.add_argument(
        "--stall", type=float, default=30.0, help="give up when no job succeeds for this long"
    )
    parser.add_argument(
        "--profile",
        nargs="?",
        const="busiest",
        choices=["busiest", *(role for role in ROLES if role != "sandbox")],
        help="py-spy a role's (first) process under the last replica count's load; "
        "alone: the busiest in the warm-up",
    )
    parser.add_argument(
        "--profile-out", type=Path, help="a directory to keep py-spy's raw stacks in"
    )
    parser.add_argument("--keep", type=Path, help="write logs and data here and keep them")
    parser.add_argument("--top", type=int, default=12, help="rows per profile view")
    args = parser.parse_args()
    # the services started here are configured only by what the benchmark sets
    for name in [n for n in os.environ if n.startswith("REELHOUSE_")]:
        del os.environ[name]
    phases = run(args)
    for phase in phases:
        for line in [*details(phase), *verdicts(phase)]:
            print(line)
    if any(p.findings.lost or p.findings.duplicated or p.submitted.refused for p in phases):
        print("\n!!! jobs were lost, refused or duplicated (see above)")
        sys.exit(1)


def run(args: argparse.Namespace) -> list[Phase]:
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        workdir = args.keep or Path(tmp)
        s3 = SeaweedServer(workdir / "s3")
        s3.start()
        try:
            print(
                f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start; "
                f"{args.jobs} jobs of {MODEL} (provider {PROVIDER!r}: Replicate's protocol, "
                f"webhooks) per replica count after {args.warmup} warm-up jobs; "
                f"{args.concurrency} submits in flight"
                + (f", at most {args.rate:g}/s" if args.rate else "")
                + f"; started {time.strftime('%H:%M:%S')}\n{HEADER}",
                flush=True,
            )
            for index, replicas in enumerate(args.replicas):
                last = index == len(args.replicas) - 1
                profile = args.profile if last else None
                phases.append(run_phase(args, workdir, s3, replicas, profile=profile))
        finally:
            s3.stop()
    return phases


if __name__ == "__main__":
    main()
