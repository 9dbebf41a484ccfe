"""Exercise checks, shared by the notebooks' visible tests, the hidden tests and pytest.

One module per problem set (``diffrn.checks.ps1`` ...), each exposing ``check``: call
``check.<function_name>(student_function)`` for the visible cases, or with ``hidden=True``
for the per-student random cases. Failures raise :class:`CheckFailure` whose message is the
student's feedback.
"""
from diffrn.checks.core import Answer, Case, CheckFailure, Exercise, ProblemSet, describe

__all__ = ["Answer", "Case", "CheckFailure", "Exercise", "ProblemSet", "describe"]
