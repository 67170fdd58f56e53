"""Where a process's CPU goes: ``py-spy record`` while a load runs, summed by function and module.

py-spy samples the running (not idle) Python stacks of the process; the raw output is one
line per distinct stack, ``frame;frame;…;leaf count``, root first. Shares are of all the
samples taken, so multiplied by the measured CPU per request they say how many
milliseconds of it each part costs.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.support.binaries import venv_binary

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
# py-spy shortens a file to its path below the sys.path entry (``sqlalchemy/orm/session.py``,
# ``threading.py``); reelhouse's namespace package loses its first level (``gateway/app.py``)
_OUR_PACKAGES = frozenset(
    ("common", "gateway", "dispatcher", "downloader", "media", "sandbox", "embedded", "reelhouse")
)
# threads blocked here hold no CPU, but py-spy does not always see them as idle (anyio's
# worker threads waiting for work): such samples are left out
IDLE_LEAVES = frozenset(("Condition.wait", "Event.wait", "Thread.join", "Queue.get"))


@dataclass(frozen=True, slots=True)
class Frame:
    function: str
    file: str

    @property
    def module(self) -> str:
        """The package a frame belongs to: ``sqlalchemy``, ``reelhouse.gateway.auth``,
        ``stdlib.asyncio``… (reelhouse down to its sub-package, where the profile is read)."""
        parts = self.file.removesuffix(".py").removesuffix("/__init__").split("/")
        if "reelhouse" in parts:  # a full path
            parts = parts[parts.index("reelhouse") + 1 :]
        elif parts[0] not in _OUR_PACKAGES:
            return parts[0]
        return "reelhouse." + ".".join(parts[:2])

    @property
    def label(self) -> str:
        short = "/".join(self.file.rsplit("/", 2)[-2:])
        return f"{self.function} ({short})"


Stack = tuple[Frame, ...]


def record(pid: int, output: Path, *, seconds: int, rate: int = 100) -> subprocess.Popen[bytes]:
    """Start ``py-spy record`` on ``pid`` for ``seconds`` (raw collapsed stacks to ``output``,
    samples grouped by function rather than line); the caller runs the load, then waits."""
    return subprocess.Popen(
        [
            *(venv_binary("py-spy"), "record", "--pid", str(pid), "--duration", str(seconds)),
            *("--rate", str(rate), "--format", "raw", "--function", "--output", str(output)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def read_stacks(path: Path) -> tuple[Counter[Stack], int]:
    """The stacks sampled on CPU, and the number of samples of idle waits left out."""
    stacks: Counter[Stack] = Counter()
    idle = 0
    for line in path.read_text().splitlines():
        frames_text, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        parsed = (_parse(text) for text in frames_text.split(";"))
        stack = tuple(frame for frame in parsed if frame is not None)
        if stack and stack[-1].function in IDLE_LEAVES:
            idle += int(count)
        elif stack:
            stacks[stack] += int(count)
    return stacks, idle


def _parse(text: str) -> Frame | None:
    match = _FRAME.match(text)
    return None if match is None else Frame(match["function"], match["file"])


def self_by_function(stacks: Counter[Stack]) -> Counter[str]:
    """Samples whose innermost Python frame is each function (C code counts to its caller)."""
    return _tally((stack[-1].label,) for stack in stacks.elements() if stack)


def self_by_module(stacks: Counter[Stack]) -> Counter[str]:
    return _tally((stack[-1].module,) for stack in stacks.elements() if stack)


def by_task(stacks: Counter[Stack]) -> Counter[str]:
    """Samples by what the event loop (or a thread) was running: the frame just below the
    loop's ``Runner.run`` or a thread's bootstrap — a request, the outbox relay, the
    projector's subscriber, the NATS client…"""
    return _tally((_task(stack).label,) for stack in stacks.elements() if stack)


def _task(stack: Stack) -> Frame:
    for index, frame in enumerate(stack[:-1]):
        if frame.function in _TASK_ROOTS:
            return stack[index + 1]
    return stack[0]


_TASK_ROOTS = frozenset(("Runner.run", "Thread._bootstrap_inner"))


def inclusive_by_module(stacks: Counter[Stack]) -> Counter[str]:
    """Samples with each module anywhere on the stack (a sample counts once per module)."""
    return _without_entry_chain(
        _tally({frame.module for frame in stack} for stack in stacks.elements())
    )


def inclusive_by_our_function(stacks: Counter[Stack]) -> Counter[str]:
    """Samples inside each reelhouse function (the request path, relay, projector…)."""
    return _without_entry_chain(
        _tally(
            {frame.label for frame in stack if frame.module.startswith("reelhouse.")}
            for stack in stacks.elements()
        )
    )


def _without_entry_chain(counts: Counter[str]) -> Counter[str]:
    """Drop what is on (nearly) every stack of the event loop: runpy, ``serve``, the loop."""
    if not counts:
        return counts
    chain = 0.98 * max(counts.values())
    return Counter({name: n for name, n in counts.items() if n < chain})


def _tally(groups: Iterable[Iterable[str]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for group in groups:
        counts.update(group)
    return counts


def report(stacks: Counter[Stack], *, idle: int, cpu_ms_per_request: float, top: int) -> list[str]:
    """Printable lines: the top ``top`` of each view, share of samples and ms per request."""
    total = sum(stacks.values())
    lines = [
        f"{total} samples on CPU ({idle} of threads blocked in a wait left out); "
        f"CPU per accepted request {cpu_ms_per_request:.2f} ms"
    ]
    views = (
        ("by task (what the event loop or a thread was running)", by_task(stacks)),
        ("self time by function", self_by_function(stacks)),
        ("self time by module", self_by_module(stacks)),
        ("inclusive time by module", inclusive_by_module(stacks)),
        ("inclusive time by reelhouse function", inclusive_by_our_function(stacks)),
    )
    for title, counts in views:
        lines.append(f"  {title}:")
        for name, count in counts.most_common(top):
            share = count / total if total else 0.0
            lines.append(f"    {share:6.1%} {share * cpu_ms_per_request:6.2f} ms  {name}")
    return lines
