"""A real browser on the built website: served on 127.0.0.1, no network, Debian's Chromium.

The site must already be built (`make book`; `make test` builds it before these tests).
"""
from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest

from site_paths import CHROMIUM, SITE


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def site_url():
    if not (SITE / "index.html").is_file():
        pytest.fail(f"no built site at {SITE}: run `make book` first")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `bash .ci/ensure-chromium` (make browser-deps)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


class PageRecord:
    """A page opened in the browser with every request and console message recorded."""

    def __init__(self, page):
        self.page = page
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))


@pytest.fixture
def open_page(browser, site_url):
    contexts = []

    def opener(path: str, color_scheme: str = "light") -> PageRecord:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=color_scheme)
        contexts.append(context)
        record = PageRecord(context.new_page())
        record.page.goto(f"{site_url}/{path}", wait_until="load")
        return record

    yield opener
    for context in contexts:
        context.close()
