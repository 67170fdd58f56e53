"""``python -m reelhouse.gateway keys create|list|revoke`` and the older ``create-key``.

The command line runs as processes of its own, on one backend (PostgreSQL with
TEST_DATABASE_URL, else SQLite): its queries are the API's, which test_keys_api.py runs on both.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from tests.integration.gateway.harness import Gateway

CLI_SECONDS = 60


@pytest.fixture
def database_url(process_database_url: str) -> str:
    """The gateway's database (the command line's too): one backend, not both."""
    return process_database_url


async def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REELHOUSE_DATABASE_URL": database_url, "REELHOUSE_LOG__JSON": "true"}
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "reelhouse.gateway", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_SECONDS,
        check=False,
    )


async def test_create_list_and_revoke_from_the_command_line(gateway: Gateway) -> None:
    url = gateway.settings.database_url

    created = await cli(
        url,
        "keys", "create", "--owner", "alice", "--name", "ci",
        "--scopes", "read", "--expires-at", "2099-01-01T00:00:00Z",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("rh_")
    assert "\n" not in key
    reads = await gateway.client.get("/v1/generations", headers=gateway.auth(key))
    submits = await gateway.client.post(
        "/v1/generations", json={"model": "sandbox/text-to-video"}, headers=gateway.auth(key)
    )
    assert reads.status_code == 200
    assert submits.status_code == 403

    listed = await cli(url, "keys", "list", "--owner", "alice")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.strip().splitlines()
    assert lines[0].split("\t")[:5] == ["id", "prefix", "owner", "name", "scopes"]
    row = lines[1].split("\t")
    assert len(lines) == 2
    assert row[1:5] == [key[:10], "alice", "ci", "read"]
    assert row[7] == "2099-01-01T00:00:00Z"
    assert key not in listed.stdout

    revoked = await cli(url, "keys", "revoke", row[0])
    assert revoked.returncode == 0, revoked.stderr
    after = await gateway.client.get("/v1/generations", headers=gateway.auth(key))
    assert after.status_code == 401


async def test_the_old_create_key_still_works(gateway: Gateway) -> None:
    created = await cli(gateway.settings.database_url, "create-key", "--owner", "bob")

    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    response = await gateway.client.get("/v1/generations", headers=gateway.auth(key))
    assert response.status_code == 200


async def test_mistakes_are_reported_with_a_non_zero_exit(gateway: Gateway) -> None:
    url = gateway.settings.database_url

    unknown, bad_scope, past = await asyncio.gather(
        cli(url, "keys", "revoke", "0" * 32),
        cli(url, "keys", "create", "--owner", "x", "--scopes", "root"),
        cli(url, "keys", "create", "--owner", "x", "--expires-at", "2001-01-01"),
    )

    assert unknown.returncode == 1
    assert "no API key with id" in unknown.stderr
    assert bad_scope.returncode == 2
    assert "generate,read,admin" in bad_scope.stderr
    assert past.returncode == 2
    assert "future" in past.stderr
