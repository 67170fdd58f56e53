"""``LiveHub``: per-owner stream slots and wake-ups from notices."""

from __future__ import annotations

import pytest

from reelhouse.common.events import EventProjected
from reelhouse.gateway.live.hub import LiveHub, TooManyStreamsError


def test_an_owner_gets_at_most_the_configured_streams_and_slots_come_back() -> None:
    hub = LiveHub(max_streams_per_owner=2)
    first = hub.open(owner_id="a", job_id=None)
    hub.open(owner_id="a", job_id="gen_1")
    with pytest.raises(TooManyStreamsError):
        hub.open(owner_id="a", job_id=None)
    hub.open(owner_id="b", job_id=None)  # another owner has slots of its own
    first.close()
    first.close()  # closing twice gives back one slot
    assert hub.open_streams("a") == 1
    hub.open(owner_id="a", job_id=None)


async def test_a_notice_wakes_the_streams_it_concerns_only() -> None:
    hub = LiveHub(max_streams_per_owner=5)
    owner_wide = hub.open(owner_id="a", job_id=None)
    this_job = hub.open(owner_id="a", job_id="gen_1")
    other_job = hub.open(owner_id="a", job_id="gen_2")
    other_owner = hub.open(owner_id="b", job_id=None)

    hub.notify(EventProjected(job_id="gen_1", owner_id="a", event_id="e1"))

    assert await owner_wide.wait(0)
    assert await this_job.wait(0)
    assert not await other_job.wait(0)
    assert not await other_owner.wait(0)
    assert not await owner_wide.wait(0)  # the flag was cleared


async def test_closing_the_hub_wakes_every_stream() -> None:
    hub = LiveHub(max_streams_per_owner=5)
    listener = hub.open(owner_id="a", job_id=None)
    hub.close()
    assert await listener.wait(30)
    assert listener.closing
