"""Checks for ps6-implicit-functions: implicit slopes and curvature, Newton inverses, hypergradients, fixed points.

Notebook usage::

    from diffrn.checks.ps6 import check
    check.implicit_slope(implicit_slope)                # visible cases
    check.implicit_slope(implicit_slope, hidden=True)   # hidden cases, drawn per student
    check.implicit_slope(implicit_slope, part="hard")   # F_y with condition number 1e12

Hard parts: ill-conditioned F_y (implicit_slope) and I - A (fixed_point_vjp), judged by backward
error; a validation loss where finite differences lose every digit (ridge_hypergradient).
"""
from __future__ import annotations

import numpy as np

from diffrn.checks.core import (
    Answer, Case, CheckFailure, Exercise, ProblemSet, backward_error, expect_array, expect_close_named,
    expect_scalar, flag, flagged,
)
from diffrn.checks.functions import InvertibleMap, Jacobian, LinearMap, WorkedExample, ill_conditioned

EXACT_RTOL = 1e-9
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
        mistakes.append((-F_x @ np.linalg.inv(F_y), "Wrong order: F_y⁻¹ multiplies from the left, y' = -F_y⁻¹ F_x."))
        mistakes.append((-np.linalg.solve(F_x, F_y) if abs(np.linalg.det(F_x)) > 1e-8 else np.zeros(0),
                         "You solved with F_x; the matrix to solve with is F_y (the derivative in the unknowns y)."))
    mistakes.append((expected.T, "Your matrix is the transpose of the right one: rows index the unknowns y, columns x."))

    def judge(answer: Answer):
        problem = flagged(answer)
        if problem:
            raise CheckFailure(
                f"{label}: your function raised ValueError: {problem[1][0].text}. The shapes do not fit: F_y is "
                f"{m}×{m} and F_x is {m}×{n}, so F_y⁻¹ multiplies from the left in y' = -F_y⁻¹ F_x "
                "(the wrong order F_x F_y⁻¹ only fits when m = n)."
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


def _implicit_hard_case(label, F_x, F_y):
    F_x, F_y = np.asarray(F_x, dtype=np.float64), np.asarray(F_y, dtype=np.float64)
    m, n = F_x.shape

    def judge(answer: Answer):
        problem = flagged(answer)
        if problem:
            raise CheckFailure(f"{label}: your function raised ValueError: {problem[1][0].text}. F_y is {m}×{m} and "
                               f"F_x is {m}×{n}: in y' = -F_y⁻¹ F_x, F_y⁻¹ multiplies from the left.")
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
            "ill-conditioned matrices; solve a linear system with F_y instead (np.linalg.solve or lstsq)."
        )

    return Case(label, (F_x, F_y), judge, call=_shape_errors_flagged(F_x, F_y))


def _implicit_hard(rng):
    cases = []
    for m, n in [(8, 3), (20, 5)]:
        F_y = ill_conditioned(rng, m)
        F_x = F_y @ rng.normal(size=(m, n))
        cases.append(_implicit_hard_case(f"F_y {m}×{m} with condition number 1e12, F_x {m}×{n}", F_x, F_y))
    return cases


# --- implicit_second_derivative ---------------------------------------------------------------
def _second_case(label, Fx, Fy, Fxx, Fxy, Fyy):
    Fx, Fy, Fxx, Fxy, Fyy = (float(v) for v in (Fx, Fy, Fxx, Fxy, Fyy))
    p = -Fx / Fy
    expected = -(Fxx + 2 * Fxy * p + Fyy * p * p) / Fy
    mistakes = [
        (p, "That is the first derivative y' = -F_x/F_y; differentiate F_x + F_y y' = 0 once more in x."),
        (-(Fxx + Fxy * p + Fyy * p * p) / Fy,
         "The cross term has a factor 2: d/dx F_x(x, y(x)) and d/dx F_y(x, y(x)) each contribute F_xy y', "
         "so y'' = -(F_xx + 2 F_xy y' + F_yy y'²) / F_y."),
        (-(Fxx + 2 * Fxy * p) / Fy,
         "You forgot the F_yy y'² term: F_y(x, y(x)) y' differentiates to (F_xy + F_yy y') y' + F_y y''."),
        (-(Fxx - 2 * Fxy * p + Fyy * p * p) / Fy,
         "The sign of y' inside the formula is wrong: y' = -F_x/F_y, with the minus sign."),
        (-expected, "Sign error: y'' = -(F_xx + 2 F_xy y' + F_yy y'²) / F_y."),
        (-Fxx / Fy, "Only F_xx entered: y depends on x too, so the chain rule adds 2 F_xy y' + F_yy y'²."),
    ]

    def judge(answer: Answer):
        found = expect_scalar(answer, label)
        expect_close_named(found, expected, label, EXACT_RTOL, "y''", mistakes)

    return Case(label, (Fx, Fy, Fxx, Fxy, Fyy), judge)


def _folium_partials(t):
    """Partials of x³ + y³ - 3xy at the folium's point with parameter t (slope y/x = t)."""
    x, y = 3 * t / (1 + t**3), 3 * t * t / (1 + t**3)
    return 3 * x * x - 3 * y, 3 * y * y - 3 * x, 6 * x, -3.0, 6 * y


def _second_visible():
    return [
        _second_case("the unit circle x² + y² = 1 at (0.6, 0.8), where y = sqrt(1 - x²) has y'' = -1/0.8³",
                     1.2, 1.6, 2.0, 0.0, 2.0),
        _second_case("the hyperbola xy = 1 at (2, 0.5), where y = 1/x has y'' = 2/x³ = 0.25",
                     0.5, 2.0, 0.0, 1.0, 0.0),
        _second_case("the folium x³ + y³ = 3xy at its point with t = y/x = 0.45 (all second partials nonzero)",
                     *_folium_partials(0.45)),
    ]


def _second_hidden(rng):
    cases = []
    for _ in range(4):
        Fx = rng.uniform(0.5, 2.0) * rng.choice([-1.0, 1.0])
        Fy = rng.uniform(0.5, 2.0) * rng.choice([-1.0, 1.0])
        second = rng.uniform(0.4, 2.0, size=3) * rng.choice([-1.0, 1.0], size=3)
        cases.append(_second_case(f"random partials Fx = {Fx:.3g}, Fy = {Fy:.3g}, Fxx = {second[0]:.3g}, "
                                  f"Fxy = {second[1]:.3g}, Fyy = {second[2]:.3g}", Fx, Fy, *second))
    return cases


# --- newton_inverse ---------------------------------------------------------------------------
class ExpMap:
    """f(x) = exp(x) elementwise: Newton from far above the root steps down by about 1 per step."""

    def __call__(self, x):
        return np.exp(np.asarray(x, dtype=np.float64))

    def jacobian(self, x) -> np.ndarray:
        return np.diag(np.exp(np.asarray(x, dtype=np.float64)))


class ShiftedSquare:
    """f(x) = x² + 1 (one variable): never 0, so Newton for f(x) = 0 wanders forever."""

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float64)
        return x * x + 1.0

    def jacobian(self, x) -> np.ndarray:
        return np.diag(2.0 * np.asarray(x, dtype=np.float64))


NEWTON_SLACK = 10.0  # the residual may be judged in a slightly different norm or order of sums


def _newton_args(function, y, x0, tol, max_iter):
    args = (function, Jacobian(function), np.array(y, dtype=np.float64), np.array(x0, dtype=np.float64))
    kwargs = {}
    if tol is not None:
        kwargs["tol"] = float(tol)
    if max_iter is not None:
        kwargs["max_iter"] = int(max_iter)
    return args, kwargs


def _errors_flagged(args, kwargs, caught=(ValueError,)):
    """A call adapter: an exception of a ``caught`` type becomes a flag the judge reads.

    Other exceptions (a bug, or the stub's NotImplementedError) reach the student as they are,
    with their traceback.
    """

    def call(function):
        try:
            return function(*args, **kwargs)
        except NotImplementedError:
            raise
        except caught as error:  # the judge decides whether raising was right
            return flag("raised", type(error).__name__, str(error)[:150])

    return call


def _newton_case(label, function, y, x0, tol=None, max_iter=None, hint=""):
    args, kwargs = _newton_args(function, y, x0, tol, max_iter)
    y, n = args[2], args[3].size
    bound = (1e-12 if tol is None else float(tol)) * max(1.0, float(np.linalg.norm(y)))

    def judge(answer: Answer):
        problem = flagged(answer)
        if problem:
            kind, message = problem[1][0].text, problem[1][1].text
            raise CheckFailure(
                f"{label}: Newton's method converges here, but your function raised {kind}: {message}. "
                "The step solves J_f(x) Δ = f(x) - y with J_f itself (not its transpose) "
                "and updates x ← x - Δ; stop when ||f(x) - y|| <= tol·max(1, ||y||), a tolerance "
                "relative to ||y||." + (f" {hint}" if hint else "")
            )
        found = expect_array(answer, (n,), label, f"x has the {n} entries of x0")
        residual = float(np.linalg.norm(function(found) - y))
        if residual <= NEWTON_SLACK * bound:
            return
        if float(np.linalg.norm(function(found))) <= 1e-6 * max(1.0, float(np.linalg.norm(y))):
            raise CheckFailure(
                f"{label}: f(your x) is 0, not y: you solved f(x) = 0. Newton's step for f(x) = y uses the "
                "residual f(x) - y."
            )
        raise CheckFailure(
            f"{label}: ||f(x) - y|| = {residual:.3g} for your x, but it should be at most tol·max(1, ||y||) = "
            f"{bound:.1e} on return. If Newton did not get there within max_iter steps, raise ValueError instead "
            "of returning an unconverged x; if it should have, check the step Δ = J_f(x)⁻¹ (f(x) - y) (J_f "
            "itself, not its transpose) and that you loop until the stopping rule holds rather than for a fixed "
            "number of steps." + (f" {hint}" if hint else "")
        )

    return Case(label, args, judge, kwargs=kwargs, call=_errors_flagged(args, kwargs))


def _newton_failure_case(label, function, y, x0, max_iter=None, why=""):
    args, kwargs = _newton_args(function, y, x0, None, max_iter)

    def judge(answer: Answer):
        problem = flagged(answer)
        if problem:
            kind, message = problem[1][0].text, problem[1][1].text
            if kind in ("ValueError", "LinAlgError"):
                return
            raise CheckFailure(f"{label}: raise ValueError when Newton does not converge; your function raised "
                               f"{kind}: {message}.")
        returned = "None" if answer.kind == "none" else (
            f"an array of shape {answer.shape}" if answer.kind == "ndarray" else f"a {answer.type_name}")
        raise CheckFailure(
            f"{label}: Newton cannot meet the stopping rule here ({why}), so your function should raise ValueError; "
            f"it returned {returned} instead. Count the steps and raise ValueError after max_iter of them: "
            "returning an unconverged x silently, or running a fixed number of steps, hides the failure."
        )

    return Case(label, args, judge, kwargs=kwargs, call=_errors_flagged(args, kwargs, caught=(Exception,)))


BIG_Y_HINT = ("With ||y|| this large, rounding alone leaves ||f(x) - y|| near 1e-16·||y||, so an absolute "
              "tolerance ||f(x) - y|| <= tol is never met: scale it by max(1, ||y||).")


def _newton_visible():
    return [
        _newton_case("f(x) = A x with A = [[1, 2], [0, 1]], y = (3, 1), x0 = 0 (one step gives x = (1, 1))",
                     LinearMap([[1.0, 2.0], [0.0, 1.0]]), [3.0, 1.0], [0.0, 0.0],
                     hint="For a linear f one correct Newton step lands on A⁻¹y; with J.T instead of J the "
                          "iteration diverges for this A."),
        _newton_case("f(x1, x2) = (x1² + x2, x1 x2), y = (1.5, 0.5), x0 = (0.9, 0.6)", WorkedExample(),
                     [1.5, 0.5], [0.9, 0.6]),
        _newton_case("f(x) = exp(x), y = (2,), x0 = (25,) (about 30 steps are needed)", ExpMap(), [2.0], [25.0]),
        _newton_case("a smooth invertible map of R³ with ||y|| = 1e8 (the tolerance is relative to ||y||)",
                     InvertibleMap(np.random.default_rng(61), 3), [6e7, -8e7, 1e6], [0.0, 0.0, 0.0], hint=BIG_Y_HINT),
        _newton_case("f(x) = exp(x), y = (5,), x0 = (1,), tol = 1e-6", ExpMap(), [5.0], [1.0], tol=1e-6),
        _newton_failure_case("f(x) = x² + 1, y = (0,), x0 = (0.5,)", ShiftedSquare(), [0.0], [0.5],
                             why="x² + 1 = 0 has no real solution"),
        _newton_failure_case("f(x) = exp(x), y = (2,), x0 = (25,), max_iter = 3", ExpMap(), [2.0], [25.0], max_iter=3,
                             why="from x0 = 25 Newton needs about 30 steps, and max_iter = 3"),
    ]


def _newton_hidden(rng):
    cases = []
    for n in (2, 3, 5):
        f = InvertibleMap(rng, n)
        x_true = rng.normal(size=n)
        cases.append(_newton_case(f"a random smooth invertible map of R^{n}", f, f(x_true),
                                  x_true + rng.normal(size=n)))
    A = np.array([[1.0, 0.0], [0.0, 1.0]]) + np.triu(rng.uniform(1.5, 3.0) * np.ones((2, 2)), 1)
    cases.append(_newton_case("a random upper-triangular linear map", LinearMap(A), rng.normal(size=2),
                              rng.normal(size=2)))
    # exp(x) near 1e9 moves by thousands of ulps per ulp of x, so f(x) = y exactly is out of reach:
    # the residual stays near 1e-6, far above an absolute 1e-12 and far below 1e-12·||y||.
    # (y is drawn directly, not as exp of something, so no x has exp(x) == y in floating point.)
    y = rng.uniform(1e9, 1e10, size=4)
    cases.append(_newton_case("f(x) = exp(x) in R⁴ with ||y|| about 1e10", ExpMap(), y,
                              np.log(y) + rng.uniform(0.5, 2.0, size=4), hint=BIG_Y_HINT))
    start = float(rng.uniform(20.0, 30.0))
    cases.append(_newton_case(f"f(x) = exp(x) from x0 = {start:.3g}", ExpMap(), [float(rng.uniform(1, 3))], [start]))
    cases.append(_newton_failure_case("f(x) = x² + 1 = y with y < 1", ShiftedSquare(), [float(rng.uniform(-1, 0.5))],
                                      [float(rng.uniform(0.2, 2.0))], why="x² + 1 < 1 has no real solution"))
    cases.append(_newton_failure_case(f"f(x) = exp(x) from x0 = {start:.3g} with max_iter = 5", ExpMap(), [2.0],
                                      [start], max_iter=5, why="Newton needs more than 15 steps from there"))
    return cases


# --- ridge_hypergradient ----------------------------------------------------------------------
RIDGE_RTOL = 1e-8       # solves reach ~1e-12 on these cases
RIDGE_HARD_RTOL = 1e-8  # solves reach ~1e-10 on the cancellation cases; differences no better than ~5e-6


def _ridge_parts(X, y, X_val, y_val, lam, penalty=1.0):
    """(θ*, dθ*/dλ, hypergradient) for ‖Xθ - y‖² + penalty·λ‖θ‖²."""
    D = X.shape[1]
    A = X.T @ X + penalty * lam * np.eye(D)
    theta = np.linalg.solve(A, X.T @ y)
    dtheta = -penalty * np.linalg.solve(A, theta)
    return theta, dtheta, 2.0 * float((X_val @ theta - y_val) @ (X_val @ dtheta))


def _ridge_case(label, X, y, X_val, y_val, lam, hard=False):
    X, y, X_val, y_val = (np.asarray(a, dtype=np.float64) for a in (X, y, X_val, y_val))
    lam = float(lam)
    theta, dtheta, expected = _ridge_parts(X, y, X_val, y_val, lam)
    _, _, doubled = _ridge_parts(X, y, X_val, y_val, lam, penalty=2.0)
    mistakes = [
        (expected / 2, "Missing factor 2: the gradient of ‖X_val θ - y_val‖² is 2 X_valᵀ(X_val θ - y_val)."),
        (-expected, "Sign error in dθ*/dλ: differentiating (XᵀX + λI)θ* = Xᵀy gives dθ*/dλ = -(XᵀX + λI)⁻¹θ* "
                    "(a larger λ shrinks θ*)."),
        (doubled, "Those are the normal equations with 2λ: the gradient of ‖Xθ - y‖² + λ‖θ‖² is "
                  "2Xᵀ(Xθ - y) + 2λθ, so (XᵀX + λI)θ* = Xᵀy, and dθ*/dλ = -(XᵀX + λI)⁻¹θ*."),
        (2.0 * float((X @ theta - y) @ (X @ dtheta)),
         "You used the training residual Xθ* - y; the outer loss is the validation loss: "
         "2 (X_val θ* - y_val)ᵀ X_val dθ*/dλ."),
    ]
    rtol = RIDGE_HARD_RTOL if hard else RIDGE_RTOL

    def judge(answer: Answer):
        found = expect_scalar(answer, label)
        try:
            expect_close_named(found, expected, label, rtol, "hypergradient", mistakes)
        except CheckFailure as failure:
            if not hard:
                raise
            raise CheckFailure(
                f"{failure} Here the validation loss is about {float(np.sum((X_val @ theta - y_val) ** 2)):.1e} "
                "but changes with λ only slightly: finite differences of it lose their digits to cancellation "
                "(rounding error ≈ 1e-16·L/h). Use the implicit function theorem: dθ*/dλ = -(XᵀX + λI)⁻¹θ* "
                "by a solve, then the chain rule, no differences."
            ) from None

    return Case(label, (X, y, X_val, y_val, lam), judge)


def _ridge_visible():
    X = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    return [
        _ridge_case("X = I (2×2), y = (1, 2), X_val = I, y_val = (0, 1), λ = 0.5: θ* = y/1.5, dθ*/dλ = -y/2.25",
                    np.eye(2), [1.0, 2.0], np.eye(2), [0.0, 1.0], 0.5),
        _ridge_case("X 3×2, y = (1, 0, 2), X_val = [[1, 2]], y_val = (1,), λ = 0.5", X, [1.0, 0.0, 2.0],
                    [[1.0, 2.0]], [1.0], 0.5),
        _ridge_case("X 4×3, X_val 2×3, λ = 2",
                    [[1.0, 0.5, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, -1.0], [0.5, 0.5, 0.5]], [1.0, -1.0, 0.5, 2.0],
                    [[1.0, 1.0, 0.0], [0.0, -1.0, 2.0]], [0.5, 1.0], 2.0),
    ]


def _ridge_data(rng, N, D, N_val):
    X = rng.normal(size=(N, D))
    w = rng.normal(size=D)
    X_val = rng.normal(size=(N_val, D))
    return X, X @ w + 0.5 * rng.normal(size=N), X_val, X_val @ w + 0.5 * rng.normal(size=N_val)


def _ridge_hidden(rng):
    cases = []
    for N, D, N_val in [(12, 2, 5), (12, 3, 8), (20, 5, 10), (6, 4, 3)]:
        lam = float(rng.uniform(0.1, 2.0))
        cases.append(_ridge_case(f"random X {N}×{D}, X_val {N_val}×{D}, λ = {lam:.3g}", *_ridge_data(rng, N, D, N_val),
                                 lam))
    return cases


def _ridge_hard_case(rng):
    """A validation loss near 1e12 whose λ-dependence is O(1): y_val has a huge part that no X_val θ reaches."""
    N, D, N_val = 20, 4, 12
    U, _ = np.linalg.qr(rng.normal(size=(N, D)))
    V, _ = np.linalg.qr(rng.normal(size=(D, D)))
    X = (U * np.array([3.0, 1.0, 0.4, 0.15])) @ V.T
    y = X @ rng.normal(size=D) + 0.3 * rng.normal(size=N)
    X_val = rng.normal(size=(N_val, D))
    y_val = X_val @ rng.normal(size=D) + 0.3 * rng.normal(size=N_val)
    Q, _ = np.linalg.qr(X_val)
    away = rng.normal(size=N_val)
    away -= Q @ (Q.T @ away)
    y_val = y_val + 1e6 * away / np.linalg.norm(away)
    lam = float(rng.uniform(0.02, 0.05))
    return _ridge_case(f"X {N}×{D} with singular values down to 0.15, λ = {lam:.3g}, and y_val with a part of size 1e6 "
                       "outside the range of X_val (validation loss about 1e12)", X, y, X_val, y_val, lam, hard=True)


def _ridge_hard(rng):
    return [_ridge_hard_case(rng) for _ in range(2)]


# --- fixed_point_vjp --------------------------------------------------------------------------
FIXED_POINT_RTOL = 1e-8


def _fixed_case(label, A, B, g, near_one=False):
    A, B, g = (np.asarray(a, dtype=np.float64) for a in (A, B, g))
    n, p = B.shape
    M = np.eye(n) - A
    u = np.linalg.solve(M.T, g)
    expected = B.T @ u
    mistakes = [
        (B.T @ np.linalg.solve(M, g), "Missing transpose: the adjoint system is (I - A)ᵀ u = g, then Bᵀu "
                                      "(gᵀ(I - A)⁻¹B = ((I - A)⁻ᵀ g)ᵀ B)."),
        (B.T @ g, "You left out A: dz*/dθ = (I - A)⁻¹B, not B; solve (I - A)ᵀ u = g first."),
        (B.T @ np.linalg.solve(np.eye(n) + A.T, g), "Sign error: z* = f(z*, θ) gives (I - A) dz* = B dθ, so the "
                                                    "matrix is I - A."),
        (u if p == n else np.zeros(0), "That is the adjoint u = (I - A)⁻ᵀ g; the answer is Bᵀu."),
        (-expected, "Sign error: gᵀ dz*/dθ = Bᵀ(I - A)⁻ᵀ g with a plus sign."),
    ]
    neumann = (f" Here ‖A‖ = {np.linalg.norm(A, 2):.4f}: a truncated Neumann series g + Aᵀg + (Aᵀ)²g + … (or the "
               "iteration u ← Aᵀu + g stopped after a fixed number of steps) converges like ‖A‖^K, far too slowly; "
               "solve (I - A)ᵀ u = g directly." if near_one else "")

    def judge(answer: Answer):
        if answer.kind == "ndarray" and answer.shape == (n,) and n != p:
            raise CheckFailure(f"{label}: expected shape ({p},), one entry per parameter θ; yours has shape ({n},), "
                               "the size of z. That is the adjoint u = (I - A)⁻ᵀ g: the answer is Bᵀu.")
        found = expect_array(answer, (p,), label, f"θ has {p} entries (B is {n}×{p})")
        try:
            expect_close_named(found, expected, label, FIXED_POINT_RTOL, "entry of gᵀ dz*/dθ", mistakes)
        except CheckFailure as failure:
            raise CheckFailure(f"{failure}{neumann}") from None

    return Case(label, (A, B, g), judge)


def _rotation(rng, n):
    """A random orthogonal n×n matrix with determinant +1 (for odd n it has eigenvalue 1)."""
    Q, R = np.linalg.qr(rng.normal(size=(n, n)))
    Q = Q * np.sign(np.diag(R))
    if np.linalg.det(Q) < 0:
        Q[:, 0] = -Q[:, 0]
    return Q


def _fixed_visible():
    return [
        _fixed_case("n = p = 1: A = [[0.5]], B = [[2]], g = (1,): z* = 0.5 z* + 2θ has dz*/dθ = 4",
                    [[0.5]], [[2.0]], [1.0]),
        _fixed_case("n = 2, p = 3, A not symmetric", [[0.2, 0.5], [-0.1, 0.3]],
                    [[1.0, 0.0, 2.0], [0.5, -1.0, 1.0]], [1.0, -2.0]),
        _fixed_case("n = 3, p = 2, A = 0.9999 × a rotation (‖A‖ close to 1)",
                    0.9999 * _rotation(np.random.default_rng(62), 3), [[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]],
                    [1.0, 2.0, -1.0], near_one=True),
    ]


def _fixed_hidden(rng):
    cases = []
    for n, p in [(2, 2), (4, 3), (5, 5), (3, 6)]:
        A = rng.normal(size=(n, n))
        A *= rng.uniform(0.5, 0.9) / np.linalg.norm(A, 2)
        cases.append(_fixed_case(f"a random contraction A {n}×{n}, B {n}×{p}", A, rng.normal(size=(n, p)),
                                 rng.normal(size=n)))
    cases.append(_fixed_case("n = 5, p = 3, A = 0.9999 × a random rotation (‖A‖ close to 1)",
                             0.9999 * _rotation(rng, 5), rng.normal(size=(5, 3)), rng.normal(size=5), near_one=True))
    return cases


def _fixed_hard_case(label, A, d, g):
    A, d, g = (np.asarray(a, dtype=np.float64) for a in (A, d, g))
    n = d.size
    B = np.diag(d)
    M = np.eye(n) - A

    def judge(answer: Answer):
        found = expect_array(answer, (n,), label, f"θ has {n} entries (B is {n}×{n})")
        u = found / d  # B is diagonal, so the adjoint is recovered exactly up to one rounding
        error = backward_error(M.T, u, g)
        if error <= BACKWARD_TOL:
            return
        if backward_error(M, u, g) <= BACKWARD_TOL:
            raise CheckFailure(f"{label}: missing transpose: solve (I - A)ᵀ u = g, then return Bᵀu.")
        raise CheckFailure(
            f"{label}: your answer does not come from a solution of (I - A)ᵀ u = g accurate to rounding: the "
            f"backward error ‖(I - A)ᵀu - g‖ / (‖I - A‖ ‖u‖) of u = B⁻ᵀ·(your answer) is {error:.1e}, expected at "
            f"most {BACKWARD_TOL:.0e} (I - A has condition number about {np.linalg.cond(M):.0e}). Forming the "
            "inverse (np.linalg.inv) loses accuracy on ill-conditioned matrices; use one "
            "np.linalg.solve((I - A).T, g)."
        )

    return Case(label, (A, B, g), judge)


def _fixed_hard(rng):
    cases = []
    for n in (8, 20):
        M = ill_conditioned(rng, n)
        # g = Mᵀw keeps the adjoint u = w of moderate size; then an explicit inverse leaves a
        # residual about cond(M)·eps times too large (for a generic g, u is huge and hides it).
        cases.append(_fixed_hard_case(f"I - A {n}×{n} with condition number 1e12, B diagonal", np.eye(n) - M,
                                      rng.uniform(1.0, 2.0, size=n), M.T @ rng.normal(size=n)))
    return cases


check = ProblemSet("ps6-implicit-functions", [
    Exercise("implicit_slope", _implicit_visible, _implicit_hidden, _implicit_hard, points=3),
    Exercise("implicit_second_derivative", _second_visible, _second_hidden, points=2),
    Exercise("newton_inverse", _newton_visible, _newton_hidden, points=3),
    Exercise("ridge_hypergradient", _ridge_visible, _ridge_hidden, _ridge_hard, points=4),
    Exercise("fixed_point_vjp", _fixed_visible, _fixed_hidden, _fixed_hard, points=3),
])
