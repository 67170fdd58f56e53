"""SIGSTOP of each worker for longer than the ack wait, with a second replica beside it.

JetStream hands the stopped worker's messages to its twin after the ack wait; when the stopped
one wakes up it still holds them. The work must still be done once: one provider prediction,
one stored object, one terminal event.
"""

from __future__ import annotations

import pytest

from tests.faults.drill import TIMEOUT, Fault, assert_clean, run_drill
from tests.faults.system import ACK_WAIT_SECONDS, DrillSystem
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.faults, pytest.mark.timeout(TIMEOUT)]

BUSY = {
    "dispatcher": {"submitted", "running"},
    # downloads of small outputs last milliseconds: strike while outputs are on their way
    "downloader": {"submitted", "running", "downloading"},
    "assembler": {"assembling"},
}


@pytest.mark.parametrize("worker", list(BUSY))
def test_sigstop_past_the_ack_wait(
    worker: str, system: DrillSystem, receiver: WebhookReceiver
) -> None:
    with system.twin(worker):
        fault = Fault(
            f"SIGSTOP {worker} for {ACK_WAIT_SECONDS * 2:.0f} s (ack wait {ACK_WAIT_SECONDS:.0f} s)",
            inject=lambda s: s.pause(worker),
            clear=lambda s: s.resume(worker),
            hold_seconds=ACK_WAIT_SECONDS * 2,
            when=frozenset(BUSY[worker]),
        )
        outcome = run_drill(system, fault, receiver=receiver)
    assert_clean(outcome, system)


def test_sigstop_gateway_past_the_ack_wait(system: DrillSystem, receiver: WebhookReceiver) -> None:
    """The gateway is a worker too (its projector and outbox relay); the other gateway lives."""
    fault = Fault(
        f"SIGSTOP gateway for {ACK_WAIT_SECONDS * 2:.0f} s",
        inject=lambda s: s.pause("gateway-b"),
        clear=lambda s: s.resume("gateway-b"),
        hold_seconds=ACK_WAIT_SECONDS * 2,
        when=frozenset({"submitted", "running"}),
    )
    assert_clean(run_drill(system, fault, receiver=receiver), system)
