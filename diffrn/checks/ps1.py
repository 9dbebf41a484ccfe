"""Checks for ps1-jacobians: the complex-step Jacobian, spherical coordinates, linearization.

Notebook usage::

    from diffrn.checks.ps1 import check
    check.jacobian_complex_step(jacobian_complex_step)                # visible cases
    check.jacobian_complex_step(jacobian_complex_step, hidden=True)   # hidden cases, drawn per student
"""
from __future__ import annotations

import numpy as np

from diffrn.checks.core import (
    Answer, Case, CheckFailure, Exercise, ProblemSet, expect_array, expect_close_named, expect_scalar,
    relative_error,
)
from diffrn.checks.functions import AnalyticExample, AnalyticMap, Jacobian, LinearMap, SmoothMap, WorkedExample

# The complex step subtracts nothing, so it keeps all but a few digits: ~1e-16 relative on the
# maps below. Central differences stop near 1e-10 at best, and lose far more on maps with a
# large constant part, so a tolerance of 1e-13 tells the two methods apart.
COMPLEX_RTOL = 1e-13
# Up to this error an answer is "a derivative, but computed by differences".
DIFFERENCES_LEVEL = 1e-3
EXACT_RTOL = 1e-9


# --- jacobian_complex_step -----------------------------------------------------------------------
def _complex_step_case(label, function, x, **kwargs):
    x = np.asarray(x, dtype=np.float64)
    value = np.atleast_1d(np.asarray(function(x), dtype=np.float64))
    m, n = value.size, x.size
    expected = function.jacobian(x)
    h = kwargs.get("h", 1e-20)
    scalar = bool(getattr(function, "scalar", False))
    real_part = np.outer(value, np.ones(n)) / h
    mistakes = [
        (expected / 2, "Your Jacobian is half the right one: the complex step divides Im f(x + i·h·e_j) by h, "
                       "not by 2h (2h belongs to central differences)."),
        (-expected, "Your Jacobian has the wrong sign everywhere: column j is +Im f(x + i·h·e_j) / h. A step of "
                    "-i·h, or conjugating the point or the value (np.conj), flips the sign."),
        (np.zeros_like(expected), "Your Jacobian is zero: f never saw an imaginary part, or you threw it away. "
                                  "Assigning 1j*h into a float array (x.copy(), np.zeros(n)) silently drops it; "
                                  "so do np.array(..., dtype=float), .real and np.abs. Build the point as "
                                  "x + 1j * h * e_j (a complex array) and keep the value complex until np.imag."),
        (real_part, "You took the real part: Re f(x + i·h·e_j) is f(x) up to O(h²), which divided by h is huge. "
                    "The derivative is in the imaginary part: np.imag(f(x + 1j*h*e_j)) / h."),
        (np.abs(real_part), "You took the modulus: |f(x + i·h·e_j)| is |f(x)| up to O(h²), which divided by h is "
                            "huge. The derivative is in the imaginary part: np.imag(f(x + 1j*h*e_j)) / h."),
    ]

    def judge(answer: Answer):
        if answer.kind == "ndarray" and answer.dtype.startswith("complex"):
            raise CheckFailure(
                f"{label}: your Jacobian has dtype {answer.dtype}. The Jacobian of a real map is real: "
                "take the imaginary part (np.imag) of f(x + i·h·e_j) and divide by h."
            )
        why = f"f maps R^{n} to R^{m}, so J is {m}×{n}" + (
            "; f returns a plain number, so m = 1 and J is one row" if scalar else "")
        found = expect_array(answer, (m, n), label, why)
        error = relative_error(found, expected)
        if COMPLEX_RTOL < error <= DIFFERENCES_LEVEL and relative_error(found, -expected) > DIFFERENCES_LEVEL \
                and relative_error(found, expected / 2) > DIFFERENCES_LEVEL:
            raise CheckFailure(
                f"{label}: your Jacobian agrees with the exact one only to {error:.1e} (relative); the complex "
                f"step reaches {COMPLEX_RTOL:.0e}. That is the accuracy of finite differences, which subtract "
                "two nearly equal values of f and lose digits doing so. Evaluate f at the complex point "
                "x + i·h·e_j (with the h you are given) and take Im(...) / h: nothing is subtracted."
            )
        expect_close_named(found, expected, label, COMPLEX_RTOL, "Jacobian entry", mistakes)

    return Case(label, (function, x), judge, kwargs)


def _complex_step_visible():
    return [
        _complex_step_case("f(x1, x2) = (x1² + x2, x1·x2) at (1, 2)", AnalyticExample(), [1.0, 2.0]),
        _complex_step_case("a smooth f: R³ → R² plus the constant 10⁴ (differences lose digits here), "
                           "at x = (0.3, -0.2, 0.5)",
                           AnalyticMap(np.random.default_rng(11), 3, 2, offset=1e4, frequency=2.0), [0.3, -0.2, 0.5]),
        _complex_step_case("a scalar f: R³ → R that returns a plain number, at x = (0.3, -0.2, 0.5)",
                           AnalyticMap(np.random.default_rng(12), 3, 1, scalar=True), [0.3, -0.2, 0.5]),
    ]


def _complex_step_hidden(rng):
    cases = []
    for n, m in [(1, 1), (3, 2), (2, 4), (5, 3)]:
        offset = float(rng.choice([0.0, 1e3, 1e4]))
        function = AnalyticMap(rng, n, m, offset=offset, frequency=float(rng.uniform(1, 4)))
        constant = f" plus the constant {offset:g}" if offset else ""
        cases.append(_complex_step_case(f"a random analytic map R^{n} → R^{m}{constant}", function, rng.normal(size=n)))
    scalar = AnalyticMap(rng, 4, 1, scalar=True, offset=float(rng.choice([0.0, 1e3])))
    cases.append(_complex_step_case("a random scalar function of 4 variables (returns a plain number)",
                                    scalar, rng.normal(size=4)))
    step = float(rng.choice([1e-10, 1e-30]))
    cases.append(_complex_step_case(f"a random analytic map R^3 → R^2 called with h={step:g}",
                                    AnalyticMap(rng, 3, 2, frequency=2.0), rng.normal(size=3), h=step))
    return cases


# --- spherical_jacobian --------------------------------------------------------------------------
def _spherical_expected(r, theta, phi):
    """Rows (x, y, z), columns (r, θ, φ), θ from the z-axis, φ the azimuth."""
    st, ct, sp, cp = np.sin(theta), np.cos(theta), np.sin(phi), np.cos(phi)
    return np.array([[st * cp, r * ct * cp, -r * st * sp],
                     [st * sp, r * ct * sp, r * st * cp],
                     [ct, -r * st, 0.0]])


def _spherical_mistakes(r, theta, phi, expected):
    st, ct, sp, cp = np.sin(theta), np.cos(theta), np.sin(phi), np.cos(phi)
    # θ as the azimuth and φ from the z-axis: (r sinφ cosθ, r sinφ sinθ, r cosφ).
    angles_swapped = np.array([[sp * ct, -r * sp * st, r * cp * ct],
                               [sp * st, r * sp * ct, r * cp * st],
                               [cp, 0.0, -r * sp]])
    # θ as the latitude, from the xy-plane: (r cosθ cosφ, r cosθ sinφ, r sinθ).
    latitude = np.array([[ct * cp, -r * st * cp, -r * ct * sp],
                         [ct * sp, -r * st * sp, r * ct * cp],
                         [st, r * ct, 0.0]])
    no_r = expected.copy()
    no_r[:, 1:] /= r if r != 0 else 1.0
    z_sign = expected.copy()
    z_sign[2, 1] = -z_sign[2, 1]
    return [
        (expected.T, "Your matrix is the transpose of the right one: rows are the outputs (x, y, z), columns "
                     "the inputs (r, θ, φ)."),
        (expected[:, [0, 2, 1]], "Your columns are in the order (r, φ, θ); the contract orders them (r, θ, φ)."),
        (angles_swapped, "You swapped the roles of the angles: here θ is the angle from the z-axis "
                         "(z = r cos θ) and φ the azimuth in the xy-plane (x = r sin θ cos φ)."),
        (latitude, "You measured θ from the xy-plane (latitude); here θ is the angle from the z-axis: "
                   "z = r cos θ, x = r sin θ cos φ."),
        (no_r, "Your θ and φ columns lack the factor r: moving an angle moves the point along an arc whose "
               "length grows with r (e.g. ∂z/∂θ = -r sin θ)."),
        (z_sign, "Sign error in ∂z/∂θ: z = r cos θ, so ∂z/∂θ = -r sin θ."),
    ]


def _spherical_case(r, theta, phi):
    r, theta, phi = float(r), float(theta), float(phi)
    label = f"spherical_jacobian({r:.4g}, {theta:.4g}, {phi:.4g})"
    expected = _spherical_expected(r, theta, phi)
    mistakes = _spherical_mistakes(r, theta, phi, expected)

    def judge(answer: Answer):
        found = expect_array(answer, (3, 3), label, "the map sends (r, θ, φ) in R³ to (x, y, z) in R³")
        expect_close_named(found, expected, label, EXACT_RTOL, "entry", mistakes)

    return Case(label, (r, theta, phi), judge)


def _spherical_visible():
    return [_spherical_case(1.0, np.pi / 2, 0.0), _spherical_case(2.0, np.pi / 3, np.pi / 4),
            _spherical_case(0.5, 1.0, -2.0)]


def _spherical_hidden(rng):
    return [_spherical_case(r, t, p) for r, t, p in
            zip(rng.uniform(0.2, 3, 4), rng.uniform(0.2, np.pi - 0.2, 4), rng.uniform(-np.pi, np.pi, 4))]


# --- example_jacobian ----------------------------------------------------------------------------
def _example_case(x):
    x = np.asarray(x, dtype=np.float64)
    label = f"example_jacobian(np.array([{x[0]:.4g}, {x[1]:.4g}]))"
    expected = WorkedExample().jacobian(x)
    mistakes = [
        (np.array([[x[0], 1.0], [x[1], x[0]]]), "∂(x1²)/∂x1 = 2·x1: the top-left entry lacks its factor 2."),
        (np.array([[2 * x[0], 0.0], [x[1], x[0]]]), "∂(x1² + x2)/∂x2 = 1: the top-right entry should be 1."),
        (np.array([[2 * x[0], 1.0], [x[0], x[1]]]), "In the second row, ∂(x1·x2)/∂x1 = x2 and ∂(x1·x2)/∂x2 = x1: "
                                                   "your entries are swapped."),
    ]

    def judge(answer):
        found = expect_array(answer, (2, 2), label, "f maps R² to R²")
        expect_close_named(found, expected, label, EXACT_RTOL, "entry", mistakes)

    return Case(label, (x,), judge)


def _example_visible():
    return [_example_case([1.0, 2.0]), _example_case([0.0, 0.0]), _example_case([-1.5, 0.5])]


def _example_hidden(rng):
    return [_example_case(rng.normal(scale=2, size=2)) for _ in range(4)]


# --- linearize -----------------------------------------------------------------------------------
NOT_CALLABLE = "<not callable>"


def _linearize_case(label, function, x0, probes):
    x0 = np.asarray(x0, dtype=np.float64)
    probes = [np.asarray(p, dtype=np.float64) for p in probes]
    f0 = np.atleast_1d(np.asarray(function(x0), dtype=np.float64))
    J0 = function.jacobian(x0)
    scalar = bool(getattr(function, "scalar", False))
    expected = [f0 + J0 @ (p - x0) for p in probes]
    # What the usual slips return at each probe, with the explanation the student reads.
    slips = [[
        (f0 + function.jacobian(p) @ (p - x0), "You evaluated the Jacobian at x; L uses the fixed matrix "
                                               "jac(x0), computed once, so that L is affine in x."),
        (f0 - J0 @ (p - x0), "Sign error: L(x) = f(x0) + jac(x0) @ (x - x0), with x - x0, not x0 - x."),
        (J0 @ (p - x0), "The constant term f(x0) is missing: L(x0) must equal f(x0)."),
        (f0 + J0.T @ (p - x0) if J0.shape[0] == J0.shape[1] else np.full(f0.shape, np.nan),
         "You multiplied by the transpose of the Jacobian: rows index outputs, so use jac(x0) @ (x - x0)."),
    ] for p in probes]
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
        for point, item, value, mistakes in zip(probes, answer.items, expected, slips):
            where = f"{label}, L at x = {np.array2string(point, precision=3)}"
            if scalar:
                if item.kind != "scalar":
                    found = f"a numpy array of shape {item.shape}" if item.kind == "ndarray" else f"a {item.type_name}"
                    raise CheckFailure(
                        f"{where}: f returns a plain number, so L should too (scalar in, scalar out); yours "
                        f"returned {found}. Return float(...) of the single entry."
                    )
                found = np.array([expect_scalar(item, where)])
            else:
                found = expect_array(item, value.shape, where, f"f maps R^{x0.size} to R^{value.size}")
            expect_close_named(found, value, where, EXACT_RTOL, "value", mistakes)

    return Case(label, (function, jac, x0), judge, call=evaluate)


def _linearize_visible():
    return [
        _linearize_case("the worked example around x0 = (1, 2)", WorkedExample(), [1.0, 2.0],
                        [[1.0, 2.0], [1.1, 1.9], [0.0, 0.0]]),
        _linearize_case("a linear map (L must equal f)", LinearMap([[2.0, -1.0], [0.5, 3.0], [1.0, 1.0]]),
                        [0.5, 0.5], [[1.0, -2.0]]),
        _linearize_case("a scalar function of 3 variables (returns a plain number)",
                        SmoothMap(np.random.default_rng(2), 3, 1, scalar=True),
                        [0.1, 0.2, 0.3], [[0.1, 0.2, 0.3], [0.0, 0.0, 0.0]]),
    ]


def _linearize_hidden(rng):
    cases = []
    for n, m in [(2, 3), (3, 3), (4, 1)]:
        function = SmoothMap(rng, n, m, scalar=(m == 1))
        x0 = rng.normal(size=n)
        cases.append(_linearize_case(f"a random map R^{n} → R^{m}", function, x0, [x0, *rng.normal(size=(2, n))]))
    return cases


check = ProblemSet("ps1-jacobians", [
    Exercise("jacobian_complex_step", _complex_step_visible, _complex_step_hidden, points=4),
    Exercise("spherical_jacobian", _spherical_visible, _spherical_hidden, points=2),
    Exercise("example_jacobian", _example_visible, _example_hidden, points=2),
    Exercise("linearize", _linearize_visible, _linearize_hidden, points=2),
])
