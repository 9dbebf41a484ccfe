"""Checks for ps6-implicit-functions: implicit slopes, inverse Jacobians, derivatives of argmins.

Notebook usage::

    from diffrn.checks.ps6 import check
    check.implicit_slope(implicit_slope)                # visible cases
    check.implicit_slope(implicit_slope, hidden=True)   # hidden cases, drawn per student
    check.implicit_slope(implicit_slope, part="hard")   # F_y with condition number 1e12
"""
from __future__ import annotations

import numpy as np

from diffrn.checks.core import (
    Answer, Case, CheckFailure, Exercise, ProblemSet, backward_error, expect_array, expect_close_named,
    expect_scalar, flag, flagged,
)
from diffrn.checks.functions import InvertibleMap, Jacobian, LinearMap, WorkedExample

EXACT_RTOL = 1e-9
FD_RTOL = 1e-5           # ridge_solution_grad may be done by differences in lambda
BACKWARD_TOL = 1e-12     # a solve reaches ~1e-16 here; an explicit inverse ~1e-7 at condition 1e12


# --- implicit_slope ---------------------------------------------------------------------------
def _implicit_case(label, F_x, F_y):
    F_x, F_y = np.asarray(F_x, dtype=np.float64), np.asarray(F_y, dtype=np.float64)
    m, n = F_x.shape
    expected = -np.linalg.solve(F_y, F_x)
    mistakes = [
        (-expected, "Sign error: differentiating F(x, y(x)) = 0 gives F_x + F_y y' = 0, so y' = -F_y⁻¹ F_x."),
        (-np.linalg.solve(F_y.T, F_x), "You solved with F_yᵀ; solve with F_y itself: y' = -F_y⁻¹ F_x."),
    ]
    if m == n:
        mistakes.append((-F_x @ np.linalg.inv(F_y), "Wrong order: F_y⁻¹ multiplies from the left, y' = -F_y⁻¹ F_x "
                                                    "(np.linalg.solve(F_y, F_x))."))
        mistakes.append((-np.linalg.solve(F_x, F_y) if abs(np.linalg.det(F_x)) > 1e-8 else np.zeros(0),
                         "You solved with F_x; the matrix to solve with is F_y (the derivative in the unknowns y)."))
    mistakes.append((expected.T, "Your matrix is the transpose of the right one: rows index the unknowns y, columns x."))

    def judge(answer: Answer):
        problem = flagged(answer)
        if problem:
            raise CheckFailure(
                f"{label}: your function raised ValueError: {problem[1][0].text}. The shapes do not fit: F_y is "
                f"{m}×{m} and F_x is {m}×{n}, so F_y⁻¹ multiplies from the left: -np.linalg.solve(F_y, F_x) "
                "(a wrong order F_x @ inv(F_y) only fits when m = n)."
            )
        found = expect_array(answer, (m, n), label, f"y has {m} entr{'ies' if m > 1 else 'y'} and x has {n}, so dy/dx is {m}×{n}")
        expect_close_named(found, expected, label, EXACT_RTOL, "entry of dy/dx", mistakes)

    return Case(label, (F_x, F_y), judge, call=_shape_errors_flagged(F_x, F_y))


def _shape_errors_flagged(*args):
    """A call adapter: a matrix-shape ValueError from the student's code becomes a flag the judge explains."""

    def call(function):
        try:
            return function(*args)
        except ValueError as error:
            if "matmul" not in str(error) and "not aligned" not in str(error) and "solve" not in str(error):
                raise
            return flag("shapes", str(error)[:150])

    return call


def _implicit_visible():
    return [
        _implicit_case("the circle x² + y² = 1 at (0.6, 0.8): F_x = [[1.2]], F_y = [[1.6]]", [[1.2]], [[1.6]]),
        _implicit_case("m = n = 2, F_y not symmetric", [[1.0, 2.0], [0.0, 1.0]], [[1.0, 2.0], [-1.0, 1.0]]),
        _implicit_case("m = 2, n = 3", [[1.0, 0.0, 2.0], [0.5, -1.0, 1.0]], [[2.0, 1.0], [1.0, 3.0]]),
    ]


def _well_conditioned(rng, m):
    Q, _ = np.linalg.qr(rng.normal(size=(m, m)))
    return Q * rng.uniform(0.5, 2.0, size=m) + 0.2 * rng.normal(size=(m, m)) / np.sqrt(m)


def _implicit_hidden(rng):
    return [_implicit_case(f"random F_y {m}×{m} and F_x {m}×{n}", rng.normal(size=(m, n)), _well_conditioned(rng, m))
            for m, n in [(1, 3), (2, 2), (3, 1), (4, 5)]]


def ill_conditioned(rng, m, condition=1e12):
    """A random nonsymmetric m×m matrix with the given condition number."""
    U, _ = np.linalg.qr(rng.normal(size=(m, m)))
    V, _ = np.linalg.qr(rng.normal(size=(m, m)))
    return (U * np.logspace(0, -np.log10(condition), m)) @ V.T * rng.uniform(1, 3)


def _implicit_hard_case(label, F_x, F_y):
    F_x, F_y = np.asarray(F_x, dtype=np.float64), np.asarray(F_y, dtype=np.float64)
    m, n = F_x.shape

    def judge(answer: Answer):
        problem = flagged(answer)
        if problem:
            raise CheckFailure(f"{label}: your function raised ValueError: {problem[1][0].text}. F_y is {m}×{m} and "
                               f"F_x is {m}×{n}: compute -np.linalg.solve(F_y, F_x).")
        found = expect_array(answer, (m, n), label, f"dy/dx is {m}×{n}")
        error = backward_error(F_y, -found, F_x)
        if error <= BACKWARD_TOL:
            return
        if backward_error(F_y, found, F_x) <= BACKWARD_TOL:
            raise CheckFailure(f"{label}: sign error: y' = -F_y⁻¹ F_x.")
        raise CheckFailure(
            f"{label}: your dy/dx does not solve F_y · dy/dx = -F_x accurately: the backward error "
            f"|F_y S + F_x| / (|F_y| |S|) is {error:.1e}, expected at most {BACKWARD_TOL:.0e} (F_y has condition "
            f"number about {np.linalg.cond(F_y):.0e}). An explicit inverse (np.linalg.inv) loses accuracy on "
            "ill-conditioned matrices; use np.linalg.solve(F_y, F_x) (or lstsq)."
        )

    return Case(label, (F_x, F_y), judge, call=_shape_errors_flagged(F_x, F_y))


def _implicit_hard(rng):
    cases = []
    for m, n in [(8, 3), (20, 5)]:
        F_y = ill_conditioned(rng, m)
        F_x = F_y @ rng.normal(size=(m, n))
        cases.append(_implicit_hard_case(f"F_y {m}×{m} with condition number 1e12, F_x {m}×{n}", F_x, F_y))
    return cases


# --- circle_slope -----------------------------------------------------------------------------
def _circle_case(angle):
    x, y = float(np.cos(angle)), float(np.sin(angle))
    label = f"circle_slope({x:.4g}, {y:.4g})"
    expected = -x / y
    branch = (" (Or you differentiated the upper half y = sqrt(1 - x²): here y < 0, on the lower half. The "
              "implicit derivative -x / y works on both.)" if y < 0 else "")
    mistakes = [
        (x / y, "Sign error: 2x + 2y y' = 0 gives y' = -x / y." + branch),
        (-y / x, "You swapped x and y: 2x + 2y y' = 0 gives y' = -x / y."),
        (y / x if x else np.nan, "You swapped x and y and lost the sign: y' = -x / y."),
    ]

    def judge(answer: Answer):
        found = expect_scalar(answer, label)
        expect_close_named(found, expected, label, EXACT_RTOL, "slope", mistakes)

    return Case(label, (x, y), judge)


def _circle_visible():
    return [_circle_case(a) for a in (np.pi / 4, np.pi / 3, -2.0)]


def _circle_hidden(rng):
    angles = rng.uniform(0.15, np.pi - 0.15, size=4) * rng.choice([-1.0, 1.0], size=4)
    return [_circle_case(a) for a in angles]


# --- inverse_jacobian -------------------------------------------------------------------------
def _inverse_case(label, function, x):
    x = np.asarray(x, dtype=np.float64)
    J = function.jacobian(x)
    n = J.shape[0]
    expected = np.linalg.inv(J)
    mistakes = [
        (J, "You returned J_f(x); the Jacobian of the inverse function is its matrix inverse, J_f(x)⁻¹."),
        (expected.T, "Your matrix is the transpose of the inverse."),
        (-expected, "Sign error: the Jacobian of f⁻¹ is +J_f(x)⁻¹."),
    ]
    with np.errstate(all="ignore"):
        reciprocal = 1.0 / J
    if np.all(np.isfinite(reciprocal)):
        mistakes.append((reciprocal, "1 / J is the elementwise reciprocal, not the matrix inverse (np.linalg.inv or "
                                     "np.linalg.solve(J, np.eye(n)))."))

    def judge(answer: Answer):
        found = expect_array(answer, (n, n), label, f"f maps R^{n} to R^{n}")
        residual = J @ found - np.eye(n)
        if float(np.max(np.abs(residual))) <= EXACT_RTOL * max(1.0, float(np.max(np.abs(found)))) * 10:
            return
        try:
            expect_close_named(found, expected, label, EXACT_RTOL, "entry", mistakes)
        except CheckFailure as failure:
            raise CheckFailure(f"{failure} (The property to aim for: J_f(x) @ your matrix = I.)") from None
        raise CheckFailure(f"{label}: J_f(x) @ your matrix should be the identity.")

    return Case(label, (Jacobian(function), x), judge)


def _inverse_visible():
    return [
        _inverse_case("f(x) = A x with A = [[2, 1], [1, 1]] (the answer is A⁻¹ = [[1, -1], [-1, 2]])",
                      LinearMap([[2.0, 1.0], [1.0, 1.0]]), [0.3, 0.4]),
        _inverse_case("the worked example f(x1, x2) = (x1² + x2, x1 x2) at (1, 0.5)", WorkedExample(), [1.0, 0.5]),
        _inverse_case("a smooth invertible map of R³", InvertibleMap(np.random.default_rng(60), 3), [0.1, -0.2, 0.3]),
    ]


def _inverse_hidden(rng):
    return [_inverse_case(f"a random smooth invertible map of R^{n}", InvertibleMap(rng, n), rng.normal(size=n))
            for n in (1, 2, 4, 6)]


# --- ridge_solution_grad ----------------------------------------------------------------------
def _ridge_case(label, X, y, lam):
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    lam = float(lam)
    D = X.shape[1]
    A = X.T @ X + lam * np.eye(D)
    theta = np.linalg.solve(A, X.T @ y)
    expected = -np.linalg.solve(A, theta)
    halved = np.linalg.solve(X.T @ X + 2 * lam * np.eye(D), X.T @ y)
    mistakes = [
        (theta, "That is θ* itself; return its derivative with respect to λ."),
        (-np.linalg.solve(X.T @ X, theta) if np.linalg.cond(X.T @ X) < 1e12 else np.zeros(0),
         "The matrix is XᵀX + λI, the same one that defines θ*: differentiate (XᵀX + λI) θ* = Xᵀy in λ."),
        (-2 * np.linalg.solve(X.T @ X + 2 * lam * np.eye(D), halved),
         "That is the derivative for ½‖Xθ - y‖² + λ‖θ‖²; here neither term has a ½, so θ* = (XᵀX + λI)⁻¹ Xᵀy."),
        (-expected, "Sign error: a larger λ shrinks θ*, dθ*/dλ = -(XᵀX + λI)⁻¹ θ*."),
    ]

    def judge(answer: Answer):
        found = expect_array(answer, (D,), label, f"θ has {D} entries")
        expect_close_named(found, expected, label, FD_RTOL, "entry of dθ*/dλ", mistakes)

    return Case(label, (X, y, lam), judge)


def _ridge_visible():
    return [
        _ridge_case("X = I (2×2), y = (1, 2), λ = 0.5: θ* = y/1.5 and dθ*/dλ = -y/2.25", np.eye(2), [1.0, 2.0], 0.5),
        _ridge_case("X 3×2, y = (1, 0, 2), λ = 0.5", [[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], [1.0, 0.0, 2.0], 0.5),
        _ridge_case("X 4×3, λ = 2", [[1.0, 0.5, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, -1.0], [0.5, 0.5, 0.5]],
                    [1.0, -1.0, 0.5, 2.0], 2.0),
    ]


def _ridge_hidden(rng):
    cases = []
    for N, D in [(12, 2), (12, 3), (20, 5), (6, 4)]:
        X = rng.normal(size=(N, D)) / np.sqrt(N) * 2
        y = X @ rng.normal(size=D) + 0.3 * rng.normal(size=N)
        lam = float(rng.uniform(0.1, 2.0))
        cases.append(_ridge_case(f"random X {N}×{D}, λ = {lam:.3g}", X, y, lam))
    return cases


check = ProblemSet("ps6-implicit-functions", [
    Exercise("implicit_slope", _implicit_visible, _implicit_hidden, _implicit_hard),
    Exercise("circle_slope", _circle_visible, _circle_hidden),
    Exercise("inverse_jacobian", _inverse_visible, _inverse_hidden),
    Exercise("ridge_solution_grad", _ridge_visible, _ridge_hidden),
])
