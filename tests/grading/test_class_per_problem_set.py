"""`make grade` on a class of every problem set: correct, unstarted, wrong and importing students.

Answers may use numpy and the standard library only. A student whose answer imports anything
else (here autograd, which the instructor's machine has) passes inside the notebook's kernel,
but the out-of-kernel re-check refuses the import: that function earns nothing, whether the
import is plain or hidden, and the review list quotes the line.
"""
from __future__ import annotations

import ast
import html
import re

import pytest

from conftest import CourseFixture
from corpus import TYPICAL_MISTAKES, Submission
from diffrn_grading.batch import grade_assignment
from diffrn_grading.course import assignments
from diffrn_grading.verify import plan_tests
from diffrn_grading.worker import Limits


def _graded_function(fixture: CourseFixture) -> tuple[str, str]:
    """(grade_id of its answer cell, function name): the notebook's last graded function."""
    answers = [cell for cell in fixture.source.cells
               if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")]
    cell = answers[-1]
    return cell.metadata["nbgrader"]["grade_id"], re.search(r"^def (\w+)\s*\(", cell.source, re.M).group(1)


def _worth(fixture: CourseFixture, name: str) -> float:
    """The points of every test cell that checks the function ``name``."""
    _, plans = plan_tests(fixture.source)
    points = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
              for c in fixture.source.cells if c.metadata.get("nbgrader", {}).get("grade")}
    return sum(points[grade_id] for grade_id, plan in plans.items() if plan.calls[0][1] == name)


def _hide_import_in_body(code: str, name: str) -> str:
    """The solution with ``__import__`` of a built-up name as the function body's first statement."""
    function = next(node for node in ast.parse(code).body if isinstance(node, ast.FunctionDef) and node.name == name)
    body = function.body
    first = body[1] if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else body[0]
    lines = code.splitlines()
    indent = lines[first.lineno - 1][: first.col_offset]
    lines.insert(first.lineno - 1, indent + '_engine = __import__("auto" + "grad")')
    return "\n".join(lines)


@pytest.fixture(scope="module", params=assignments())
def graded_class(request, tmp_path_factory):
    fixture = CourseFixture(tmp_path_factory.mktemp(request.param), request.param)
    grade_id, name = _graded_function(fixture)
    worth = _worth(fixture, name)
    code = fixture.solutions[grade_id]
    wrong_function, wrong_code, _ = TYPICAL_MISTAKES[request.param]
    fixture.hand_in(
        Submission("correct"),
        Submission("unstarted", stub=True),
        Submission("wrong", answers={wrong_function: wrong_code}),
        Submission("plain_import", answers={grade_id: "import autograd\n" + code}),
        Submission("hidden_import", answers={grade_id: _hide_import_in_body(code, name)}),
    )
    summary = grade_assignment(fixture.course, request.param, jobs=2, quiet=True,
                               limits=Limits(cell_seconds=60, budget_seconds=300))
    return fixture, summary, name, worth


def test_correct_students_earn_every_autograded_point_and_unstarted_ones_none(graded_class):
    fixture, summary, _, _ = graded_class
    grades = fixture.grades()
    autograded = sum(cell.metadata["nbgrader"]["points"] for cell in fixture.source.cells
                     if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"))
    assert grades["correct"] == pytest.approx(autograded) and grades["unstarted"] == 0
    assert not summary.failed
    assert "correct" not in summary.flagged


def test_a_typical_mistake_costs_that_function_its_points_and_the_feedback_names_it(graded_class):
    fixture, _, _, _ = graded_class
    wrong_function, _, words = TYPICAL_MISTAKES[fixture.assignment]
    grades = fixture.grades()
    assert grades["wrong"] == pytest.approx(grades["correct"] - _worth(fixture, wrong_function))
    page = (fixture.root / "feedback" / "wrong" / fixture.assignment / f"{fixture.assignment}.html").read_text()
    assert html.escape(words, quote=False) in page or words in page


def test_an_imported_answer_earns_nothing_for_that_function_however_it_is_imported(graded_class):
    fixture, summary, name, worth = graded_class
    grades = fixture.grades()
    assert worth > 0
    assert grades["plain_import"] == pytest.approx(grades["correct"] - worth)
    assert grades["hidden_import"] == pytest.approx(grades["correct"] - worth)
    review = (fixture.root / "reports" / fixture.assignment / "review.txt").read_text()
    assert "plain_import: imports autograd" in review and "`import autograd`" in review
    hidden = [flag for flag in summary.flagged["hidden_import"] if "imports autograd" in flag]
    assert hidden, summary.flagged["hidden_import"]
