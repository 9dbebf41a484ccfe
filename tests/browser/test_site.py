"""Every chapter page works in a real browser with no network and no kernel."""
from __future__ import annotations

import io
from urllib.parse import urlparse

import pytest
from PIL import Image, ImageChops

from conftest import SCREENSHOTS, chapter_pages

PAGES = chapter_pages()

UNTYPESET_TEXT = """() => {
  const article = document.querySelector('article') || document.body;
  const copy = article.cloneNode(true);
  copy.querySelectorAll('pre, code, .highlight, script, mjx-container, .widget-subarea').forEach(e => e.remove());
  const text = copy.innerText;
  const raw = [];
  for (const token of ['\\\\(', '\\\\[', '$$']) { if (text.includes(token)) raw.push(token); }
  return raw;
}"""


def _settle(record):
    """Wait until MathJax has typeset and the widget manager has rendered every demo."""
    page = record.page
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000)
    page.evaluate("() => MathJax.startup.promise")
    expected = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
    if expected:
        page.wait_for_function(
            f"() => document.querySelectorAll('.widget-subarea > .jupyter-widgets').length >= {expected}",
            timeout=30000,
        )
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.widget-subarea img'))"
            ".filter(i => i.offsetParent !== null).every(i => i.complete && i.naturalWidth > 0)",
            timeout=30000,
        )
    page.wait_for_timeout(300)
    return expected


def _png_difference(before: bytes, after: bytes) -> float:
    first = Image.open(io.BytesIO(before)).convert("RGB")
    second = Image.open(io.BytesIO(after)).convert("RGB").resize(first.size)
    diff = ImageChops.difference(first, second).convert("L")
    changed = sum(count for value, count in enumerate(diff.histogram()) if value > 16)
    return changed / (first.size[0] * first.size[1])


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_offline_with_typeset_maths(open_page, path):
    record = open_page(path)
    _settle(record)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    record.page.screenshot(path=str(SCREENSHOTS / (path.replace("/", "_").replace(".html", ".png"))), full_page=True)

    # data: and blob: URLs (the demos' frames) stay in the page; anything else must be local.
    foreign = sorted({urlparse(url).netloc or url[:40] for url in record.requests
                      if urlparse(url).scheme not in ("data", "blob") and urlparse(url).hostname != "127.0.0.1"})
    assert not foreign, f"{path} asked other hosts: {foreign}"
    assert not record.errors, f"{path} logged console errors: {record.errors}"
    raw = record.page.evaluate(UNTYPESET_TEXT)
    assert not raw, f"{path} shows untypeset maths delimiters {raw}"
    if record.page.locator("article .math").count():
        assert record.page.locator("article mjx-container").count() > 0, f"{path}: MathJax typeset nothing"


@pytest.mark.parametrize("path", [p for p in PAGES if "chapters/" in p])
def test_every_demo_shows_controls_and_a_figure_that_follows_them(open_page, path):
    record = open_page(path)
    demos_expected = _settle(record)
    demos = record.page.locator(".widget-subarea")
    assert demos.count() == demos_expected
    assert demos_expected >= 1, f"{path} has no demo"
    for index in range(demos.count()):
        demo = demos.nth(index)
        demo.scroll_into_view_if_needed()
        handle = demo.locator(".noUi-handle").first
        assert handle.is_visible(), f"{path}: demo {index + 1} has no visible control"
        figure = demo.locator("img").locator("visible=true").first
        assert figure.is_visible(), f"{path}: demo {index + 1} shows no figure"
        before = demo.screenshot()
        handle.focus()
        handle.press("End")
        record.page.wait_for_timeout(250)
        if _png_difference(before, demo.screenshot()) < 0.002:
            handle.press("Home")
            record.page.wait_for_timeout(250)
        changed = _png_difference(before, demo.screenshot())
        assert changed >= 0.002, f"{path}: moving demo {index + 1}'s first control did not change its figure"
    assert not record.errors, f"{path} logged console errors: {record.errors}"
