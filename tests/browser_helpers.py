"""Chromium driven by Playwright, for the tests that load mmnet's pages in a real headless browser."""

import os
import time
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


def wait_until(page, expression, timeout_ms=30_000, interval_s=0.1):
    """Waits until the JavaScript ``expression`` is truthy in ``page``.

    Not ``page.wait_for_function``: its later polls eval the expression inside the page, which mmnet's
    Content-Security-Policy (no 'unsafe-eval') refuses with an EvalError; only a first check that is already true
    passes, so the test depended on timing. Each ``page.evaluate`` here is a fresh DevTools evaluation, which CSP
    allows, and the page's own scripts stay under the real policy."""
    deadline = time.monotonic() + timeout_ms / 1000
    check = f"() => {{ try {{ return !!({expression}); }} catch (e) {{ return false; }} }}"  # not there yet: false
    while not page.evaluate(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_ms / 1000:.0f} s: {expression}")
        time.sleep(interval_s)
