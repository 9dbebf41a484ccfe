"""What the built site publishes: no instructor material, pages light enough to load."""
from __future__ import annotations

import pytest

from site_paths import SITE

INSTRUCTOR_MARKERS = ("BEGIN HIDDEN TESTS", "### BEGIN SOLUTION", "BEGIN MARK SCHEME")
MAX_PAGE_MB = 12.0


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
