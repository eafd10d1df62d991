"""Chromium driven by Playwright, for the tests that load mmnet's pages in a real headless browser."""

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("MMNET_CHROMIUM", "/usr/bin/chromium")


def playwright_or_skip():
    """playwright.sync_api; called at a test module's top, it skips the module when Playwright or the chromium
    executable (Debian's, or $MMNET_CHROMIUM) is absent."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
    return sync_api


def launch_chromium(playwright):
    """A headless chromium that makes no requests of its own (the pages must load all they need from mmnet)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=["--no-sandbox", "--disable-background-networking",
                                            "--disable-dev-shm-usage"])


def chromium_session(sync_api):
    """The body of a test module's module-scoped ``browser`` fixture: one headless chromium for its tests."""
    with sync_api.sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()
