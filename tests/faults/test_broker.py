"""NATS itself: killed and started again on its file store; stopped (SIGSTOP) past the ack wait."""

from __future__ import annotations

import pytest

from tests.faults.drill import TIMEOUT, Fault, assert_clean, run_drill
from tests.faults.system import ACK_WAIT_SECONDS, DrillSystem
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.faults, pytest.mark.timeout(TIMEOUT)]


def test_nats_sigkill_and_restart_on_its_file_store(
    system: DrillSystem, receiver: WebhookReceiver
) -> None:
    fault = Fault(
        "SIGKILL NATS, restarted on its file store after 5 s",
        inject=lambda s: s.nats.kill(),
        clear=lambda s: s.nats.start(),
        hold_seconds=5.0,
        when=frozenset({"submitted", "running", "downloading"}),
    )
    assert_clean(run_drill(system, fault, receiver=receiver), system)


def test_nats_hung_past_the_ack_wait(system: DrillSystem, receiver: WebhookReceiver) -> None:
    fault = Fault(
        f"SIGSTOP NATS for {ACK_WAIT_SECONDS * 2:.0f} s",
        inject=lambda s: s.nats.pause(),
        clear=lambda s: s.nats.resume(),
        hold_seconds=ACK_WAIT_SECONDS * 2,
        when=frozenset({"submitted", "running", "downloading"}),
    )
    assert_clean(run_drill(system, fault, receiver=receiver), system)
