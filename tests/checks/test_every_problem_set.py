"""Every problem set: the instructor's solution earns full marks, the student's stub earns none.

The solutions and stubs come from the instructor notebooks themselves (see conftest.py), so
this runs over exactly what nbgrader releases. Mistakes are tested per set in test_psN_checks.py.
"""
import importlib

import pytest

from diffrn.grading.course import assignments

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
