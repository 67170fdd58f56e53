"""Upload references reach the provider as short-lived signed media URLs, never as themselves."""

from __future__ import annotations

import time
import uuid
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from pydantic import SecretStr

from reelhouse.common.events import GenerationRequested, GenerationSubmitted
from reelhouse.common.settings import SigningSettings
from reelhouse.common.signing import UrlSigner
from tests.integration.dispatcher.conftest import dispatcher_settings, running_dispatcher
from tests.support.nats import NatsServer
from tests.unit.dispatcher.replicate_fake import FakeReplicate

PUBLIC_MEDIA = "https://media.example.com"
SECRET = "dispatcher-test-signing-secret"
TTL = 600


async def test_the_provider_gets_a_signed_url_under_the_public_media_base(
    nats_server: NatsServer, fake_provider: FakeReplicate, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = dispatcher_settings(
        nats_server.url,
        fake_provider.base_url,
        signing=SigningSettings(keys={"k9": SecretStr(SECRET)}, active_key_id="k9"),
        public_media_base_url=PUBLIC_MEDIA,
        upload_url_ttl_seconds=TTL,
    )
    upload_id = "upl_" + uuid.uuid4().hex
    reference, key = f"upload://{upload_id}", f"uploads/dev/{upload_id}.png"
    job = GenerationRequested(
        job_id=f"job-{uuid.uuid4().hex[:12]}",
        owner_id="dev",
        model="sandbox/image-to-video",
        provider="sandbox",
        provider_model="sandbox/image-to-video",
        input={"prompt": "zoom", "image": reference, "extra": {"frames": [reference, "keep"]}},
        input_objects={reference: key},
        deadline_seconds=60,
    )

    async with running_dispatcher(nats_server.url, settings=settings) as bus:
        await bus.publish(job)
        await bus.wait_for(job.job_id, GenerationSubmitted)

    [prediction] = fake_provider.predictions.values()
    sent = prediction["input"]
    url = sent["image"]
    assert url.startswith(f"{PUBLIC_MEDIA}/o/")
    assert sent["extra"]["frames"] == [url, "keep"]
    assert sent["prompt"] == "zoom"
    parts = urlsplit(url)
    assert unquote(parts.path) == f"/o/{key}"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    signer = UrlSigner({"k9": SECRET.encode()}, "k9")
    expires = signer.verify(key, exp=query["exp"], kid=query["kid"], sig=query["sig"])
    assert expires <= time.time() + TTL + 1
    # the signature is a bearer credential: no log line carries it (the upload id is fine)
    logged = capsys.readouterr()
    assert query["sig"] not in logged.out + logged.err
    assert upload_id in logged.out + logged.err
