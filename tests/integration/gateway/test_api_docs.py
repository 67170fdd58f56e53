"""``/docs`` works offline: the page references only the gateway's own URLs, which serve the assets."""

from __future__ import annotations

import re

from tests.integration.gateway.harness import Gateway


async def test_docs_reference_only_local_assets_that_answer(gateway: Gateway) -> None:
    page = await gateway.client.get("/docs")

    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: *["']([^"']+)["']""", page.text)
    found = [u for pair in urls for u in pair if u]
    assert found, page.text
    assert not [u for u in found if "://" in u or u.startswith("//")], found
    kinds = {}
    for url in found:
        response = await gateway.client.get(url)
        assert response.status_code == 200, url
        kinds[url.rsplit(".", 1)[-1]] = response.headers["content-type"]
    assert "javascript" in kinds["js"]
    assert "text/css" in kinds["css"]
    assert "json" in kinds["json"]


async def test_redoc_is_not_served_from_a_cdn(gateway: Gateway) -> None:
    assert (await gateway.client.get("/redoc")).status_code == 404
