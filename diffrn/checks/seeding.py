"""Which random cases a student gets: different per student, the same on every rerun."""
from __future__ import annotations

import hashlib
import os

import numpy as np

STUDENT_ENV = "DIFFRN_STUDENT_ID"


def student_id() -> str:
    """The student being graded: ``DIFFRN_STUDENT_ID``, which the grader puts in the environment
    it starts each kernel and re-check with (and nowhere else). In a student's own notebook
    there is no id, and the cases are those of "practice".
    """
    return os.environ.get(STUDENT_ENV) or "practice"


def rng_for(exercise: str, student: str | None = None, salt: str = "") -> np.random.Generator:
    """A generator seeded by (student, exercise[, salt]): stable across reruns and machines."""
    key = f"{student or student_id()}/{exercise}/{salt}".encode()
    seed = int.from_bytes(hashlib.sha256(key).digest()[:8], "little")
    return np.random.default_rng(seed)


def student_cases(exercise, part: str, student: str | None = None, salt: str = "") -> list:
    """The cases of ``exercise``'s ``part`` ("visible", "hidden", "hard") that ``student`` gets.

    The one place cases are drawn: the check in the notebook, the grader's re-check and the
    tests all call it, so they judge the same cases. Visible cases are fixed; the others come
    from :func:`rng_for` (``student`` defaults to :func:`student_id`).
    """
    rng = None if part == "visible" else rng_for(f"{exercise.name}/{part}", student, salt=salt)
    return exercise.cases(part, rng)
