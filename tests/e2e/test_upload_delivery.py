"""``make run``: an upload is stored where the media service serves it, behind its signed URL."""

from __future__ import annotations

import hashlib

import httpx

from tests.e2e.conftest import EmbeddedSystem
from tests.unit.gateway.upload_samples import png_bytes


def test_an_upload_is_served_by_the_media_service_until_deleted(system: EmbeddedSystem) -> None:
    with system.client() as client:
        created = client.post(
            "/v1/uploads", files={"file": ("frame.png", png_bytes(96, 64), "image/png")}
        )
        assert created.status_code == 201, created.text
        upload = created.json()
        assert upload["url"].startswith(f"{system.media}/o/uploads/dev/{upload['id']}.png?")

        served = httpx.get(upload["url"], timeout=10.0)
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/png"
        assert hashlib.sha256(served.content).hexdigest() == upload["sha256"]

        assert client.delete(f"/v1/uploads/{upload['id']}").status_code == 204
        assert httpx.get(upload["url"], timeout=10.0).status_code == 404
