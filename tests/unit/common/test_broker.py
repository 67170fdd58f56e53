from reelhouse.common.broker import consumer_config, jetstream
from reelhouse.common.settings import NatsSettings
from reelhouse.common.streams import stream_config


def test_faststream_declares_the_same_stream_ensure_stream_applies() -> None:
    settings = NatsSettings(stream="TESTSTREAM", duplicate_window_seconds=42, stream_replicas=3)
    stream = jetstream(settings)
    declared = stream.config
    applied = stream_config(settings)
    assert declared.name == applied.name == "TESTSTREAM"
    assert set(stream.subjects) == set(applied.subjects or [])  # declared with the stream
    assert declared.duplicate_window == applied.duplicate_window == 42
    assert declared.max_age == applied.max_age
    assert declared.retention == applied.retention
    # a NATS cluster keeps as many copies as asked for, and a restart does not shrink it back
    assert declared.num_replicas == applied.num_replicas == 3


def test_consumers_are_durable_and_explicitly_acknowledged() -> None:
    config = consumer_config(
        NatsSettings(ack_wait_seconds=7, max_deliver=3),
        durable="downloader",
        filter_subjects=["gen.output.v1"],
    )
    assert config.durable_name == "downloader"
    assert config.ack_policy is not None
    assert config.ack_policy.value == "explicit"
    assert (config.ack_wait, config.max_deliver) == (7, 3)
