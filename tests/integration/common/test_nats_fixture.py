"""The nats_server fixture: JetStream works and data survives stop()/start()."""

from __future__ import annotations

import nats

from tests.support.nats import NatsServer


async def test_jetstream_message_survives_server_restart(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await js.add_stream(name="FIXTURE", subjects=["fixture.>"])
    await js.publish("fixture.one", b"hello")
    await nc.close()

    nats_server.stop()
    assert not nats_server.running
    nats_server.start()

    nc = await nats.connect(nats_server.url)
    try:
        msg = await nc.jetstream().get_msg("FIXTURE", seq=1)
        assert msg.data == b"hello"
    finally:
        await nc.close()


def test_nats_url_points_at_running_server(nats_url: str, nats_server: NatsServer) -> None:
    assert nats_url == nats_server.url
    assert nats_server.running
