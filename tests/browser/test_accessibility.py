"""WCAG 2.1 AA on the built site: axe-core finds nothing serious, demos work from the keyboard,
every picture says what it shows and every formula can be read aloud.

axe-core is pinned in package.json and served from the site's own vendor folder (`make vendor`
copies it there, like MathJax), so the check runs offline on exactly the pages a reader gets.
"""
from __future__ import annotations

import re

import pytest

from site_paths import SITE, chapter_pages
from test_site import _settle

PAGES = chapter_pages()
AXE = "_static/vendor/axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}
VAGUE_ALT = re.compile(r"^\s*(figure|image|img|picture|plot|graph|chart|frame)?\s*\d*\s*$", re.I)

RUN_AXE = """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
  .then(result => result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(' ') + (n.failureSummary ? ' -- ' + n.failureSummary.split('\\n')[1].trim() : '')),
  })))"""

# A short fingerprint of the picture a demo shows now (its frames are data: URLs a megabyte long).
VISIBLE_PICTURE = """demo => {
  const img = Array.from(demo.querySelectorAll('img')).find(i => i.offsetParent !== null);
  if (!img) return null;
  let hash = 0;
  for (let i = 0; i < img.src.length; i += 7) hash = (hash * 31 + img.src.charCodeAt(i)) | 0;
  return {alt: img.getAttribute('alt'), src: img.src.length + ':' + hash};
}"""

# The visible label of a control without its typeset maths: these words must be in its name.
LABEL_WORDS = """handle => {
  const row = handle.closest('.widget-hbox');
  const label = row && row.querySelector('.widget-htmlmath-content');
  if (!label) return null;
  const copy = label.cloneNode(true);
  copy.querySelectorAll('mjx-container').forEach(m => m.remove());
  return copy.textContent.split(/[\\s()]+/).filter(w => /[a-z]/i.test(w));
}"""


def _open(open_page, path):
    record = open_page(path)
    _settle(record)
    return record


def _axe(record, site_url):
    if not (SITE / AXE).is_file():
        pytest.fail(f"{AXE} missing from the built site: run `make vendor` and rebuild the book")
    record.page.add_script_tag(url=f"{site_url}/{AXE}")
    return record.page.evaluate(RUN_AXE, WCAG_TAGS)


@pytest.mark.parametrize("path", PAGES)
def test_axe_finds_no_serious_or_critical_wcag_violation(open_page, site_url, path):
    record = _open(open_page, path)
    violations = _axe(record, site_url)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    report = "\n".join(f"  {v['impact']} {v['id']} ({v['help']}), {len(v['nodes'])} elements: "
                       + "; ".join(v["nodes"][:3]) for v in blocking)
    assert not blocking, f"{path}: axe-core (WCAG 2.1 A/AA) found\n{report}"
    assert not record.errors, f"{path} logged console errors: {record.errors}"


def test_axe_finds_no_serious_or_critical_violation_in_the_dark_theme(open_page, site_url):
    """Contrast again with the dark colours (code highlighting, demo labels, links)."""
    path = next(p for p in PAGES if "chapters/" in p)
    record = open_page(path, color_scheme="dark")
    _settle(record)
    assert record.page.evaluate("document.documentElement.dataset.theme") == "dark"
    blocking = [v for v in _axe(record, site_url) if v["impact"] in BLOCKING]
    assert not blocking, f"{path} (dark): " + "; ".join(f"{v['impact']} {v['id']}: {v['nodes'][:3]}" for v in blocking)


@pytest.mark.parametrize("path", PAGES)
def test_every_picture_says_what_it_shows(open_page, path):
    record = open_page(path)
    _settle(record)
    alts = record.page.locator("article img").evaluate_all("els => els.map(e => e.getAttribute('alt'))")
    missing = [i for i, alt in enumerate(alts) if alt is None]
    assert not missing, f"{path}: pictures {missing} have no alt attribute"
    vague = sorted({alt for alt in alts if VAGUE_ALT.match(alt) or len(alt.split()) < 4})
    assert not vague, f"{path}: alt texts that do not say what the picture shows: {vague}"


@pytest.mark.parametrize("path", [p for p in PAGES if "chapters/" in p])
def test_demo_controls_are_named_and_move_the_figure_from_the_keyboard(open_page, path):
    record = _open(open_page, path)
    page = record.page
    demos = page.locator(".widget-subarea")
    assert demos.count() >= 1, f"{path} has no demo"
    for index in range(demos.count()):
        demo = demos.nth(index)
        demo.scroll_into_view_if_needed()
        handles = demo.locator('.noUi-handle[role="slider"]')
        assert handles.count() >= 1, f"{path}: demo {index + 1} has no slider"
        for k in range(handles.count()):
            handle = handles.nth(k)
            name = (handle.get_attribute("aria-label") or "").strip()
            assert name, f"{path}: demo {index + 1}, control {k + 1} has no accessible name"
            assert "\\" not in name and "mjx" not in name, f"{path}: control named with raw maths {name!r}"
            words = handle.evaluate(LABEL_WORDS) or []
            absent = [w for w in words if w not in name]
            assert not absent, f"{path}: demo {index + 1}, control {k + 1} is named {name!r}, without {absent} of its label"
        handle = handles.first
        readout = demo.locator(".widget-readout").first
        before = demo.evaluate(VISIBLE_PICTURE)
        assert before and before["alt"], f"{path}: demo {index + 1} shows no picture with alt text"
        at_end = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
        handle.focus()
        assert page.evaluate("() => document.activeElement.getAttribute('role')") == "slider"
        handle.press("ArrowLeft" if at_end else "ArrowRight")
        page.wait_for_function(f"d => ({VISIBLE_PICTURE})(d).src !== {before['src']!r}", arg=demo.element_handle(),
                               timeout=5000)
        after = demo.evaluate(VISIBLE_PICTURE)
        assert after["alt"] != before["alt"], f"{path}: demo {index + 1}'s new frame has the same alt text {after['alt']!r}"
        # A screen reader announces what the reader sees beside the slider, not the frame's index.
        page.wait_for_function("h => h.getAttribute('aria-valuetext') === h.closest('.widget-slider')"
                               ".querySelector('.widget-readout').textContent.trim()",
                               arg=handle.element_handle(), timeout=2000)
        assert handle.get_attribute("aria-valuetext") == readout.inner_text().strip()
    assert not record.errors, f"{path} logged console errors: {record.errors}"


def test_formulas_carry_mathml_for_screen_readers(open_page):
    path = next(p for p in PAGES if "chapters/" in p)
    record = _open(open_page, path)
    page = record.page
    formulas = page.locator("article mjx-container").count()
    assistive = page.locator("article mjx-container mjx-assistive-mml math").count()
    assert formulas > 10, f"{path}: MathJax typeset only {formulas} formulas"
    assert assistive == formulas, f"{path}: {formulas} formulas, only {assistive} with assistive MathML"
    # The visual glyphs are hidden from screen readers, which read the MathML instead.
    hidden = page.locator('article mjx-container > mjx-math[aria-hidden="true"]').count()
    assert hidden == formulas
    sample = page.locator("article mjx-container mjx-assistive-mml").first.inner_html()
    assert "<math" in sample and ("<mi>" in sample or "<mn>" in sample), sample
