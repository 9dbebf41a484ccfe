"""Grading throughput: `make grade` against plain `nbgrader autograde`, and where the time goes.

60 synthetic submissions of ps1-jacobians (a third with a typical mistake) are graded in
rounds; each round grades two fresh copies of the same class, one after the other:

* ``nbgrader autograde ps1-jacobians`` -- nbgrader's own command, one student after another;
* this course's grader (``python -m diffrn_grading.cli grade``, as ``make grade`` runs it),
  with every protection on: limits and the time budget, Landlock confinement, the re-check out
  of the student's reach, feedback without hidden tests, resumable done markers.

The machine is shared and noisy, so each round's ratio is taken within the round and the
median over rounds is reported (``grading_speedup_vs_nbgrader``, target at least 5 on two cores).

Then ``grading_phase_ms[<phase>]`` breaks one submission's grading into its phases (medians
over the last round's class, from the done markers; see ``diffrn_grading.timing.PHASES``);
the phases run in a worker, except ``record``, which the batch runs.

Last, a class with notebooks that try to hold a worker (loops that ignore interrupts in one
cell or many, a loop only outside the kernel) is graded with the default limits:
``grading_worst_submission_seconds`` is the longest any one submission took (budget 60 s).

``BENCH_GRADING_STUDENTS`` (60) and ``BENCH_GRADING_ROUNDS`` (3) change the sizes.
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, emit

sys.path.insert(0, str(REPO / "tests" / "grading"))
STUDENTS = int(os.environ.get("BENCH_GRADING_STUDENTS", "60"))
ROUNDS = int(os.environ.get("BENCH_GRADING_ROUNDS", "3"))
ASSIGNMENT = "ps1-jacobians"
# A typical mistake: the spherical Jacobian with its rows and columns swapped.
WRONG_SPHERICAL = ("def spherical_jacobian(r, theta, phi):\n"
                   "    st, ct, sp, cp = np.sin(theta), np.cos(theta), np.sin(phi), np.cos(phi)\n"
                   "    return np.array([[st * cp, r * ct * cp, -r * st * sp], [st * sp, r * ct * sp, r * st * cp],\n"
                   "                     [ct, -r * st, 0.0]]).T\n")
DEAF_LOOP = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n"
CATCHES_INTERRUPT = ("while True:\n    try:\n        while True:\n            pass\n"
                     "    except KeyboardInterrupt:\n        pass\n")
LOOP = "while True:\n    pass\n"
LOOPS_OUTSIDE_KERNEL = ("import sys\n\ndef spherical_jacobian(r, theta, phi):\n"
                        "    while 'ipykernel' not in sys.modules:\n        pass\n"
                        "    return np.zeros((3, 3))\n")
HOSTILE = {
    "deaf_first_answer": {"jacobian_complex_step": DEAF_LOOP},
    "deaf_last_answer": {"linearize": DEAF_LOOP},
    "catches_interrupts_everywhere": dict.fromkeys(
        ["jacobian_complex_step", "spherical_jacobian", "example_jacobian", "linearize"], CATCHES_INTERRUPT),
    "loops_everywhere": dict.fromkeys(["jacobian_complex_step", "spherical_jacobian", "example_jacobian",
                                       "linearize"], LOOP),
    "loops_outside_kernel": {"spherical_jacobian": LOOPS_OUTSIDE_KERNEL},
}


def make_course(root: Path, students: int = STUDENTS, hostile: dict | None = None):
    """A private copy of the course with ``students`` ps1 submissions (and ``hostile`` ones) handed in."""
    import nbformat

    from corpus import Submission, solution_code
    from diffrn_grading.course import DEFAULT_COURSE, Course, release

    shutil.copy(DEFAULT_COURSE / "nbgrader_config.py", root)
    course = Course(root)
    notebook = nbformat.read(str(release(course, ASSIGNMENT)), as_version=4)
    solutions = solution_code(nbformat.read(str(course.source_notebook(ASSIGNMENT)), as_version=4))
    for index in range(students):
        answers = {"spherical_jacobian": WRONG_SPHERICAL} if index % 3 == 0 else {}
        Submission(f"student{index:03d}", answers=answers).write(root, ASSIGNMENT, notebook, solutions)
    for student, answers in (hostile or {}).items():
        Submission(student, answers=answers).write(root, ASSIGNMENT, notebook, solutions)
    return course


def _environment() -> dict:
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


def grade_with_nbgrader(root: Path) -> float:
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "autograde", ASSIGNMENT], cwd=root,
                   env=_environment(), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def grade_with_course(root: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "diffrn_grading.cli", "--course", str(root), "grade", ASSIGNMENT],
                   env=_environment(), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def done_records(root: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted((root / ".grading" / "done" / ASSIGNMENT).glob("*.json"))]


def main() -> None:
    from diffrn_grading.timing import PHASES

    with tempfile.TemporaryDirectory(prefix="diffrn-grading-bench-") as folder:
        folder = Path(folder)
        pristine = folder / "pristine"
        pristine.mkdir()
        make_course(pristine)
        ratios, plain_seconds, course_seconds = [], [], []
        for round_number in range(ROUNDS):
            plain, ours = folder / f"plain{round_number}", folder / f"ours{round_number}"
            shutil.copytree(pristine, plain)
            shutil.copytree(pristine, ours)
            plain_seconds.append(grade_with_nbgrader(plain))
            course_seconds.append(grade_with_course(ours))
            ratios.append(plain_seconds[-1] / course_seconds[-1])
            print(f"(round {round_number + 1}: nbgrader {plain_seconds[-1]:.1f} s, course "
                  f"{course_seconds[-1]:.1f} s, ratio {ratios[-1]:.2f})", file=sys.stderr)
            shutil.rmtree(plain)
        records = done_records(ours)

        hostile = folder / "hostile"
        hostile.mkdir()
        make_course(hostile, students=10, hostile=HOSTILE)
        hostile_seconds = grade_with_course(hostile)
        worst = max(done_records(hostile), key=lambda record: record["seconds"])

    emit("grading_students", STUDENTS, "{:d}")
    emit("grading_rounds", ROUNDS, "{:d}")
    emit("grading_seconds_nbgrader", statistics.median(plain_seconds), "{:.1f}")
    emit("grading_seconds_course", statistics.median(course_seconds), "{:.1f}")
    emit("grading_speedup_vs_nbgrader", statistics.median(ratios), "{:.2f}")
    emit("grading_speedup_range", f"{min(ratios):.2f}-{max(ratios):.2f}", "{}")
    emit("grading_worker_seconds_per_submission", statistics.median(r["seconds"] for r in records), "{:.3f}")
    for phase in PHASES:
        emit(f"grading_phase_ms[{phase}]", 1000 * statistics.median(r["timings"].get(phase, 0.0) for r in records),
             "{:.0f}")
    emit("grading_hostile_class", f"10 ps1 + {len(HOSTILE)} notebooks that try to hold a worker", "{}")
    emit("grading_hostile_class_seconds", hostile_seconds, "{:.1f}")
    emit("grading_worst_submission_seconds", worst["seconds"], "{:.1f}")


if __name__ == "__main__":
    main()
