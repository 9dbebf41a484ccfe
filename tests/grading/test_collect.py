"""Downloads from a learning-management system land in nbgrader's layout."""
from __future__ import annotations

import zipfile

import nbformat
import pytest

from diffrn_grading.collect import collect, student_of
from diffrn_grading.course import GradingError


def _notebook_bytes(text="x = 1"):
    return nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text)])).encode()


def test_zip_of_named_notebooks_is_placed_and_students_registered(course, tmp_path):
    archive = tmp_path / "downloads.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(zipfile.ZipInfo("s100_ps1-jacobians.ipynb", (2026, 11, 1, 10, 0, 0)), _notebook_bytes())
        bundle.writestr(zipfile.ZipInfo("s200.ipynb", (2026, 11, 1, 10, 0, 0)), _notebook_bytes())
        bundle.writestr(zipfile.ZipInfo("s200_resubmitted.ipynb", (2026, 11, 2, 9, 0, 0)), _notebook_bytes("x = 2"))
        bundle.writestr("notes.txt", "not a notebook")
    result = collect(course.course, "ps1-jacobians", archive)
    assert set(result.placed) == {"s100", "s200"}
    assert result.placed["s200"] == "s200_resubmitted.ipynb", "the newest notebook wins"
    placed = course.root / "submitted" / "s200" / "ps1-jacobians" / "ps1-jacobians.ipynb"
    assert "x = 2" in placed.read_text()
    assert (placed.parent / "timestamp.txt").read_text().startswith("2026-11-02")

    from nbgrader.api import Gradebook

    with Gradebook(course.course.gradebook_url) as gradebook:
        assert {s.id for s in gradebook.students} >= {"s100", "s200"}


def test_canvas_names_and_folders(tmp_path):
    root = tmp_path
    (root / "ada").mkdir()
    assert student_of(root / "ada" / "whatever.ipynb", root) == "ada"
    assert student_of(root / "lovelaceada_late_48213_990011_ps1-jacobians.ipynb", root, canvas=True) == "48213"
    assert student_of(root / "_weird.ipynb", root) is None


def test_missing_source_says_what_to_give(course, tmp_path):
    with pytest.raises(GradingError, match="zip or folder"):
        collect(course.course, "ps1-jacobians", tmp_path / "nope.zip")
