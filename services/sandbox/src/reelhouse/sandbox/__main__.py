"""``python -m reelhouse.sandbox``: the sandbox provider on REELHOUSE_HTTP__HOST/PORT."""

from __future__ import annotations

from reelhouse.common.logging import configure_logging
from reelhouse.common.serving import serve
from reelhouse.common.settings import load_settings
from reelhouse.sandbox.app import build_app
from reelhouse.sandbox.settings import Settings


def main() -> None:
    settings = load_settings(Settings, service="sandbox")
    configure_logging(level=settings.log.level, json=settings.log.json_output, service="sandbox")
    serve(build_app(settings), settings.http, ws="none", access_log=False)


if __name__ == "__main__":
    main()
