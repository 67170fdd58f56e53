"""``python -m reelhouse.dispatcher``: the only place that reads the environment."""

from __future__ import annotations

import signal
import sys
from types import FrameType

import uvicorn

from reelhouse.common.logging import configure_logging
from reelhouse.common.settings import load_settings
from reelhouse.dispatcher.app import build_app
from reelhouse.dispatcher.settings import Settings


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)


def main() -> None:
    settings = load_settings(Settings, service="dispatcher")
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again with the
    # handler it found: make that one a clean exit (status 0) for supervisors
    signal.signal(signal.SIGTERM, _exit_cleanly)
    configure_logging(level=settings.log.level, json=settings.log.json_output, service="dispatcher")
    uvicorn.run(
        build_app(settings),
        host=settings.http.host,
        port=settings.http.port,
        log_config=None,
        ws="none",
        access_log=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
