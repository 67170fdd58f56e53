"""The human greeting printed once everything is ready."""

from __future__ import annotations

from reelhouse.embedded.environment import Addresses, Layout


def banner(addresses: Addresses, layout: Layout, *, dev_api_key: str, web_ok: bool = True) -> str:
    web = (
        addresses.web
        if web_ok
        else f"{addresses.web}   (not answering: the gateway serves no web UI yet)"
    )
    return "\n".join(
        [
            "",
            "reelhouse is running (embedded mode: local NATS, SQLite, local disk, sandbox provider)",
            f"  API       {addresses.gateway}   (OpenAPI docs: {addresses.gateway}/docs)",
            f"  web page  {web}",
            f"  media     {addresses.media}",
            f"  sandbox   {addresses.sandbox}",
            f"  NATS      {addresses.nats_url}",
            f"  data      {layout.root}",
            f"  dev API key  {dev_api_key}   (also in {layout.root / 'dev-api-key'})",
            "",
            "  try:  curl -H 'Authorization: Bearer "
            + dev_api_key
            + f"' {addresses.gateway}/v1/models",
            "",
            "Press Ctrl-C to stop.",
            "",
        ]
    )
