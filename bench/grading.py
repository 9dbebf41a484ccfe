"""Grading throughput: `make grade` (parallel workers) against `nbgrader autograde` (sequential).

60 synthetic submissions of ps1-jacobians (a mix of correct and typical wrong answers) are
graded twice, in two identical private copies of the course, in the same run:

* ``nbgrader autograde ps1-jacobians`` -- nbgrader's own command, one student after another;
* this course's grader with one worker per core -- which also re-checks every test out of the
  student's reach and renders feedback, work that plain autograde does not do. Its kernels and
  re-checks are forks of a warm zygote per worker instead of new interpreters.

Prints ``grading_seconds_nbgrader``, ``grading_seconds_course`` and
``grading_speedup_vs_nbgrader`` (target at least 1.8 on 2 cores).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, emit

sys.path.insert(0, str(REPO / "tests" / "grading"))
STUDENTS = int(os.environ.get("BENCH_GRADING_STUDENTS", "60"))
# A typical mistake: the spherical Jacobian with its rows and columns swapped.
WRONG_SPHERICAL = ("def spherical_jacobian(r, theta, phi):\n"
                   "    st, ct, sp, cp = np.sin(theta), np.cos(theta), np.sin(phi), np.cos(phi)\n"
                   "    return np.array([[st * cp, r * ct * cp, -r * st * sp], [st * sp, r * ct * sp, r * st * cp],\n"
                   "                     [ct, -r * st, 0.0]]).T\n")


def make_course(root: Path):
    import nbformat

    from corpus import Submission, solution_code
    from diffrn_grading.course import DEFAULT_COURSE, Course, release

    shutil.copy(DEFAULT_COURSE / "nbgrader_config.py", root)
    course = Course(root)
    notebook = nbformat.read(str(release(course, "ps1-jacobians")), as_version=4)
    solutions = solution_code(nbformat.read(str(course.source_notebook("ps1-jacobians")), as_version=4))
    for index in range(STUDENTS):
        answers = {"spherical_jacobian": WRONG_SPHERICAL} if index % 3 == 0 else {}
        Submission(f"student{index:03d}", answers=answers).write(root, "ps1-jacobians", notebook, solutions)
    return course


def main() -> None:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    with tempfile.TemporaryDirectory(prefix="diffrn-grading-bench-") as folder:
        plain, ours = Path(folder) / "plain", Path(folder) / "ours"
        plain.mkdir()
        ours.mkdir()
        make_course(plain)
        make_course(ours)

        started = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "autograde", "ps1-jacobians"],
                       cwd=plain, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sequential = time.perf_counter() - started

        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "diffrn_grading.cli", "--course", str(ours), "grade",
                        "ps1-jacobians", "--jobs", str(os.cpu_count() or 1)],
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        parallel = time.perf_counter() - started

    emit("grading_students", STUDENTS, "{:d}")
    emit("grading_seconds_nbgrader", sequential, "{:.1f}")
    emit("grading_seconds_course", parallel, "{:.1f}")
    emit("grading_speedup_vs_nbgrader", sequential / parallel, "{:.2f}")


if __name__ == "__main__":
    main()
