"""``python -m reelhouse.gateway``: the only place that reads the environment.

python -m reelhouse.gateway                                  # serve the API
python -m reelhouse.gateway keys create --owner alice        # print a new API key once
python -m reelhouse.gateway keys list [--owner alice]        # keys, never the keys themselves
python -m reelhouse.gateway keys revoke <id>                 # the key stops working at once
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import structlog

from reelhouse.common.logging import configure_logging
from reelhouse.common.serving import serve
from reelhouse.common.settings import load_settings
from reelhouse.gateway.app import SERVICE, build_app
from reelhouse.gateway.auth import cli as key_cli
from reelhouse.gateway.catalog.loader import CatalogError
from reelhouse.gateway.settings import Settings


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m reelhouse.gateway")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve the API (the default)")
    key_cli.add_commands(commands)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(argv)
    settings = load_settings(Settings, service=SERVICE)
    configure_logging(level=settings.log.level, json=settings.log.json_output, service=SERVICE)
    if args.command in ("keys", "create-key"):
        code = key_cli.run(args, database_url=settings.database_url, out=sys.stdout, err=sys.stderr)
        if code:
            raise SystemExit(code)
        return
    try:
        app = build_app(settings)
    except CatalogError as exc:
        structlog.get_logger(__name__).error("gateway.catalog_invalid", error=str(exc))
        raise SystemExit(f"reelhouse gateway: {exc}") from exc
    # SSE streams end as soon as the server starts to shut down, so it never waits on them
    serve(app, settings.http, proxy_headers=True, on_shutdown=app.state.live_hub.close)


if __name__ == "__main__":
    main()
