"""The outbox relay's retry schedule."""

from __future__ import annotations

from reelhouse.gateway.outbox.relay import backoff_delay


def test_backoff_doubles_from_the_base_and_stops_at_the_cap() -> None:
    delays = [backoff_delay(n, base=0.5, cap=15.0) for n in range(1, 10)]

    assert delays[:5] == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert delays[5:] == [15.0] * 4


class _DisconnectedBus:
    connected = False


async def test_relay_leaves_its_backoff_at_once_when_asked_to_stop() -> None:
    import asyncio
    from typing import Any, cast

    from reelhouse.gateway.outbox.relay import OutboxRelay
    from reelhouse.gateway.settings import OutboxSettings

    relay = OutboxRelay(
        sessions=cast(Any, None),
        bus=cast(Any, _DisconnectedBus()),
        settings=OutboxSettings(retry_base_seconds=3600, retry_max_seconds=3600),
    )
    task = asyncio.create_task(relay.run())
    await asyncio.sleep(0.05)  # the first pass fails (broker down) and backs off for an hour
    relay.request_stop()
    await asyncio.wait_for(task, timeout=5)
    assert task.done()
    assert task.exception() is None


def test_a_batch_is_published_in_rounds_that_keep_each_jobs_order() -> None:
    from reelhouse.gateway.db.models import OutboxMessage
    from reelhouse.gateway.outbox.relay import _rounds

    batch = [
        OutboxMessage(id=n, job_id=job, event_id=f"{job}:{n}")
        for n, job in enumerate(["a", "b", "a", "c", "a", "b"], start=1)
    ]

    rounds = [[m.event_id for m in round_] for round_ in _rounds(batch)]

    assert rounds == [["a:1", "b:2", "c:4"], ["a:3", "b:6"], ["a:5"]]
