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
    # As typed in a terminal: a test run started in the background (`make test &`) would pass
    # on its ignored SIGINT, and the batch would never see the Ctrl-C.
    process = subprocess.Popen(_grade_command(course.root), start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
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


def test_a_rerun_grades_every_submission_the_gradebook_lacks_whatever_the_markers_say(course):
    """The gradebook is restored from a backup, then deleted: each rerun grades what it lacks."""
    import shutil

    from diffrn_grading.batch import grade_assignment
    from diffrn_grading.course import release
    from diffrn_grading.worker import Limits

    limits = Limits(cell_seconds=30, budget_seconds=120)
    alice, bob = CLASS[1], CLASS[0]
    course.hand_in(alice)
    grade_assignment(course.course, "ps1-jacobians", jobs=1, limits=limits, quiet=True)
    backup = course.root / "gradebook-backup.db"
    shutil.copy(course.course.gradebook_path, backup)
    course.hand_in(bob)
    grade_assignment(course.course, "ps1-jacobians", jobs=1, limits=limits, quiet=True)
    expected = {alice.student: float(alice.expected_score), bob.student: float(bob.expected_score)}
    assert course.grades() == expected

    # A backup from before bob was graded: his marker says done, the gradebook does not know him.
    shutil.copy(backup, course.course.gradebook_path)
    summary = grade_assignment(course.course, "ps1-jacobians", jobs=1, limits=limits, quiet=True)
    assert summary.skipped == [alice.student] and set(summary.graded) == set(expected)
    assert course.grades() == expected

    # No gradebook at all (`make assignments` registers the problem set again): everyone is graded.
    course.course.gradebook_path.unlink()
    release(course.course, "ps1-jacobians")
    summary = grade_assignment(course.course, "ps1-jacobians", jobs=2, limits=limits, quiet=True)
    assert summary.skipped == [] and summary.ok and set(summary.graded) == set(expected)
    assert course.grades() == expected
