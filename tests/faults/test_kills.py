"""SIGKILL of each role in the middle of a mixed batch, then the role started again."""

from __future__ import annotations

import pytest

from tests.faults.drill import INPUT_UNREACHABLE, TIMEOUT, Fault, assert_clean, run_drill
from tests.faults.system import DrillSystem
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.faults, pytest.mark.timeout(TIMEOUT)]

# the moment each role has the most in its hands
BUSY = {
    "gateway": {"queued", "submitted"},
    "gateway-b": {"queued", "submitted"},
    "dispatcher": {"submitted", "running"},
    # downloads of small outputs last milliseconds: strike while outputs are on their way
    "downloader": {"submitted", "running", "downloading"},
    "assembler": {"assembling"},
    # the sandbox fetches the uploaded image through the media service
    "media": {"submitted", "running"},
    "sandbox": {"submitted", "running"},
}


@pytest.mark.parametrize("role", list(BUSY))
def test_sigkill(role: str, system: DrillSystem, receiver: WebhookReceiver) -> None:
    fault = Fault(
        f"SIGKILL {role}",
        inject=lambda s: s.kill(role),
        clear=lambda s: s.start(role),
        hold_seconds=2.0,
        when=frozenset(BUSY[role]),
        # the sandbox fetches the uploaded image from the media service
        tolerate=INPUT_UNREACHABLE if role == "media" else {},
    )
    assert_clean(run_drill(system, fault, receiver=receiver), system)
