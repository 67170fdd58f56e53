"""Audio end to end: a text-to-music job is stored and served like any output, as audio."""

from __future__ import annotations

import hashlib
import io

import av
import httpx
import pytest

from tests.e2e.conftest import EmbeddedSystem
from tests.e2e.jobs import submit, wait_final
from tests.e2e.media_checks import top_level_boxes

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.mark.parametrize("model", ["sandbox/text-to-music", "sandbox-fal/text-to-music"])
def test_music_is_stored_and_served_as_audio(system: EmbeddedSystem, model: str) -> None:
    with system.client() as client:
        job = submit(client, model, {"prompt": "a slow waltz by the sea", "duration": 4})
        final, _ = wait_final(client, job["id"], timeout=120)

    assert final["status"] == "succeeded", final
    [output] = final["outputs"]
    assert output["kind"] == "audio"
    assert output["content_type"] == "audio/mp4"
    assert output["duration"] == pytest.approx(4.0, abs=0.1)
    assert (output["width"], output["height"]) == (None, None)
    cost = final["cost"]
    assert (cost["basis"], cost["unit_usd"], cost["simulated"]) == ("second", 0.001, True)
    assert cost["actual_usd"] == pytest.approx(0.004, abs=1e-4)

    with httpx.Client(timeout=30.0) as browser:
        served = browser.get(output["url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "audio/mp4"
    body = served.content
    assert hashlib.sha256(body).hexdigest() == output["sha256"]
    boxes = top_level_boxes(body)
    assert boxes.index("moov") < boxes.index("mdat"), boxes
    with av.open(io.BytesIO(body), mode="r") as container:
        assert not container.streams.video
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "aac"
        samples = sum(frame.samples for frame in container.decode(stream))
    assert samples / stream.rate == pytest.approx(4.0, abs=0.1)
