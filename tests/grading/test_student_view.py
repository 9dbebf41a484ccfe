"""What a student sees in their own notebook: a failing check reads as one line, not a traceback.

Each released problem set is executed as a student would run it (nbclient, a real kernel):
untouched, with one typical mistake plus one function that crashes, and fully solved.
"""
from __future__ import annotations

import re
import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from corpus import TYPICAL_MISTAKES, Submission, solution_code
from diffrn_grading.course import DEFAULT_COURSE, Course, assignments, release

ANSI = re.compile(r"\x1b\[[0-9;]*m")

def _run(notebook, folder) -> nbformat.NotebookNode:
    client = NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})
    client.execute()
    return notebook


def _errors(notebook) -> dict[str, list[str]]:
    """grade_id -> the lines of that cell's error output, colours removed."""
    found = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                lines = [ANSI.sub("", line) for entry in output["traceback"] for line in entry.split("\n")]
                found[cell.metadata.get("nbgrader", {}).get("grade_id", "?")] = lines
    return found


def _printed(notebook, grade_id) -> str:
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


@pytest.fixture(scope="module", params=assignments())
def released(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(request.param)
    shutil.copy(DEFAULT_COURSE / "nbgrader_config.py", root)
    course = Course(root)
    notebook = nbformat.read(str(release(course, request.param)), as_version=4)
    solutions = solution_code(nbformat.read(str(course.source_notebook(request.param)), as_version=4))
    return request.param, root, notebook, solutions


def _hand_in(released, name, **edits):
    assignment, root, notebook, solutions = released
    path = Submission(name, **edits).write(root, assignment, notebook, solutions)
    return nbformat.read(str(path), as_version=4), path.parent


def test_an_untouched_notebook_says_in_one_line_what_to_do_under_each_check(released):
    notebook, folder = _hand_in(released, "fresh", stub=True)
    errors = _errors(_run(notebook, folder))
    assert errors, "a fresh release must fail its checks"
    for grade_id, lines in errors.items():
        assert len(lines) == 1, (grade_id, lines)
        assert lines[0].startswith("✗ ") and "not written yet" in lines[0], (grade_id, lines)
    table = _printed(notebook, "summary")
    assert "0 of" in table and "To hand in" in table


def test_a_solved_notebook_says_so_in_one_line_per_check(released):
    notebook, folder = _hand_in(released, "solved")
    assert not _errors(_run(notebook, folder))
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            printed = _printed(notebook, meta["grade_id"]).strip().splitlines()
            assert len(printed) == 1 and "passed" in printed[0], (meta["grade_id"], printed)
    table = _printed(notebook, "summary")
    rows = [line for line in table.splitlines() if line.endswith("passed")]
    assert rows and "functions pass their visible checks" in table


def test_a_mistake_shows_the_diagnosis_alone_and_a_crash_shows_the_students_own_frames(released):
    assignment, _, release_notebook, solutions = released
    wrong_id, code, words = TYPICAL_MISTAKES[assignment]
    answers = [c.metadata["nbgrader"]["grade_id"] for c in release_notebook.cells
               if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]
    crashing = next(grade_id for grade_id in answers if grade_id != wrong_id)
    name = re.search(r"^def (\w+)\(", solutions[crashing], re.M).group(1)
    crash = re.sub(r"^(def \w+\(.*\):\n)", r"\1    undefined_helper()\n", solutions[crashing], count=1, flags=re.M)
    changed = {crashing: crash, wrong_id: code}
    notebook, folder = _hand_in(released, "mistaken", answers=changed)
    errors = _errors(_run(notebook, folder))
    for lines in errors.values():
        assert not any("diffrn/checks" in line or "core.py" in line for line in lines), lines
    crashed = errors[f"correct_{name}"]
    assert crashed[0].startswith(f"✗ {name}:") and "NameError" in crashed[0]
    assert any("undefined_helper()" in line for line in crashed), crashed
    assert crashed[-1].startswith("NameError")
    lines = errors[f"correct_{wrong_id}"]
    assert len(lines) == 1 and lines[0].startswith(f"✗ {wrong_id}:") and words in lines[0], lines
