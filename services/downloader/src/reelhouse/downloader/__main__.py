"""``python -m reelhouse.downloader``: the only place that reads the environment."""

from __future__ import annotations

import sys

import structlog
from pydantic import ValidationError

from reelhouse.common.logging import configure_logging
from reelhouse.common.serving import serve
from reelhouse.downloader.server import build_server
from reelhouse.downloader.settings import Settings

log = structlog.get_logger(__name__)


def main() -> int:
    try:
        settings = Settings()
    except ValidationError as exc:
        configure_logging(service="downloader")
        log.error("download.config_invalid", error=str(exc))
        return 2
    configure_logging(level=settings.log.level, json=settings.log.json_output, service="downloader")
    serve(build_server(settings), settings.http, ws="none", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
