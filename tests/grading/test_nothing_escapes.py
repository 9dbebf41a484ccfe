"""Nothing a student starts outlives grading, and no hidden-test line reaches feedback.

One batch: a notebook that leaves a detached process behind (fork, new session, fork again;
it beats in a file while it lives), and two that print the source of every cell the kernel
runs, hidden tests included, from an IPython ``pre_run_cell`` hook.
"""
from __future__ import annotations

import html
import os
import time
from pathlib import Path

import nbformat
import pytest

from corpus import ECHO_CELLS, ECHO_CELLS_REPR, Submission, heartbeat_daemon, still_beating
from diffrn_grading.batch import grade_assignment
from diffrn_grading.feedback import hidden_lines
from diffrn_grading.worker import Limits


@pytest.fixture(scope="module")
def graded(module_course):
    course = module_course
    heartbeat = Path("/dev/shm") / f"diffrn-heartbeat-batch-{os.getpid()}-{time.monotonic_ns()}"
    heartbeat.touch()
    course.hand_in(
        Submission("detaches", extra_cells=[heartbeat_daemon(heartbeat)]),
        Submission("echoes_cells", prepend=ECHO_CELLS),
        Submission("echoes_repr", prepend=ECHO_CELLS_REPR),
    )
    summary = grade_assignment(course.course, course.assignment, jobs=2, quiet=True,
                               limits=Limits(cell_seconds=30, budget_seconds=120))
    yield course, summary, heartbeat
    heartbeat.unlink()


def test_a_detached_process_does_not_outlive_the_batch(graded):
    course, summary, heartbeat = graded
    assert heartbeat.stat().st_size > 0, "the detached process never ran, so this test shows nothing"
    assert not still_beating(heartbeat), "a process the student detached is still running after the batch"
    assert summary.ok and course.grades()["detaches"] == 10.0


def test_no_hidden_test_line_reaches_feedback_through_printed_output(graded):
    course, summary, _ = graded
    hidden = hidden_lines(cell.source for cell in course.source.cells)
    assert hidden
    for student in ("echoes_cells", "echoes_repr"):
        graded_notebook = nbformat.read(
            str(course.course.autograded_folder(course.assignment, student) / f"{course.assignment}.ipynb"),
            as_version=4)
        printed = "".join(str(output.get("text", "")) for cell in graded_notebook.cells
                          for output in cell.get("outputs", []))
        assert any(line in printed for line in hidden), "the hook printed no hidden test: the test shows nothing"
        page = html.unescape(course.course.feedback(course.assignment, student).read_text())
        leaked = [line for line in hidden if line in page]
        assert not leaked, f"hidden tests in {student}'s feedback: {leaked}"
        assert "HIDDEN TESTS" not in page
        assert course.grades()[student] == 10.0
