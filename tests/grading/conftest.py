"""Fixtures for grading tests: a private nbgrader course with ps1 released."""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from diffrn_grading.course import DEFAULT_COURSE, REPO_ROOT, Course, release
from corpus import solution_code

ASSIGNMENT = "ps1-jacobians"


class CourseFixture:
    def __init__(self, root: Path, assignment: str = ASSIGNMENT):
        shutil.copy(DEFAULT_COURSE / "nbgrader_config.py", root / "nbgrader_config.py")
        self.assignment = assignment
        self.course = Course(root)
        self.release = nbformat.read(str(release(self.course, assignment)), as_version=4)
        self.source = nbformat.read(str(self.course.source_notebook(assignment)), as_version=4)
        self.solutions = solution_code(self.source)

    @property
    def root(self) -> Path:
        return self.course.root

    def hand_in(self, *submissions):
        for submission in submissions:
            submission.write(self.root, self.assignment, self.release, self.solutions)

    def grades(self) -> dict[str, float]:
        import csv

        with open(self.root / "grades.csv") as handle:
            return {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}


@pytest.fixture
def course(tmp_path) -> CourseFixture:
    return CourseFixture(tmp_path)


@pytest.fixture(scope="module")
def module_course(tmp_path_factory) -> CourseFixture:
    """One course for a whole test module (for an expensive batch graded once)."""
    return CourseFixture(tmp_path_factory.mktemp("course"))


@pytest.fixture(scope="module")
def repo_root() -> Path:
    return REPO_ROOT
