from reelhouse.common.delivery import DeliveryPolicy


def test_backoff_doubles_and_is_capped() -> None:
    policy = DeliveryPolicy(
        max_deliver=8, ack_wait_seconds=30, base_delay_seconds=1, max_delay_seconds=10
    )
    assert [policy.delay_for(n) for n in range(1, 6)] == [1, 2, 4, 8, 10]


def test_heartbeat_is_well_inside_the_ack_wait() -> None:
    assert DeliveryPolicy(max_deliver=3, ack_wait_seconds=30).heartbeat_seconds == 10
    assert DeliveryPolicy(max_deliver=3, ack_wait_seconds=0.3).heartbeat_seconds == 0.5
