"""Read a service's ``/metrics`` the way Prometheus does (``prometheus_client.parser``)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


def parse(text: str) -> list[Sample]:
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


async def scrape(client: httpx.AsyncClient, base_url: str) -> list[Sample]:
    response = await client.get(f"{base_url}/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def value(samples: list[Sample], name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels`` (0 when none match)."""
    return sum(s.value for s in samples if s.name == name and _matches(s.labels, labels))


def _matches(have: Mapping[str, str], want: Mapping[str, str]) -> bool:
    return all(have.get(key) == expected for key, expected in want.items())
