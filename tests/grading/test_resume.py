"""An interrupted batch, run again, grades only what is left and ends with the same gradebook."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from corpus import Submission

WRONG = {"example_jacobian": "def example_jacobian(x):\n    return np.array([[2 * x[0], 1.0], [x[0], x[1]]])\n"}
CLASS = [Submission(f"s{i}", 10 if i % 2 else 8, answers={} if i % 2 else WRONG) for i in range(6)]


def _grade_command(course_root):
    return [sys.executable, "-m", "diffrn_grading.cli", "--course", str(course_root), "grade", "ps1-jacobians", "--jobs", "2"]


@pytest.mark.parametrize("interruption", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_rerun_after_interruption_finishes_the_same_gradebook(course, interruption):
    course.hand_in(*CLASS)
    done = course.root / ".grading" / "done" / "ps1-jacobians"
    process = subprocess.Popen(_grade_command(course.root), start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list(done.glob("*.json"))) < 2 and process.poll() is None:
        time.sleep(0.2)
    assert process.poll() is None, "the batch finished before it could be interrupted"
    os.killpg(process.pid, interruption)
    process.wait(timeout=60)
    first_round = {path.stem for path in done.glob("*.json")}
    assert 2 <= len(first_round) < len(CLASS)

    rerun = subprocess.run(_grade_command(course.root), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"{len(first_round)} already graded earlier" in rerun.stdout

    assert course.grades() == {s.student: float(s.expected_score) for s in CLASS}
    from nbgrader.api import Gradebook

    with Gradebook(course.course.gradebook_url) as gradebook:
        assignment = gradebook.find_assignment("ps1-jacobians")
        assert len(assignment.submissions) == len(CLASS)
        assert sorted(s.student_id for s in assignment.submissions) == sorted(s.student for s in CLASS)
