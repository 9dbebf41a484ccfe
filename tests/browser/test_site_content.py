"""What the built site publishes: no instructor material, pages light enough to load."""
from __future__ import annotations

import pytest

from site_paths import SITE

INSTRUCTOR_MARKERS = ("BEGIN HIDDEN TESTS", "### BEGIN SOLUTION", "BEGIN MARK SCHEME")
MAX_PAGE_MB = 4.0  # a page, its demos' frames included, loads on a phone connection


def _text_files():
    for path in SITE.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".ipynb", ".json", ".txt", ".md", ".js"} and "vendor" not in path.parts:
            yield path


def test_no_solutions_or_hidden_tests_are_published():
    if not SITE.is_dir():
        pytest.fail(f"no built site at {SITE}: run `make book` first")
    leaks = [str(p.relative_to(SITE)) for p in _text_files()
             if any(marker in p.read_text(errors="ignore") for marker in INSTRUCTOR_MARKERS)]
    assert not leaks, f"instructor material published: {leaks}"
    assert not (SITE / "_sources" / "solutions").exists()


def test_chapter_pages_stay_light():
    pages = sorted((SITE / "chapters").glob("*.html"))
    assert pages
    heavy = {p.name: round(p.stat().st_size / 2**20, 2) for p in pages if p.stat().st_size > MAX_PAGE_MB * 2**20}
    assert not heavy, f"pages over {MAX_PAGE_MB} MB: {heavy}"


def _demo_weights(page_html: str) -> list[float]:
    """MB of frames in each demo of a page, from the page's saved widget state."""
    import json
    import re

    state_match = re.search(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', page_html, re.S)
    if not state_match:
        return []
    models = json.loads(state_match.group(1))["state"]
    views = re.findall(r'<script type="application/vnd.jupyter.widget-view\+json">(.*?)</script>', page_html, re.S)

    def weight(model_id: str) -> int:
        model = models[model_id]
        total = sum(len(buffer["data"]) * 3 // 4 for buffer in model.get("buffers", []))
        # A frame is an HTML widget holding <img alt=... src="data:image/png;base64,...">.
        pictures = re.findall(r'base64,([A-Za-z0-9+/=]+)', model["state"].get("value", "") if model["model_name"] == "HTMLModel" else "")
        total += sum(len(data) * 3 // 4 for data in pictures)
        children = model["state"].get("children") or []
        return total + sum(weight(child.removeprefix("IPY_MODEL_")) for child in children)

    return [weight(json.loads(view)["model_id"]) / 2**20 for view in views]


def test_every_demo_stays_under_one_and_a_half_megabytes():
    weights = {page.name: _demo_weights(page.read_text()) for page in sorted((SITE / "chapters").glob("*.html"))}
    assert all(weights.values()), f"a chapter has no demo: {weights}"
    heavy = {name: [round(w, 2) for w in found if w > 1.5] for name, found in weights.items() if max(found) > 1.5}
    assert not heavy, f"demos over 1.5 MB: {heavy}"
