"""The instructor's side: release, validate, grade and report nbgrader assignments.

A package of its own (``autograder/pyproject.toml``, ``diffrn-grading``): what students
install, ``diffrn``, holds the engine, the demos and the checks, and none of this.

* :mod:`diffrn_grading.course` -- the course directory and the release/validate steps.
* :mod:`diffrn_grading.batch` -- grading every submission of a class and exporting grades.
* :mod:`diffrn_grading.cli` -- the command line behind ``make assignments/validate/grade``.
"""
