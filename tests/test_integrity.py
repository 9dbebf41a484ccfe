"""Graded answers live only in the instructor notebooks: not in the package, not on a page.

The contract's function names are read from the instructor notebooks themselves (every
function a solution cell defines), so a new problem set is covered without editing this file.
"""
from __future__ import annotations

import re
from pathlib import Path

import jupytext
import pytest

from diffrn_grading.course import REPO_ROOT, SOLUTIONS, assignments


def graded_names() -> set[str]:
    names = set()
    for assignment in assignments():
        notebook = jupytext.read(SOLUTIONS / f"{assignment}.md", fmt="md:myst")
        for cell in notebook.cells:
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
                names.update(re.findall(r"^def (\w+)\s*\(", cell.source, re.M))
    return names


def published_files() -> list[Path]:
    """What students install or read: the package's Python files, the chapters and the intro."""
    package = sorted((REPO_ROOT / "diffrn").rglob("*.py"))
    pages = sorted((REPO_ROOT / "chapters").glob("*.md")) + [REPO_ROOT / "intro.md"]
    return package + pages


def test_the_contract_is_read_from_every_problem_set():
    names = graded_names()
    assert len(assignments()) >= 7
    assert {"jacobian_complex_step", "compose_jacobian", "gauss_newton_hvp", "inverse_vjp"} <= names


@pytest.mark.parametrize("path", published_files(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_no_graded_function_is_defined_in_the_package_or_on_a_page(path):
    defined = set(re.findall(r"^\s*def (\w+)\s*\(", path.read_text(), re.M))
    assert not defined & graded_names(), f"{path.name} defines graded functions {sorted(defined & graded_names())}"


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "chapters").glob("*.md")) + [REPO_ROOT / "intro.md"],
                         ids=lambda p: p.name)
def test_no_page_shows_a_graded_function(path):
    text = path.read_text()
    for include in re.finditer(r"```\{literalinclude\}\s*(\S+)(.*?)```", text, re.S):
        target = (path.parent / include.group(1)).resolve()
        assert not target.is_relative_to(SOLUTIONS.resolve()), f"{path.name} includes an instructor notebook"
        shown = target.read_text() if target.is_file() else ""
        picked = re.search(r":pyobject:\s*(\S+)", include.group(2))
        if picked:
            assert picked.group(1).split(".")[-1] not in graded_names(), include.group(0)
        else:
            defined = set(re.findall(r"^\s*def (\w+)\s*\(", shown, re.M))
            assert not defined & graded_names(), f"{path.name} shows {sorted(defined & graded_names())}"
