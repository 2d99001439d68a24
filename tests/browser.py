"""A real headless browser for the report tests: Debian's Chromium driven by Playwright.

Playwright only drives the browser here; it never downloads one (``make browser`` installs Debian's
``chromium`` and ``fonts-noto-cjk``). A machine without the browser fails the test that needs it, with
the command that installs it: a report nobody could open in a browser is not a passing report.
Requests other than the file itself are aborted and recorded, so a page that reaches for the network
is caught rather than left to time out.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = ["chromium_path", "open_page", "Opened"]


def chromium_path() -> str:
    """The browser binary (``CHROMIUM`` overrides); fails the calling test when there is none."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("no chromium on PATH: run `make browser` (apt-get install chromium fonts-noto-cjk) — "
                    "the report test needs a real browser and does not skip without one", pytrace=False)
    return found


@dataclass
class Opened:
    page: object  # playwright.sync_api.Page
    blocked: list[str] = field(default_factory=list)  # URLs the page asked for besides itself
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions


@contextmanager
def open_page(path: Path, *, width: int = 1366, height: int = 900) -> Iterator[Opened]:
    """``path`` loaded in headless Chromium at a laptop's viewport, offline."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    own = path.resolve().as_uri()
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, headless=True, timeout=30_000)
        try:
            context = browser.new_context(viewport={"width": width, "height": height}, offline=True)
            page = context.new_page()
            opened = Opened(page)

            def route(request_route, request) -> None:
                if request.url == own:
                    request_route.continue_()
                else:
                    opened.blocked.append(request.url)
                    request_route.abort()

            page.route("**/*", route)
            page.on("console", lambda message: message.type == "error" and opened.errors.append(message.text))
            page.on("pageerror", lambda error: opened.errors.append(str(error)))
            page.goto(own, wait_until="load", timeout=30_000)
            yield opened
        finally:
            browser.close()
