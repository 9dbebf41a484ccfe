"""Checks for ps1-jacobians: finite-difference Jacobians, the polar map, linearization.

Notebook usage::

    from diffrn.checks.ps1 import check
    check.jacobian_fd(jacobian_fd)                # visible cases
    check.jacobian_fd(jacobian_fd, hidden=True)   # hidden cases, drawn per student
"""
from __future__ import annotations

import numpy as np

from diffrn.checks.core import (
    Answer, Case, CheckFailure, Exercise, ProblemSet, expect_array, expect_close, expect_scalar,
)
from diffrn.checks.functions import Jacobian, LinearMap, SmoothMap, WorkedExample

# Differences carry truncation and rounding error; exact formulas only rounding.
FD_RTOL = 1e-5
EXACT_RTOL = 1e-9


# --- jacobian_fd ------------------------------------------------------------------------------
def _jacobian_case(label, function, x, rtol=FD_RTOL, **kwargs):
    x = np.asarray(x, dtype=np.float64)
    m, n = np.atleast_1d(function(x)).size, x.size
    expected = function.jacobian(x)

    def judge(answer: Answer):
        why = f"f maps R^{n} to R^{m}, so J is {m}×{n}" + (" (a scalar f still gives one row)" if m == 1 else "")
        found = expect_array(answer, (m, n), label, why)
        expect_close(found, expected, label, rtol, "Jacobian entry")

    return Case(label, (function, x), judge, kwargs)


def _jacobian_visible():
    return [
        _jacobian_case("f(x1, x2) = (x1² + x2, x1·x2) at (1, 2)", WorkedExample(), [1.0, 2.0]),
        _jacobian_case("f(x) = A x with A 2×3, at x = (1, -1, 2)",
                       LinearMap([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), [1.0, -1.0, 2.0]),
        _jacobian_case("scalar f(x) = tanh(a·x + b) + c (b·x)² at a point of R³",
                       SmoothMap(np.random.default_rng(1), 3, 1, scalar=True), [0.3, -0.2, 0.5]),
    ]


def _jacobian_hidden(rng):
    cases = []
    for n, m in [(1, 1), (3, 2), (2, 4), (5, 3)]:
        function = SmoothMap(rng, n, m)
        cases.append(_jacobian_case(f"a random smooth map R^{n} → R^{m}", function, rng.normal(size=n)))
    scalar = SmoothMap(rng, 4, 1, scalar=True)
    cases.append(_jacobian_case("a random scalar function of 4 variables (returns a float)", scalar, rng.normal(size=4)))
    step = float(rng.choice([1e-5, 1e-6]))
    cases.append(_jacobian_case(f"a random smooth map R^3 → R^2 with h={step:g}", SmoothMap(rng, 3, 2),
                                rng.normal(size=3), h=step))
    return cases


# --- polar_jacobian ---------------------------------------------------------------------------
def _polar_expected(r, theta):
    return np.array([[np.cos(theta), -r * np.sin(theta)], [np.sin(theta), r * np.cos(theta)]])


def _polar_case(r, theta):
    label = f"polar_jacobian({r:.4g}, {theta:.4g})"
    expected = _polar_expected(r, theta)

    def judge(answer):
        found = expect_array(answer, (2, 2), label, "the polar map sends (r, θ) in R² to (x, y) in R²")
        expect_close(found, expected, label, EXACT_RTOL, "entry")

    return Case(label, (r, theta), judge)


def _polar_visible():
    return [_polar_case(1.0, 0.0), _polar_case(2.0, np.pi / 2), _polar_case(0.5, 1.0)]


def _polar_hidden(rng):
    return [_polar_case(float(r), float(t)) for r, t in zip(rng.uniform(0.1, 3, 4), rng.uniform(-np.pi, np.pi, 4))]


# --- example_jacobian -------------------------------------------------------------------------
def _example_case(x):
    x = np.asarray(x, dtype=np.float64)
    label = f"example_jacobian(np.array([{x[0]:.4g}, {x[1]:.4g}]))"
    expected = WorkedExample().jacobian(x)

    def judge(answer):
        found = expect_array(answer, (2, 2), label, "f maps R² to R²")
        expect_close(found, expected, label, EXACT_RTOL, "entry")

    return Case(label, (x,), judge)


def _example_visible():
    return [_example_case([1.0, 2.0]), _example_case([0.0, 0.0]), _example_case([-1.5, 0.5])]


def _example_hidden(rng):
    return [_example_case(rng.normal(scale=2, size=2)) for _ in range(4)]


# --- linearize --------------------------------------------------------------------------------
NOT_CALLABLE = "<not callable>"


def _linearize_case(label, function, x0, probes):
    x0 = np.asarray(x0, dtype=np.float64)
    probes = [np.asarray(p, dtype=np.float64) for p in probes]
    f0 = np.atleast_1d(np.asarray(function(x0), dtype=np.float64))
    J0 = function.jacobian(x0)
    scalar = bool(getattr(function, "scalar", False))
    expected = [f0 + J0 @ (p - x0) for p in probes]
    jac = Jacobian(function)

    def evaluate(student_linearize):
        L = student_linearize(function, jac, x0)
        if not callable(L):
            return (NOT_CALLABLE, type(L).__name__)
        return tuple(L(p) for p in probes)

    def judge(answer: Answer):
        if answer.kind != "tuple" or (answer.items and answer.items[0].text == NOT_CALLABLE):
            returned = answer.items[1].text if answer.kind == "tuple" else answer.type_name
            raise CheckFailure(f"{label}: linearize should return a function L, but it returned a {returned}.")
        for point, item, value in zip(probes, answer.items, expected):
            where = f"{label}, L at x = {np.array2string(point, precision=3)}"
            if scalar:
                if not (item.kind == "scalar" or (item.kind == "ndarray" and item.shape == ())):
                    raise CheckFailure(
                        f"{where}: f returns a single number, so L should too (scalar in, scalar out); "
                        f"yours returned a {item.type_name} of shape {item.shape}."
                    )
                expect_close(expect_scalar(item, where), value[0], where, EXACT_RTOL, "value")
            else:
                found = expect_array(item, value.shape, where, f"f maps R^{x0.size} to R^{value.size}")
                expect_close(found, value, where, EXACT_RTOL, "value")

    return Case(label, (function, jac, x0), judge, call=evaluate)


def _linearize_visible():
    return [
        _linearize_case("the worked example around x0 = (1, 2)", WorkedExample(), [1.0, 2.0],
                        [[1.0, 2.0], [1.1, 1.9], [0.0, 0.0]]),
        _linearize_case("a linear map (L must equal f)", LinearMap([[2.0, -1.0], [0.5, 3.0], [1.0, 1.0]]),
                        [0.5, 0.5], [[1.0, -2.0]]),
        _linearize_case("a scalar function of 3 variables", SmoothMap(np.random.default_rng(2), 3, 1, scalar=True),
                        [0.1, 0.2, 0.3], [[0.1, 0.2, 0.3], [0.0, 0.0, 0.0]]),
    ]


def _linearize_hidden(rng):
    cases = []
    for n, m in [(2, 3), (4, 1)]:
        function = SmoothMap(rng, n, m, scalar=(m == 1))
        x0 = rng.normal(size=n)
        cases.append(_linearize_case(f"a random map R^{n} → R^{m}", function, x0, [x0, *rng.normal(size=(2, n))]))
    return cases


check = ProblemSet("ps1-jacobians", [
    Exercise("jacobian_fd", _jacobian_visible, _jacobian_hidden),
    Exercise("polar_jacobian", _polar_visible, _polar_hidden),
    Exercise("example_jacobian", _example_visible, _example_hidden),
    Exercise("linearize", _linearize_visible, _linearize_hidden),
])
