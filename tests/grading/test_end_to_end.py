"""An instructor grades ps1 with `make grade`: full marks, partial marks, feedback, CSV."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from corpus import Submission

# The right matrix, transposed: rows should be (x, y, z), columns (r, θ, φ).
WRONG_SPHERICAL = '''def spherical_jacobian(r, theta, phi):
    st, ct, sp, cp = np.sin(theta), np.cos(theta), np.sin(phi), np.cos(phi)
    return np.array([[st * cp, r * ct * cp, -r * st * sp],
                     [st * sp, r * ct * sp, r * st * cp],
                     [ct, -r * st, 0.0]]).T
'''


def make_grade(repo_root: Path, course_root: Path, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    return subprocess.run(
        ["make", "--no-print-directory", "grade", "A=ps1-jacobians", f"COURSE={course_root}", "JOBS=2", *extra],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=600,
    )


def test_make_grade_gives_full_and_partial_marks_with_feedback(course, repo_root):
    course.hand_in(Submission("alice"), Submission("bob", answers={"spherical_jacobian": WRONG_SPHERICAL}))
    run = make_grade(repo_root, course.root)
    assert run.returncode == 0, run.stdout + run.stderr
    assert course.grades() == {"alice": 10.0, "bob": 8.0}
    assert "2 graded, 0 failed" in run.stdout

    bob = (course.root / "feedback" / "bob" / "ps1-jacobians" / "ps1-jacobians.html").read_text()
    assert "transpose" in bob, "feedback should name the mistake"
    for page in (course.root / "feedback").rglob("*.html"):
        text = page.read_text()
        assert "BEGIN HIDDEN TESTS" not in text and "hidden=True" not in text, f"hidden tests leak into {page}"
    report = course.root / "reports" / "ps1-jacobians"
    assert (report / "scores.png").stat().st_size > 1000
    assert "correct_spherical_jacobian,1,2,0.500" in (report / "test_pass_rates.csv").read_text()


def test_a_second_run_grades_only_what_is_new(course, repo_root):
    course.hand_in(Submission("alice"))
    assert make_grade(repo_root, course.root).returncode == 0
    course.hand_in(Submission("bob", answers={"spherical_jacobian": WRONG_SPHERICAL}))
    run = make_grade(repo_root, course.root)
    assert "1 already graded earlier" in run.stdout, run.stdout
    assert course.grades() == {"alice": 10.0, "bob": 8.0}


def test_hidden_cases_differ_between_students_and_repeat_for_one():
    import numpy as np

    from diffrn.checks.ps1 import check
    from diffrn.checks.seeding import student_cases

    def labels(student):
        cases = student_cases(check.jacobian_complex_step, "hidden", student)
        return [(c.label, tuple(np.ravel(c.args[1]))) for c in cases]

    assert labels("alice") == labels("alice")
    assert labels("alice") != labels("bob")


def test_release_registers_the_assignment_again_after_the_gradebook_is_removed(course):
    from nbgrader.api import Gradebook

    from diffrn_grading.course import release

    (course.root / "gradebook.db").unlink()
    release(course.course, "ps1-jacobians")
    with Gradebook(course.course.gradebook_url) as gradebook:
        assert [n.name for n in gradebook.find_assignment("ps1-jacobians").notebooks] == ["ps1-jacobians"]


def test_make_grade_exits_non_zero_when_a_submission_could_not_be_graded(course, repo_root):
    course.hand_in(Submission("alice"), Submission("broken", raw=b'{"cells": [ not json'))
    run = make_grade(repo_root, course.root)
    assert run.returncode != 0, run.stdout + run.stderr
    assert "1 graded, 1 failed" in run.stdout and "failed broken: " in run.stdout
    assert course.grades() == {"alice": 10.0, "broken": 0.0}


def test_the_instructor_commands_need_no_node(repo_root):
    for target in ("assignments", "validate", "collect", "grade"):
        plan = subprocess.run(["make", "--no-print-directory", "-n", "-B", target, "A=ps1-jacobians", "FROM=x.zip"],
                              cwd=repo_root, capture_output=True, text=True, timeout=60)
        assert plan.returncode == 0, plan.stderr
        assert "diffrn_grading.cli" in plan.stdout
        assert "npm" not in plan.stdout and "node_modules" not in plan.stdout, f"`make {target}` runs Node"


def test_grading_leaves_no_temporary_folders_behind(course, repo_root, tmp_path):
    """Kernels that die, loop past their time and are killed, re-checks that are killed: their
    folders go with the batch, however they ended (a term's grading would otherwise fill /tmp)."""
    loops = "def jacobian_complex_step(f, x, h=1e-20):\n    while True:\n        pass\n"
    exits = "import os\n\ndef example_jacobian(x):\n    os._exit(1)\n"
    course.hand_in(Submission("alice"), Submission("loops", answers={"jacobian_complex_step": loops}),
                   Submission("exits", answers={"example_jacobian": exits}))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", TMPDIR=str(scratch))
    run = subprocess.run(["make", "--no-print-directory", "grade", "A=ps1-jacobians", f"COURSE={course.root}",
                          "JOBS=2", "BUDGET=15"], cwd=repo_root, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 graded, 0 failed" in run.stdout, run.stdout
    assert course.grades()["alice"] == 10.0
    assert sorted(p.name for p in scratch.iterdir()) == []
