"""Checks for ps4-hessians: Gauss–Newton products, Hutchinson's trace estimator, negative
curvature and damped Newton steps.

Notebook usage::

    from diffrn.checks.ps4 import check
    check.gauss_newton_hvp(gauss_newton_hvp)                  # visible cases
    check.gauss_newton_hvp(gauss_newton_hvp, hidden=True)     # hidden cases, drawn per student
    check.gauss_newton_hvp(gauss_newton_hvp, part="hard")     # n = 100 000: calls and memory
"""
from __future__ import annotations

import contextlib

import numpy as np

from diffrn.checks.core import (
    Answer, Case, CheckFailure, Exercise, ProblemSet, backward_error, expect_array, expect_close_named,
    PeakMemory, expect_scalar, flag, flagged,
)
from diffrn.checks.functions import CallLimitExceeded

EXACT_RTOL = 1e-9
LARGE_N = 100_000
EXTRA_ROWS = 3                    # the large residual has m = n + 3 components
MEMORY_BUDGET = 100 * 2**20       # bytes; an m×n Jacobian at n = 100 000 would need 80 GB
CALL_LIMIT = 5                    # per product function, in the large case
BACKWARD_TOL = 1e-12              # a solve reaches ~1e-16 here; an explicit inverse ~1e-7
UNIT_TOL = 1e-9


# --------------------------------------------------------------------------------------------
# Test objects (classes, not closures, so a case can be rebuilt in another process)
# --------------------------------------------------------------------------------------------
class ResidualJacobian:
    """The Jacobian J (m, n) of a residual map, given densely or as [diag(a); B] (m = n + rows of B).

    The structured form never stores an m×n array, so n can be 100 000.
    """

    def __init__(self, dense=None, diagonal=None, block=None):
        self.dense = None if dense is None else np.array(dense, dtype=np.float64)
        self.diagonal = None if diagonal is None else np.array(diagonal, dtype=np.float64)
        self.block = None if block is None else np.array(block, dtype=np.float64)

    @property
    def shape(self) -> tuple[int, int]:
        if self.dense is not None:
            return self.dense.shape
        return self.diagonal.size + self.block.shape[0], self.diagonal.size

    def jvp(self, v) -> np.ndarray:
        if self.dense is not None:
            return self.dense @ v
        return np.concatenate([self.diagonal * v, self.block @ v])

    def vjp(self, u) -> np.ndarray:
        if self.dense is not None:
            return u @ self.dense
        n = self.diagonal.size
        return self.diagonal * u[:n] + u[n:] @ self.block


class Product:
    """``jvp_r`` or ``vjp_r`` of a :class:`ResidualJacobian`, counting calls and recording misuse.

    A call with a vector of the wrong shape raises ValueError (as a real JVP would) and is
    remembered in ``misuse`` so the check can say which product got which vector.
    """

    def __init__(self, jacobian: ResidualJacobian, mode: str, limit: int | None = None):
        self.jacobian = jacobian
        self.mode = mode
        self.limit = limit
        self.calls = 0
        self.misuse = ""

    def __call__(self, vector):
        self.calls += 1
        if self.limit is not None and self.calls > self.limit:
            raise CallLimitExceeded(f"{self.mode}_r was called more than {self.limit} times")
        m, n = self.jacobian.shape
        length, space = (n, "input space R^n") if self.mode == "jvp" else (m, "residual space R^m")
        vector = np.asarray(vector)
        if vector.shape != (length,):
            self.misuse = self.misuse or f"{self.mode}:{vector.shape}"
            raise ValueError(f"{self.mode}_r takes a 1-D vector of length {length} (in the {space}), "
                             f"but was called with an array of shape {vector.shape}")
        vector = vector.astype(np.float64)
        return self.jacobian.jvp(vector) if self.mode == "jvp" else self.jacobian.vjp(vector)


class SymmetricOperator:
    """``hvp(v) = H v`` for a symmetric H, recording what every probe looked like.

    ``quadratic`` accumulates vᵀHv over the calls; ``kinds`` says whether each probe was ±1,
    0/1 or something else, so the check can judge the estimator from what it was given.
    """

    def __init__(self, H):
        self.H = np.array(H, dtype=np.float64)
        self.calls = 0
        self.quadratic = 0.0
        self.kinds: set[str] = set()

    def __call__(self, vector):
        self.calls += 1
        n = self.H.shape[0]
        vector = np.asarray(vector)
        if vector.shape != (n,):
            raise ValueError(f"hvp takes a 1-D vector of length {n}, but was called with shape {vector.shape}")
        v = vector.astype(np.float64)
        product = self.H @ v
        self.quadratic += float(v @ product)
        if np.all(np.abs(v) == 1.0):
            self.kinds.add("pm1")
        elif np.all((v == 0.0) | (v == 1.0)):
            self.kinds.add("01")
        else:
            self.kinds.add("other")
        return product


def _symmetric(rng, eigenvalues):
    n = len(eigenvalues)
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    H = (Q * np.asarray(eigenvalues, dtype=np.float64)) @ Q.T
    return (H + H.T) / 2


def ill_conditioned_spd(rng, n, condition=1e12):
    """A random symmetric positive definite matrix with the given condition number."""
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    eigenvalues = np.logspace(0, -np.log10(condition), n) * rng.uniform(1, 3)
    H = (Q * eigenvalues) @ Q.T
    return (H + H.T) / 2


# --- gauss_newton_hvp -------------------------------------------------------------------------
def _products_call(jacobian, v, limit=None, measure=False):
    """Call the student's function with fresh counting products; report calls, misuse, memory."""

    def call(student):
        jvp_r, vjp_r = Product(jacobian, "jvp", limit), Product(jacobian, "vjp", limit)
        memory = PeakMemory()
        with memory if measure else contextlib.nullcontext():
            try:
                result = student(jvp_r, vjp_r, v)
            except MemoryError as error:
                result = flag("memory error", str(error)[:150])
            except CallLimitExceeded:
                result = flag("too many calls")
            except ValueError:
                if not (jvp_r.misuse or vjp_r.misuse):
                    raise
                result = flag("misuse")
        return flag("observed", result, jvp_r.calls, vjp_r.calls, jvp_r.misuse or vjp_r.misuse, memory.bytes)

    return call


def _gauss_newton_case(label, jacobian: ResidualJacobian, v, large=False):
    v = np.asarray(v, dtype=np.float64)
    m, n = jacobian.shape
    Jv = jacobian.jvp(v)
    expected = jacobian.vjp(Jv)
    gigabytes = 8 * m * n / 1e9
    if large:
        mistakes = []
    else:
        J = jacobian.dense if jacobian.dense is not None else np.vstack([np.diag(jacobian.diagonal), jacobian.block])
        mistakes = [
            (J @ (J.T @ v) if m == n else np.zeros(0),
             "You computed J(Jᵀv): the products are in the wrong order. The Gauss–Newton product is Jᵀ(J v): "
             "first u = jvp_r(v) (a vector in R^m), then vjp_r(u)."),
            (Jv if m == n else np.zeros(0),
             "You returned J v = jvp_r(v) alone; pull it back with vjp_r to get Jᵀ(J v)."),
            (v @ J if m == n else np.zeros(0),
             "You returned vjp_r(v) = Jᵀv alone; the product is Jᵀ(J v): push v forward with jvp_r first."),
            (2 * expected, "Your answer is twice Jᵀ(J v): the Hessian of ½‖r‖² carries the ½, so there is no "
                           "factor 2."),
            (-expected, "Your answer has the wrong sign: Jᵀ(J v) is the Gauss–Newton matrix JᵀJ (positive "
                        "semidefinite) times v."),
        ]

    def judge(answer: Answer):
        problem = flagged(answer)
        if not problem or problem[0] != "observed":
            raise CheckFailure(f"{label}: the check could not observe your function (unexpected result).")
        result, jvp_calls, vjp_calls, misuse, peak = problem[1]
        jvp_calls, vjp_calls = int(jvp_calls.values), int(vjp_calls.values)
        inner = flagged(result)
        if inner and inner[0] == "memory error":
            raise CheckFailure(
                f"{label}: your function ran out of memory ({inner[1][0].text}). An m×n Jacobian here would need "
                f"{gigabytes:.0f} GB (and an n×n identity for basis vectors as much): never build J, use one jvp_r "
                "and one vjp_r.")
        if inner and inner[0] == "too many calls":
            raise CheckFailure(
                f"{label}: your function called jvp_r or vjp_r more than {CALL_LIMIT} times for n = {n}. Building J "
                f"from basis vectors takes n = {n} calls (and {gigabytes:.0f} GB); Jᵀ(J v) needs exactly one call "
                "of each.")
        if inner and inner[0] == "misuse":
            which, shape = misuse.text.split(":", 1)
            if which == "vjp":
                hint = (f"vjp_r takes a vector in R^m (m = {m}), but got shape {shape}: did you apply vjp_r to v? "
                        "That is J(Jᵀv), the wrong order. The Gauss–Newton product is Jᵀ(J v): first "
                        "u = jvp_r(v), then vjp_r(u).")
            else:
                hint = (f"jvp_r takes a vector in R^n (n = {n}), but got shape {shape}: did you apply jvp_r to "
                        "vjp_r's output, or to a vector of the wrong space? The order is Jᵀ(J v): "
                        "first u = jvp_r(v), then vjp_r(u).")
            raise CheckFailure(f"{label}: {hint}")
        if result.kind == "ndarray" and tuple(result.shape) == (m,) and m != n:
            raise CheckFailure(
                f"{label}: expected shape ({n},) (Jᵀ(J v) lives in the input space R^n); yours is ({m},), the shape "
                "of J v in the residual space R^m. Pull it back with vjp_r.")
        if (jvp_calls, vjp_calls) != (1, 1):
            by_basis = (jvp_calls >= n >= 3) or (vjp_calls >= m >= 3)
            basis = " (that looks like building J from basis vectors)" if by_basis else ""
            raise CheckFailure(
                f"{label}: your function called jvp_r {jvp_calls} time{'s' if jvp_calls != 1 else ''} and vjp_r "
                f"{vjp_calls} time{'s' if vjp_calls != 1 else ''}{basis}; expected exactly one call of each: "
                "u = jvp_r(v), then vjp_r(u). Keep the result of a call instead of calling again.")
        if large and float(peak.values) > MEMORY_BUDGET:
            raise CheckFailure(
                f"{label}: your function allocated {float(peak.values) / 2**20:.0f} MB at its peak (the budget is "
                f"{MEMORY_BUDGET / 2**20:.0f} MB; an m×n Jacobian would need {gigabytes:.0f} GB). Jᵀ(J v) needs "
                "only a few vectors of length m and n.")
        found = expect_array(result, (n,), label, "Jᵀ(J v) has the shape of v")
        if large and float(np.max(np.abs(found - expected))) <= EXACT_RTOL * max(1.0, float(np.max(np.abs(expected)))):
            return  # plain numpy on plain data: the exact helpers are slow for n = 10⁵
        expect_close_named(found, expected, label, EXACT_RTOL, "entry of Jᵀ(J v)", mistakes)

    call = _products_call(jacobian, v, limit=CALL_LIMIT if large else None, measure=large)
    return Case(label, (Product(jacobian, "jvp"), Product(jacobian, "vjp"), v), judge, call=call)


def _gauss_newton_visible():
    return [
        _gauss_newton_case("J = [[1, 2], [0, 1], [1, 0]] (m = 3, n = 2), v = (1, -1)",
                           ResidualJacobian(dense=[[1.0, 2.0], [0.0, 1.0], [1.0, 0.0]]), [1.0, -1.0]),
        _gauss_newton_case("J = [[2, 1], [0, 3]] (square), v = (1, 2)",
                           ResidualJacobian(dense=[[2.0, 1.0], [0.0, 3.0]]), [1.0, 2.0]),
        _gauss_newton_case("J = [[1, -1, 2]] (one residual, m = 1, n = 3), v = (0.5, 1, -1)",
                           ResidualJacobian(dense=[[1.0, -1.0, 2.0]]), [0.5, 1.0, -1.0]),
    ]


def _gauss_newton_hidden(rng):
    cases = []
    for m, n in [(6, 3), (4, 4), (2, 7), (10, 5)]:
        J = rng.normal(size=(m, n))
        cases.append(_gauss_newton_case(f"a random {m}×{n} Jacobian", ResidualJacobian(dense=J), rng.normal(size=n)))
    return cases


def _gauss_newton_hard(rng):
    diagonal = rng.uniform(0.5, 2.0, size=LARGE_N)
    block = rng.normal(size=(EXTRA_ROWS, LARGE_N)) / np.sqrt(LARGE_N)
    jacobian = ResidualJacobian(diagonal=diagonal, block=block)
    return [_gauss_newton_case(f"n = {LARGE_N} parameters and m = {LARGE_N + EXTRA_ROWS} residuals (J itself would "
                               "take 80 GB)", jacobian, rng.normal(size=LARGE_N), large=True)]


# --- hutchinson_trace -------------------------------------------------------------------------
def _hutchinson_call(H, n, num_samples, seed):
    """Run the estimator twice with generators of the same seed, observing the probes."""

    def call(student):
        runs = []
        for run_seed in (seed, seed):
            hvp = SymmetricOperator(H)
            rng = np.random.default_rng(run_seed)
            before = str(rng.bit_generator.state)
            result = student(hvp, n, num_samples, rng)
            used = str(rng.bit_generator.state) != before
            runs.append((result, hvp.calls, hvp.quadratic, ",".join(sorted(hvp.kinds)), float(used)))
        return flag("observed", *[item for run in runs for item in run])

    return call


def _hutchinson_case(label, H, num_samples, seed, exact=False):
    H = np.asarray(H, dtype=np.float64)
    n = H.shape[0]
    trace = float(np.trace(H))

    def judge(answer: Answer):
        problem = flagged(answer)
        if not problem or problem[0] != "observed":
            raise CheckFailure(f"{label}: the check could not observe your function (unexpected result).")
        details = problem[1]
        first, again = details[:5], details[5:10]
        result, calls, quadratic, kinds, used = first
        calls = int(calls.values)
        if calls != num_samples:
            raise CheckFailure(
                f"{label}: hvp was called {calls} time{'s' if calls != 1 else ''}; expected exactly num_samples = "
                f"{num_samples}, one per probe. Use each product once: vᵢ @ hvp(vᵢ).")
        if not float(used.values):
            raise CheckFailure(
                f"{label}: the generator rng you were given was not used (its state did not change). Draw every "
                "probe from it (rng.choice, rng.integers...), not from np.random or a new default_rng: that is "
                "what makes the same seed give the same estimate.")
        probe_kinds = set(kinds.text.split(",")) if kinds.text else set()
        if "01" in probe_kinds:
            raise CheckFailure(
                f"{label}: your probes have entries 0 and 1; Rademacher probes have entries -1 and +1 with equal "
                "probability (2 * rng.integers(0, 2, size=n) - 1).")
        if "other" in probe_kinds:
            raise CheckFailure(
                f"{label}: your probes have entries other than ±1 (Gaussian probes?). The estimator asked for uses "
                "Rademacher probes, entries -1 or +1 with equal probability: rng.choice([-1.0, 1.0], size=n). "
                "They make the estimate exact for H = c·I and have lower variance.")
        value = expect_scalar(result, label)
        estimate = float(quadratic.values) / num_samples
        scale = max(1.0, abs(estimate), abs(trace))
        if abs(value - estimate) > EXACT_RTOL * scale:
            if num_samples > 1 and abs(value - num_samples * estimate) <= EXACT_RTOL * scale * num_samples:
                hint = "You returned the sum Σ vᵢᵀHvᵢ; divide by num_samples for the mean."
            elif abs(value - estimate / n) <= EXACT_RTOL * scale and n > 1:
                hint = "You divided by n as well; the mean over probes (1/k) Σ vᵢᵀHvᵢ already estimates tr H."
            elif abs(value - estimate * num_samples / n) <= EXACT_RTOL * scale and n != num_samples:
                hint = "You divided by n; divide the sum by num_samples k."
            elif abs(value + estimate) <= EXACT_RTOL * scale:
                hint = "Your estimate has the wrong sign."
            else:
                hint = ("Return (1/k) Σ vᵢᵀ H vᵢ over the k = num_samples probes you passed to hvp, each product "
                        "used once.")
            raise CheckFailure(
                f"{label}: your estimate {value:.10g} is not the mean of vᵢᵀHvᵢ over the probes you passed to hvp "
                f"({estimate:.10g}). {hint}")
        repeated = expect_scalar(again[0], label)
        if repeated != value:
            raise CheckFailure(
                f"{label}: two calls with generators made from the same seed gave different estimates "
                f"({value:.10g} and {repeated:.10g}). Draw the probes only from the rng argument.")
        if exact and abs(value - trace) > EXACT_RTOL * max(1.0, abs(trace)):
            raise CheckFailure(
                f"{label}: for H = c·I every Rademacher probe gives vᵀHv = c·n exactly, so the estimate must be "
                f"tr H = {trace:g}; yours is {value:.10g}.")

    call = _hutchinson_call(H, n, num_samples, seed)
    return Case(label, (SymmetricOperator(H), n, num_samples, np.random.default_rng(seed)), judge, call=call)


def _hutchinson_visible():
    return [
        _hutchinson_case("H = 3·I (n = 4), 5 probes, seed 0: the estimate is exactly tr H = 12",
                         3.0 * np.eye(4), 5, 0, exact=True),
        _hutchinson_case("H = [[2, 1], [1, 3]], 1 probe, seed 1", [[2.0, 1.0], [1.0, 3.0]], 1, 1),
        _hutchinson_case("a 6×6 symmetric H, 20 probes, seed 2",
                         _symmetric(np.random.default_rng(45), [3.0, -1.0, 0.5, 2.0, 1.0, -2.0]), 20, 2),
    ]


def _hutchinson_hidden(rng):
    cases = []
    c = float(rng.uniform(-3.0, 3.0))
    n = int(rng.integers(3, 9))
    cases.append(_hutchinson_case(f"H = {c:.3g}·I (n = {n}), 7 probes", c * np.eye(n), 7,
                                  int(rng.integers(1000)), exact=True))
    for n, k in [(5, 3), (30, 10), (200, 4)]:
        H = _symmetric(rng, rng.normal(size=n))
        cases.append(_hutchinson_case(f"a random symmetric {n}×{n} H, {k} probes", H, k, int(rng.integers(1000))))
    return cases


# --- negative_curvature_direction -------------------------------------------------------------
def _quiet_complex(args, kwargs):
    """Call, and report a complex array as a flag (describe() would drop its imaginary part)."""

    def call(function):
        result = function(*args, **kwargs)
        if type(result) is np.ndarray and np.iscomplexobj(result):
            return flag("complex", float(np.max(np.abs(result.imag), initial=0.0)), str(result.dtype))
        return result

    return call


def _curvature_case(label, H, tol=None):
    H = np.asarray(H, dtype=np.float64)
    n = H.shape[0]
    used_tol = 1e-10 if tol is None else tol
    eigenvalues = np.linalg.eigvalsh(H)
    lam_min = float(eigenvalues[0])
    negative = lam_min < -used_tol
    norm = max(1.0, float(np.max(np.abs(eigenvalues))))
    largest_abs = float(eigenvalues[np.argmax(np.abs(eigenvalues))])
    lam_max = float(eigenvalues[-1])
    kwargs = {} if tol is None else {"tol": tol}

    def judge(answer: Answer):
        problem = flagged(answer)
        if problem and problem[0] == "complex":
            raise CheckFailure(
                f"{label}: you returned a complex array ({problem[1][1].text}). np.linalg.eig is meant for general "
                "matrices and may return complex output; for a symmetric H use np.linalg.eigh, which returns real "
                "eigenvalues in ascending order and orthonormal eigenvectors.")
        if not negative:
            if answer.kind == "none":
                return
            why = (f"λ_min = {lam_min:.3g} is not below -tol = {-used_tol:.3g}: it counts as zero, so there is no "
                   "direction of negative curvature (compare λ_min with -tol, not with 0)."
                   if lam_min < 0 else
                   f"H is positive semidefinite (λ_min = {lam_min:.3g}): no direction has negative curvature.")
            found = "an array" if answer.kind == "ndarray" else f"a {answer.type_name}"
            raise CheckFailure(f"{label}: expected None, found {found}. {why}")
        if answer.kind == "none":
            raise CheckFailure(f"{label}: you returned None, but λ_min = {lam_min:.6g} < -tol = {-used_tol:g}: return "
                               "a unit eigenvector for λ_min.")
        v = expect_array(answer, (n,), label, "v has the length of H's rows")
        length = float(np.linalg.norm(v))
        curvature = float(v @ H @ v)
        if abs(length - 1.0) > UNIT_TOL:
            hint = "" if length == 0 else (f" (v/‖v‖ has curvature {curvature / length ** 2:.6g})")
            raise CheckFailure(f"{label}: v is not a unit vector: ‖v‖ = {length:.6g}{hint}. Divide by its norm "
                               "(np.linalg.eigh already returns unit eigenvectors).")
        if abs(curvature - lam_min) <= 1e-9 * norm:
            return
        if abs(curvature - lam_max) <= 1e-7 * norm:
            also = " and the one of largest |λ|" if largest_abs == lam_max else ""
            hint = (f"vᵀHv = {curvature:.6g} is the largest eigenvalue{also}: you need the smallest (most negative) one, "
                    "not the largest in absolute value. np.linalg.eig does not sort its eigenvalues at all; "
                    "np.linalg.eigh sorts them in ascending order, so λ_min's eigenvector is column 0 (V[:, 0]).")
        elif np.any(np.abs(eigenvalues - curvature) <= 1e-7 * norm):
            hint = (f"vᵀHv = {curvature:.6g} is another eigenvalue. np.linalg.eig does not sort its eigenvalues, and "
                    "eigenvectors are the columns V[:, i], not the rows.")
        else:
            hint = ("v is not an eigenvector of λ_min. Eigenvectors are the columns of V in "
                    "w, V = np.linalg.eigh(H), and w is in ascending order.")
        raise CheckFailure(f"{label}: vᵀHv = {curvature:.6g}, expected λ_min = {lam_min:.6g}. {hint}")

    args = (H,)
    return Case(label, args, judge, kwargs, call=_quiet_complex(args, kwargs))


def _curvature_visible():
    return [
        _curvature_case("H = diag(2, -1, 0.5): v = ±e₂", np.diag([2.0, -1.0, 0.5])),
        _curvature_case("H = [[1, 2], [2, 1]] (eigenvalues 3 and -1)", [[1.0, 2.0], [2.0, 1.0]]),
        _curvature_case("H = diag(-3, -1) (both eigenvalues negative)", np.diag([-3.0, -1.0])),
        _curvature_case("H = [[-1, 0], [0, 5]] (λ_min = -1 but the largest |λ| is 5)", np.diag([-1.0, 5.0])),
        _curvature_case("H = diag(1, 2) (positive definite: None)", np.diag([1.0, 2.0])),
        _curvature_case("H = diag(1, -1e-12) with the default tol = 1e-10: None", np.diag([1.0, -1e-12])),
        _curvature_case("H = diag(1, -1e-4, 2) with tol = 1e-3: None", np.diag([1.0, -1e-4, 2.0]), tol=1e-3),
    ]


def _curvature_hidden(rng):
    cases = []
    patterns = [
        ("one negative eigenvalue", [2.0, -0.5, 1.0, 3.0]),
        ("a large positive and a small negative eigenvalue", [10.0, -0.3, 1.0]),
        ("all eigenvalues negative", [-1.0, -2.0, -0.5]),
        ("positive definite", [0.5, 1.0, 2.0, 4.0]),
        ("positive semidefinite", [0.0, 1.0, 2.0]),
    ]
    for what, eigenvalues in patterns:
        scaled = np.asarray(eigenvalues) * rng.uniform(0.5, 2.0, size=len(eigenvalues))
        H = _symmetric(rng, rng.permutation(scaled))
        cases.append(_curvature_case(f"a random symmetric {len(scaled)}×{len(scaled)} H, {what}", H))
    tol = 1e-4
    cases.append(_curvature_case(f"a random 3×3 H with eigenvalues (1, 2, -1e-5) and tol = {tol:g}",
                                 _symmetric(rng, rng.permutation([1.0, 2.0, -1e-5])), tol=tol))
    cases.append(_curvature_case(f"a random 3×3 H with eigenvalues (1, 2, -1e-3) and tol = {tol:g}",
                                 _symmetric(rng, rng.permutation([1.0, 2.0, -1e-3])), tol=tol))
    return cases


# --- damped_newton_step -----------------------------------------------------------------------
def _damped_case(label, g, H, lam):
    g, H = np.asarray(g, dtype=np.float64), np.asarray(H, dtype=np.float64)
    n = g.size
    shifted = H + lam * np.eye(n)
    expected = np.linalg.solve(shifted, -g)
    mistakes = [
        (-expected, "Your step has the wrong sign: it solves (H + λI) p = -g (minus: downhill)."),
        (np.linalg.solve(H, -g) if abs(np.linalg.det(H)) > 1e-12 else np.zeros(0),
         "You forgot the damping: the system is (H + λI) p = -g, with λ added to H's diagonal."),
        (np.linalg.solve(H, -(g + lam)) if abs(np.linalg.det(H)) > 1e-12 else np.zeros(0),
         "You added λ to g; it belongs on the diagonal of H: (H + λI) p = -g."),
        (np.linalg.solve(H + lam, -g) if abs(np.linalg.det(H + lam)) > 1e-12 else np.zeros(0),
         "You added λ to every entry of H; add it only to the diagonal: H + lam * np.eye(n)."),
        (-shifted @ g, "You multiplied by H + λI; the step solves (H + λI) p = -g (np.linalg.solve)."),
        (-g / (np.diag(H) + lam), "You divided by the diagonal of H + λI only; solve the full linear system."),
    ]

    def judge(answer: Answer):
        found = expect_array(answer, (n,), label, "the step has the shape of g")
        expect_close_named(found, expected, label, EXACT_RTOL, "entry of the step", mistakes)

    return Case(label, (g, H, float(lam)), judge)


def _damped_visible():
    return [
        _damped_case("g = (1, 2), H = [[2, 0], [0, 4]], λ = 1: p = (-1/3, -2/5)", [1.0, 2.0],
                     [[2.0, 0.0], [0.0, 4.0]], 1.0),
        _damped_case("g = (1, -1), H = [[1, 2], [2, 1]] (indefinite), λ = 2", [1.0, -1.0],
                     [[1.0, 2.0], [2.0, 1.0]], 2.0),
        _damped_case("g = (0.5, 1, -2), a 3×3 positive definite H, λ = 0.1", [0.5, 1.0, -2.0],
                     [[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]], 0.1),
    ]


def _damped_hidden(rng):
    cases = []
    for n in (2, 4, 7):
        eigenvalues = rng.normal(size=n) * 2
        lam = float(-min(eigenvalues.min(), 0.0) + rng.uniform(0.5, 2.0))
        cases.append(_damped_case(f"a random symmetric {n}×{n} H, λ = {lam:.3g}", rng.normal(size=n),
                                  _symmetric(rng, eigenvalues), lam))
    return cases


def near_singular_shift(rng, n, gap=1e-11):
    """(H, λ) with H symmetric indefinite and H + λI positive definite with condition number ~2/gap."""
    scale = float(rng.uniform(1.0, 3.0))
    eigenvalues = np.concatenate([[-1.0], rng.uniform(-1.0, 1.0, size=n - 2), [1.0]]) * scale
    return _symmetric(rng, eigenvalues), scale * (1.0 + gap)


def _damped_hard_case(label, g, H, lam):
    g, H = np.asarray(g, dtype=np.float64), np.asarray(H, dtype=np.float64)
    n = g.size
    shifted = H + lam * np.eye(n)

    def judge(answer: Answer):
        found = expect_array(answer, (n,), label, "the step has the shape of g")
        error = backward_error(shifted, found, -g)
        if error <= BACKWARD_TOL:
            return
        if backward_error(shifted, -found, -g) <= BACKWARD_TOL:
            raise CheckFailure(f"{label}: your step has the wrong sign: it solves (H + λI) p = -g.")
        raise CheckFailure(
            f"{label}: your step does not solve (H + λI) p = -g accurately: its backward error "
            f"‖(H + λI) p + g‖ / (‖H + λI‖ ‖p‖) is {error:.1e}, expected at most {BACKWARD_TOL:.0e} (H + λI has "
            f"condition number about {np.linalg.cond(shifted):.0e}). Multiplying by an explicit inverse "
            "(np.linalg.inv) loses accuracy on ill-conditioned matrices; solve the linear system (H + λI) p = -g "
            "itself (np.linalg.solve).")

    return Case(label, (g, H, float(lam)), judge)


def _damped_hard(rng):
    cases = []
    # g = (H + λI) z for a random z: a step of moderate length, where an inverse's residual shows.
    for n in (8, 20):
        H, lam = near_singular_shift(rng, n)
        g = (H + lam * np.eye(n)) @ rng.normal(size=n)
        cases.append(_damped_hard_case(f"an indefinite {n}×{n} H with λ just above -λ_min(H): H + λI has condition "
                                       "number about 1e11", g, H, lam))
        H = ill_conditioned_spd(rng, n)
        g = (H + 1e-14 * np.eye(n)) @ rng.normal(size=n)
        cases.append(_damped_hard_case(f"a positive definite {n}×{n} H with condition number 1e12 and λ = 1e-14",
                                       g, H, 1e-14))
    return cases


check = ProblemSet("ps4-hessians", [
    Exercise("gauss_newton_hvp", _gauss_newton_visible, _gauss_newton_hidden, _gauss_newton_hard, points=3),
    Exercise("hutchinson_trace", _hutchinson_visible, _hutchinson_hidden, points=3),
    Exercise("negative_curvature_direction", _curvature_visible, _curvature_hidden, points=3),
    Exercise("damped_newton_step", _damped_visible, _damped_hidden, _damped_hard, points=3),
])
