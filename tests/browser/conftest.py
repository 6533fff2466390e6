"""Playwright on Debian's Chromium (no browser download). Without /usr/bin/chromium the
browser tests fail with a clear message under CI (CI set) and are skipped elsewhere."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "reports" / "screenshots"


def _unavailable(reason: str) -> None:
    message = f"{reason}; install it with `bash ci/setup.sh` (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"browser tests need Chromium under CI: {message}", pytrace=False)
    pytest.skip(f"browser tests skipped: {message}")


@pytest.fixture
def chromium(live_system: Any) -> Iterator[Any]:
    """A fresh browser per test, started after the live system: Playwright's sync API runs
    an event loop in this thread, so the system's own asyncio.run calls must come first."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is missing")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1024, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()  # closes the event stream before the server stops


@pytest.fixture
def shoot() -> Any:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
