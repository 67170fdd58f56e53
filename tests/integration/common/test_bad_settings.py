"""A bad setting stops every service at start-up with exit status 2, naming the variable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reelhouse.common.settings import EXIT_BAD_CONFIG

pytestmark = pytest.mark.timeout(120)

# one bad value each service reads (the downloader and the launcher have no HTTP port of theirs)
BAD_VALUES = {
    "gateway": ("REELHOUSE_HTTP__PORT", "notaport"),
    "dispatcher": ("REELHOUSE_NATS__MAX_DELIVER", "0"),
    "downloader": ("REELHOUSE_NATS__MAX_DELIVER", "0"),
    "media": ("REELHOUSE_HTTP__PORT", "notaport"),
    "sandbox": ("REELHOUSE_HTTP__PORT", "70000"),
    "embedded": ("REELHOUSE_EMBEDDED__GATEWAY_PORT", "notaport"),
}


def test_every_service_names_the_bad_variable_and_exits_2(tmp_path: Path) -> None:
    # started together: each is a Python start-up of a second or two
    running = {
        role: subprocess.Popen(
            [sys.executable, "-m", f"reelhouse.{role}"],
            env={
                **os.environ,
                variable: value,
                "REELHOUSE_LOG__JSON": "true",
                # never let a service that wrongly starts touch the working directory
                "REELHOUSE_EMBEDDED__DATA_DIR": str(tmp_path / "embedded"),
                "REELHOUSE_DATA_DIR": str(tmp_path / "sandbox"),
                "REELHOUSE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'never.db'}",
            },
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for role, (variable, value) in BAD_VALUES.items()
    }
    outputs: dict[str, tuple[int, str]] = {}
    try:
        for role, process in running.items():
            output, _ = process.communicate(timeout=60)
            outputs[role] = (process.returncode, output)
    finally:
        for process in running.values():
            if process.poll() is None:
                process.kill()
                process.wait()

    for role, (code, output) in outputs.items():
        variable, _ = BAD_VALUES[role]
        assert code == EXIT_BAD_CONFIG, f"{role} exited {code}:\n{output}"
        assert "Traceback" not in output, f"{role}:\n{output}"
        [line] = [line for line in output.splitlines() if '"config.invalid"' in line]
        record = json.loads(line)
        assert record["service"] == role
        assert any(problem.startswith(f"{variable}: ") for problem in record["problems"]), record
    assert not (tmp_path / "never.db").exists()
