"""The instructor's side: release, validate, grade and report nbgrader assignments.

* :mod:`diffrn.grading.course` -- the course directory and the release/validate steps.
* :mod:`diffrn.grading.batch` -- grading every submission of a class and exporting grades.
* :mod:`diffrn.grading.cli` -- the command line behind ``make assignments/validate/grade``.
"""
