"""The machinery every exercise check is built from.

A check runs a student's function on a list of :class:`Case` objects and judges each answer.
Judging is split from running on purpose:

* :func:`describe` turns whatever the student returned into plain data (an :class:`Answer`:
  kind, dtype, shape and float values). It is the only step that touches the student's
  object, so an object that lies in ``__eq__`` or ``__array__`` gains nothing.
* A judge (``Case.judge``) looks only at the ``Answer`` and the case's expected value, and
  raises :class:`CheckFailure` with a message that says what was expected, what was found
  and, where it can tell, which common mistake produced it (transposed, sign, factor 2...).

The same cases and judges run inside the notebook (visible and hidden tests) and, for the
final grade, in a separate clean process that student code cannot reach (see
:mod:`diffrn_grading.verify`).
"""
from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np


class CheckFailure(AssertionError):
    """A student's answer is wrong; the message is the feedback they read.

    In a notebook (JupyterLab, Notebook 7, Colab, plain IPython) the failure shows as its
    diagnosis alone, on the first line, through IPython's ``_render_traceback_`` hook: the
    frames of the checks mean nothing to a student. When the student's own code raised, its
    traceback follows, cut down to the student's frames, so they can still debug it.
    """

    exercise = ""  # the function being checked, set by run_cases

    def _render_traceback_(self) -> list[str]:
        cause = self.__cause__
        name = f"{self.exercise}: " if self.exercise else ""
        if isinstance(cause, NotImplementedError):
            return [f"✗ {name}not written yet: replace `raise NotImplementedError()` with your code, "
                    "then run this cell again."]
        lines = [f"✗ {name}{self}"]
        if cause is not None:
            lines += ["", "Your code raised the error here (the checks' own frames are left out):",
                      *_student_traceback(cause)]
        return lines


def _student_traceback(error: BaseException) -> list[str]:
    """The traceback of ``error`` without frames of the checks or of numpy's internals."""
    import traceback
    from pathlib import Path

    hidden = (str(Path(__file__).resolve().parent), str(Path(np.__file__).resolve().parent))
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if not str(Path(frame.filename).resolve()).startswith(hidden)]
    text = "".join(traceback.format_list(frames) + traceback.format_exception_only(type(error), error))
    return text.rstrip("\n").splitlines()


# --------------------------------------------------------------------------------------------
# Answers: what the student returned, as plain data
# --------------------------------------------------------------------------------------------
@dataclass
class Answer:
    """A student's return value reduced to plain data.

    ``kind`` is one of ``"ndarray"``, ``"scalar"`` (Python int/float or numpy scalar),
    ``"list"`` (list or tuple of numbers, converted), ``"tuple"`` (a tuple of answers),
    ``"str"``, ``"callable"``, ``"none"`` or ``"other"``.
    """

    kind: str
    type_name: str
    dtype: str = ""
    shape: tuple = ()
    values: np.ndarray | None = None
    items: list["Answer"] = field(default_factory=list)
    text: str = ""

    def to_json(self) -> dict:
        """A JSON-safe dict (values as a list) for sending between processes."""
        return {
            "kind": self.kind,
            "type_name": self.type_name,
            "dtype": self.dtype,
            "shape": list(self.shape),
            "values": None if self.values is None else [float(v) for v in self.values.reshape(-1)],
            "items": [item.to_json() for item in self.items],
            "text": self.text,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Answer":
        shape = tuple(int(s) for s in data["shape"])
        values = data["values"]
        return cls(
            kind=str(data["kind"]),
            type_name=str(data["type_name"])[:80],
            dtype=str(data["dtype"])[:20],
            shape=shape,
            values=None if values is None else np.array(values, dtype=np.float64).reshape(shape),
            items=[cls.from_json(item) for item in data["items"]],
            text=str(data["text"])[:200],
        )


def describe(result: Any) -> Answer:
    """Reduce a returned value to an :class:`Answer` without trusting its methods."""
    type_name = type(result).__name__
    if result is None:
        return Answer("none", "NoneType")
    if isinstance(result, str):
        return Answer("str", "str", text=str.__str__(result)[:200])
    if type(result) is tuple:
        return Answer("tuple", "tuple", items=[describe(item) for item in result])
    if type(result) is np.ndarray:
        try:
            # A complex answer keeps its real part here; its dtype names the mistake, numpy's
            # ComplexWarning would only add noise under the feedback.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
                values = np.array(result, dtype=np.float64, copy=True)
        except (TypeError, ValueError):
            return Answer("other", type_name, dtype=str(result.dtype), shape=tuple(result.shape))
        return Answer("ndarray", "ndarray", dtype=str(result.dtype), shape=tuple(result.shape), values=values)
    if type(result) in (int, float, bool) or type(result) in (np.float64, np.float32, np.int64, np.int32):
        return Answer("scalar", type_name, dtype=type_name, values=np.array(float(result), dtype=np.float64))
    if type(result) is list:
        try:
            values = np.array(result, dtype=np.float64)
        except (TypeError, ValueError):
            return Answer("other", "list")
        return Answer("list", "list", dtype="list", shape=values.shape, values=values)
    if callable(result):
        return Answer("callable", type_name)
    return Answer("other", type_name)


# --------------------------------------------------------------------------------------------
# Cases and running them
# --------------------------------------------------------------------------------------------
@dataclass
class Case:
    """One call of a student's function and how to judge its answer.

    Args:
        label: what this case is, as the student should read it in feedback.
        args: positional arguments for the student's function.
        judge: ``judge(answer)`` raises :class:`CheckFailure` if the answer is wrong.
        kwargs: keyword arguments, if any.
        call: how to get an answer from the student's function when a plain call is not
            enough (e.g. ``linearize`` returns a function that must itself be evaluated);
            ``call(function)`` returns the value to judge.
    """

    label: str
    args: tuple
    judge: Callable[[Answer], None]
    kwargs: dict = field(default_factory=dict)
    call: Callable[[Callable], Any] | None = None


def collect_answer(function: Callable, case: Case) -> dict:
    """Call ``function`` on one case and record what happened, as plain data.

    Returns ``{"answer": Answer | None, "error": str, "modified": int | None}``: the described
    return value, the exception the student's code raised (if any) and the index of an
    argument it modified in place (if any). Nothing here judges.
    """
    before = [copy.deepcopy(a) if isinstance(a, np.ndarray) else None for a in case.args]
    try:
        result = case.call(function) if case.call else function(*case.args, **case.kwargs)
    except Exception as error:  # the student's code raised: report it, do not crash the check
        # ``exception`` stays in this process (it is not plain data): the notebook shows its traceback.
        return {"answer": None, "error": f"{type(error).__name__}: {error}"[:500], "modified": None,
                "exception": error}
    modified = next(
        (index for index, (original, arg) in enumerate(zip(before, case.args))
         if original is not None and not _identical(original, arg)),
        None,
    )
    return {"answer": describe(result), "error": "", "modified": modified}


def judge_collected(case: Case, collected: dict) -> None:
    """Judge what :func:`collect_answer` recorded; raises :class:`CheckFailure` with feedback."""
    if collected["error"]:
        raise CheckFailure(f"{case.label}: your function raised {collected['error']}") from collected.get("exception")
    if collected["modified"] is not None:
        raise CheckFailure(
            f"{case.label}: argument {collected['modified'] + 1} was modified in place. Work on a copy "
            "(x = np.array(x, dtype=float)) so the caller's array is left as it was."
        )
    case.judge(collected["answer"])


def run_case(function: Callable, case: Case) -> None:
    """Call ``function`` on one case and judge the answer; also checks inputs stay unchanged."""
    judge_collected(case, collect_answer(function, case))


def run_cases(function: Callable, cases: Sequence[Case], name: str) -> None:
    """Run every case; stop at the first failure with a message naming the function."""
    if not callable(function):
        raise CheckFailure(f"`{name}` should be a function, but it is a {type(function).__name__}.")
    for case in cases:
        try:
            run_case(function, case)
        except CheckFailure as failure:
            failure.exercise = name
            raise


def _identical(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=True))


# --------------------------------------------------------------------------------------------
# Judging arrays and numbers
# --------------------------------------------------------------------------------------------
def _fmt_shape(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def expect_array(answer: Answer, shape: tuple, label: str, why: str = "") -> np.ndarray:
    """The answer's values, after checking it is a float64 ndarray of ``shape``.

    ``why`` explains the expected shape (e.g. "f maps R³ to R², so J is 2×3").
    """
    if answer.kind == "list":
        raise CheckFailure(
            f"{label}: you returned a list; return a numpy array (np.array(...)) of shape {_fmt_shape(shape)}."
        )
    if answer.kind == "scalar" and shape != ():
        raise CheckFailure(f"{label}: you returned a single number; expected an array of shape {_fmt_shape(shape)}.")
    if answer.kind == "none":
        raise CheckFailure(f"{label}: your function returned None. Did you forget `return`?")
    if answer.kind not in ("ndarray", "scalar"):
        raise CheckFailure(f"{label}: expected a numpy array of shape {_fmt_shape(shape)}, got a {answer.type_name}.")
    found_shape = tuple(answer.shape) if answer.kind == "ndarray" else ()
    if found_shape != tuple(shape):
        hint = ""
        if len(shape) == 2 and found_shape == (shape[1], shape[0]):
            hint = " — transposed? Rows index outputs, columns index inputs."
        elif len(found_shape) == len(shape) + 1 and 1 in found_shape:
            hint = " — an extra axis of length 1? Check your reshape or use np.squeeze."
        elif len(shape) == len(found_shape) + 1 and 1 in shape:
            hint = " — a missing axis of length 1 (a scalar output still gives one row)?"
        reason = f" ({why})" if why else ""
        raise CheckFailure(
            f"{label}: expected shape {_fmt_shape(shape)}{reason}; yours is {_fmt_shape(found_shape)}{hint}"
        )
    if answer.kind == "ndarray" and answer.dtype != "float64":
        raise CheckFailure(
            f"{label}: expected float64 values, got dtype {answer.dtype}. Use np.zeros(..., dtype=float) "
            "or np.asarray(..., dtype=float)."
        )
    values = answer.values
    if not np.all(np.isfinite(values)):
        bad = np.argwhere(~np.isfinite(np.atleast_1d(values)))
        where = tuple(int(i) for i in bad[0]) if bad.size else ()
        raise CheckFailure(
            f"{label}: your answer contains NaN or inf (first at index {where}). "
            "Look for a division by zero or an overflow (exp of a large number)."
        )
    return values


def relative_error(found: np.ndarray, expected: np.ndarray) -> float:
    """max |found - expected| / max(1, max |expected|), computed in plain Python floats."""
    found_list = np.asarray(found, dtype=np.float64).reshape(-1).tolist()
    expected_list = np.asarray(expected, dtype=np.float64).reshape(-1).tolist()
    scale = max([1.0] + [abs(v) for v in expected_list])
    worst = max([0.0] + [abs(a - b) for a, b in zip(found_list, expected_list)])
    return worst / scale


def expect_close(found, expected, label: str, rtol: float, what: str = "value") -> None:
    """Compare arrays of equal shape; on failure say where, by how much, and the likely mistake."""
    found = np.asarray(found, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    error = relative_error(found, expected)
    if math.isfinite(error) and error <= rtol:
        return
    diagnosis = diagnose(found, expected, rtol)
    flat_found = np.atleast_1d(found)
    flat_expected = np.atleast_1d(expected)
    index = np.unravel_index(int(np.argmax(np.abs(flat_found - flat_expected))), flat_expected.shape)
    where = "" if expected.ndim == 0 else f" at index {tuple(int(i) for i in index)}"
    raise CheckFailure(
        f"{label}: wrong {what}{where}: expected {float(flat_expected[index]):.6g}, "
        f"found {float(flat_found[index]):.6g} (relative error {error:.2e}, tolerance {rtol:.0e})."
        + (f" {diagnosis}" if diagnosis else "")
    )


def diagnose(found: np.ndarray, expected: np.ndarray, rtol: float) -> str:
    """Name a common mistake that turns ``expected`` into ``found``, if one fits."""
    loose = max(rtol, 1e-6) * 10

    def near(candidate):
        return candidate.shape == found.shape and relative_error(found, candidate) <= loose

    if not np.any(expected):
        return ""
    if expected.ndim == 2 and expected.shape[0] == expected.shape[1] and near(expected.T):
        return "Your matrix is the transpose of the right one: rows index outputs, columns inputs."
    if near(-expected):
        return "Your answer has the wrong sign everywhere."
    if near(2 * expected):
        return "Your answer is twice the right one (a factor of 2 too many)."
    if near(expected / 2):
        return "Your answer is half the right one (a missing factor of 2)."
    return ""


def expect_scalar(answer: Answer, label: str) -> float:
    """The answer as a float, accepting a Python/numpy scalar or a 0-d or size-1 array."""
    if answer.kind == "none":
        raise CheckFailure(f"{label}: your function returned None. Did you forget `return`?")
    if answer.kind in ("scalar", "ndarray", "list") and answer.values is not None and answer.values.size == 1:
        value = float(answer.values.reshape(-1)[0])
        if not math.isfinite(value):
            raise CheckFailure(f"{label}: your answer is {value}. Look for a division by zero or an overflow.")
        return value
    raise CheckFailure(f"{label}: expected a single number, got a {answer.type_name} of shape {answer.shape}.")


# --------------------------------------------------------------------------------------------
# Exercises and problem sets
# --------------------------------------------------------------------------------------------
@dataclass
class Exercise:
    """The checks of one student function.

    Args:
        name: the function's name in the notebook (the contract).
        visible: ``visible()`` -> fixed cases the student sees and can debug against.
        hidden: ``hidden(rng)`` -> random cases drawn per student (see :mod:`.seeding`).
        hard: ``hard(rng)`` -> optional hard cases (overflow, ill-conditioning) graded in a
            test cell of their own, so failing only them costs less.
        points: what the function's graded test cells are worth in the notebook, shown in
            the student's summary table (a test keeps it equal to the notebook's metadata).
    """

    name: str
    visible: Callable[[], list]
    hidden: Callable[[np.random.Generator], list]
    hard: Callable[[np.random.Generator], list] | None = None
    points: float = 0

    def cases(self, part: str, rng: np.random.Generator | None = None) -> list:
        if part == "visible":
            return self.visible()
        source = {"hidden": self.hidden, "hard": self.hard}.get(part)
        if source is None:
            raise ValueError(f"{self.name} has no {part!r} cases")
        return source(rng)

    def __call__(self, function, hidden: bool = False, part: str | None = None, salt: str = "") -> None:
        """Check ``function``; raises :class:`CheckFailure` with feedback, prints a line on success."""
        from diffrn.checks.seeding import student_cases

        part = part or ("hidden" if hidden else "visible")
        cases = student_cases(self, part, salt=salt)
        run_cases(function, cases, self.name)
        print(f"✓ {self.name}: all {len(cases)} {part} checks passed.")


class ProblemSet:
    """The exercises of one assignment, reachable as attributes: ``check.jacobian_fd(...)``."""

    def __init__(self, assignment: str, exercises: Sequence[Exercise]):
        self.assignment = assignment
        self.exercises = {exercise.name: exercise for exercise in exercises}

    def __getattr__(self, name: str) -> Exercise:
        try:
            return self.__dict__["exercises"][name]
        except KeyError:
            raise AttributeError(f"{self.__dict__.get('assignment')} has no exercise named {name!r}") from None

    def __dir__(self):
        return list(self.exercises)

    def summary(self, namespace: dict) -> None:
        """Print where the student stands: each function, its visible checks, its points.

        ``namespace`` is the notebook's ``globals()``. Every function found there is run on its
        visible cases again (their output is not repeated); nothing here raises, so the table
        appears even when every function is still a stub. Returns None, so that a notebook
        shows the table alone.
        """
        print(_summary_table(self.assignment, self.summary_rows(namespace)))

    def summary_rows(self, namespace: dict) -> list[tuple[str, str, float]]:
        """The rows of :meth:`summary`: ``(function, status, points)``."""
        rows = []
        for exercise in self.exercises.values():
            function = namespace.get(exercise.name)
            if function is None:
                status = "not defined: run its cell"
            elif not callable(function):
                status = f"not a function (a {type(function).__name__})"
            else:
                status = _visible_status(exercise, function)
            rows.append((exercise.name, status, exercise.points))
        return rows


def _visible_status(exercise: Exercise, function: Callable) -> str:
    """"passed", or "failed: <the first line of the diagnosis>"; never raises."""
    import contextlib
    import io

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            run_cases(function, exercise.visible(), exercise.name)
    except CheckFailure as failure:
        if "raised NotImplementedError" in str(failure):
            return "not started (still raises NotImplementedError)"
        return "failed: " + str(failure).splitlines()[0][:200]
    except Exception as error:  # a check helper tripped over a very odd answer: still a table row
        return f"failed: {type(error).__name__}: {error}"[:160]
    return "passed"


def _summary_table(assignment: str, rows: Sequence[tuple[str, str, float]]) -> str:
    width = max(len("function"), *(len(name) for name, _, _ in rows))
    lines = [f"{assignment}: where you stand on the visible checks", "",
             f"{'function':<{width}}  {'points':>6}  visible checks",
             f"{'-' * width}  {'-' * 6}  {'-' * 14}"]
    for name, status, points in rows:
        lines.append(f"{name:<{width}}  {points:>6g}  {status}")
    passed = sum(status == "passed" for _, status, _ in rows)
    lines += ["",
              f"{passed} of {len(rows)} functions pass their visible checks. When graded, each is also "
              "tested on random cases drawn for you, and the written answer is read by a person.",
              f"To hand in: save this notebook (keep its name, {assignment}.ipynb) and submit it as your "
              "instructor asks (LMS upload, or the Assignments tab / `nbgrader submit` on a JupyterHub). "
              "In JupyterLite, download it first (File > Download): it only lives in your browser."]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Judging helpers shared by several problem sets
# --------------------------------------------------------------------------------------------
def _worst_entry(found: np.ndarray, expected: np.ndarray) -> tuple[str, float, float]:
    """Where ``found`` is furthest from ``expected``: (" at index (i, j)", expected, found)."""
    flat_found = np.atleast_1d(found)
    flat_expected = np.atleast_1d(expected)
    gaps = np.abs(flat_found - flat_expected)
    gaps = np.where(np.isfinite(gaps), gaps, np.inf)
    index = np.unravel_index(int(np.argmax(gaps)), flat_expected.shape)
    where = "" if expected.ndim == 0 else f" at index {tuple(int(i) for i in index)}"
    return where, float(flat_expected[index]) + 0.0, float(flat_found[index]) + 0.0  # no "-0" in feedback


def expect_close_named(found, expected, label: str, rtol: float, what: str = "value",
                       mistakes: Sequence[tuple[Any, str]] = ()) -> None:
    """Like :func:`expect_close`, but first names the mistake if ``found`` matches one of ``mistakes``.

    Args:
        mistakes: pairs ``(what a known mistake returns, explanation)``, most specific first.
            The explanation should say what the right computation is.
    """
    found = np.asarray(found, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    error = relative_error(found, expected)
    if math.isfinite(error) and error <= rtol:
        return
    loose = max(rtol, 1e-6) * 10
    for candidate, explanation in mistakes:
        candidate = np.asarray(candidate, dtype=np.float64)
        if candidate.shape != found.shape or not np.all(np.isfinite(candidate)):
            continue
        if relative_error(found, candidate) <= loose and relative_error(candidate, expected) > loose:
            where, want, got = _worst_entry(found, expected)
            raise CheckFailure(
                f"{label}: wrong {what}{where}: expected {want:.6g}, found {got:.6g}. {explanation}"
            )
    expect_close(found, expected, label, rtol, what)


def expect_tuple(answer: Answer, names: Sequence[str], label: str) -> list[Answer]:
    """The items of a tuple answer with one item per name, e.g. ``("g_W", "g_x")``."""
    wanted = "(" + ", ".join(names) + ")"
    if answer.kind == "tuple" and len(answer.items) == len(names):
        return answer.items
    if answer.kind == "tuple":
        raise CheckFailure(
            f"{label}: expected a tuple of {len(names)} items {wanted}; yours has {len(answer.items)} items."
        )
    if answer.kind == "none":
        raise CheckFailure(f"{label}: your function returned None; expected a tuple {wanted}. Did you forget `return`?")
    found = "a list" if answer.type_name == "list" else f"a {answer.type_name}"
    if answer.kind == "ndarray":
        found += f" of shape {_fmt_shape(answer.shape)}"
    raise CheckFailure(
        f"{label}: expected a tuple {wanted}; you returned {found}. End with `return {', '.join(names)}` "
        "(a tuple, not a list or one stacked array)."
    )


def expect_choice(answer: Answer, choices: Sequence[str], label: str) -> str:
    """The answer's text, after checking it is one of ``choices``."""
    allowed = ", ".join(repr(choice) for choice in choices)
    if answer.kind != "str":
        raise CheckFailure(f"{label}: expected one of the strings {allowed}; you returned a {answer.type_name}.")
    if answer.text not in choices:
        raise CheckFailure(f"{label}: expected one of {allowed}; you returned {answer.text!r}.")
    return answer.text


def quietly(*args, **kwargs) -> Callable[[Callable], Any]:
    """A ``Case.call`` adapter that calls the function with numpy's floating-point warnings off.

    For cases built to overflow: the feedback names the overflow, so numpy's RuntimeWarning
    (which nbgrader would count as an error output) adds nothing.
    """

    def call(function):
        with np.errstate(all="ignore"):
            return function(*args, **kwargs)

    return call


def backward_error(matrix, solution, rhs) -> float:
    """``||A X - B|| / (||A|| ||X||)`` (Frobenius norms): how far X is from solving A X = B exactly.

    A backward-stable solver (LU with pivoting, as in ``np.linalg.solve``) keeps this near
    machine precision whatever the condition number of A; multiplying by an explicitly formed
    inverse does not.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    solution = np.asarray(solution, dtype=np.float64)
    rhs = np.asarray(rhs, dtype=np.float64)
    scale = float(np.linalg.norm(matrix) * np.linalg.norm(solution))
    if scale == 0.0:
        return float(np.linalg.norm(rhs))
    return float(np.linalg.norm(matrix @ solution - rhs) / scale)


def expect_adjoint(cotangent, forward_of, directions, found, label: str, rtol: float, what: str,
                   identity: tuple[str, str] | None = None) -> None:
    """Check the adjoint identity <u, J v> = <Jᵀu, v> for a student's ``found`` = Jᵀu.

    Args:
        cotangent: u, in the output space.
        forward_of: ``forward_of(v)`` -> J v (the reference JVP).
        directions: random directions v in the input space (same shape as ``found``).
        found: the student's vector-Jacobian product (values of an already checked array).
        what: how to name ``found`` in feedback (e.g. "g_x").
        identity: the two sides as the student should read them, e.g. ("<g, W v>", "<g_x, v>").
    """
    left_name, right_name = identity or ("<u, J v>", f"<{what}, v>")
    u = np.asarray(cotangent, dtype=np.float64)
    found = np.asarray(found, dtype=np.float64)
    for number, v in enumerate(directions, start=1):
        v = np.asarray(v, dtype=np.float64)
        left = float(np.sum(u * forward_of(v)))
        right = float(np.sum(found * v))
        scale = max(1.0, float(np.linalg.norm(u) * np.linalg.norm(forward_of(v))),
                    float(np.linalg.norm(found) * np.linalg.norm(v)))
        if not abs(left - right) <= rtol * scale:
            raise CheckFailure(
                f"{label}: the adjoint identity {left_name} = {right_name} fails for random direction {number}: "
                f"{left_name} = {left:.6g} but {right_name} = {right:.6g}."
            )


class PeakMemory:
    """The most memory (numpy arrays included) held at once inside a ``with`` block, in bytes.

    For cost checks such as "no n×n array": a call adapter measures the student's call and
    reports ``memory.bytes`` through :func:`flag`. tracemalloc is started only if it was off.
    """

    bytes: float = 0.0

    def __enter__(self) -> "PeakMemory":
        import tracemalloc

        self._was_tracing = tracemalloc.is_tracing()
        if not self._was_tracing:
            tracemalloc.start()
        tracemalloc.reset_peak()
        self._start = tracemalloc.get_traced_memory()[0]
        return self

    def __exit__(self, *exc_info) -> bool:
        import tracemalloc

        self.bytes = float(max(0, tracemalloc.get_traced_memory()[1] - self._start))
        if not self._was_tracing:
            tracemalloc.stop()
        return False


# A ``Case.call`` adapter may run in a sandbox process while the judge runs in the grader's
# (see diffrn_grading.verify): it must report what it observed (a call count, a memory peak,
# an exception it caught) in its return value, never in shared state and never by raising.
# ``flag(code, *details)`` is that report; the judge reads it back with :func:`flagged`.
FLAG = "__diffrn_flag__"


def flag(code: str, *details) -> tuple:
    """A return value for a ``Case.call`` adapter meaning "observed ``code``", with plain details."""
    return (FLAG, code, *details)


def flagged(answer: Answer) -> tuple[str, list[Answer]] | None:
    """``(code, details)`` if the adapter returned :func:`flag`, else None."""
    if answer.kind == "tuple" and len(answer.items) >= 2 and answer.items[0].kind == "str" \
            and answer.items[0].text == FLAG and answer.items[1].kind == "str":
        return answer.items[1].text, answer.items[2:]
    return None
