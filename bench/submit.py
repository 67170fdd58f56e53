"""Submit benchmark: ``POST /v1/generations`` on the real gateway against a floor app, one run.

``make bench-submit`` (or ``python -m bench.submit``) starts, on 127.0.0.1 and free ports:
a fresh PostgreSQL database on the server at ``TEST_DATABASE_URL`` (or ``--postgres-url``;
dropped at the end), the floor app (``bench/submit_floor.py``: FastAPI + one asyncpg
``INSERT``, 202), then ``python -m reelhouse.gateway`` on PostgreSQL + NATS and on SQLite +
NATS (a NATS server each, a bootstrap API key, limits and budgets off). Each is loaded by
wrk with a valid ``sandbox/text-to-image`` submit at 8, 32 and 128 connections (a warm-up
first); no dispatcher runs, the jobs just queue. Prints requests/s, p50/p99, non-202
responses and the process's CPU per accepted request for each, the ratios gateway/floor,
and a py-spy profile of the PostgreSQL gateway under the 32-connection load.

Every response must be 202; any other (or none) is printed loudly and the run exits 1.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

from bench.submit_load import LoadResult, settle, wrk_post
from bench.submit_profile import read_stacks, record
from bench.submit_profile import report as profile_report
from bench.submit_targets import API_KEY, Target, floor_app, gateway, postgres_database
from tests.support.databases import TEST_DATABASE_URL_ENV

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
BODY: dict[str, object] = {
    "model": "sandbox/text-to-image",
    "input": {"prompt": "a lighthouse at dusk, seen from the sea", "width": 64, "height": 64},
}
PROFILED = ("gateway PG+NATS", 32)

Results = dict[tuple[str, int], LoadResult]


def _post(target: Target, connections: int, seconds: int) -> LoadResult:
    """wrk POSTing the submit body at ``target`` for ``seconds``."""
    return wrk_post(
        target.url,
        body=BODY,
        api_key=API_KEY,
        connections=connections,
        seconds=seconds,
        pid=target.pid,
    )


def load(target: Target, args: argparse.Namespace, connections: int) -> LoadResult:
    """A warm-up, then the measured run; the target settles (its backlog drained) after each."""
    _post(target, connections, args.warmup)
    settle(target.pid, timeout=args.settle_timeout)
    result = _post(target, connections, args.seconds)
    drain = settle(target.pid, timeout=args.settle_timeout)
    print(row(target.name, connections, result, drain), flush=True)
    return result


def profile(target: Target, args: argparse.Namespace, workdir: Path) -> None:
    """py-spy under the load, then while the process drains what the load left behind
    (outbox relay, projector): the CPU of each phase per accepted request, by where it goes."""
    output: Path = args.profile_out or workdir / "gateway-profile.txt"
    drain_output = output.with_name(f"{output.stem}-drain{output.suffix}")
    connections = PROFILED[1]
    spy = record(target.pid, output, seconds=args.seconds)
    result = _post(target, connections, args.seconds)
    _wait(spy, args.seconds)
    drain_spy = record(target.pid, drain_output, seconds=args.drain_profile_seconds)
    drain = settle(target.pid, timeout=args.settle_timeout)
    _wait(drain_spy, args.drain_profile_seconds)
    accepted = max(result.accepted, 1)
    phases = (
        (f"{args.seconds} s at {connections} connections", output, result.cpu_seconds),
        (f"the drain after it, {drain:.1f} s of CPU", drain_output, drain),
    )
    for title, path, cpu in phases:
        print(
            f"\nprofile of {target.name}, {title} ({result.per_second:.0f} req/s while "
            f"sampled; py-spy raw stacks: {path}):"
        )
        if not path.exists():
            print("  py-spy wrote nothing (see its error above)")
            continue
        stacks, idle = read_stacks(path)
        for line in profile_report(
            stacks, idle=idle, cpu_ms_per_request=cpu * 1e3 / accepted, top=args.top
        ):
            print(line)


def _wait(spy: subprocess.Popen[bytes], seconds: float) -> None:
    _, errors = spy.communicate(timeout=seconds + 60)
    if spy.returncode != 0:
        print(f"py-spy failed ({spy.returncode}): {errors.decode(errors='replace')}")


def row(name: str, connections: int, result: LoadResult, drain_cpu: float) -> str:
    drain_ms = drain_cpu * 1e3 / result.accepted if result.accepted else float("nan")
    line = (
        f"{name:<20} {connections:>5} {result.per_second:>9.1f} {result.p50_ms:>8.2f} "
        f"{result.p99_ms:>8.2f} {result.rejected:>8} {result.cpu_ms_per_accepted:>8.2f} "
        f"{drain_ms:>+7.2f}"
    )
    if result.rejected:
        line += (
            f"   !!! NOT ALL 202: statuses {result.statuses}, no response {result.socket_errors}"
        )
    return line


HEADER = (
    f"{'target':<20} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-202':>8} "
    f"{'CPU ms/req':>8} {'+drain':>7}"
)


def targets(
    database_url: str, workdir: Path, gateways: list[str]
) -> Iterator[tuple[str, Callable[[], AbstractContextManager[Target]]]]:
    yield "floor", lambda: floor_app(database_url, workdir)
    if "postgres" in gateways:
        yield "gateway PG+NATS", lambda: gateway("gateway PG+NATS", database_url, workdir)
    if "sqlite" in gateways:
        sqlite_url = f"sqlite+aiosqlite:///{workdir / 'gateway.db'}"
        yield "gateway SQLite+NATS", lambda: gateway("gateway SQLite+NATS", sqlite_url, workdir)


def run(args: argparse.Namespace) -> Results:
    results: Results = {}
    with (
        tempfile.TemporaryDirectory(prefix="bench-submit-") as tmp,
        postgres_database(args.postgres_url) as database_url,
    ):
        workdir = Path(tmp)
        print(
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start; "
            f"{args.seconds} s per run after {args.warmup} s warm-up; "
            f"wrk -t2; body: {BODY}\n{HEADER}",
            flush=True,
        )
        for name, start in targets(database_url, workdir, args.gateways):
            with start() as target:
                for connections in args.connections:
                    results[name, connections] = load(target, args, connections)
                if name == PROFILED[0] and args.profile:
                    profile(target, args, workdir)
    return results


def ratios(results: Results, connections: list[int]) -> list[str]:
    lines = ["\nratios gateway/floor (same run):"]
    for name in ("gateway PG+NATS", "gateway SQLite+NATS"):
        for conns in connections:
            if (name, conns) not in results:
                continue
            ours, floor = results[name, conns], results["floor", conns]
            lines.append(
                f"  {name:<20} {conns:>4} conns: req/s {ours.per_second / floor.per_second:.3f}, "
                f"p50 {ours.p50_ms / floor.p50_ms:.1f}×, p99 {ours.p99_ms / floor.p99_ms:.1f}×"
            )
    return lines


def targets_met(results: Results) -> list[str]:
    """Issue 11's targets, where this run measured them."""
    lines = ["\ntargets:"]
    checks = (
        ("gateway PG+NATS", 32, "req/s ≥ 1/3 of the floor's", _third_of_floor),
        ("gateway PG+NATS", 8, "p99 ≤ 20 ms", lambda r, _f: r.p99_ms <= 20),
        ("gateway SQLite+NATS", 8, "p99 ≤ 50 ms", lambda r, _f: r.p99_ms <= 50),
    )
    for name, conns, what, check in checks:
        if (name, conns) not in results or ("floor", conns) not in results:
            continue
        ok = check(results[name, conns], results["floor", conns])
        lines.append(f"  {name} at {conns} conns, {what}: {'met' if ok else 'MISSED'}")
    return lines


def _third_of_floor(ours: LoadResult, floor: LoadResult) -> bool:
    return ours.per_second * 3 >= floor.per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(TEST_DATABASE_URL_ENV) or DEFAULT_POSTGRES,
        help=f"PostgreSQL server to make the run's database on (${TEST_DATABASE_URL_ENV})",
    )
    parser.add_argument("--connections", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--seconds", type=int, default=10, help="each measured run")
    parser.add_argument("--warmup", type=int, default=3, help="each warm-up run")
    parser.add_argument("--settle-timeout", type=float, default=60.0)
    parser.add_argument(
        "--gateways", nargs="+", choices=["postgres", "sqlite"], default=["postgres", "sqlite"]
    )
    parser.add_argument("--drain-profile-seconds", type=int, default=20)
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument("--profile-out", type=Path, help="keep py-spy's raw stacks here")
    parser.add_argument("--top", type=int, default=12, help="rows per profile view")
    args = parser.parse_args()
    # the services started here are configured only by what the benchmark sets
    for name in [n for n in os.environ if n.startswith("REELHOUSE_")]:
        del os.environ[name]
    results = run(args)
    for line in [*ratios(results, args.connections), *targets_met(results)]:
        print(line)
    rejected = sum(r.rejected for r in results.values())
    if rejected:
        print(f"\n!!! {rejected} requests were not answered 202 (see the rows marked !!!)")
        sys.exit(1)


if __name__ == "__main__":
    main()
