"""The control: the same batch and checks with nothing broken (its times are the baseline)."""

from __future__ import annotations

import pytest

from tests.faults.drill import TIMEOUT, Fault, assert_clean, run_drill
from tests.faults.system import DrillSystem
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.faults, pytest.mark.timeout(TIMEOUT)]


def test_no_fault(system: DrillSystem, receiver: WebhookReceiver) -> None:
    fault = Fault("none (baseline)", inject=lambda s: None, clear=lambda s: None)
    assert_clean(run_drill(system, fault, receiver=receiver), system)
