"""The fal adapter: the official async fal-client against an in-process fake queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import fal_client.client
import httpx
import pytest

from reelhouse.common.errors import PermanentError
from reelhouse.dispatcher.providers.base import ProviderBusyError, SubmitOptions
from reelhouse.dispatcher.providers.fal import FalAdapter, output_files
from tests.unit.dispatcher.fal_fake import FakeFal

MODEL = "sandbox-fal/text-to-video"
INPUT: dict[str, Any] = {"prompt": "a lighthouse at dusk"}


@pytest.fixture
def fake() -> FakeFal:
    return FakeFal()


@pytest.fixture
async def adapter(fake: FakeFal) -> AsyncIterator[FalAdapter]:
    adapter = FalAdapter(
        "sandbox-fal",
        queue_url=fake.base_url,
        key=fake.key,
        transport=httpx.MockTransport(fake.handle),
    )
    yield adapter
    await adapter.aclose()


async def test_submission_goes_to_this_providers_queue_host_with_the_webhook(
    adapter: FalAdapter, fake: FakeFal
) -> None:
    request_id = await adapter.submit(
        MODEL, INPUT, SubmitOptions(webhook_url="https://hooks.test/webhooks/sandbox-fal/job-1")
    )

    assert request_id == "req-1"
    assert fake.submits == [
        {
            "app": MODEL,
            "input": INPUT,
            "webhook": "https://hooks.test/webhooks/sandbox-fal/job-1",
        }
    ]
    assert set(fake.hosts) == {"fal-queue.test"}
    # the library's global queue URL was not touched
    assert fal_client.client.QUEUE_URL_FORMAT.startswith("https://queue.fal.run")


async def test_queue_position_and_logs_are_read(adapter: FalAdapter, fake: FakeFal) -> None:
    request_id = await adapter.submit(MODEL, INPUT)
    fake.statuses[request_id] = [
        {"status": "IN_QUEUE", "queue_position": 3},
        {"status": "IN_PROGRESS", "logs": [{"message": "frame 1"}, {"message": "frame 2"}]},
    ]

    queued = await adapter.get(MODEL, request_id)
    running = await adapter.get(MODEL, request_id)

    assert (queued.status, queued.queue_position, queued.progress_key) == (
        "queued",
        3,
        "IN_QUEUE:3",
    )
    assert (running.status, running.logs) == ("running", "frame 1\nframe 2")


async def test_result_is_fetched_as_soon_as_it_completes(
    adapter: FalAdapter, fake: FakeFal
) -> None:
    request_id = await adapter.submit(MODEL, INPUT)
    fake.statuses[request_id] = [{"status": "COMPLETED", "logs": None, "metrics": {}}]
    video = {
        "url": "https://cdn.test/v.mp4",
        "content_type": "video/mp4",
        "file_name": "v.mp4",
        "file_size": 1234,
    }
    fake.results[request_id] = (200, {"video": video, "seed": 42})

    state = await adapter.get(MODEL, request_id)

    assert state.status == "succeeded"
    [output] = state.outputs
    assert (output.url, output.content_type, output.size) == (
        "https://cdn.test/v.mp4",
        "video/mp4",
        1234,
    )


async def test_completed_with_an_error_is_a_failure_with_the_providers_words(
    adapter: FalAdapter, fake: FakeFal
) -> None:
    request_id = await adapter.submit(MODEL, INPUT)
    fake.statuses[request_id] = [
        {"status": "COMPLETED", "logs": None, "error": "CUDA OOM", "error_type": "runner_error"}
    ]

    state = await adapter.get(MODEL, request_id)

    assert state.status == "failed"
    assert state.error == "runner_error: CUDA OOM"
    assert state.failure_code is None  # the model's own failure


@pytest.mark.parametrize("error_type", ["file_download_error", "image_load_error"])
async def test_an_input_file_the_model_could_not_use_is_a_rejected_input(
    adapter: FalAdapter, fake: FakeFal, error_type: str
) -> None:
    request_id = await adapter.submit(MODEL, INPUT)
    fake.statuses[request_id] = [
        {"status": "COMPLETED", "logs": None, "error": "HTTP 403", "error_type": error_type}
    ]

    state = await adapter.get(MODEL, request_id)

    assert (state.status, state.failure_code) == ("failed", "provider_rejected_input")
    assert state.error == f"{error_type}: HTTP 403"


async def test_completed_as_cancelled_is_a_cancel(adapter: FalAdapter, fake: FakeFal) -> None:
    request_id = await adapter.submit(MODEL, INPUT)
    fake.statuses[request_id] = [
        {"status": "COMPLETED", "logs": None, "error": "gone", "error_type": "request_cancelled"}
    ]

    assert (await adapter.get(MODEL, request_id)).status == "canceled"


@pytest.mark.parametrize("body", [{"status": "FAILED"}, {"status": "IN_PROGRESS"}])
async def test_status_the_client_cannot_read_is_a_protocol_error(
    adapter: FalAdapter, fake: FakeFal, body: dict[str, Any]
) -> None:
    request_id = await adapter.submit(MODEL, INPUT)
    fake.statuses[request_id] = [body]  # an unknown word, or IN_PROGRESS without "logs"

    with pytest.raises(PermanentError) as caught:
        await adapter.get(MODEL, request_id)
    assert caught.value.code == "provider_protocol_error"


@pytest.mark.parametrize(
    ("code", "answer", "expected"),
    [
        (202, "CANCELLATION_REQUESTED", "canceled"),
        (400, "ALREADY_COMPLETED", "already_final"),
        (404, "NOT_FOUND", "canceled"),
    ],
)
async def test_cancel_answers_are_understood(
    adapter: FalAdapter, fake: FakeFal, code: int, answer: str, expected: str
) -> None:
    request_id = await adapter.submit(MODEL, INPUT)
    fake.cancel_answers[request_id] = (code, answer)

    assert await adapter.cancel(MODEL, request_id) == expected
    assert fake.cancels == [request_id]


async def test_server_error_on_submit_is_a_retryable_refusal(
    adapter: FalAdapter, fake: FakeFal
) -> None:
    fake.submit_failures.append(
        (500, {"detail": "Runner disconnected", "error_type": "runner_disconnected"}, {})
    )

    with pytest.raises(ProviderBusyError) as caught:
        await adapter.submit(MODEL, INPUT)
    assert caught.value.code == "provider_unavailable"
    assert caught.value.detail == "runner_disconnected: Runner disconnected"
    assert fake.submits == []


async def test_rejected_input_is_permanent_with_the_validation_detail(
    adapter: FalAdapter, fake: FakeFal
) -> None:
    detail = [{"loc": ["body", "duration"], "msg": "too long", "type": "value_error"}]
    fake.submit_failures.append((422, {"detail": detail}, {}))

    with pytest.raises(PermanentError) as caught:
        await adapter.submit(MODEL, INPUT)
    assert caught.value.code == "provider_rejected_input"
    assert "duration" in (caught.value.detail or "")


def test_output_files_are_found_in_any_result_shape() -> None:
    result = {
        "images": [{"url": "https://cdn.test/1.png"}, {"url": "https://cdn.test/2.png"}],
        "audio": {"url": "https://cdn.test/a.wav", "file_size": "big"},
        "seed": 7,
        "prompt": "x",
    }

    files = output_files(result)

    assert [(f.index, f.url) for f in files] == [
        (0, "https://cdn.test/1.png"),
        (1, "https://cdn.test/2.png"),
        (2, "https://cdn.test/a.wav"),
    ]
    assert files[2].size is None
