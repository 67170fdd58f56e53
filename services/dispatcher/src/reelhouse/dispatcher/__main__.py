"""``python -m reelhouse.dispatcher``: the only place that reads the environment."""

from __future__ import annotations

from reelhouse.common.logging import configure_logging
from reelhouse.common.serving import serve
from reelhouse.common.settings import load_settings
from reelhouse.dispatcher.app import build_app
from reelhouse.dispatcher.settings import Settings


def main() -> None:
    settings = load_settings(Settings, service="dispatcher")
    configure_logging(level=settings.log.level, json=settings.log.json_output, service="dispatcher")
    serve(build_app(settings), settings.http, ws="none", access_log=False, lifespan="on")


if __name__ == "__main__":
    main()
