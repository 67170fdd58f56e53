"""Two gateways on one database; one of them SIGKILLed while it streams SSE, and while it relays.

- **SSE**: a client follows ``GET /v1/events`` on ``gateway-b`` from before the batch is
  submitted; ``gateway-b`` is killed mid-stream; the client reconnects to the surviving
  ``gateway`` with ``Last-Event-ID`` (as ``EventSource`` would) and must see every recorded
  event of every batch job exactly once — so each job's final state — across the two streams.
- **Outbox relay**: a burst of image jobs is submitted through ``gateway-b`` and it is killed
  as the last answer arrives, its outbox not yet drained (NATS is made slow during the burst,
  so the relay is behind); the other gateway relays what was left (or ``gateway-b`` once
  started again): every job dispatched exactly once.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.faults import checks
from tests.faults.batch import FINAL, Batch, Item
from tests.faults.drill import TIMEOUT, Fault, assert_clean, run_drill
from tests.faults.system import DrillSystem
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.faults, pytest.mark.timeout(TIMEOUT)]

IN_FLIGHT = frozenset({"submitted", "running", "downloading"})
# how long the SSE client follows the stream at most (the drill's own bounds are shorter)
FOLLOW_SECONDS = 420.0
CONNECT_SECONDS = 20.0
# the client gives up a read after this long without a byte (keep-alives come more often)
READ_SECONDS = 20.0
RECONNECT_PAUSE_SECONDS = 0.3
BURST = 20
BURST_WORKERS = 10
BROKER_LATENCY_SECONDS = 0.3


@dataclass
class Seen:
    event_id: str
    job_id: str
    status: str
    connection: int


@dataclass
class SseFollower:
    """A client of ``GET /v1/events``: first on one gateway, then, once that stream breaks,
    on the other with ``Last-Event-ID`` (the ``EventSource`` reconnect), until told to stop."""

    system: DrillSystem
    gateways: tuple[str, ...] = ("gateway-b", "gateway")
    seen: list[Seen] = field(default_factory=list)
    # each connection: the gateway and how it ended
    connections: list[str] = field(default_factory=list)
    connected: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        self.thread = threading.Thread(target=self._follow, name="sse-follower", daemon=True)
        self.thread.start()
        assert self.connected.wait(CONNECT_SECONDS), f"no stream opened: {self.connections}"

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(READ_SECONDS + 5.0)
            assert not self.thread.is_alive(), "the SSE client did not stop"

    def count(self) -> int:
        with self.lock:
            return len(self.seen)

    def last_id(self) -> str | None:
        with self.lock:
            return self.seen[-1].event_id if self.seen else None

    def _follow(self) -> None:
        deadline = time.monotonic() + FOLLOW_SECONDS
        gateway = 0
        while not self.stopping.is_set() and time.monotonic() < deadline:
            role = self.gateways[gateway]
            try:
                ended = self._stream(role, len(self.connections))
            except httpx.HTTPError as exc:
                ended = type(exc).__name__
            self.connections.append(f"{role}: {ended}")
            if self.stopping.is_set():
                return
            # the stream broke: reconnect to the next gateway (as behind a load balancer)
            gateway = (gateway + 1) % len(self.gateways)
            time.sleep(RECONNECT_PAUSE_SECONDS)

    def _stream(self, role: str, connection: int) -> str:
        headers = {"Accept": "text/event-stream"}
        resume = self.last_id()
        if resume is not None:
            headers["Last-Event-ID"] = resume
        timeout = httpx.Timeout(10.0, read=READ_SECONDS)
        with (
            self.system.client(role) as client,
            client.stream("GET", "/v1/events", headers=headers, timeout=timeout) as response,
        ):
            if response.status_code != 200:
                return f"answered {response.status_code} {response.read()[:200]!r}"
            self.connected.set()
            fields: dict[str, str] = {}
            for line in response.iter_lines():
                if self.stopping.is_set():
                    return "stopped"
                if line == "":
                    if "data" in fields:
                        self._add(fields, connection)
                    fields = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(":")
                    fields[name] = fields.get(name, "") + value.removeprefix(" ")
            return "ended by the server"

    def _add(self, fields: dict[str, str], connection: int) -> None:
        import json

        data: dict[str, Any] = json.loads(fields["data"])
        with self.lock:
            self.seen.append(
                Seen(fields.get("id", ""), str(data["job_id"]), str(data["status"]), connection)
            )

    def wait_final(self, jobs: dict[str, str], *, timeout: float) -> None:
        """Until each job's last event seen shows it final (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.unfinished(jobs):
                return
            time.sleep(0.2)

    def unfinished(self, jobs: dict[str, str]) -> dict[str, str | None]:
        last: dict[str, str] = {}
        with self.lock:
            for event in self.seen:
                last[event.job_id] = event.status
        return {job: last.get(job) for job in jobs if last.get(job) not in FINAL}


def _batch_jobs(system: DrillSystem, items: list[Item]) -> dict[str, str]:
    """Every generation job of the batch (compositions' scenes included) and how it ends."""
    jobs = {item.id: item.expect for item in items if not item.composition}
    compositions = [item.id for item in items if item.composition]
    if compositions:
        for row in checks.rows(
            system, "SELECT id FROM jobs WHERE composition_id = ANY($1::text[])", compositions
        ):
            jobs[row["id"]] = "succeeded"
    return jobs


def _stream_problems(system: DrillSystem, follower: SseFollower, jobs: dict[str, str]) -> list[str]:
    """Every recorded event of every batch job came exactly once; each ended as expected."""
    problems: list[str] = []
    recorded: dict[str, set[str]] = defaultdict(set)
    for row in checks.rows(
        system, "SELECT job_id, event_id FROM job_events WHERE job_id = ANY($1::text[])", list(jobs)
    ):
        recorded[row["job_id"]].add(row["event_id"])
    with follower.lock:
        seen = list(follower.seen)
    counted = Counter(event.event_id for event in seen)
    repeated = sorted(event_id for event_id, n in counted.items() if n > 1)
    problems += [f"event {event_id} streamed {counted[event_id]} times" for event_id in repeated]
    streamed: dict[str, set[str]] = defaultdict(set)
    last: dict[str, str] = {}
    for event in seen:
        streamed[event.job_id].add(event.event_id)
        last[event.job_id] = event.status
    for job, expect in jobs.items():
        lost = recorded[job] - streamed[job]
        if lost:
            problems.append(f"job {job}: {len(lost)} recorded event(s) never streamed: {lost}")
        if last.get(job) != expect:
            problems.append(f"job {job}: the stream last showed {last.get(job)}, expected {expect}")
    return problems


def test_gateway_killed_while_streaming_sse(system: DrillSystem, receiver: WebhookReceiver) -> None:
    system.ensure_running()
    follower = SseFollower(system)
    follower.start()
    before: dict[str, int] = {}

    def kill_mid_stream(s: DrillSystem) -> None:
        # the stream is carrying the batch's events when it breaks
        deadline = time.monotonic() + 20.0
        while follower.count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        before["events"] = follower.count()
        s.kill("gateway-b")

    fault = Fault(
        "SIGKILL gateway-b while a client streams /v1/events from it",
        inject=kill_mid_stream,
        clear=lambda s: s.start("gateway-b"),
        hold_seconds=3.0,
        when=IN_FLIGHT,
    )

    def stream_checks(s: DrillSystem, batch: Batch) -> list[str]:
        jobs = _batch_jobs(s, batch.items)
        follower.wait_final(jobs, timeout=30.0)
        return _stream_problems(s, follower, jobs)

    try:
        outcome = run_drill(system, fault, receiver=receiver, more_checks=stream_checks)
    finally:
        follower.stop()
    print(
        f"drill sse: {before.get('events', 0)} events streamed before the kill,"
        f" {follower.count()} in all; connections: {follower.connections}"
    )
    assert before.get("events", 0) > 0, "the kill did not land mid-stream"
    assert any(c.startswith("gateway-b") for c in follower.connections), follower.connections
    assert len(follower.connections) >= 2, f"never reconnected: {follower.connections}"
    assert_clean(outcome, system)


def _burst_job(system: DrillSystem, n: int) -> Item:
    """One small image job submitted through ``gateway-b``; should no answer come, the
    client repeats it on the other gateway with the same ``Idempotency-Key``."""
    body = {
        "model": "sandbox/text-to-image",
        "input": {"prompt": f"burst {n}", "width": 64, "sandbox_delay": 0.5},
    }
    headers = {"Idempotency-Key": f"burst-{uuid.uuid4().hex}"}
    for role in ("gateway-b", "gateway"):
        try:
            with system.client(role) as client:
                answer = client.post("/v1/generations", json=body, headers=headers)
        except httpx.HTTPError:
            continue
        assert answer.status_code in (200, 202), f"{role}: {answer.status_code} {answer.text}"
        return Item("burst-image", str(answer.json()["id"]), "succeeded")
    raise AssertionError(f"burst job {n} was answered by no gateway")


def test_gateway_killed_while_relaying_its_outbox(
    system: DrillSystem, receiver: WebhookReceiver
) -> None:
    burst: list[Item] = []
    left: dict[str, int] = {}

    def submit_burst(s: DrillSystem) -> list[Item]:
        # a slow broker: each relay round takes a few round trips of it, so the relay is
        # certainly behind the burst when its last answer comes
        s.nats_proxy.latency(BROKER_LATENCY_SECONDS)
        with ThreadPoolExecutor(BURST_WORKERS) as pool:
            burst.extend(pool.map(lambda n: _burst_job(s, n), range(BURST)))
        return burst

    def kill_relaying(s: DrillSystem) -> None:
        s.kill("gateway-b")
        s.nats_proxy.pass_through()
        found = checks.rows(
            s,
            "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL"
            " AND job_id = ANY($1::text[])",
            [item.id for item in burst],
        )
        left["unpublished"] = int(found[0]["n"])

    fault = Fault(
        f"SIGKILL gateway-b right after a burst of {BURST} submits, its outbox undrained"
        f" (NATS {BROKER_LATENCY_SECONDS:.1f} s slow during the burst)",
        inject=kill_relaying,
        clear=lambda s: s.start("gateway-b"),
        hold_seconds=3.0,
        when=IN_FLIGHT,
        more_work=submit_burst,
    )
    outcome = run_drill(system, fault, receiver=receiver)
    print(f"drill outbox: {left.get('unpublished')} of {BURST} burst rows unpublished at the kill")
    assert left.get("unpublished"), "the kill did not land before the outbox drained"
    assert_clean(outcome, system)
