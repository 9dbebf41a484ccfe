"""Checks for ps2-chain-rule: Jacobians of compositions and the gradients that follow from them.

Notebook usage::

    from diffrn.checks.ps2 import check
    check.chain_jacobian(chain_jacobian)                # visible cases
    check.chain_jacobian(chain_jacobian, hidden=True)   # hidden cases, drawn per student
"""
from __future__ import annotations

import numpy as np

from diffrn.checks.core import (
    Answer, Case, CheckFailure, Exercise, ProblemSet, expect_array, expect_close_named, expect_scalar, flag,
    flagged,
)
from diffrn.checks.functions import Jacobian, LinearMap, SmoothMap, WorkedExample

# Exact formulas carry only rounding error; composite_derivative may also be done by differences.
EXACT_RTOL = 1e-9
FD_RTOL = 1e-5


# --- chain_jacobian ---------------------------------------------------------------------------
def _chain_case(label, f, g, x):
    x = np.asarray(x, dtype=np.float64)
    fx = np.atleast_1d(f(x))
    Jf = f.jacobian(x)
    Jg = g.jacobian(fx)
    expected = Jg @ Jf
    m, n = expected.shape
    mistakes = []
    if Jf.shape[1] == Jg.shape[0]:
        mistakes.append((Jf @ Jg, "You multiplied in the wrong order: the Jacobian of g∘f is "
                                  "jac_g(f(x)) @ jac_f(x), the outer function's Jacobian on the left."))
    if fx.size == x.size:
        mistakes.append((g.jacobian(x) @ Jf, "You evaluated jac_g at x; g is applied to f(x), so use jac_g(f(x))."))
    mistakes.append((expected.T, "Your matrix is the transpose of the right one: rows index the outputs of g, "
                                 "columns the inputs x."))

    def judge(answer: Answer):
        problem = flagged(answer)
        if problem:  # the student's matrix product raised: the factors do not fit
            raise CheckFailure(
                f"{label}: your function raised ValueError: {problem[1][0].text}. The factors do not fit "
                f"together: jac_g(f(x)) is {m}×{fx.size} and jac_f(x) is {fx.size}×{n}, so the product is "
                "jac_g(f(x)) @ jac_f(x) (in this order)."
            )
        why = f"f maps R^{n} to R^{fx.size} and g maps R^{fx.size} to R^{m}, so g∘f is {m}×{n}"
        found = expect_array(answer, (m, n), label, why)
        expect_close_named(found, expected, label, EXACT_RTOL, "Jacobian entry", mistakes)

    args = (f, Jacobian(f), Jacobian(g), x)

    def call(student_chain_jacobian):
        try:
            return student_chain_jacobian(*args)
        except ValueError as error:
            if "matmul" not in str(error) and "not aligned" not in str(error):
                raise
            return flag("shapes", str(error)[:150])

    return Case(label, args, judge, call=call)


def _chain_visible():
    return [
        _chain_case("f = the worked example R²→R², g(u) = A u with A 3×2, at x = (1, 2)",
                    WorkedExample(), LinearMap([[1.0, 0.0], [2.0, -1.0], [0.5, 3.0]]), [1.0, 2.0]),
        _chain_case("f(x) = A x with A 2×3, g = the worked example, at x = (1, -1, 0.5)",
                    LinearMap([[1.0, 2.0, 0.0], [0.0, -1.0, 1.0]]), WorkedExample(), [1.0, -1.0, 0.5]),
        _chain_case("f = the worked example, g = the worked example (g∘f: R²→R²), at x = (0.5, -1)",
                    WorkedExample(), WorkedExample(), [0.5, -1.0]),
    ]


def _chain_hidden(rng):
    cases = []
    for n, k, m in [(3, 3, 3), (2, 4, 1), (4, 2, 3), (1, 3, 2), (5, 5, 5)]:
        f, g = SmoothMap(rng, n, k), SmoothMap(rng, k, m)
        cases.append(_chain_case(f"random smooth f: R^{n}→R^{k} and g: R^{k}→R^{m}", f, g, rng.normal(size=n)))
    return cases


# --- composite_derivative ---------------------------------------------------------------------
def _composite_case(t):
    t = float(t)
    label = f"composite_derivative({t:.4g})"
    s, c = np.sin(t), np.cos(t)
    expected = 2 * s * c - 2 * s
    mistakes = [
        (2 * s * c + 2 * s, "Sign error in the second term: d(cos t)/dt = -sin t, so the term 2·x2 contributes -2 sin t."),
        (s * c - 2 * s, "The first term is half what it should be: d(x1²)/dx1 = 2·x1, so it contributes 2 sin t cos t "
                        "(a missing factor of 2)."),
        (2 * s + 2, "You added the partial derivatives 2·x1 and 2 without multiplying by dx1/dt = cos t and "
                    "dx2/dt = -sin t: the chain rule sums ∂f/∂xi · dxi/dt."),
        (2 * s * c, "The term 2·x2 = 2 cos t is missing: it contributes -2 sin t."),
        (-2 * s, "The term x1² = sin² t is missing: it contributes 2 sin t cos t."),
    ]

    def judge(answer: Answer):
        found = expect_scalar(answer, label)
        expect_close_named(found, expected, label, FD_RTOL, "derivative", mistakes)

    return Case(label, (t,), judge)


def _composite_visible():
    return [_composite_case(t) for t in (0.5, np.pi / 3, -1.0)]


def _composite_hidden(rng):
    # Away from multiples of pi, where sin t = 0 would hide every mistake.
    ts = rng.uniform(0.2, np.pi - 0.2, size=4) * rng.choice([-1.0, 1.0], size=4)
    return [_composite_case(t) for t in ts]


# --- least_squares_grad -----------------------------------------------------------------------
def _least_squares_case(label, theta, Phi, y):
    theta, Phi, y = (np.asarray(a, dtype=np.float64) for a in (theta, Phi, y))
    residual = y - Phi @ theta
    expected = -2 * Phi.T @ residual
    D = theta.size
    mistakes = [
        (-Phi.T @ residual, "Your gradient is half the right one: the derivative of ‖r‖² is 2 r (a missing factor of 2)."),
        (2 * Phi.T @ residual, "Your gradient has the wrong sign: r = y - Φθ decreases as Φθ grows, so ∇ = -2 Φᵀ(y - Φθ)."),
    ]

    def judge(answer: Answer):
        found = expect_array(answer, (D,), label, f"θ has {D} entries, so its gradient does too")
        expect_close_named(found, expected, label, EXACT_RTOL, "gradient entry", mistakes)

    return Case(label, (theta, Phi, y), judge)


def _least_squares_visible():
    Phi = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
    return [
        _least_squares_case("a line fit to 3 points, θ = (0, 1)", [0.0, 1.0], Phi, [1.0, 2.0, 2.0]),
        _least_squares_case("an exact fit (gradient zero)", [1.0, 0.5], Phi, [1.0, 1.5, 2.0]),
        _least_squares_case("Φ 4×3, θ = (1, -1, 2)", [1.0, -1.0, 2.0],
                            np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, -1.0], [2.0, 1.0, 1.0]]),
                            [1.0, 0.0, 2.0, -1.0]),
    ]


def _least_squares_hidden(rng):
    cases = []
    for N, D in [(5, 2), (8, 3), (20, 6), (4, 4)]:
        cases.append(_least_squares_case(f"random Φ {N}×{D}", rng.normal(size=D), rng.normal(size=(N, D)),
                                         rng.normal(size=N)))
    return cases


# --- linear_layer_weight_grad -----------------------------------------------------------------
def _layer_case(label, W, x, y):
    W, x, y = (np.asarray(a, dtype=np.float64) for a in (W, x, y))
    m, n = W.shape
    error = W @ x - y
    expected = np.outer(error, x)
    mistakes = [
        (np.outer(x, error), "Your matrix is the transpose of the right one: the gradient has the shape of W, "
                             "(Wx - y) xᵀ, with rows for outputs."),
        (-expected, "Your gradient has the wrong sign: use the error Wx - y, not y - Wx."),
        (2 * expected, "Your gradient is twice the right one: the ½ in ½‖Wx - y‖² cancels the 2 from the square."),
    ]

    def judge(answer: Answer):
        found = expect_array(answer, (m, n), label, f"W is {m}×{n}, and a gradient with respect to W has its shape")
        expect_close_named(found, expected, label, EXACT_RTOL, "gradient entry", mistakes)

    return Case(label, (W, x, y), judge)


def _layer_visible():
    return [
        _layer_case("W 2×3, x = (1, 2, -1), y = (0, 1)", [[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]], [1.0, 2.0, -1.0], [0.0, 1.0]),
        _layer_case("W 2×2, a perfect fit (gradient zero)", [[1.0, 2.0], [3.0, 4.0]], [1.0, 1.0], [3.0, 7.0]),
        _layer_case("W 2×2, x = (1, -2), y = (1, 1)", [[0.5, 1.0], [-1.0, 2.0]], [1.0, -2.0], [1.0, 1.0]),
    ]


def _layer_hidden(rng):
    cases = []
    for m, n in [(3, 3), (2, 5), (4, 1), (1, 4)]:
        cases.append(_layer_case(f"random W {m}×{n}", rng.normal(size=(m, n)), rng.normal(size=n), rng.normal(size=m)))
    return cases


check = ProblemSet("ps2-chain-rule", [
    Exercise("chain_jacobian", _chain_visible, _chain_hidden),
    Exercise("composite_derivative", _composite_visible, _composite_hidden),
    Exercise("least_squares_grad", _least_squares_visible, _least_squares_hidden),
    Exercise("linear_layer_weight_grad", _layer_visible, _layer_hidden),
])
