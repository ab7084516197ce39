"""pytest plugin: Playwright driving Debian's Chromium (``/usr/bin/chromium``).

Playwright cannot download its own browser here, so it launches the system's; ``make
test`` and ``.ci/run`` install the ``chromium`` package when it is missing. Screenshots
go to ``test-artifacts/screenshots/`` (gitignored), one per page a test looked at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("ESEXCHANGE_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """The browser, once per test process."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium package "
                    "(make test does so when it runs as root)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) in English, Berlin time, 1280x900."""
    context = chromium.new_context(locale="en-US", timezone_id="Europe/Berlin",
                                   viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def screenshot(page: Any, name: str) -> Path:
    """Keep what the page looks like now as ``test-artifacts/screenshots/NAME.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
