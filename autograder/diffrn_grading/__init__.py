"""The instructor's side: release, validate, grade and report nbgrader assignments.

* :mod:`diffrn_grading.course` -- the course directory and the release/validate steps.
* :mod:`diffrn_grading.batch` -- grading every submission of a class and exporting grades.
* :mod:`diffrn_grading.cli` -- the command line behind ``make assignments/validate/grade``.
"""
