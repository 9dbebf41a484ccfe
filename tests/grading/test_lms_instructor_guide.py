"""The README walks the instructor through the term in order; the benchmark table has its own page."""
from __future__ import annotations

import importlib.util
import re

import pytest

from diffrn_grading.course import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()
INSTRUCTORS = README[README.index("## For instructors"):README.index("## Layout")]
STEPS = ["Release", "Distribute", "Collect", "Autograde", "Grade the written answers by hand",
         "Return feedback", "Export grades to the LMS"]


def _update_readme():
    spec = importlib.util.spec_from_file_location("update_readme", REPO_ROOT / "bench" / "update_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_instructor_section_follows_the_term_in_order():
    positions = [INSTRUCTORS.index(f"**{number}. {step}") for number, step in enumerate(STEPS, start=1)]
    assert positions == sorted(positions), "the steps are described in the order of the term"
    table = [row.split("|")[1].strip() for row in INSTRUCTORS.splitlines() if re.match(r"^\| \d\. ", row)]
    assert [re.sub(r"^\d\. ", "", row) for row in table] == [
        "release", "distribute", "collect", "autograde", "grade written answers", "return feedback", "export grades"]


def test_every_make_command_the_instructor_section_names_exists():
    targets = set(re.findall(r"^([a-z][a-z-]*):", (REPO_ROOT / "Makefile").read_text(), re.M))
    named = set(re.findall(r"`make ([a-z-]+)", INSTRUCTORS))
    assert {"assignments", "validate", "collect", "grade", "feedback", "export", "roster"} <= named
    assert named <= targets, f"README names make targets that do not exist: {named - targets}"
    for path in re.findall(r"\]\(([^)#]+)\)", INSTRUCTORS):
        if not path.startswith(("https://", "http://")):  # the course's own files, not the web
            assert (REPO_ROOT / path).is_file(), f"README links {path}, which does not exist"


def test_the_benchmark_table_lives_on_its_own_page_linked_from_the_readme():
    update = _update_readme()
    assert update.START not in README and "| figure | value |" not in README
    assert "(bench/RESULTS.md)" in README
    page = update.RESULTS.read_text()
    assert page.index(update.START) < page.index("| figure | value |") < page.index(update.END)
    # `make bench-readme` keeps the "before" column it finds on the page.
    assert update.previous_before_column()["grading_speedup_vs_nbgrader"]


def test_bench_readme_rewrites_only_the_table_of_the_page(tmp_path):
    update = _update_readme()
    page = tmp_path / "RESULTS.md"
    page.write_text(f"intro by hand\n{update.START}\nold table\n{update.END}\nnotes by hand\n")
    table = update.section(update.parse("cpu_model: Test CPU\nengine_vs_autograd: 0.8\n"), {"engine_vs_autograd": "1.2"})
    update.write_page(table, page)
    text = page.read_text()
    assert text.startswith("intro by hand\n") and text.endswith("notes by hand\n")
    assert "old table" not in text and "# Measured performance" in text
    assert "| `engine_vs_autograd` | 0.8 | 1.2 | ≤ 1.0 ✓ |" in text
    page.write_text("no markers\n")
    with pytest.raises(SystemExit, match="no <!-- bench:start -->"):
        update.write_page(table, page)
