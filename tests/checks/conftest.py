"""Helpers for testing the exercise checks (diffrn.checks.psN) as a grader would use them.

The reference solutions are not copied here: :func:`load_solutions` reads the instructor
notebook ``solutions/<ps>.md`` with jupytext and executes its set-up and solution cells, so
the tests grade exactly the code the notebook ships. :func:`load_stubs` does the same with
every solution region replaced by nbgrader's stub, which is what a student starts from.
"""
from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path

import jupytext
import numpy as np
import pytest

from diffrn.checks.core import Answer, CheckFailure, Exercise, describe
from diffrn.checks.seeding import STUDENT_ENV, student_cases

REPO_ROOT = Path(__file__).resolve().parents[2]
STUDENTS = ("alice", "bob", "s0042")
STUB = "raise NotImplementedError()"
_SOLUTION_REGION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION[ \t]*$", re.S | re.M)


@functools.lru_cache(maxsize=None)
def _code_cells(assignment: str) -> tuple[tuple[str, bool], ...]:
    """(source, is_solution) of every code cell that is not a test cell, in notebook order."""
    notebook = jupytext.read(REPO_ROOT / "solutions" / f"{assignment}.md", fmt="md:myst")
    cells = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("grade"):
            continue  # test cells are what we are testing, not part of the solution
        cells.append((cell.source, bool(meta.get("solution"))))
    return tuple(cells)


def _execute(assignment: str, stubbed: bool) -> dict:
    namespace: dict = {"__name__": f"solutions_{assignment.replace('-', '_')}"}
    for source, is_solution in _code_cells(assignment):
        if stubbed and is_solution:
            source = _SOLUTION_REGION.sub(lambda match: match.group(1) + STUB, source)
        exec(compile(source, f"solutions/{assignment}.md", "exec"), namespace)
    return namespace


def load_solutions(assignment: str) -> dict:
    """Namespace of the instructor notebook's set-up and solution cells (a fresh copy each call)."""
    return _execute(assignment, stubbed=False)


def load_stubs(assignment: str) -> dict:
    """The same namespace with each solution body replaced by ``raise NotImplementedError()``."""
    return _execute(assignment, stubbed=True)


def parts(exercise: Exercise, students=STUDENTS) -> list[tuple[str, str, str]]:
    """Every (part, student, salt) a grade is made of, as the notebook's test cells call them.

    Visible cases once (they do not depend on the student), hidden cases for each student,
    and hard cases both as the visible call (salt "") and the hidden one (salt "hidden").
    """
    runs = [("visible", "practice", "")]
    runs += [("hidden", student, "") for student in students]
    if exercise.hard is not None:
        runs += [("hard", student, salt) for student in students for salt in ("", "hidden")]
    return runs


class Grader:
    """Runs checks as the notebook's test cells do, for one test (its student id set by monkeypatch)."""

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch

    def run(self, exercise: Exercise, function, part: str = "visible", student: str = "practice", salt: str = ""):
        """None if ``function`` passes this part, else the feedback the student would read."""
        self.monkeypatch.setenv(STUDENT_ENV, student)
        try:
            exercise(function, part=part, salt=salt)
        except CheckFailure as failure:
            return str(failure)
        return None

    def run_detached(self, exercise: Exercise, function, part: str = "visible", student: str = "practice",
                     salt: str = ""):
        """Like :meth:`run`, but as the grader re-checks out of the student's reach.

        The student's function runs on one copy of the cases; its answers travel as JSON to a
        second, freshly built copy whose judges never saw the student's objects. A judge that
        relied on state its ``call`` adapter left behind would give a different verdict here.
        """
        self.monkeypatch.setenv(STUDENT_ENV, student)

        def build():
            return student_cases(exercise, part, salt=salt)

        for mine, theirs in zip(build(), build()):
            before = [copy.deepcopy(a) if isinstance(a, np.ndarray) else None for a in mine.args]
            try:
                result = mine.call(function) if mine.call else function(*mine.args, **mine.kwargs)
            except Exception as error:
                return f"{theirs.label}: your function raised {type(error).__name__}: {error}"
            for original, arg in zip(before, mine.args):
                if original is not None and not np.array_equal(original, arg, equal_nan=True):
                    return f"{theirs.label}: an argument was modified in place"
            answer = Answer.from_json(json.loads(json.dumps(describe(result).to_json())))
            try:
                theirs.judge(answer)
            except CheckFailure as failure:
                return str(failure)
        return None

    def assert_same_when_detached(self, exercise: Exercise, function) -> None:
        """The in-kernel verdict and the detached one (:meth:`run_detached`) agree on every part."""
        keys = [("visible", "practice", ""), ("hidden", "bob", "")]
        if exercise.hard is not None:
            keys.append(("hard", "bob", ""))
        for key in keys:
            in_kernel, detached = self.run(exercise, function, *key), self.run_detached(exercise, function, *key)
            assert (in_kernel is None) == (detached is None), (key, in_kernel, detached)
            if in_kernel and "raised" not in in_kernel and "in place" not in in_kernel:
                assert in_kernel == detached, key

    def outcomes(self, exercise: Exercise, function, only: tuple[str, ...] | None = None,
                 students=STUDENTS) -> dict:
        """{(part, student, salt): feedback or None} over every part (or those named in ``only``)."""
        return {key: self.run(exercise, function, *key) for key in parts(exercise, students)
                if only is None or key[0] in only}

    def assert_full_marks(self, exercise: Exercise, function, only: tuple[str, ...] | None = None) -> None:
        failed = {key: message for key, message in self.outcomes(exercise, function, only).items() if message}
        assert not failed, f"a correct implementation of {exercise.name} failed: {failed}"

    def assert_fails_everywhere(self, exercise: Exercise, function) -> None:
        passed = [key for key, message in self.outcomes(exercise, function).items() if message is None]
        assert not passed, f"the stub of {exercise.name} passed {passed}"

    def assert_diagnosed(self, exercise: Exercise, function, *keywords: str,
                         only: tuple[str, ...] | None = None) -> list[str]:
        """The wrong implementation loses points, and some feedback names the mistake.

        Each keyword may list alternatives separated by ``|`` ("twice|half"); case is ignored.
        Returns the feedback messages for further assertions.
        """
        # One student is enough to see the mistake; full marks are checked for all of them.
        messages = [message for message in self.outcomes(exercise, function, only, STUDENTS[:1]).values() if message]
        assert messages, f"a wrong implementation of {exercise.name} passed every part"
        for keyword in keywords:
            options = [option.lower() for option in keyword.split("|")]
            assert any(option in message.lower() for message in messages for option in options), (
                f"no feedback for {exercise.name} mentions {keyword!r}; feedback was: {messages}"
            )
        return messages


@pytest.fixture
def grader(monkeypatch) -> Grader:
    return Grader(monkeypatch)


@pytest.fixture(scope="module")
def solutions(request) -> dict:
    """The instructor notebook's solutions for the test module's ``ASSIGNMENT``."""
    return load_solutions(request.module.ASSIGNMENT)


@pytest.fixture(scope="module")
def stubs(request) -> dict:
    """The student's starting point (every body ``raise NotImplementedError()``) for ``ASSIGNMENT``."""
    return load_stubs(request.module.ASSIGNMENT)


@pytest.fixture(scope="session")
def solutions_of():
    """``solutions_of(assignment)``: the instructor notebook's solution namespace."""
    return functools.lru_cache(maxsize=None)(load_solutions)


@pytest.fixture(scope="session")
def stubs_of():
    """``stubs_of(assignment)``: the namespace a student starts from."""
    return functools.lru_cache(maxsize=None)(load_stubs)
