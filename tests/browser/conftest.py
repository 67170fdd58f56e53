"""Headless Chromium (Debian's ``chromium``) driven by Playwright through its executable path.

Playwright never downloads a browser here: ``make test`` installs Debian's
package when it is missing and it may (``make system-deps``). On CI a missing
browser fails the run; elsewhere the browser tests skip, saying how to install it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, async_playwright

from tests.e2e.conftest import EmbeddedSystem

CHROMIUM = Path(os.environ.get("REELHOUSE_TEST_CHROMIUM", "/usr/bin/chromium"))
# Chromium as root with no network: no sandbox (root), no GPU, and none of the background
# connections a closed network refuses
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
INSTALL_HINT = (
    "install Debian's chromium (`sudo apt-get install --no-install-recommends chromium`, "
    "or run `make system-deps` as root)"
)


def chromium_executable() -> Path:
    if CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    found = shutil.which("chromium")
    if found:
        return Path(found)
    message = f"the browser tests need Chromium at {CHROMIUM}: {INSTALL_HINT}"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_executable()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(executable), args=CHROMIUM_ARGS, headless=True, timeout=30_000
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def api(system: EmbeddedSystem) -> AsyncIterator[httpx.AsyncClient]:
    """The public API with the system's key (``system``: the module's running system)."""
    headers = {"Authorization": f"Bearer {system.api_key}"}
    async with httpx.AsyncClient(base_url=system.gateway, headers=headers, timeout=30.0) as client:
        yield client
