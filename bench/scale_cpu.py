"""CPU seconds of the processes of a run, from their own counters (``/proc`` through psutil).

A snapshot before the first submit and one after the last job succeeded; the difference per
role, divided by the jobs, is the role's CPU per job. Threads are included (they are the
process); child processes too, in case a role ever spawns one.
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.submit_profile import read_stacks, record
from bench.submit_profile import report as profile_report

# the servers this benchmark starts besides the roles (the PostgreSQL server is shared)
INFRASTRUCTURE = ("nats-server", "weed")
PROFILE_STOP_SECONDS = 60.0


def process_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its waited-for children; 0 once it is gone."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system + times.children_user + times.children_system


def infrastructure_pids() -> dict[str, list[int]]:
    """This benchmark's own NATS and SeaweedFS servers (its child processes), by name."""
    found: dict[str, list[int]] = {}
    for child in psutil.Process(os.getpid()).children(recursive=True):
        try:
            name = child.name()
        except psutil.Error:
            continue
        if name in INFRASTRUCTURE:
            found.setdefault(name, []).append(child.pid)
    return found


def postgres_backends(database: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving ``database`` (the server runs on this
    machine; backends are named ``postgres: [<cluster>:] <user> <database> <client> <state>``);
    none when the server runs elsewhere."""
    found: dict[int, float] = {}
    for process in psutil.process_iter(["cmdline"]):
        words = " ".join(process.info["cmdline"] or []).split()
        if words[:1] == ["postgres:"] and database in words[1:4]:
            found[process.pid] = process_seconds(process.pid)
    return found


def backends_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU the backends used in between (those born meanwhile count from 0; those that ended
    meanwhile are not seen)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


@dataclass(frozen=True, slots=True)
class CpuSnapshot:
    seconds: dict[str, float]

    @classmethod
    def take(cls, pids: dict[str, list[int]]) -> CpuSnapshot:
        return cls({name: sum(process_seconds(p) for p in group) for name, group in pids.items()})

    def since(self, before: CpuSnapshot) -> dict[str, float]:
        return {name: s - before.seconds.get(name, 0.0) for name, s in self.seconds.items()}


class Profiler:
    """``py-spy record`` on one process for as long as the measured load runs."""

    def __init__(self, pid: int, output: Path, *, limit_seconds: int) -> None:
        self.pid = pid
        self.output = output
        self._spy = record(pid, output, seconds=limit_seconds)

    def stop(self) -> str | None:
        """Stop sampling (py-spy writes its output on SIGINT); an error text, or None."""
        if self._spy.poll() is None:
            self._spy.send_signal(signal.SIGINT)
        try:
            _, errors = self._spy.communicate(timeout=PROFILE_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self._spy.kill()
            self._spy.communicate()
            return "py-spy did not stop"
        if not self.output.exists():
            return (
                f"py-spy wrote nothing ({self._spy.returncode}): {errors.decode(errors='replace')}"
            )
        return None

    def report(self, *, cpu_ms_per_job: float, top: int) -> list[str]:
        stacks, idle = read_stacks(self.output)
        lines = profile_report(stacks, idle=idle, cpu_ms_per_request=cpu_ms_per_job, top=top)
        # the shared report speaks of requests; here each one is a job
        lines[0] = lines[0].replace("CPU per accepted request", "this process's CPU per job")
        return lines
