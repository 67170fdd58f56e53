"""What a person with curl or a browser meets first: `curl -d` bodies and the web page."""

from __future__ import annotations

import pytest

from tests.integration.gateway.harness import Gateway

BODY = '{"model":"sandbox/text-to-video","input":{"prompt":"a red fox in snow","duration":3}}'


@pytest.mark.parametrize(
    "content_type", [None, "application/x-www-form-urlencoded", "application/json"]
)
async def test_curl_dash_d_json_body_is_accepted_whatever_type_curl_guessed(
    gateway: Gateway, content_type: str | None
) -> None:
    headers = gateway.auth()
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = await gateway.client.post("/v1/generations", content=BODY, headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["input"]["prompt"] == "a red fox in snow"


async def test_form_encoded_body_that_is_not_json_is_a_precise_400(gateway: Gateway) -> None:
    # undecodable bodies are all 400 malformed_body (body_guard.py), whatever the type said
    headers = {**gateway.auth(), "Content-Type": "application/x-www-form-urlencoded"}
    response = await gateway.client.post(
        "/v1/generations", content="model=sandbox%2Ftext-to-video", headers=headers
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"


async def test_other_declared_types_are_not_reinterpreted(gateway: Gateway) -> None:
    headers = {**gateway.auth(), "Content-Type": "text/plain"}
    response = await gateway.client.post("/v1/generations", content=BODY, headers=headers)
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


async def test_web_page_is_served_and_loads_its_modules(gateway: Gateway) -> None:
    response = await gateway.client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/app.js">' in response.text
    for hook in ("api-key", "model", "submit"):
        assert f'data-testid="{hook}"' in response.text


@pytest.mark.parametrize(
    ("path", "content_type", "contains"),
    [
        ("/static/app.js", "text/javascript; charset=utf-8", "/v1/events"),
        ("/static/api.js", "text/javascript; charset=utf-8", "/v1/generations"),
        ("/static/app.css", "text/css; charset=utf-8", ".cards"),
    ],
)
async def test_web_assets_are_served_with_their_types_and_revalidated(
    gateway: Gateway, path: str, content_type: str, contains: str
) -> None:
    response = await gateway.client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert contains in response.text

    again = await gateway.client.get(path, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    "path", ["/static/nope.js", "/static/__init__.py", "/static/../routes.py", "/static/"]
)
async def test_only_the_web_assets_are_served(gateway: Gateway, path: str) -> None:
    response = await gateway.client.get(path)
    assert response.status_code == 404
