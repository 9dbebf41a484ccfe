"""Every chapter page works in a real browser with no network and no kernel."""
from __future__ import annotations

import io
from urllib.parse import urlparse

import pytest
from PIL import Image, ImageChops

from site_paths import SCREENSHOTS, chapter_pages

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


def _luminance(css_color: str) -> float:
    channels = [float(v) / 255 for v in css_color[css_color.index("(") + 1:css_color.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_dark_theme_keeps_demos_legible(open_page):
    path = next(p for p in PAGES if "chapters/" in p)
    record = open_page(path, color_scheme="dark")
    _settle(record)
    page = record.page
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    demo = page.locator(".widget-subarea").first
    demo.scroll_into_view_if_needed()
    background = demo.evaluate("e => getComputedStyle(e).backgroundColor")
    label = demo.locator(".widget-htmlmath, .widget-label").first.evaluate("e => getComputedStyle(e).color")
    contrast = (_luminance(background) + 0.05) / (_luminance(label) + 0.05)
    assert contrast >= 4.5, f"demo labels {label} on {background}: contrast {contrast:.1f} < 4.5"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dark-mode.png"), full_page=False)
    assert not record.errors


def test_search_finds_the_chapters(open_page):
    record = open_page("search.html?q=Jacobian")
    record.page.wait_for_function("() => document.querySelectorAll('#search-results li').length > 0", timeout=20000)
    results = record.page.locator("#search-results li a").all_inner_texts()
    assert any("Jacobian" in text for text in results), results


def test_each_chapter_links_its_notebooks_and_they_download(open_page, site_url):
    import json
    import urllib.request

    for path in [p for p in PAGES if "chapters/" in p]:
        record = open_page(path)
        box = record.page.locator(".course-notebooks")
        downloads = box.locator("a[data-launch=download]").evaluate_all("els => els.map(e => e.href)")
        assert len(downloads) == 2, f"{path}: expected chapter and exercise downloads, got {downloads}"
        for url in downloads:
            with urllib.request.urlopen(url) as response:
                notebook = json.load(response)
            assert notebook["nbformat"] == 4 and notebook["cells"]
        for service in ("jupyterlite", "binder", "colab"):
            assert box.locator(f"a[data-launch={service}]").count() == 2, f"{path}: {service} links missing"
        # One download menu and no launch buttons besides the course box (the theme's are off).
        assert record.page.locator(".dropdown-download-buttons, .dropdown-launch-buttons").count() == 0


def test_jupyterlite_site_lists_chapters_and_exercises(open_page):
    record = open_page("lite/lab/index.html")
    page = record.page
    page.wait_for_selector(".jp-DirListing-item", timeout=60000)
    names = page.locator(".jp-DirListing-itemText").all_inner_texts()
    assert {"chapters", "exercises"} <= set(names), names
    listing = page.evaluate("() => fetch('../api/contents/chapters/all.json').then(r => r.json())")
    chapters = sorted(item["name"] for item in listing["content"])
    expected = sorted(p.split("/")[-1].replace(".html", ".ipynb") for p in PAGES if "chapters/" in p)
    assert chapters == expected
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "jupyterlite.png"))
