"""One batch of broken and hostile submissions: none stops the batch, none is scored wrongly."""
from __future__ import annotations

import inspect
import json

import nbformat
import pytest

from corpus import Submission
from diffrn.numerical import jacobian_fd
from diffrn_grading.batch import grade_assignment
from diffrn_grading.confine import available as confinement_available
from diffrn_grading.worker import Limits

ZEROS = '''
def jacobian_complex_step(f, x, h=1e-20):
    return np.zeros((np.atleast_1d(f(x)).size, np.size(x)))

def spherical_jacobian(r, theta, phi):
    return np.zeros((3, 3))

def example_jacobian(x):
    return np.zeros((2, 2))

def linearize(f, jac, x0):
    return lambda x: f(x0)
'''

# Looks for the instructor's notebook in its private course copy and for solutions/ next to
# the package, and runs the solution code it finds. Confined kernels cannot open either.
STEALS_SOLUTIONS = ZEROS + r'''
import json, pathlib, re
import diffrn

def _run_solutions():
    try:
        notebook = pathlib.Path.cwd().parents[2] / "source" / "ps1-jacobians" / "ps1-jacobians.ipynb"
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["metadata"].get("nbgrader", {}).get("solution"):
                exec("".join(cell["source"]), globals())
    except Exception:
        pass
    try:
        text = (pathlib.Path(diffrn.__file__).parents[1] / "solutions" / "ps1-jacobians.md").read_text()
        for block in re.findall(r"```\{code-cell\}[^\n]*\n(?:---\n.*?---\n)?(.*?)```", text, re.S):
            if block.lstrip().startswith("def "):
                exec(block, globals())
    except Exception:
        pass

_run_solutions()
'''

# The package shows tools, not answers: its central-difference Jacobian, renamed and handed in
# as the complex-step one, is not accurate enough to pass.
COPIED_FROM_PACKAGE = "from typing import Callable\nArray = np.ndarray\n\n" + inspect.getsource(jacobian_fd).replace(
    "def jacobian_fd(", "def jacobian_complex_step(")

CORPUS = [
    Submission("honest", 10),
    Submission("stub", 0, stub=True),
    # Neuters the checks inside the kernel: every visible and hidden test "passes" there.
    Submission("patches_checks", 0, answers={
        "jacobian_complex_step": "import diffrn.checks.core as core\ncore.judge_collected = lambda case, collected: None\n" + ZEROS,
        "spherical_jacobian": "", "example_jacobian": "", "linearize": ""}),
    Submission("patches_numpy", 0, answers={
        "jacobian_complex_step": "np.allclose = lambda *a, **k: True\nnp.max = lambda *a, **k: 0.0\n"
                       "np.array_equal = lambda *a, **k: True\n" + ZEROS,
        "spherical_jacobian": "", "example_jacobian": "", "linearize": ""}),
    Submission("always_equal", 6, answers={"jacobian_complex_step": (
        "class Anything:\n    def __eq__(self, other):\n        return True\n"
        "    __array_priority__ = 1000\n\n"
        "def jacobian_complex_step(f, x, h=1e-20):\n    return Anything()\n")}),
    Submission("infinite_loop", 6, answers={"jacobian_complex_step": "def jacobian_complex_step(f, x, h=1e-20):\n    while True:\n        pass\n"}),
    Submission("ignores_interrupt", 6, answers={"jacobian_complex_step": (
        "import time\n\ndef jacobian_complex_step(f, x, h=1e-20):\n    while True:\n        try:\n"
        "            time.sleep(0.05)\n        except KeyboardInterrupt:\n            pass\n")}),
    Submission("memory_bomb", 6, answers={"jacobian_complex_step": (
        "def jacobian_complex_step(f, x, h=1e-20):\n    hog = []\n    while True:\n        hog.append(bytes(10**9))\n")}),
    Submission("sys_exit", 8, answers={"spherical_jacobian": "import sys\n\ndef spherical_jacobian(r, theta, phi):\n    sys.exit(0)\n"}),
    # Kills its kernel, so nbgrader cannot run the notebook; its written answer still waits for a person.
    Submission("os_exit", 8, answers={"example_jacobian": "import os\n\ndef example_jacobian(x):\n    os._exit(1)\n"},
               rewrite={"complex_step_question": "There is no subtraction, so nothing cancels."}),
    Submission("copied_from_package", 6, answers={"jacobian_complex_step": COPIED_FROM_PACKAGE}),
    Submission("corrupt", 0, raw=b'{"cells": [ this is not json'),
    Submission("empty", 0, raw=b""),
    Submission("misnamed", 0, filename="ps1-jacobians (1).ipynb"),
    Submission("deleted_test", 10, delete=["correct_linearize"]),
    Submission("more_points", 10, points={"correct_spherical_jacobian": 100}),
    Submission("edited_test", 8, rewrite={"correct_spherical_jacobian": "pass"},
               answers={"spherical_jacobian": "def spherical_jacobian(r, theta, phi):\n    return np.eye(3)\n"}),
    Submission("huge_output", 10, extra_cells=["for i in range(200000):\n    print('spam', i)\n"]),
    # Without Landlock (not Linux, old kernel) nothing stops it; the summary then says so.
    Submission("reads_solutions", 0 if confinement_available() else 10, answers={
        "jacobian_complex_step": STEALS_SOLUTIONS, "spherical_jacobian": "", "example_jacobian": "", "linearize": ""}),
]


@pytest.fixture(scope="module")
def graded(module_course):
    course = module_course
    course.hand_in(*CORPUS)
    limits = Limits(cell_seconds=8, budget_seconds=120, memory_bytes=3 * 2**30)
    summary = grade_assignment(course.course, "ps1-jacobians", jobs=2, limits=limits, quiet=True)
    return course, summary


def test_every_submission_gets_its_expected_score(graded):
    course, summary = graded
    grades = course.grades()
    expected = {s.student: float(s.expected_score) for s in CORPUS}
    assert grades == expected
    assert summary.max_score == 12  # 10 autograded points and a written answer worth 2


def test_unreadable_submissions_are_reported_and_the_batch_goes_on(graded):
    _, summary = graded
    assert set(summary.failed) == {"corrupt", "empty", "misnamed"}
    assert "not a valid notebook" in summary.failed["corrupt"]
    assert "empty file" in summary.failed["empty"]
    assert "ps1-jacobians (1).ipynb" in summary.failed["misnamed"] and "Rename" in summary.failed["misnamed"]


def test_tampering_is_caught_and_flagged_for_review(graded):
    course, summary = graded
    assert any("review for tampering" in flag for flag in summary.flagged["patches_checks"])
    review = (course.root / "reports" / "ps1-jacobians" / "review.txt").read_text()
    assert "patches_checks" in review and "patches_numpy" in review


def test_a_notebook_nbgrader_cannot_run_keeps_its_written_answer_for_a_person(graded):
    _, summary = graded
    assert summary.waiting.get("os_exit") == ["complex_step_question"]
    assert "complex_step_question" not in summary.waiting.get("stub", []), "an unchanged answer needs no person"
    assert any("nbgrader could not run the notebook (" in flag for flag in summary.flagged["os_exit"])


def test_a_written_answer_counts_as_changed_only_when_its_text_changed(graded):
    from diffrn_grading.worker import _changed_written_answers

    course, _ = graded
    url = course.course.gradebook_url
    assert _changed_written_answers(course.release, url, "ps1-jacobians") == []
    answered = nbformat.from_dict(json.loads(json.dumps(course.release)))
    for cell in answered.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "complex_step_question":
            cell.source += "\nNo subtraction, so no cancellation."
            cell.metadata["nbgrader"]["points"] = 100  # metadata a student edited does not count
    assert _changed_written_answers(answered, url, "ps1-jacobians") == ["complex_step_question"]


def test_feedback_says_why_a_limit_cost_points(graded):
    course, _ = graded
    page = (course.root / "feedback" / "infinite_loop" / "ps1-jacobians" / "ps1-jacobians.html").read_text()
    assert "Notes from the grader" in page and "infinite loop" in page
    bomb = (course.root / "feedback" / "memory_bomb" / "ps1-jacobians" / "ps1-jacobians.html").read_text()
    assert "memory" in bomb.lower()


def test_the_summary_says_whether_kernels_could_read_instructor_files(graded):
    _, summary = graded
    warned = any("instructor files" in warning for warning in summary.warnings)
    assert warned != confinement_available()
