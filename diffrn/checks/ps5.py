"""Checks for ps5-change-of-variables: area factors, stable log-determinants, coupling layers, flows.

Notebook usage::

    from diffrn.checks.ps5 import check
    check.log_abs_det(log_abs_det)                # visible cases
    check.log_abs_det(log_abs_det, hidden=True)   # hidden cases, drawn per student
    check.log_abs_det(log_abs_det, part="hard")   # determinants that over- or underflow
"""
from __future__ import annotations

import numpy as np

from diffrn.checks.core import (
    Answer, Case, CheckFailure, Exercise, ProblemSet, expect_array, expect_close_named, expect_scalar,
    expect_tuple, quietly,
)
from diffrn.checks.functions import AffineFlow, CouplingFlow, GaussianLogDensity, TanhConditioner

EXACT_RTOL = 1e-9


def _finite_scalar(answer: Answer, label: str, nonfinite_hint: str) -> float:
    """Like expect_scalar, but a NaN or inf gets the exercise's own explanation."""
    if answer.kind in ("scalar", "ndarray", "list") and answer.values is not None and answer.values.size == 1:
        value = float(answer.values.reshape(-1)[0])
        if not np.isfinite(value):
            raise CheckFailure(f"{label}: your answer is {value}. {nonfinite_hint}")
    return expect_scalar(answer, label)


# --- polar_area_factor ------------------------------------------------------------------------
def _polar_case(r, theta):
    r, theta = float(r), float(theta)
    label = f"polar_area_factor({r:.4g}, {theta:.4g})"
    expected = abs(r)
    mistakes = [
        (r, "You returned det J = r; the area factor is its absolute value |det J| = |r| (r may be negative)."),
        (r * r, "You returned r²; the polar map's Jacobian determinant is r·cos²θ + r·sin²θ = r, so |det J| = |r|."),
        (1.0, "The area factor depends on r: a small patch dr dθ at radius r has area |r| dr dθ."),
        (abs(r) * np.cos(theta) ** 2, "You multiplied the diagonal entries only; det J = cos θ · r cos θ - "
                                      "(-r sin θ) · sin θ = r, so |det J| = |r|."),
    ]

    def judge(answer: Answer):
        found = expect_scalar(answer, label)
        expect_close_named(found, expected, label, EXACT_RTOL, "area factor", mistakes)

    return Case(label, (r, theta), judge)


def _polar_visible():
    return [_polar_case(2.0, 0.3), _polar_case(0.5, 2.0), _polar_case(-1.5, 1.0)]


def _polar_hidden(rng):
    radii = rng.uniform(0.2, 3.0, size=4) * np.array([1.0, -1.0, 1.0, -1.0])
    return [_polar_case(r, t) for r, t in zip(radii, rng.uniform(-np.pi, np.pi, size=4))]


# --- log_abs_det ------------------------------------------------------------------------------
def _log_abs_det_case(label, J, large=False):
    J = np.asarray(J, dtype=np.float64)
    sign, expected = np.linalg.slogdet(J)
    with np.errstate(all="ignore"):
        det = np.linalg.det(J)
    mistakes = [
        (expected / np.log(10), "You used log10; the log-determinant is a natural logarithm (np.log)."),
    ]
    if np.isfinite(det) and det != 0:
        mistakes.append((det, "You returned det J itself; return log|det J|."))
        mistakes.append((abs(det), "You returned |det J|; return its logarithm."))

    def judge(answer: Answer):
        if large:
            hint = ("det(J) overflowed to inf or underflowed to 0 for this matrix (log|det J| = "
                    f"{expected:.6g}), so its log is ±inf. Never form det(J): use np.linalg.slogdet, or add the "
                    "logs of the pivots |U_ii| of an LU factorization.")
        elif sign < 0:
            hint = "det(J) is negative here, and the log of a negative number is NaN: take the absolute value first."
        else:
            hint = "Look for a log of zero or of a negative number."
        found = _finite_scalar(answer, label, hint)
        expect_close_named(found, expected, label, EXACT_RTOL, "log-determinant", mistakes)

    return Case(label, (J,), judge, call=quietly(J))


def _log_abs_det_visible():
    return [
        _log_abs_det_case("J = diag(2, 3) (log 6)", np.diag([2.0, 3.0])),
        _log_abs_det_case("J = [[0, 1], [1, 0]] (a swap: det = -1)", [[0.0, 1.0], [1.0, 0.0]]),
        _log_abs_det_case("J = [[1, 2], [3, 4]] (det = -2)", [[1.0, 2.0], [3.0, 4.0]]),
        _log_abs_det_case("J = a rotation by 0.7 scaled by 3", 3 * np.array([[np.cos(0.7), -np.sin(0.7)],
                                                                              [np.sin(0.7), np.cos(0.7)]])),
    ]


def _log_abs_det_hidden(rng):
    cases = [_log_abs_det_case(f"a random {n}×{n} matrix", rng.normal(size=(n, n))) for n in (3, 5, 8)]
    negative = rng.normal(size=(4, 4))
    if np.linalg.det(negative) > 0:
        negative[[0, 1]] = negative[[1, 0]]
    cases.append(_log_abs_det_case("a random 4×4 matrix with a negative determinant", negative))
    return cases


def _log_abs_det_hard(rng):
    n = 60
    upper = np.triu(rng.normal(size=(40, 40)), 1) + np.diag(rng.uniform(1e8, 1e9, size=40))
    return [
        _log_abs_det_case(f"a random {n}×{n} matrix with entries of size 1e6 (det overflows)",
                          1e6 * rng.normal(size=(n, n)), large=True),
        _log_abs_det_case(f"a random {n}×{n} matrix with entries of size 1e-7 (det underflows to 0)",
                          1e-7 * rng.normal(size=(n, n)), large=True),
        _log_abs_det_case("a 40×40 upper-triangular matrix with diagonal entries of 1e8 to 1e9 (det overflows)",
                          upper, large=True),
    ]


# --- coupling_forward -------------------------------------------------------------------------
def _conditioners(rng, half):
    return TanhConditioner(rng, half, amplitude=1.2), TanhConditioner(rng, half, amplitude=2.0, offset=0.3)


def _coupling_forward_case(label, x, scale, shift):
    x = np.asarray(x, dtype=np.float64)
    D = x.size
    half = D // 2
    x1, x2 = x[:half], x[half:]
    s, t = scale(x1), shift(x1)
    expected_y2 = x2 * np.exp(s) + t
    expected_log_det = float(np.sum(s))
    y2_mistakes = [
        (x2 * s + t, "Multiply x2 by exp(scale(x1)), not by scale(x1): scale returns log-scales."),
        ((x2 + t) * np.exp(s), "Scale first, then shift: y2 = x2 * exp(s(x1)) + t(x1)."),
        (x2 * np.exp(scale(x2)) + shift(x2), "The conditioners take x1 (the half that passes through), not x2: "
                                              "otherwise the layer could not be inverted."),
        (x2 * np.exp(-s) + t, "Sign error in the exponent: y2 = x2 * exp(+s(x1)) + t(x1)."),
    ]
    log_det_mistakes = [
        (float(np.sum(np.exp(s))), "log_det is the sum of the log-scales s(x1): the Jacobian's diagonal is "
                                   "exp(s), and log of a product of exponentials is the sum of s."),
        (float(np.prod(np.exp(s))), "That is det J itself; return its logarithm, sum(s(x1))."),
        (-expected_log_det, "log_det has the wrong sign: it is +sum(s(x1))."),
    ]

    def judge(answer: Answer):
        y_item, log_det_item = expect_tuple(answer, ("y", "log_det"), label)
        if y_item.kind == "ndarray" and tuple(y_item.shape) == (half,):
            raise CheckFailure(f"{label}, y: expected shape ({D},); yours is ({half},), only the transformed half. "
                               "y contains both halves: np.concatenate([x1, x2 * np.exp(s) + t]).")
        y = expect_array(y_item, (D,), f"{label}, y", f"y has the shape of x, ({D},)")
        if not np.allclose(y[:half], x1, rtol=0, atol=1e-12):
            raise CheckFailure(f"{label}, y: the first half must pass through unchanged: y[:D//2] = x[:D//2] = "
                               f"{np.array2string(x1, precision=4)}, found {np.array2string(y[:half], precision=4)}.")
        expect_close_named(y[half:], expected_y2, f"{label}, y[D//2:]", EXACT_RTOL, "entry", y2_mistakes)
        log_det = expect_scalar(log_det_item, f"{label}, log_det")
        expect_close_named(log_det, expected_log_det, f"{label}, log_det", EXACT_RTOL, "log-determinant",
                           log_det_mistakes)

    return Case(label, (x, scale, shift), judge)


def _visible_conditioners():
    """The fixed scale and shift networks of the visible cases: for D = 2, then for D = 4."""
    rng = np.random.default_rng(50)
    return (*_conditioners(rng, 1), *_conditioners(rng, 2))


def _coupling_visible():
    scale, shift, scale2, shift2 = _visible_conditioners()
    return [
        _coupling_forward_case("D = 2, x = (0.5, -1)", [0.5, -1.0], scale, shift),
        _coupling_forward_case("D = 4, x = (1, -1, 2, 0.5)", [1.0, -1.0, 2.0, 0.5], scale2, shift2),
        _coupling_forward_case("D = 4, x = 0", [0.0, 0.0, 0.0, 0.0], scale2, shift2),
    ]


def _coupling_forward_hidden(rng):
    cases = []
    for D in (2, 6, 8):
        scale, shift = _conditioners(rng, D // 2)
        cases.append(_coupling_forward_case(f"random conditioners, D = {D}", rng.normal(size=D), scale, shift))
    return cases


# --- coupling_inverse -------------------------------------------------------------------------
def _coupling_inverse_case(label, y, scale, shift):
    y = np.asarray(y, dtype=np.float64)
    D = y.size
    half = D // 2
    y1, y2 = y[:half], y[half:]
    s, t = scale(y1), shift(y1)
    expected = np.concatenate([y1, (y2 - t) * np.exp(-s)])
    forward = CouplingFlow(scale, shift)
    mistakes = [
        (np.concatenate([y1, (y2 - t) * np.exp(s)]), "Undo the scaling by dividing by exp(s(y1)): "
                                                     "x2 = (y2 - t(y1)) * exp(-s(y1))."),
        (np.concatenate([y1, y2 * np.exp(-s) - t]), "Undo the steps in reverse order: subtract the shift first, "
                                                    "then divide: x2 = (y2 - t(y1)) * exp(-s(y1))."),
        (np.concatenate([y1, (y2 + t) * np.exp(-s)]), "Subtract the shift: x2 = (y2 - t(y1)) * exp(-s(y1))."),
        (np.concatenate([y1, (y2 - shift(y2)) * np.exp(-scale(y2))]),
         "Evaluate the conditioners at y1 = x1 (known from y), not at y2."),
    ]

    def judge(answer: Answer):
        found = expect_array(answer, (D,), label, f"x has the shape of y, ({D},)")
        round_trip = forward(found)[0]
        if np.all(np.isfinite(round_trip)) and float(np.max(np.abs(round_trip - y))) <= EXACT_RTOL * max(1.0, float(np.max(np.abs(y)))):
            return
        try:
            expect_close_named(found, expected, label, EXACT_RTOL, "entry of x", mistakes)
        except CheckFailure as failure:
            raise CheckFailure(f"{failure} (Check: coupling_forward(your x) should give back y.)") from None
        raise CheckFailure(f"{label}: coupling_forward(your x) does not give back y.")

    return Case(label, (y, scale, shift), judge)


def _coupling_inverse_visible():
    scale, shift, scale2, shift2 = _visible_conditioners()
    return [
        _coupling_inverse_case("D = 2, y = (0.5, 2)", [0.5, 2.0], scale, shift),
        _coupling_inverse_case("D = 4, y = (1, -1, 0, 3)", [1.0, -1.0, 0.0, 3.0], scale2, shift2),
    ]


def _coupling_inverse_hidden(rng):
    cases = []
    for D in (2, 6, 8):
        scale, shift = _conditioners(rng, D // 2)
        cases.append(_coupling_inverse_case(f"random conditioners, D = {D}", rng.normal(size=D) * 2, scale, shift))
    return cases


# --- flow_log_density -------------------------------------------------------------------------
def _gaussian_of_affine_flow(x, flow: AffineFlow, base: GaussianLogDensity) -> float:
    """log p(x) for z = A x + b ~ N(mean, diag(std²)), computed as the Gaussian that x itself follows."""
    A_inv_mean = np.linalg.solve(flow.A, base.mean - flow.b)
    covariance = np.linalg.solve(flow.A, np.linalg.solve(flow.A, np.diag(base.std ** 2)).T)
    r = x - A_inv_mean
    _, logdet = np.linalg.slogdet(2 * np.pi * covariance)
    return float(-0.5 * r @ np.linalg.solve(covariance, r) - 0.5 * logdet)


def _flow_case(label, x, forward, base):
    x = np.asarray(x, dtype=np.float64)
    z, log_det = forward(x)
    expected = base(z) + log_det
    if isinstance(forward, AffineFlow):
        expected = _gaussian_of_affine_flow(x, forward, base)  # an independent route to the same number
    mistakes = [
        (base(z) - log_det, "Sign error: add log|det J_f(x)| (f maps data to latent: p_X(x) = p_Z(f(x)) |det J_f(x)|)."),
        (base(x) + log_det, "Evaluate the base density at z = f(x), not at x."),
        (base(z), "The log-determinant term is missing: add the log_det that forward returns."),
    ]
    if expected < 700:
        mistakes.append((np.exp(expected), "You returned the density; return its logarithm."))

    def judge(answer: Answer):
        found = _finite_scalar(answer, label, "Add log-densities instead of multiplying densities.")
        expect_close_named(found, expected, label, EXACT_RTOL, "log-density", mistakes)

    return Case(label, (x, forward, base), judge)


def _random_affine(rng, D):
    Q, _ = np.linalg.qr(rng.normal(size=(D, D)))
    return AffineFlow(Q * rng.uniform(0.5, 2.0, size=D), rng.normal(size=D))


def _flow_visible():
    return [
        _flow_case("z = 2x + 1 in 1-D, standard normal base, x = 0.5",
                   [0.5], AffineFlow([[2.0]], [1.0]), GaussianLogDensity([0.0], [1.0])),
        _flow_case("z = A x with A = [[2, 0], [1, 0.5]], standard normal base, x = (1, -1)",
                   [1.0, -1.0], AffineFlow([[2.0, 0.0], [1.0, 0.5]], [0.0, 0.0]), GaussianLogDensity([0, 0], [1, 1])),
        _flow_case("a coupling layer in D = 2, standard normal base, x = (0.3, 0.7)", [0.3, 0.7],
                   CouplingFlow(*_conditioners(np.random.default_rng(51), 1)), GaussianLogDensity([0, 0], [1, 1])),
    ]


def _flow_hidden(rng):
    cases = []
    for D in (2, 4):
        base = GaussianLogDensity(rng.normal(size=D) * 0.5, rng.uniform(0.5, 2.0, size=D))
        cases.append(_flow_case(f"a random affine flow in D = {D} with a Gaussian base", rng.normal(size=D),
                                _random_affine(rng, D), base))
    for D in (4, 6):
        cases.append(_flow_case(f"a random coupling layer in D = {D}, standard normal base", rng.normal(size=D),
                                CouplingFlow(*_conditioners(rng, D // 2)), GaussianLogDensity(np.zeros(D), np.ones(D))))
    return cases


check = ProblemSet("ps5-change-of-variables", [
    Exercise("polar_area_factor", _polar_visible, _polar_hidden),
    Exercise("log_abs_det", _log_abs_det_visible, _log_abs_det_hidden, _log_abs_det_hard),
    Exercise("coupling_forward", _coupling_visible, _coupling_forward_hidden),
    Exercise("coupling_inverse", _coupling_inverse_visible, _coupling_inverse_hidden),
    Exercise("flow_log_density", _flow_visible, _flow_hidden),
])
