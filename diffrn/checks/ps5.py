"""Checks for ps5-change-of-variables: area factors, log-determinant gradients, coupling layers, planar flows.

Notebook usage::

    from diffrn.checks.ps5 import check
    check.log_abs_det_grad(log_abs_det_grad)                # visible cases
    check.log_abs_det_grad(log_abs_det_grad, hidden=True)   # hidden cases, drawn per student
    check.log_abs_det_grad(log_abs_det_grad, part="hard")   # det A over- or underflows; condition 1e12
"""
from __future__ import annotations


import numpy as np

from diffrn.checks.core import (
    Answer, Case, CheckFailure, Exercise, ProblemSet, backward_error, expect_array, expect_close_named,
    PeakMemory, expect_scalar, expect_tuple, flag, flagged, quietly,
)
from diffrn.checks.functions import TanhConditioner, ill_conditioned

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
        (abs(r * np.cos(2 * theta)), "You subtracted where the minus sign of -r sin θ already sits: det J = "
                                     "cos θ · r cos θ - (-r sin θ) · sin θ = r cos²θ + r sin²θ = r, not r cos 2θ."),
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


# --- log_abs_det_grad -------------------------------------------------------------------------
BACKWARD_TOL = 1e-12     # a solve (or numpy's inv, itself an LU solve) reaches ~1e-15 here


def _inverse_transpose(A: np.ndarray) -> np.ndarray:
    return np.linalg.solve(A.T, np.eye(A.shape[0]))


def _nonfinite_gradient(answer: Answer, label: str, n: int, det: float, logabs: float) -> None:
    """Explain a NaN or inf in an (n, n) answer: almost always det A over- or underflowed."""
    if answer.kind != "ndarray" or tuple(answer.shape) != (n, n) or np.all(np.isfinite(answer.values)):
        return
    if not np.isfinite(det) or det == 0.0:
        raise CheckFailure(
            f"{label}: your answer contains NaN or inf. Here det A "
            f"{'overflows to inf' if not np.isfinite(det) else 'underflows to 0'} in floating point (log|det A| = "
            f"{logabs:.6g}), so anything computed through det A (dividing by it, Jacobi's formula det(A)·A⁻ᵀ / "
            "det(A)) breaks. The gradient never needs det A: it is A⁻ᵀ, the solution of Aᵀ G = I, "
            "which a linear solve gives directly."
        )
    raise CheckFailure(f"{label}: your answer contains NaN or inf. Look for a division by zero or an overflow.")


def _grad_mistakes(A: np.ndarray, expected: np.ndarray, sign: float, det: float) -> list:
    mistakes = [
        (expected.T, "You returned A⁻¹; the gradient is its transpose A⁻ᵀ, because ∂ log|det A| / ∂A_ij = "
                     "(A⁻¹)_ji (the cofactor of A_ij divided by det A). Solve Aᵀ G = I, or transpose A⁻¹."),
    ]
    if sign < 0:
        mistakes.append((-expected, "Wrong sign: det A < 0 here, and the gradient of log|det A| is A⁻ᵀ whatever the "
                                    "sign of det A (log|det A| = log(-det A) there, and the two minus signs cancel). "
                                    "Do not multiply by sign(det A)."))
    else:
        mistakes.append((-expected, "Your answer has the wrong sign: the gradient of log|det A| is +A⁻ᵀ."))
    if np.isfinite(det) and det != 0.0 and abs(abs(det) - 1.0) > 1e-6:
        mistakes.append((det * expected, "That is the gradient of det A itself (Jacobi's formula: det(A)·A⁻ᵀ); the "
                                         "log divides it by det A, leaving A⁻ᵀ."))
        mistakes.append((expected / det, "You divided A⁻ᵀ by det A once more: d log|det A| = d(det A) / det A "
                                         "= det(A)·A⁻ᵀ / det(A) = A⁻ᵀ."))
    return mistakes


def _log_det_grad_case(label, A):
    A = np.asarray(A, dtype=np.float64)
    n = A.shape[0]
    expected = _inverse_transpose(A)
    sign, logabs = np.linalg.slogdet(A)
    with np.errstate(all="ignore"):
        det = float(sign * np.exp(logabs))   # inf or 0 exactly where np.linalg.det over- or underflows
    mistakes = _grad_mistakes(A, expected, sign, det)

    def judge(answer: Answer):
        _nonfinite_gradient(answer, label, n, det, logabs)
        found = expect_array(answer, (n, n), label, f"the gradient with respect to A has the shape of A, ({n}, {n})")
        expect_close_named(found, expected, label, EXACT_RTOL, "entry of the gradient", mistakes)

    return Case(label, (A,), judge, call=quietly(A))


def _log_det_grad_visible():
    rotation = np.array([[np.cos(0.7), -np.sin(0.7)], [np.sin(0.7), np.cos(0.7)]])
    return [
        _log_det_grad_case("A = [[2, 1], [0, 4]] (upper triangular, det = 8)", [[2.0, 1.0], [0.0, 4.0]]),
        _log_det_grad_case("A = [[1, 2], [3, 4]] (det = -2)", [[1.0, 2.0], [3.0, 4.0]]),
        _log_det_grad_case("A = a rotation by 0.7 scaled by 3 (det = 9)", 3 * rotation),
        _log_det_grad_case("A = [[2, 1, 0], [0, 1, 3], [1, 0, 1]] (det = 5, not symmetric)",
                           [[2.0, 1.0, 0.0], [0.0, 1.0, 3.0], [1.0, 0.0, 1.0]]),
    ]


def _well_conditioned(rng, n):
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return Q * rng.uniform(0.5, 2.0, size=n) + 0.3 * rng.normal(size=(n, n)) / np.sqrt(n)


def _log_det_grad_hidden(rng):
    cases = [_log_det_grad_case(f"a random nonsymmetric {n}×{n} matrix", _well_conditioned(rng, n)) for n in (3, 5, 8)]
    negative = _well_conditioned(rng, 4)
    if np.linalg.det(negative) > 0:
        negative[[0, 1]] = negative[[1, 0]]
    cases.append(_log_det_grad_case("a random 4×4 matrix with a negative determinant", negative))
    return cases


def _log_det_grad_hard_case(label, A):
    A = np.asarray(A, dtype=np.float64)
    n = A.shape[0]
    identity = np.eye(n)
    sign, logabs = np.linalg.slogdet(A)
    with np.errstate(all="ignore"):
        det = float(sign * np.exp(logabs))   # inf or 0 exactly where np.linalg.det over- or underflows

    def judge(answer: Answer):
        _nonfinite_gradient(answer, label, n, det, logabs)
        found = expect_array(answer, (n, n), label, f"the gradient has the shape of A, ({n}, {n})")
        error = backward_error(A.T, found, identity)
        if error <= BACKWARD_TOL:
            return
        if backward_error(A, found, identity) <= BACKWARD_TOL:
            raise CheckFailure(f"{label}: you returned A⁻¹; the gradient of log|det A| is its transpose A⁻ᵀ "
                               "(∂ log|det A| / ∂A_ij = (A⁻¹)_ji).")
        if backward_error(A.T, -found, identity) <= BACKWARD_TOL:
            raise CheckFailure(f"{label}: wrong sign: the gradient of log|det A| is +A⁻ᵀ, whatever the sign of det A.")
        raise CheckFailure(
            f"{label}: your G does not solve Aᵀ G = I accurately: the backward error |Aᵀ G - I| / (|A| |G|) is "
            f"{error:.1e}, expected at most {BACKWARD_TOL:.0e} (A has condition number about {np.linalg.cond(A):.0e}). "
            "Routes that square the condition number (normal equations, (A Aᵀ)⁻¹ A) or go through det A lose "
            "the accuracy; solve the linear system Aᵀ G = I itself (np.linalg.solve)."
        )

    return Case(label, (A,), judge, call=quietly(A))


def _log_det_grad_hard(rng):
    n = 200
    return [
        _log_det_grad_hard_case(f"a random {n}×{n} matrix with entries of size 1e3 (det A overflows to inf)",
                                1e3 * rng.normal(size=(n, n))),
        _log_det_grad_hard_case(f"a random {n}×{n} matrix with entries of size 1e-3 (det A underflows to 0)",
                                1e-3 * rng.normal(size=(n, n))),
        _log_det_grad_hard_case("a nonsymmetric 30×30 matrix with condition number 1e12", ill_conditioned(rng, 30)),
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
        found1, found2 = found[:half], found[half:]
        round_trip = np.concatenate([found1, found2 * np.exp(scale(found1)) + shift(found1)])
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


# --- planar_flow_log_det ----------------------------------------------------------------------
LARGE_N = 100_000
MEMORY_BUDGET = 64 * 2**20   # bytes; the answer needs a few vectors of length n (0.8 MB each)


def _planar_terms(z, u, w, b):
    """(a, tanh'(a), uᵀw) for f(z) = z + u tanh(wᵀz + b), with a = wᵀz + b."""
    a = float(np.dot(w, z) + b)
    return a, 1.0 - np.tanh(a) ** 2, float(np.dot(u, w))


def _planar_mistakes(z, u, w, b):
    a, slope, uw = _planar_terms(z, u, w, b)
    inner = slope * uw
    with np.errstate(all="ignore"):
        def log_abs(value):
            return float(np.log(abs(value))) if value != 0 else np.nan

        return [
            (log_abs(1 + uw), "The tanh' factor is missing: ∂f/∂z = I + u ψᵀ with ψ = tanh'(wᵀz + b) w = "
                              "(1 - tanh²(wᵀz + b)) w, so det = 1 + tanh'(wᵀz + b)·uᵀw, not 1 + uᵀw."),
            (log_abs(1 + np.tanh(a) * uw), "You used tanh(wᵀz + b) where its derivative belongs: "
                                           "ψ = (1 - tanh²(wᵀz + b)) w."),
            (log_abs(1 + (1 - np.tanh(a)) * uw), "The derivative of tanh is 1 - tanh² (squared), not 1 - tanh."),
            (log_abs(1 + (1 - np.tanh(a - b) ** 2) * uw), "The bias b is missing: tanh' is evaluated at wᵀz + b."),
            (log_abs(inner), "The identity is missing: ∂f/∂z = I + u ψᵀ, and the matrix determinant lemma gives "
                             "det(I + u ψᵀ) = 1 + ψᵀu, not ψᵀu."),
            (1 + inner, "That is det ∂f/∂z itself (1 + uᵀψ); return log|1 + uᵀψ|."),
            (abs(1 + inner), "That is |det ∂f/∂z|; return its logarithm."),
        ]


def _planar_values(label, z, u, w, b):
    z, u, w = (np.asarray(v, dtype=np.float64) for v in (z, u, w))
    a, slope, uw = _planar_terms(z, u, w, b)
    det = 1.0 + slope * uw
    expected = float(np.log(abs(det)))
    if det < 0:
        hint = (f"Here det ∂f/∂z = 1 + uᵀψ = {det:.4g} is negative (the map reverses orientation at this z), and the "
                "log of a negative number is NaN: take the absolute value, log|1 + uᵀψ|.")
    else:
        hint = "Look for a log of zero or of a negative number, or an overflow."
    return z, u, w, float(b), expected, hint


def _planar_case(label, z, u, w, b):
    z, u, w, b, expected, hint = _planar_values(label, z, u, w, b)
    mistakes = _planar_mistakes(z, u, w, b)

    def judge(answer: Answer):
        found = _finite_scalar(answer, label, hint)
        expect_close_named(found, expected, label, EXACT_RTOL, "log-determinant", mistakes)

    return Case(label, (z, u, w, b), judge, call=quietly(z, u, w, b))


def _planar_visible():
    return [
        _planar_case("n = 1: z = (0.5,), u = (2,), w = (1.5,), b = -0.25", [0.5], [2.0], [1.5], -0.25),
        _planar_case("n = 3: z = (1, 0, -1), u = (0.5, 1, 0), w = (1, 2, 0.5), b = 0.1",
                     [1.0, 0.0, -1.0], [0.5, 1.0, 0.0], [1.0, 2.0, 0.5], 0.1),
        _planar_case("n = 3 with uᵀψ < -1 (det ∂f/∂z < 0): z = (0.2, -0.3, 0.1), u = (-2, -1, 0.5), w = (1, 1, -1), "
                     "b = 0.8", [0.2, -0.3, 0.1], [-2.0, -1.0, 0.5], [1.0, 1.0, -1.0], 0.8),
    ]


def _planar_draw(rng, n, negative=False):
    """z, u, w, b with |wᵀz + b| between 0.4 and 1.5 (so tanh' is neither 0 nor 1) and 1 + uᵀψ away from 0."""
    w = rng.normal(size=n) / np.sqrt(n)
    z = rng.normal(size=n)
    a = rng.choice([-1.0, 1.0]) * rng.uniform(0.4, 1.5)
    b = a - float(w @ z)
    slope = 1.0 - np.tanh(a) ** 2
    inner = rng.uniform(-3.0, -1.5) if negative else rng.uniform(-0.6, 2.0)   # the value of uᵀψ
    noise = rng.normal(size=n) / np.sqrt(n)
    noise -= (noise @ w) / (w @ w) * w      # orthogonal to w, so uᵀw is exactly inner / slope
    u = inner / (slope * float(w @ w)) * w + noise
    return z, u, w, b


def _planar_hidden(rng):
    cases = [_planar_case(f"random z, u, w, b with n = {n}", *_planar_draw(rng, n)) for n in (2, 5, 10)]
    cases.append(_planar_case("random z, u, w, b with n = 6 and det ∂f/∂z < 0", *_planar_draw(rng, 6, negative=True)))
    return cases


def _planar_large_case(label, z, u, w, b):
    z, u, w, b, expected, hint = _planar_values(label, z, u, w, b)
    n = z.size
    mistakes = _planar_mistakes(z, u, w, b)

    def call(function):
        with PeakMemory() as memory:
            try:
                with np.errstate(all="ignore"):
                    result = function(z, u, w, b)
            except MemoryError as error:
                result = flag("memory error", str(error)[:150])
        return flag("measured", result, memory.bytes)

    def judge(answer: Answer):
        problem = flagged(answer)
        if not problem or problem[0] != "measured":
            raise CheckFailure(f"{label}: the check could not measure your function (unexpected result).")
        result, peak = problem[1]
        inner = flagged(result)
        gigabytes = 8 * n * n / 1e9
        if inner and inner[0] == "memory error":
            raise CheckFailure(
                f"{label}: your function ran out of memory ({inner[1][0].text}). The n×n Jacobian I + u ψᵀ would "
                f"need {gigabytes:.0f} GB at n = {n}; the matrix determinant lemma det(I + u ψᵀ) = 1 + ψᵀu needs only "
                "vectors of length n."
            )
        peak_mb = float(peak.values) / 2**20
        if peak_mb * 2**20 > MEMORY_BUDGET:
            raise CheckFailure(
                f"{label}: your function allocated {peak_mb:.0f} MB at its peak (the budget is "
                f"{MEMORY_BUDGET / 2**20:.0f} MB for n = {n}); use the matrix determinant lemma with vectors of "
                "length n, never an n×n (or n×k) matrix."
            )
        found = _finite_scalar(result, label, hint)
        expect_close_named(found, expected, label, EXACT_RTOL, "log-determinant", mistakes)

    return Case(label, (z, u, w, b), judge, call=call)


def _planar_hard(rng):
    return [
        _planar_large_case(f"random z, u, w, b with n = {LARGE_N} (the Jacobian would take 80 GB)",
                           *_planar_draw(rng, LARGE_N)),
        _planar_large_case(f"random z, u, w, b with n = {LARGE_N} and det ∂f/∂z < 0",
                           *_planar_draw(rng, LARGE_N, negative=True)),
    ]


check = ProblemSet("ps5-change-of-variables", [
    Exercise("polar_area_factor", _polar_visible, _polar_hidden, points=1),
    Exercise("log_abs_det_grad", _log_det_grad_visible, _log_det_grad_hidden, _log_det_grad_hard, points=3),
    Exercise("coupling_forward", _coupling_visible, _coupling_forward_hidden, points=3),
    Exercise("coupling_inverse", _coupling_inverse_visible, _coupling_inverse_hidden, points=2),
    Exercise("planar_flow_log_det", _planar_visible, _planar_hidden, _planar_hard, points=3),
])
