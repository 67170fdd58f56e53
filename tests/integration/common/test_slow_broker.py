"""Publishing to JetStream through a broker slower than FastStream's 0.5 s acknowledgement wait.

Found by the fault drill that kills a gateway while it relays its outbox over a slow link:
every event publish (and every dead-letter record) failed with ``TimeoutError`` while the
round trip to NATS took more than half a second, so nothing moved until the link was fast.
"""

from __future__ import annotations

import nats

from reelhouse.common.broker import build_broker, publish_event
from reelhouse.common.events import GenerationStored
from reelhouse.common.settings import NatsSettings
from reelhouse.common.streams import ensure_stream
from tests.support.faultproxy import FaultProxy
from tests.support.nats import NatsServer

# each chunk both ways: a round trip of about 1.2 s, past FastStream's 0.5 s
LATENCY_SECONDS = 0.6


async def test_an_event_is_published_over_a_slow_link(nats_server: NatsServer) -> None:
    settings = NatsSettings(url=nats_server.url)
    direct = await nats.connect(nats_server.url)
    try:
        js = direct.jetstream()
        await ensure_stream(js, settings)
        with FaultProxy(nats_server.port) as proxy:
            broker = build_broker(
                settings.model_copy(update={"url": f"nats://127.0.0.1:{proxy.port}"}),
                name="slow-link",
            )
            await broker.connect()
            try:
                proxy.latency(LATENCY_SECONDS)
                event = GenerationStored(job_id="gen_slow", assets=[])
                await publish_event(broker, event, source="test", stream=settings.stream)
            finally:
                proxy.pass_through()
                await broker.stop()
        info = await js.stream_info(settings.stream)
        assert info.state.messages == 1
        stored = await js.get_msg(settings.stream, info.state.last_seq)
        assert stored.subject == GenerationStored.subject
    finally:
        await direct.close()
