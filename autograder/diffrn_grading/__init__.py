"""The instructor's side: release, validate, grade and report nbgrader assignments.

A package of its own (``autograder/pyproject.toml``, ``diffrn-grading``): what students
install, ``diffrn``, holds the engine, the demos and the checks, and none of this.

* :mod:`diffrn_grading.course` -- the course directory and the release/validate steps.
* :mod:`diffrn_grading.batch` -- grading every submission of a class and exporting grades.
* :mod:`diffrn_grading.cli` -- the command line behind ``make assignments/validate/grade``.
"""

import sys as _sys

# jsonschema imports rfc3987_syntax, if installed, to check the "iri" string format, and that
# module builds about 35 Earley parsers as it is imported: about a second of CPU in every
# grading process (python-jsonschema/jsonschema#1428). No notebook or nbgrader schema uses that
# format; without the module jsonschema simply has no "iri" check. Only for processes that
# import the grader before jsonschema (its command line, its pool workers).
_sys.modules.setdefault("rfc3987_syntax", None)
