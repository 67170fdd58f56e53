"""The servers every role leans on, taken away through their fault proxies while the roles live.

PostgreSQL (behind a proxy in front of the machine's server): restarted (every connection cut,
new ones refused for a few seconds) and refusing connections for longer. S3 (SeaweedFS behind a
proxy): unavailable, slow, answering ``500 InternalError`` and ``503 SlowDown``. NATS: cut off
from every process for a minute by a partition (the proxy holds the bytes, answers nothing).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.faults.drill import INPUT_UNREACHABLE, TIMEOUT, Fault, assert_clean, run_drill
from tests.faults.system import DrillSystem
from tests.support.faultproxy import FaultProxy
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.faults, pytest.mark.timeout(TIMEOUT)]

IN_FLIGHT = frozenset({"submitted", "running", "downloading"})

OUTAGE_SECONDS = 10.0
PARTITION_SECONDS = 60.0


def _drill(system: DrillSystem, receiver: WebhookReceiver, fault: Fault) -> None:
    assert_clean(run_drill(system, fault, receiver=receiver), system)


def test_postgres_restarted(system: DrillSystem, receiver: WebhookReceiver) -> None:
    _drill(
        system,
        receiver,
        Fault(
            "PostgreSQL restarted (connections cut, refused for 3 s)",
            inject=lambda s: s.postgres_proxy.refuse(),
            clear=lambda s: s.postgres_proxy.pass_through(),
            hold_seconds=3.0,
            when=IN_FLIGHT,
        ),
    )


def test_postgres_refusing_connections(system: DrillSystem, receiver: WebhookReceiver) -> None:
    _drill(
        system,
        receiver,
        Fault(
            f"PostgreSQL refusing connections for {OUTAGE_SECONDS:.0f} s",
            inject=lambda s: s.postgres_proxy.refuse(),
            clear=lambda s: s.postgres_proxy.pass_through(),
            hold_seconds=OUTAGE_SECONDS,
            when=IN_FLIGHT,
        ),
    )


# each S3 fault: its name, how the proxy in front of SeaweedFS plays it, and what it may cost
S3_FAULTS: dict[str, tuple[str, Callable[[FaultProxy], None], dict[str, frozenset[str]]]] = {
    "unavailable": ("S3 unavailable", lambda proxy: proxy.refuse(), INPUT_UNREACHABLE),
    "slow": ("S3 slow (0.5 s per 64 KiB)", lambda proxy: proxy.latency(0.5), {}),
    "internal-error": (
        "S3 answering 500 InternalError",
        lambda proxy: proxy.internal_error(),
        INPUT_UNREACHABLE,
    ),
    "slow-down": ("S3 answering 503 SlowDown", lambda proxy: proxy.slow_down(), INPUT_UNREACHABLE),
}


@pytest.mark.parametrize("fault", list(S3_FAULTS))
def test_s3(fault: str, system: DrillSystem, receiver: WebhookReceiver) -> None:
    name, play, tolerate = S3_FAULTS[fault]
    _drill(
        system,
        receiver,
        Fault(
            f"{name} for {OUTAGE_SECONDS:.0f} s",
            inject=lambda s: play(s.s3_proxy),
            clear=lambda s: s.s3_proxy.pass_through(),
            hold_seconds=OUTAGE_SECONDS,
            when=IN_FLIGHT,
            tolerate=tolerate,
        ),
    )


def test_nats_unreachable_while_processes_live(
    system: DrillSystem, receiver: WebhookReceiver
) -> None:
    _drill(
        system,
        receiver,
        Fault(
            f"NATS unreachable (partition) for {PARTITION_SECONDS:.0f} s",
            inject=lambda s: s.nats_proxy.blackhole(),
            clear=lambda s: s.nats_proxy.pass_through(),
            hold_seconds=PARTITION_SECONDS,
            when=IN_FLIGHT,
        ),
    )
