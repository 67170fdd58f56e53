"""The embedded launcher as a user runs it: one command, everything up, restarts, clean stop."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx

from tests.support.ports import free_ports, port_open
from tests.support.processes import ServiceProcess, ServiceRunner

START_TIMEOUT = 90.0


def _environment(data_dir: Path) -> tuple[dict[str, str], dict[str, int]]:
    nats, gateway, media, dispatcher, downloader, assembler, sandbox = free_ports(7)
    ports = {
        "nats": nats,
        "gateway": gateway,
        "media": media,
        "dispatcher": dispatcher,
        "downloader": downloader,
        "assembler": assembler,
        "sandbox": sandbox,
    }
    env = {f"REELHOUSE_EMBEDDED__{name.upper()}_PORT": str(port) for name, port in ports.items()}
    env["REELHOUSE_EMBEDDED__DATA_DIR"] = str(data_dir)
    env["REELHOUSE_EMBEDDED__STOP_TIMEOUT_SECONDS"] = "5"
    # a repeated signal within this window is an echo, never a request to kill (the default is
    # 2 s; a busy test machine may take longer than that between two signals)
    env["REELHOUSE_EMBEDDED__FORCE_AFTER_SECONDS"] = "60"
    env["REELHOUSE_LOG__JSON"] = "true"
    return env, ports


def _start(services: ServiceRunner, env: dict[str, str], ports: dict[str, int]) -> ServiceProcess:
    launcher = services.start(
        "embedded",
        env,
        ready_url=f"http://127.0.0.1:{ports['gateway']}/healthz",
        ready_timeout=START_TIMEOUT,
    )
    # the banner comes last, after every part reported ready
    deadline = time.monotonic() + 30
    while "Press Ctrl-C to stop." not in launcher.log_path.read_text():
        assert launcher.running, launcher.log_tail()
        assert time.monotonic() < deadline, launcher.log_tail()
        time.sleep(0.1)
    return launcher


def _child_pids(launcher: ServiceProcess) -> dict[str, int]:
    """The current pid of every part (a restart's ``embedded.started`` replaces the first)."""
    return {r["part"]: r["pid"] for r in launcher.records("embedded.started")}


def _wait_exit(launcher: ServiceProcess, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while launcher.running and time.monotonic() < deadline:
        time.sleep(0.1)
    return launcher.returncode


def test_launcher_runs_the_system_keeps_its_data_and_restarts_a_part_that_dies(
    services: ServiceRunner, tmp_path: Path
) -> None:
    env, ports = _environment(tmp_path / "data")
    gateway = f"http://127.0.0.1:{ports['gateway']}"

    # first run: every part up, the API answers the printed development key
    launcher = _start(services, env, ports)
    dev_key = (tmp_path / "data" / "dev-api-key").read_text().strip()
    assert dev_key in launcher.log_path.read_text()
    auth = {"Authorization": f"Bearer {dev_key}"}
    assert httpx.get(f"{gateway}/v1/models", headers=auth, timeout=10).status_code == 200
    assert set(_child_pids(launcher)) == {
        "nats",
        "sandbox",
        "dispatcher",
        "downloader",
        "assembler",
        "media",
        "gateway",
    }

    # SIGTERM stops everything cleanly
    assert launcher.terminate(timeout=40) == 0
    assert not any(port_open("127.0.0.1", port) for port in ports.values())

    # second run on the same data directory: same key
    again = _start(services, env, ports)
    assert (tmp_path / "data" / "dev-api-key").read_text().strip() == dev_key
    assert httpx.get(f"{gateway}/v1/models", headers=auth, timeout=10).status_code == 200

    # a part that dies is started again while the rest carry on
    killed = _child_pids(again)["media"]
    os.kill(killed, signal.SIGKILL)
    again.wait_logged("embedded.part_restarting", timeout=30, part="media", code=-9, attempt=1)
    again.wait_logged("embedded.part_restarted", timeout=60, part="media")
    assert _child_pids(again)["media"] != killed
    assert httpx.get(f"http://127.0.0.1:{ports['media']}/healthz", timeout=10).status_code == 200
    assert again.running

    # a double Ctrl-C (the terminal and `uv run` both deliver it; the kernel may merge two
    # signals sent at once, so one more follows the first that was handled) stops gracefully
    assert again.pid is not None
    os.kill(again.pid, signal.SIGINT)
    os.kill(again.pid, signal.SIGINT)
    again.wait_logged("embedded.stopping", timeout=10, signal="SIGINT")
    os.kill(again.pid, signal.SIGINT)
    assert _wait_exit(again, 60) == 0, again.log_tail()
    assert again.records("embedded.signal_ignored")
    assert not again.records("embedded.kill_requested")
    assert not again.records("embedded.kill")
    stopped = {r["part"]: r["code"] for r in again.records("embedded.stopped")}
    assert set(stopped) == set(_child_pids(again)), stopped
    assert -signal.SIGKILL not in stopped.values(), stopped
    assert not any(port_open("127.0.0.1", port) for port in ports.values())
