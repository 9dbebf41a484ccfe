"""Every problem set: the instructor's solution earns full marks, the student's stub earns none.

The solutions and stubs come from the instructor notebooks themselves (see conftest.py), so
this runs over exactly what nbgrader releases. Mistakes are tested per set in test_psN_checks.py.
"""
import importlib

import pytest

from diffrn_grading.course import assignments

EXERCISES = [
    (assignment, name)
    for assignment in assignments()
    for name in sorted(importlib.import_module(f"diffrn.checks.{assignment.split('-')[0]}").check.exercises)
]


def _exercise(assignment, name):
    return importlib.import_module(f"diffrn.checks.{assignment.split('-')[0]}").check.exercises[name]


@pytest.mark.parametrize("assignment, name", EXERCISES)
def test_solution_gets_full_marks_in_the_kernel_and_when_rechecked(grader, solutions_of, assignment, name):
    solution = solutions_of(assignment)[name]
    grader.assert_full_marks(_exercise(assignment, name), solution)
    grader.assert_same_when_detached(_exercise(assignment, name), solution)


@pytest.mark.parametrize("assignment, name", EXERCISES)
def test_stub_fails_every_part(grader, stubs_of, assignment, name):
    grader.assert_fails_everywhere(_exercise(assignment, name), stubs_of(assignment)[name])


@pytest.mark.parametrize("assignment", assignments())
def test_the_summary_table_shows_the_points_the_notebook_gives(assignment):
    """Each Exercise's ``points`` (the student's summary table) equals its test cells' points."""
    import jupytext

    from diffrn_grading.course import SOLUTIONS
    from diffrn_grading.verify import plan_tests

    notebook = jupytext.read(SOLUTIONS / f"{assignment}.md", fmt="md:myst")
    _, plans = plan_tests(notebook)
    points = {cell.metadata["nbgrader"]["grade_id"]: cell.metadata["nbgrader"]["points"]
              for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade")}
    totals: dict = {}
    for grade_id, plan in plans.items():
        exercises = {exercise for exercise, *_ in plan.calls}
        assert len(exercises) == 1, f"{grade_id} checks {sorted(exercises)}: one function per test cell"
        name = exercises.pop()
        totals[name] = totals.get(name, 0) + points[grade_id]
    module = importlib.import_module(f"diffrn.checks.{assignment.split('-')[0]}")
    declared = {name: exercise.points for name, exercise in module.check.exercises.items()}
    assert declared == totals


@pytest.mark.parametrize("assignment", assignments())
def test_the_notebook_ends_with_the_summary_table(assignment):
    import jupytext

    from diffrn_grading.course import SOLUTIONS

    notebook = jupytext.read(SOLUTIONS / f"{assignment}.md", fmt="md:myst")
    last = notebook.cells[-1]
    assert last.cell_type == "code" and last.source.strip() == "check.summary(globals())"
    assert last.metadata["nbgrader"]["locked"] and not last.metadata["nbgrader"].get("grade")


@pytest.mark.parametrize("assignment", assignments())
def test_the_summary_table_never_raises_on_a_fresh_release(assignment, stubs_of, capsys):
    module = importlib.import_module(f"diffrn.checks.{assignment.split('-')[0]}")
    rows = module.check.summary_rows(stubs_of(assignment))
    module.check.summary(stubs_of(assignment))
    assert [status for _, status, _ in rows] == ["not started (still raises NotImplementedError)"] * len(rows)
    shown = capsys.readouterr().out
    assert "To hand in" in shown and all(name in shown for name, _, _ in rows)
