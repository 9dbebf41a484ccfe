"""The whole-submission time budget: whatever a notebook's code does, its grading ends soon after
the budget, it keeps the points it earned before, and its feedback says why it lost the others."""
from __future__ import annotations

import time

import pytest

from corpus import Submission
from diffrn_grading.batch import grade_assignment
from diffrn_grading.worker import Limits, grade_submission

BUDGET = 15
LIMITS = Limits(cell_seconds=4, budget_seconds=BUDGET)
# Starting a worker, nbgrader's own steps, the interrupt's grace and the feedback page come on
# top of the budget; on a busy two-core machine they can take a while.
MARGIN = 30

# Ignores the interrupt that ends a timed-out cell, and loops on.
DEAF_LOOP = ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n")
LOOP = "while True:\n    pass\n"
CATCHES_INTERRUPT = ("while True:\n    try:\n        while True:\n            pass\n"
                     "    except KeyboardInterrupt:\n        pass\n")

CLASS = [
    Submission("honest", 10),
    # Right answers to exercises 1-3 (8 points), then an answer cell that never ends.
    Submission("deaf_after_answers", 8, answers={"linearize": DEAF_LOOP}),
    # Loops that survive interrupts in three answer cells: the kernel is stopped at the first.
    Submission("deaf_everywhere", 0, answers={"jacobian_complex_step": CATCHES_INTERRUPT,
                                             "spherical_jacobian": DEAF_LOOP,
                                             "example_jacobian": CATCHES_INTERRUPT}),
    # Interruptible loops in eight cells: each would wait its own cell limit, 32 s in all.
    Submission("loops_everywhere", 0, answers=dict.fromkeys(
        ["jacobian_complex_step", "spherical_jacobian", "example_jacobian", "linearize"], LOOP),
        extra_cells=[LOOP] * 4),
    # Right in the notebook's kernel, an endless loop anywhere else (such as the re-check).
    Submission("loops_outside_kernel", 8, answers={"spherical_jacobian": (
        "import sys\n\ndef spherical_jacobian(r, theta, phi):\n"
        "    while 'ipykernel' not in sys.modules:\n        pass\n"
        "    st, ct, sp, cp = np.sin(theta), np.cos(theta), np.sin(phi), np.cos(phi)\n"
        "    return np.array([[st * cp, r * ct * cp, -r * st * sp],\n"
        "                     [st * sp, r * ct * sp, r * st * cp],\n"
        "                     [ct, -r * st, 0.0]])\n")}),
]


@pytest.fixture(scope="module")
def graded(module_course):
    course = module_course
    course.hand_in(*CLASS)
    summary = grade_assignment(course.course, "ps1-jacobians", jobs=2, limits=LIMITS, quiet=True)
    return course, summary


def _record(course, student):
    import json

    return json.loads(course.course.done_marker("ps1-jacobians", student).read_text())


def _feedback(course, student):
    return (course.root / "feedback" / student / "ps1-jacobians" / "ps1-jacobians.html").read_text()


def test_each_submission_keeps_what_it_earned_before_the_time_ran_out(graded):
    course, summary = graded
    assert course.grades() == {s.student: float(s.expected_score) for s in CLASS}
    assert not summary.failed  # every submission was graded, none stopped by the batch's safety net


def test_no_submission_takes_much_longer_than_its_budget(graded):
    course, _ = graded
    # Without the budget, the first would wait on a cell limit per looping cell; the second failed
    # nbgrader's run, then the re-check waited on each test's loop as long again.
    for student in ("loops_everywhere", "deaf_everywhere"):
        started = time.monotonic()
        result = grade_submission(course.course, "ps1-jacobians", student, LIMITS)
        elapsed = time.monotonic() - started
        assert result.ok and elapsed < BUDGET + MARGIN, (student, elapsed)
        assert sum(score for score, _ in result.scores.values()) == course.grades()[student]


def test_feedback_and_review_list_say_the_budget_ran_out_and_where(graded):
    course, summary = graded
    page = _feedback(course, "loops_everywhere")
    assert "Notes from the grader" in page
    assert f"used its {BUDGET} s time budget in" in page
    assert "the tests after it were not run and score 0" in page and "correct_linearize" in page
    review = (course.root / "reports" / "ps1-jacobians" / "review.txt").read_text()
    assert "loops_everywhere: grading was cut short" in review
    assert "honest" not in summary.flagged


def test_a_loop_that_ignores_interrupts_stops_the_kernel_not_the_grading(graded):
    course, _ = graded
    page = _feedback(course, "deaf_after_answers")
    # On a busy machine the kernel's time may run out before it is stopped: either says why.
    assert ("linearize was still running after its 4 s limit and did not stop when interrupted" in page
            or f"used its {BUDGET} s time budget in linearize" in page)
    notes = " ".join(_record(course, "deaf_everywhere")["notes"])
    assert "jacobian_complex_step" in notes and ("kernel was stopped" in notes or "time budget" in notes)


def test_a_loop_outside_the_kernel_costs_its_own_test_with_a_note(graded):
    course, summary = graded
    record = _record(course, "loops_outside_kernel")
    assert record["scores"]["correct_spherical_jacobian"][0] == 0
    assert record["scores"]["correct_linearize"][0] == 2
    assert "correct_spherical_jacobian: passed in the notebook, but its re-check" in _feedback(course, "loops_outside_kernel")
    assert any("correct_spherical_jacobian" in flag for flag in summary.flagged["loops_outside_kernel"])
