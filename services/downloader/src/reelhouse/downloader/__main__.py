"""``python -m reelhouse.downloader``: the only place that reads the environment."""

from __future__ import annotations

import asyncio
import sys

from reelhouse.common.logging import configure_logging
from reelhouse.common.settings import load_settings
from reelhouse.downloader.app import build_app
from reelhouse.downloader.settings import Settings


def main() -> int:
    settings = load_settings(Settings, service="downloader")
    configure_logging(level=settings.log.level, json=settings.log.json_output, service="downloader")
    asyncio.run(build_app(settings).run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
