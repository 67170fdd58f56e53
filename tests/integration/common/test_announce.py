"""``announce_event``: which of several publishers of one event id the stream kept (ADR 0014).

Real NATS: the first body under an id is kept; a later try of the same body (its
acknowledgement lost) is still the caller's own, a different body under that id is not.
"""

from __future__ import annotations

import nats

from reelhouse.common.broker import announce_event, build_broker
from reelhouse.common.events import Asset, GenerationStored
from reelhouse.common.settings import NatsSettings
from reelhouse.common.streams import ensure_stream
from tests.support.nats import NatsServer


def stored(job_id: str, key: str) -> GenerationStored:
    asset = Asset(index=0, key=key, content_type="video/mp4", size=1, sha256="0" * 64, kind="video")
    return GenerationStored(event_id=f"{job_id}:stored", job_id=job_id, assets=[asset])


async def test_the_first_body_under_an_id_is_the_one_announced(nats_server: NatsServer) -> None:
    settings = NatsSettings(url=nats_server.url)
    direct = await nats.connect(nats_server.url)
    broker = build_broker(settings, name="announce")
    try:
        js = direct.jetstream()
        await ensure_stream(js, settings)
        await broker.connect()
        first = stored("gen_a", "outputs/gen_a/0.aaaa.mp4")
        second = stored("gen_a", "outputs/gen_a/0.bbbb.mp4")
        assert first.event_id == second.event_id

        announce = {"source": "test", "stream": settings.stream}
        assert await announce_event(broker, first, **announce)
        # the same body again (a retry whose first acknowledgement was lost): still ours
        assert await announce_event(broker, first, **announce)
        # another publisher's body under the same id came second
        assert not await announce_event(broker, second, **announce)

        info = await js.stream_info(settings.stream)
        assert info.state.messages == 1
        kept = await js.get_msg(settings.stream, info.state.last_seq)
        assert kept.data == first.model_dump_json().encode()
    finally:
        await broker.stop()
        await direct.close()
