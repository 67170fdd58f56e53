"""``python -m reelhouse.media``: serve stored objects behind signed, expiring URLs."""

from __future__ import annotations

import sys

import structlog

from reelhouse.common.logging import configure_logging
from reelhouse.common.serving import serve
from reelhouse.common.settings import EXIT_BAD_CONFIG, load_settings
from reelhouse.media.app import build_app
from reelhouse.media.settings import Settings
from reelhouse.media.workers import serve_workers

log = structlog.get_logger(__name__)


def main() -> int:
    settings = load_settings(Settings, service="media")
    configure_logging(level=settings.log.level, json=settings.log.json_output, service="media")
    try:
        app = build_app(settings)
    except ValueError as exc:
        log.error("media.config_invalid", error=str(exc))
        return EXIT_BAD_CONFIG
    if settings.serving.workers > 1:
        # each worker builds its own app from the same environment
        serve_workers(settings.http, workers=settings.serving.workers)
        return 0
    # uvicorn logs through the root logger structlog configured; media.served replaces access logs
    serve(app, settings.http, access_log=False, server_header=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
