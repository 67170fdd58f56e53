"""The Replicate adapter, with the official client talking to an in-process fake API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from reelhouse.common.errors import PermanentError, ReelhouseError, TransientError
from reelhouse.dispatcher.providers.base import ProviderBusyError, SubmitOptions
from reelhouse.dispatcher.providers.replicate import ReplicateAdapter
from reelhouse.dispatcher.providers.replicate_wire import output_urls, parse_model_ref
from tests.unit.dispatcher.replicate_fake import FakeReplicate

MODEL = "sandbox/text-to-video"
INPUT: dict[str, Any] = {"prompt": "a lighthouse at dusk"}


@pytest.fixture
def fake() -> FakeReplicate:
    return FakeReplicate()


@pytest.fixture
async def adapter(fake: FakeReplicate) -> AsyncIterator[ReplicateAdapter]:
    adapter = ReplicateAdapter(
        "sandbox",
        base_url=fake.base_url,
        api_token="test-token",
        transport=httpx.MockTransport(fake.handle),
    )
    yield adapter
    await adapter.aclose()


async def test_model_reference_is_submitted_to_the_model_endpoint(
    adapter: ReplicateAdapter, fake: FakeReplicate
) -> None:
    request_id = await adapter.submit(MODEL, {**INPUT, "duration": 2})

    assert request_id in fake.predictions
    [sent] = fake.create_requests
    assert sent["path"] == "/v1/models/sandbox/text-to-video/predictions"
    assert sent["input"] == {"prompt": "a lighthouse at dusk", "duration": 2}
    assert "version" not in sent


async def test_versioned_reference_is_submitted_to_the_predictions_endpoint(
    adapter: ReplicateAdapter, fake: FakeReplicate
) -> None:
    await adapter.submit(
        "acme/video:5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa", INPUT
    )

    [sent] = fake.create_requests
    assert sent["path"] == "/v1/predictions"
    assert sent["version"] == "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"


async def test_webhook_url_is_passed_through_when_given(
    adapter: ReplicateAdapter, fake: FakeReplicate
) -> None:
    await adapter.submit(
        MODEL,
        INPUT,
        SubmitOptions(webhook_url="https://hooks.example/replicate", cancel_after_seconds=90.5),
    )

    [sent] = fake.create_requests
    assert sent["webhook"] == "https://hooks.example/replicate"
    assert sent["webhook_events_filter"] == ["start", "output", "completed"]
    assert sent["cancel_after"] == "90s"


async def test_no_webhook_and_no_deadline_header_unless_asked(
    adapter: ReplicateAdapter, fake: FakeReplicate
) -> None:
    await adapter.submit(MODEL, INPUT)

    [sent] = fake.create_requests
    assert "webhook" not in sent
    assert sent["cancel_after"] is None


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("owner/name", ("owner/name", None)),
        ("owner/name:abc123", ("owner/name", "abc123")),
    ],
)
def test_model_references_parse(ref: str, expected: tuple[str, str | None]) -> None:
    assert parse_model_ref(ref) == expected


@pytest.mark.parametrize("ref", ["name-only", "owner/", "/name", "a/b/c", "owner/name:"])
def test_malformed_model_reference_is_permanent(ref: str) -> None:
    with pytest.raises(PermanentError) as caught:
        parse_model_ref(ref)
    assert caught.value.code == "unknown_model"


@pytest.mark.parametrize(
    ("fields", "status", "outputs"),
    [
        ({"status": "starting"}, "queued", []),
        ({"status": "processing", "logs": "50% |█████     | 5/10"}, "running", []),
        (
            {"status": "succeeded", "output": ["https://cdn.test/a.mp4"]},
            "succeeded",
            ["https://cdn.test/a.mp4"],
        ),
        (
            {"status": "succeeded", "output": "https://cdn.test/b.png"},
            "succeeded",
            ["https://cdn.test/b.png"],
        ),
        ({"status": "canceled"}, "canceled", []),
    ],
)
async def test_prediction_states_are_normalised(
    adapter: ReplicateAdapter,
    fake: FakeReplicate,
    fields: dict[str, Any],
    status: str,
    outputs: list[str],
) -> None:
    request_id = await adapter.submit(MODEL, INPUT)
    fake.set_state(request_id, **fields)

    state = await adapter.get(MODEL, request_id)

    assert state.request_id == request_id
    assert state.status == status
    assert state.raw_status == fields["status"]
    assert [o.url for o in state.outputs] == outputs


async def test_failed_prediction_carries_the_model_error(
    adapter: ReplicateAdapter, fake: FakeReplicate
) -> None:
    request_id = await adapter.submit(MODEL, INPUT)
    fake.set_state(request_id, status="failed", error="CUDA out of memory")

    state = await adapter.get(MODEL, request_id)

    assert (state.status, state.error) == ("failed", "CUDA out of memory")


async def test_aborted_status_the_client_rejects_is_read_from_the_raw_json(
    adapter: ReplicateAdapter, fake: FakeReplicate
) -> None:
    request_id = await adapter.submit(MODEL, INPUT)
    fake.set_state(request_id, status="aborted")

    state = await adapter.get(MODEL, request_id)

    assert (state.status, state.raw_status) == ("failed", "aborted")
    assert state.failure_code == "provider_timeout"
    assert state.error is not None
    assert "aborted" in state.error


async def test_prediction_with_null_url_is_still_read(
    adapter: ReplicateAdapter, fake: FakeReplicate
) -> None:
    request_id = await adapter.submit(MODEL, INPUT)
    fake.set_state(request_id, status="processing", urls={"get": "x", "stream": None})

    assert (await adapter.get(MODEL, request_id)).status == "running"


async def test_unknown_status_is_a_protocol_error(
    adapter: ReplicateAdapter, fake: FakeReplicate
) -> None:
    request_id = await adapter.submit(MODEL, INPUT)
    fake.set_state(request_id, status="exploded")

    with pytest.raises(PermanentError) as caught:
        await adapter.get(MODEL, request_id)
    assert caught.value.code == "provider_protocol_error"
    assert "exploded" in (caught.value.detail or "")


async def test_html_instead_of_json_is_a_protocol_error(
    adapter: ReplicateAdapter, fake: FakeReplicate
) -> None:
    request_id = await adapter.submit(MODEL, INPUT)
    fake.fail_next("get", 200, "<html>maintenance</html>", content_type="text/html")

    with pytest.raises(PermanentError) as caught:
        await adapter.get(MODEL, request_id)
    assert caught.value.code == "provider_protocol_error"


async def test_cancel_reaches_the_provider(adapter: ReplicateAdapter, fake: FakeReplicate) -> None:
    request_id = await adapter.submit(MODEL, INPUT)

    answer = await adapter.cancel(MODEL, request_id)

    assert answer == "canceled"
    assert fake.cancels == [request_id]


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        (400, PermanentError, "provider_rejected_input"),
        (401, PermanentError, "provider_rejected_input"),
        (403, PermanentError, "provider_rejected_input"),
        (404, PermanentError, "provider_rejected_input"),
        (422, PermanentError, "provider_rejected_input"),
        (429, ProviderBusyError, "provider_rate_limited"),
        (500, ProviderBusyError, "provider_unavailable"),
        (502, ProviderBusyError, "provider_unavailable"),
        (503, ProviderBusyError, "provider_unavailable"),
    ],
)
async def test_http_errors_map_to_the_catalogue(
    adapter: ReplicateAdapter,
    fake: FakeReplicate,
    status: int,
    kind: type[ReelhouseError],
    code: str,
) -> None:
    fake.fail_next("create", status, {"title": "Nope", "status": status, "detail": f"why {status}"})

    with pytest.raises(ReelhouseError) as caught:
        await adapter.submit(MODEL, INPUT)

    assert type(caught.value) is kind
    assert caught.value.code == code
    assert caught.value.detail == f"why {status}"
    assert fake.predictions == {}


async def test_bad_token_is_permanent_and_says_so(fake: FakeReplicate) -> None:
    adapter = ReplicateAdapter(
        "replicate",
        base_url=fake.base_url,
        api_token="wrong",
        transport=httpx.MockTransport(fake.handle),
    )
    with pytest.raises(PermanentError) as caught:
        await adapter.submit(MODEL, INPUT)
    assert "credentials" in caught.value.message
    await adapter.aclose()


async def test_throttled_poll_is_retried_by_the_client(
    adapter: ReplicateAdapter, fake: FakeReplicate
) -> None:
    request_id = await adapter.submit(MODEL, INPUT)
    fake.fail_next("get", 503, times=2)

    state = await adapter.get(MODEL, request_id)

    assert state.status == "queued"
    assert fake.faults_served == 2


async def test_unreachable_provider_is_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    adapter = ReplicateAdapter(
        "sandbox", base_url="http://down.test", api_token="t", transport=httpx.MockTransport(refuse)
    )
    with pytest.raises(TransientError) as caught:
        await adapter.get(MODEL, "p1")
    assert caught.value.code == "provider_unavailable"
    await adapter.aclose()


async def test_slow_provider_is_cut_off_and_transient() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(500)

    adapter = ReplicateAdapter(
        "sandbox",
        base_url="http://slow.test",
        api_token="t",
        timeout_seconds=0.05,
        transport=httpx.MockTransport(hang),
    )
    with pytest.raises(TransientError) as caught:
        await adapter.get(MODEL, "p1")
    assert caught.value.code == "provider_unavailable"
    await adapter.aclose()


@pytest.mark.parametrize(
    ("output", "urls"),
    [
        (None, []),
        ("https://a.test/x.mp4", ["https://a.test/x.mp4"]),
        (
            ["https://a.test/1.png", "http://b.test/2.png"],
            ["https://a.test/1.png", "http://b.test/2.png"],
        ),
        ({"video": "https://a.test/v.mp4", "seed": 42}, ["https://a.test/v.mp4"]),
        (["not a url", 3], []),
        ("data:video/mp4;base64,AAAA", ["data:video/mp4;base64,AAAA"]),
    ],
)
def test_output_urls_are_found_in_any_output_shape(output: Any, urls: list[str]) -> None:
    assert output_urls(output) == urls


async def test_rate_limit_on_create_carries_the_providers_retry_after(
    adapter: ReplicateAdapter, fake: FakeReplicate
) -> None:
    fake.fail_next("create", 429, headers={"Retry-After": "7"})

    with pytest.raises(ProviderBusyError) as caught:
        await adapter.submit(MODEL, INPUT)

    assert caught.value.retry_after_seconds == 7.0
    assert fake.predictions == {}


@pytest.mark.parametrize(
    ("fields", "answer"),
    [
        ({"status": "starting"}, "canceled"),  # the fake cancels whatever is not final
        ({"status": "succeeded", "output": ["https://cdn.test/a.mp4"]}, "already_final"),
        ({"status": "failed", "error": "boom"}, "already_final"),
    ],
)
async def test_cancel_answer_tells_a_confirmed_cancel_from_a_lost_race(
    adapter: ReplicateAdapter, fake: FakeReplicate, fields: dict[str, Any], answer: str
) -> None:
    request_id = await adapter.submit(MODEL, INPUT)
    fake.set_state(request_id, **fields)

    assert await adapter.cancel(MODEL, request_id) == answer


async def test_cancel_accepted_for_later_is_pending(
    adapter: ReplicateAdapter, fake: FakeReplicate
) -> None:
    request_id = await adapter.submit(MODEL, INPUT)
    fake.fail_next("cancel", 200, {**fake.predictions[request_id], "status": "processing"})

    assert await adapter.cancel(MODEL, request_id) == "pending"


async def test_cancel_of_an_aborted_prediction_is_read_from_the_raw_json(
    adapter: ReplicateAdapter, fake: FakeReplicate
) -> None:
    request_id = await adapter.submit(MODEL, INPUT)
    fake.set_state(request_id, status="aborted")

    assert await adapter.cancel(MODEL, request_id) == "already_final"


async def test_webhook_secret_is_fetched_from_the_provider(
    adapter: ReplicateAdapter, fake: FakeReplicate
) -> None:
    assert await adapter.webhook_secret() == fake.webhook_secret
