"""BrokerWatch: overlapping probes, and which answer the gauge and the log believe."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest
from faststream.nats import NatsBroker
from prometheus_client import REGISTRY

from reelhouse.common.brokerwatch import BrokerUnavailableError, BrokerWatch

pytestmark = pytest.mark.timeout(10)


class ScriptedWatch(BrokerWatch):
    """Each round trip waits for its own answer, handed in by the test."""

    def __init__(self, service: str) -> None:
        super().__init__(cast(NatsBroker, object()), service=service, stream="REELHOUSE")
        self.answers: list[asyncio.Future[bool]] = []

    async def _ask(self) -> None:
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.answers.append(answer)
        if not await answer:
            raise BrokerUnavailableError("disconnected (reconnecting)")


def broker_up(service: str) -> float | None:
    return REGISTRY.get_sample_value("reelhouse_broker_up", {"service": service})


async def test_a_late_answer_to_an_older_probe_does_not_report_a_gone_broker_as_up() -> None:
    watch = ScriptedWatch("watch-late-answer")
    before_outage = asyncio.create_task(watch.probe())
    await asyncio.sleep(0)
    after_outage = asyncio.create_task(watch.probe())
    await asyncio.sleep(0)

    watch.answers[1].set_result(False)  # the newer probe sees the outage first
    with pytest.raises(BrokerUnavailableError):
        await after_outage
    watch.answers[0].set_result(True)  # the older round trip's reply arrives late
    await before_outage

    assert broker_up("watch-late-answer") == 0


async def test_a_newer_answer_replaces_an_older_one() -> None:
    watch = ScriptedWatch("watch-recovers")
    first = asyncio.create_task(watch.probe())
    await asyncio.sleep(0)
    watch.answers[0].set_result(False)
    with pytest.raises(BrokerUnavailableError):
        await first

    second = asyncio.create_task(watch.probe())
    await asyncio.sleep(0)
    watch.answers[1].set_result(True)
    await second

    assert broker_up("watch-recovers") == 1
