"""Provider usage read from Replicate's prediction ``metrics``; junk numbers are dropped."""

from __future__ import annotations

from reelhouse.common.events import ProviderUsage
from reelhouse.dispatcher.providers.base import usage_from
from reelhouse.dispatcher.providers.replicate_wire import state_from_json


def test_replicate_predict_time_becomes_usage() -> None:
    state = state_from_json(
        {"id": "p1", "status": "failed", "error": "boom", "metrics": {"predict_time": 2.25}}
    )

    assert state.usage == ProviderUsage(predict_time_seconds=2.25)


def test_no_metrics_no_usage() -> None:
    assert state_from_json({"id": "p1", "status": "starting", "metrics": {}}).usage is None
    assert state_from_json({"id": "p1", "status": "processing"}).usage is None


def test_only_finite_non_negative_numbers_count() -> None:
    assert usage_from(predict_time=-1, billed_units="3") is None
    assert usage_from(predict_time=float("nan"), billed_units=True) is None
    assert usage_from(predict_time=float("inf")) is None
    assert usage_from(billed_units=4) == ProviderUsage(billed_units=4.0)
