"""``python -m reelhouse.downloader``: the only place that reads the environment."""

from __future__ import annotations

import asyncio
import sys

import structlog
from pydantic import ValidationError

from reelhouse.common.logging import configure_logging
from reelhouse.downloader.app import build_app
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
    asyncio.run(build_app(settings).run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
