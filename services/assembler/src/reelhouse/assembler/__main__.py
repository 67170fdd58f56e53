"""``python -m reelhouse.assembler``: the only place that reads the environment."""

from __future__ import annotations

import sys

from reelhouse.assembler.server import build_server
from reelhouse.assembler.settings import Settings
from reelhouse.common.logging import configure_logging
from reelhouse.common.serving import serve
from reelhouse.common.settings import load_settings


def main() -> int:
    settings = load_settings(Settings, service="assembler")
    configure_logging(level=settings.log.level, json=settings.log.json_output, service="assembler")
    serve(build_server(settings), settings.http, ws="none", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
