"""``python -m bench.media_variants``: the media app with another S3 reader or ASGI server.

The app is the service's own ``build_app`` with its settings from the same
``REELHOUSE_`` environment; only the store it reads through (``--reader``: the
candidates in ``bench/media_readers.py``), the server (``--server``: uvicorn as
the service runs it, or granian) and granian's worker processes (``--workers``)
change.
"""

from __future__ import annotations

import argparse
import os

import uvicorn
from granian.constants import Interfaces, Loops
from granian.server import Server
from starlette.types import ASGIApp

from bench.media_readers import AiobotocoreReader, AiohttpReader, ObstoreReader
from reelhouse.common.logging import configure_logging
from reelhouse.common.storage import ObjectStore
from reelhouse.media.app import build_app
from reelhouse.media.settings import Settings

READER_VARIABLE = "BENCH_MEDIA_READER"
READERS = ("default", "obstore", "aiobotocore", "aiohttp")


def _store(settings: Settings, reader: str) -> ObjectStore | None:
    s3 = settings.storage.s3
    connections = settings.delivery.s3_max_connections
    if reader == "obstore":
        return ObstoreReader(s3, max_connections=connections)
    if reader == "aiobotocore":
        return AiobotocoreReader(s3, max_connections=connections)
    if reader == "aiohttp":
        return AiohttpReader(s3, max_connections=connections)
    return None


def factory() -> ASGIApp:
    """The app for one worker process (the reader named in ``BENCH_MEDIA_READER``)."""
    settings = Settings()
    configure_logging(level=settings.log.level, json=settings.log.json_output, service="media")
    return build_app(settings, store=_store(settings, os.environ.get(READER_VARIABLE, "default")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reader", choices=READERS, default="default")
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="granian worker processes (uvicorn's: the service's REELHOUSE_SERVING__WORKERS)",
    )
    args = parser.parse_args()
    os.environ[READER_VARIABLE] = args.reader
    http = Settings().http
    if args.server == "granian":
        Server(
            "bench.media_variants:factory",
            address=http.host,
            port=http.port,
            interface=Interfaces.ASGI,
            workers=args.workers,
            loop=Loops.uvloop,
            factory=True,
            log_access=False,
        ).serve()
        return
    uvicorn.run(
        "bench.media_variants:factory",
        factory=True,
        host=http.host,
        port=http.port,
        log_config=None,
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
