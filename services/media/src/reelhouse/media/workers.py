"""Several media server processes sharing one listening socket (``REELHOUSE_SERVING__WORKERS``).

One uvicorn process proxies at most about one core's worth of bytes (ADR 0010). With
``workers`` above 1 the socket is bound here, in the parent, and uvicorn's supervisor
starts that many worker processes, each building the app from the same environment
(``worker_app``) and accepting from the shared socket; the kernel spreads connections
among them. The supervisor restarts a worker that dies and stops them all on SIGTERM.
"""

from __future__ import annotations

import structlog
import uvicorn
from uvicorn.supervisors import Multiprocess

from reelhouse.common.logging import configure_logging
from reelhouse.common.metrics import HttpMetricsMiddleware
from reelhouse.common.serving import bound_address, write_port_file
from reelhouse.common.settings import HttpSettings, load_settings
from reelhouse.media.app import build_app
from reelhouse.media.settings import Settings

log = structlog.get_logger(__name__)


def worker_app() -> HttpMetricsMiddleware:
    """The app of one worker process (uvicorn calls this factory in each of them)."""
    settings = load_settings(Settings, service="media")
    configure_logging(level=settings.log.level, json=settings.log.json_output, service="media")
    return build_app(settings)


def serve_workers(http: HttpSettings, *, workers: int) -> None:
    """Serve ``worker_app`` from ``workers`` processes until a signal stops them."""
    config = uvicorn.Config(
        f"{__name__}:worker_app",
        factory=True,
        host=http.host,
        port=http.port,
        workers=workers,
        log_config=None,
        access_log=False,
        server_header=False,
    )
    sock = config.bind_socket()
    host, port = bound_address([sock])
    if http.port_file is not None:
        write_port_file(http.port_file, port)
    log.info("http.listening", host=host, port=port, workers=workers)
    Multiprocess(config, sockets=[sock]).run()
