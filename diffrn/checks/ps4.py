"""Checks for ps4-hessians: Hessians by differences, Hessian-vector products, critical points, Newton.

Notebook usage::

    from diffrn.checks.ps4 import check
    check.hvp(hvp)                 # visible cases
    check.hvp(hvp, hidden=True)    # hidden cases, drawn per student
    check.hvp(hvp, part="hard")    # n = 100 000: time and memory
"""
from __future__ import annotations

import tracemalloc

import numpy as np

from diffrn.checks.core import (
    Answer, Case, CheckFailure, Exercise, ProblemSet, backward_error, expect_array, expect_choice,
    expect_close_named, flag, flagged,
)
from diffrn.checks.functions import (
    CallLimitExceeded, Gradient, Hessian, QuadraticFunction, ScalarFunction, SeparableFunction,
)

# Second differences with step h: error of order h·|f'''| (forward) or h²·|f''''| + eps·|f|/h²
# (central). With h <= 1e-4 and the test functions below, forward differences stay under 1e-3.
HESSIAN_RTOL = 5e-3
FD_RTOL = 1e-5          # first differences of an exact gradient (hvp)
EXACT_RTOL = 1e-9
LARGE_N = 100_000
MEMORY_BUDGET = 100 * 2**20      # bytes; the n×n Hessian would need 8 n² = 80 GB
GRADIENT_CALL_LIMIT = 20
BACKWARD_TOL = 1e-12     # a solve reaches ~1e-16 here; np.linalg.inv ~1e-7 at condition 1e12
CLASSES = ("minimum", "maximum", "saddle", "degenerate")


# --- hessian_fd -------------------------------------------------------------------------------
def _hessian_case(label, function, x, h=None):
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    expected = function.hessian(x)
    mistakes = [
        (4 * expected, "Your Hessian is four times too large: the mixed difference "
                       "f(x+h e_i+h e_j) - f(x+h e_i-h e_j) - f(x-h e_i+h e_j) + f(x-h e_i-h e_j) is divided by 4h²."),
        (2 * expected, "Your Hessian is twice the right one (a factor of 2 too many in the denominator's place)."),
        (expected / 2, "Your Hessian is half the right one (a missing factor of 2)."),
        (expected / 4, "Your Hessian is a quarter of the right one: with steps ±h the mixed difference is divided "
                       "by 4h², not 16h²."),
        (-expected, "Your Hessian has the wrong sign everywhere."),
        (np.diag(np.diag(expected)), "Only the diagonal is filled in: the off-diagonal entries are the mixed "
                                     "partials ∂²f/∂x_i∂x_j."),
    ]
    kwargs = {} if h is None else {"h": h}

    def judge(answer: Answer):
        found = expect_array(answer, (n, n), label, f"f is a function of {n} variables")
        scale = max(1.0, float(np.max(np.abs(found))))
        gap = np.abs(found - found.T)
        if float(np.max(gap)) > HESSIAN_RTOL * scale:
            i, j = np.unravel_index(int(np.argmax(gap)), gap.shape)
            raise CheckFailure(
                f"{label}: your Hessian is not symmetric: H[{i}, {j}] = {found[i, j]:.6g} but H[{j}, {i}] = "
                f"{found[j, i]:.6g}. Mixed partials are equal; fill both triangles (or return (H + H.T) / 2)."
            )
        expect_close_named(found, expected, label, HESSIAN_RTOL, "Hessian entry", mistakes)

    return Case(label, (function, x), judge, kwargs)


def _hessian_visible():
    H = np.array([[2.0, 1.0], [1.0, -3.0]])
    return [
        _hessian_case("f(x) = ½ xᵀAx with A = [[2, 1], [1, -3]], at (1, 1) (the Hessian is A)",
                      QuadraticFunction(H, [0.0, 0.0]), [1.0, 1.0]),
        _hessian_case("a smooth function of 3 variables (returns a float)",
                      ScalarFunction(np.random.default_rng(40), 3), [0.2, -0.4, 0.1]),
        _hessian_case("the same kind of function, returning a length-1 array, h = 5e-5",
                      ScalarFunction(np.random.default_rng(41), 2, output="1d"), [0.5, 0.5], h=5e-5),
    ]


def _hessian_hidden(rng):
    cases = []
    for n, output in [(1, "float"), (2, "0d"), (4, "1d"), (5, "float")]:
        step = [None, 5e-5][int(rng.integers(2))]
        function = ScalarFunction(rng, n, output=output)
        returns = {"float": "a float", "0d": "a 0-d array", "1d": "an array of length 1"}[output]
        cases.append(_hessian_case(f"a random smooth function of {n} variable{'s' if n > 1 else ''} "
                                   f"(returns {returns}{'' if step is None else f'; h = {step:g}'})",
                                   function, rng.normal(size=n), h=step))
    return cases


# --- hvp --------------------------------------------------------------------------------------
def _hvp_case(label, function, x, v):
    x, v = np.asarray(x, dtype=np.float64), np.asarray(v, dtype=np.float64)
    n = x.size
    expected = function.hvp(x, v)
    norm = float(np.linalg.norm(v))
    mistakes = [
        (expected / norm if norm else np.zeros(0), "You normalized v: the Hessian-vector product is linear in v, "
                                                  "so scale the difference quotient by the step along v, not by |v|."),
    ]

    def judge(answer: Answer):
        found = expect_array(answer, (n,), label, "H v has the shape of x")
        expect_close_named(found, expected, label, FD_RTOL, "entry of H v", mistakes)

    return Case(label, (Gradient(function), x, v), judge)


def _hvp_visible():
    H = np.array([[2.0, 1.0], [1.0, 3.0]])
    return [
        _hvp_case("f(x) = ½ xᵀAx with A = [[2, 1], [1, 3]], v = (1, 0) (H v is A's first column)",
                  QuadraticFunction(H, [0.0, 0.0]), [0.3, -0.2], [1.0, 0.0]),
        _hvp_case("a smooth function of 4 variables, v = (1, -1, 0.5, 2)",
                  ScalarFunction(np.random.default_rng(42), 4), [0.1, 0.2, -0.3, 0.4], [1.0, -1.0, 0.5, 2.0]),
        _hvp_case("a separable function of 6 variables, a long v (|v| ≈ 50)",
                  SeparableFunction(np.random.default_rng(43), 6), np.linspace(-1, 1, 6), np.arange(6.0) * 10 - 25),
    ]


def _hvp_hidden(rng):
    cases = []
    for n, scale in [(3, 1.0), (5, 0.01), (8, 30.0)]:
        function = ScalarFunction(rng, n)
        cases.append(_hvp_case(f"a random smooth function of {n} variables, |v| ≈ {scale * np.sqrt(n):.2g}",
                               function, rng.normal(size=n), rng.normal(size=n) * scale))
    function = SeparableFunction(rng, 50)
    cases.append(_hvp_case("a random separable function of 50 variables", function, rng.normal(size=50),
                           rng.normal(size=50)))
    return cases


def _hvp_large_case(label, function, x, v):
    n = x.size

    def call(student_hvp):
        grad = Gradient(function, limit=GRADIENT_CALL_LIMIT)
        was_tracing = tracemalloc.is_tracing()
        if not was_tracing:
            tracemalloc.start()
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        try:
            result = student_hvp(grad, x, v)
        except MemoryError as error:
            result = flag("memory error", str(error)[:150])
        except CallLimitExceeded:
            result = flag("too many calls")
        finally:
            peak = max(0, tracemalloc.get_traced_memory()[1] - start)
            if not was_tracing:
                tracemalloc.stop()
        if grad.calls > GRADIENT_CALL_LIMIT:
            result = flag("too many calls")
        return flag("measured", result, float(peak), grad.calls)

    def judge(answer: Answer):
        problem = flagged(answer)
        if not problem or problem[0] != "measured":
            raise CheckFailure(f"{label}: the check could not measure your hvp (unexpected result).")
        result, peak, calls = problem[1]
        peak_mb = float(peak.values) / 2**20
        inner = flagged(result)
        gigabytes = 8 * n * n / 1e9
        if inner and inner[0] == "memory error":
            raise CheckFailure(
                f"{label}: your hvp ran out of memory ({inner[1][0].text}). An n×n Hessian with n = {n} would need "
                f"{gigabytes:.0f} GB — use differences of gradients: H v ≈ (∇f(x + εv) - ∇f(x - εv)) / (2ε)."
            )
        if inner and inner[0] == "too many calls":
            raise CheckFailure(
                f"{label}: your hvp made more than {GRADIENT_CALL_LIMIT} calls of grad_f for n = {n}; expected a "
                f"few (two for a central difference). Building the Hessian column by column takes n = {n} calls "
                f"(and {gigabytes:.0f} GB) — use differences of gradients along v."
            )
        if peak_mb * 2**20 > MEMORY_BUDGET:
            raise CheckFailure(
                f"{label}: your hvp allocated {peak_mb:.0f} MB at its peak (the budget is "
                f"{MEMORY_BUDGET / 2**20:.0f} MB); an n×n Hessian would need {gigabytes:.0f} GB — use differences "
                "of gradients, which need a few vectors of length n."
            )
        found = expect_array(result, (n,), label, "H v has the shape of x")
        expected = function.hvp(x, v)
        # ``found`` is plain data (see describe), so numpy may judge it; the exact helper is slow for n = 10⁵.
        if float(np.max(np.abs(found - expected))) <= FD_RTOL * max(1.0, float(np.max(np.abs(expected)))):
            return
        expect_close_named(found, expected, label, FD_RTOL, "entry of H v")

    return Case(label, (Gradient(function), x, v), judge, call=call)


def _hvp_hard(rng):
    function = SeparableFunction(rng, LARGE_N)
    return [_hvp_large_case(f"a separable function of n = {LARGE_N} variables (the Hessian would take 80 GB)",
                            function, rng.normal(size=LARGE_N), rng.normal(size=LARGE_N))]


# --- classify_critical_point ------------------------------------------------------------------
def _classify(eigenvalues, tol):
    positive = bool(np.any(eigenvalues > tol))
    negative = bool(np.any(eigenvalues < -tol))
    if positive and negative:
        return "saddle"
    zero = bool(np.any(np.abs(eigenvalues) <= tol))
    if positive and not zero:
        return "minimum"
    if negative and not zero:
        return "maximum"
    return "degenerate"


def _classify_case(label, H, tol=None):
    H = np.asarray(H, dtype=np.float64)
    used_tol = 1e-10 if tol is None else tol
    eigenvalues = np.linalg.eigvalsh(H)
    expected = _classify(eigenvalues, used_tol)
    by_diagonal = _classify(np.diag(H), used_tol)
    shown = ", ".join(f"{value:.3g}" for value in eigenvalues)

    def judge(answer: Answer):
        found = expect_choice(answer, CLASSES, label)
        if found == expected:
            return
        intro = f"{label}: expected {expected!r}, found {found!r}. The eigenvalues are ({shown}), tol = {used_tol:g}."
        smallest = float(np.min(np.abs(eigenvalues)))
        if found == by_diagonal:
            hint = ("The diagonal entries are not the eigenvalues (unless H is diagonal): classify by the signs of "
                    "np.linalg.eigvalsh(H).")
        elif {found, expected} == {"minimum", "maximum"}:
            hint = ("Check the sign: all eigenvalues positive means f curves up in every direction, a minimum; "
                    "all negative, a maximum.")
        elif expected == "saddle":
            hint = "One positive and one negative eigenvalue make a saddle, even if other eigenvalues are zero."
        elif expected == "degenerate" and smallest > 0:
            hint = (f"|λ| = {smallest:.3g} ≤ tol counts as zero (an absolute tolerance), and a zero eigenvalue "
                    "without eigenvalues of both signs leaves the test inconclusive: 'degenerate'.")
        elif expected == "degenerate":
            hint = ("A zero eigenvalue without eigenvalues of both signs leaves the second-derivative test "
                    "inconclusive: 'degenerate'.")
        else:
            hint = (f"Only eigenvalues with |λ| ≤ tol = {used_tol:g} count as zero; the smallest here is "
                    f"{smallest:.3g}.")
        raise CheckFailure(f"{intro} {hint}")

    return Case(label, (H,), judge, {} if tol is None else {"tol": tol})


def _rotated(rng, eigenvalues):
    n = len(eigenvalues)
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    H = (Q * np.asarray(eigenvalues, dtype=np.float64)) @ Q.T
    return (H + H.T) / 2


def _classify_visible():
    return [
        _classify_case("H = diag(1, 2)", np.diag([1.0, 2.0])),
        _classify_case("H = diag(-1, -3)", np.diag([-1.0, -3.0])),
        _classify_case("H = [[0, 1], [1, 0]] (f = x1 x2)", [[0.0, 1.0], [1.0, 0.0]]),
        _classify_case("H = diag(1, 0) (f = x1²/2)", np.diag([1.0, 0.0])),
        _classify_case("H = [[2, 3], [3, 2]]", [[2.0, 3.0], [3.0, 2.0]]),
        _classify_case("H = diag(2, 1e-7, 3) with tol = 1e-6", np.diag([2.0, 1e-7, 3.0]), tol=1e-6),
    ]


def _classify_hidden(rng):
    patterns = [
        ("positive definite", [1.0, 2.0, 0.5]),
        ("negative definite", [-1.0, -0.3, -2.0, -4.0]),
        ("indefinite", [2.0, -1.0, 0.7]),
        ("indefinite with a zero eigenvalue", [1.5, 0.0, -0.8, 2.0]),
        ("positive semidefinite", [0.0, 1.0, 3.0]),
        ("negative semidefinite", [-2.0, 0.0]),
        ("a small positive eigenvalue 1e-7 (default tol)", [1e-7, 1.0, 2.0]),
    ]
    cases = []
    for what, eigenvalues in patterns:
        scaled = np.asarray(eigenvalues) * rng.uniform(0.5, 2.0, size=len(eigenvalues))
        scaled[np.asarray(eigenvalues) == 1e-7] = 1e-7
        cases.append(_classify_case(f"a random symmetric {len(scaled)}×{len(scaled)} H, {what}",
                                    _rotated(rng, rng.permutation(scaled))))
    tol = 1e-5
    cases.append(_classify_case(f"a random 3×3 H with eigenvalues (1, 2, 1e-6) and tol = {tol:g}",
                                _rotated(rng, [1.0, 2.0, 1e-6]), tol=tol))
    return cases


# --- newton_step ------------------------------------------------------------------------------
def _newton_case(label, function, x):
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    H, g = function.hessian(x), function.gradient(x)
    step = np.linalg.solve(H, g)
    expected = x - step
    mistakes = [
        (x + step, "You moved uphill: the Newton iterate is x - H⁻¹∇f(x) (minus)."),
        (step, "You returned the step H⁻¹∇f(x); return the new iterate x - H⁻¹∇f(x)."),
        (-step, "You returned -H⁻¹∇f(x); return the new iterate x - H⁻¹∇f(x)."),
        (x - H @ g, "You multiplied the gradient by H; the Newton step solves H s = ∇f(x) (np.linalg.solve)."),
        (x - g, "That is a gradient-descent step; Newton's step solves H s = ∇f(x)."),
    ]

    def judge(answer: Answer):
        found = expect_array(answer, (n,), label, "the new iterate has the shape of x")
        expect_close_named(found, expected, label, EXACT_RTOL, "entry of the new iterate", mistakes)

    return Case(label, (Gradient(function), Hessian(function), x), judge)


def _newton_visible():
    H = np.array([[4.0, 1.0], [1.0, 3.0]])
    return [
        _newton_case("a quadratic with minimum at (1, -1), from (0, 0): one step lands on it",
                     QuadraticFunction(H, [1.0, -1.0]), [0.0, 0.0]),
        _newton_case("f(x) = ½|x|², from (2, -3, 1): one step lands on 0", QuadraticFunction(np.eye(3), np.zeros(3)),
                     [2.0, -3.0, 1.0]),
        _newton_case("a smooth convex function of 3 variables", ScalarFunction(np.random.default_rng(44), 3, definite=True),
                     [0.5, -0.5, 1.0]),
    ]


def _newton_hidden(rng):
    return [_newton_case(f"a random smooth convex function of {n} variable{'s' if n > 1 else ''}", ScalarFunction(rng, n, definite=True),
                         rng.normal(size=n)) for n in (1, 3, 6)]


def ill_conditioned_spd(rng, n, condition=1e12):
    """A random symmetric positive definite matrix with the given condition number."""
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    eigenvalues = np.logspace(0, -np.log10(condition), n) * rng.uniform(1, 3)
    H = (Q * eigenvalues) @ Q.T
    return (H + H.T) / 2


def _newton_hard_case(label, function, x):
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    H, g = function.hessian(x), function.gradient(x)

    def judge(answer: Answer):
        found = expect_array(answer, (n,), label, "the new iterate has the shape of x")
        error = backward_error(H, x - found, g)
        if error <= BACKWARD_TOL:
            return
        if backward_error(H, found - x, g) <= BACKWARD_TOL:
            raise CheckFailure(f"{label}: you moved uphill: the Newton iterate is x - H⁻¹∇f(x) (minus).")
        if backward_error(H, found, g) <= BACKWARD_TOL:
            raise CheckFailure(f"{label}: you returned the step s; return the new iterate x - s.")
        raise CheckFailure(
            f"{label}: the step s = x - x_new does not solve H s = ∇f(x) accurately: its backward error "
            f"|H s - ∇f| / (|H| |s|) is {error:.1e}, expected at most {BACKWARD_TOL:.0e} (H has condition number "
            f"about {np.linalg.cond(H):.0e}). Multiplying by an explicit inverse (np.linalg.inv) loses accuracy "
            "on ill-conditioned Hessians; solve the linear system with np.linalg.solve(H, g)."
        )

    return Case(label, (Gradient(function), Hessian(function), x), judge)


def _newton_hard(rng):
    cases = []
    for n in (8, 20):
        H = ill_conditioned_spd(rng, n)
        function = QuadraticFunction(H, rng.normal(size=n) * 0.1)
        cases.append(_newton_hard_case(f"a quadratic in {n} variables whose Hessian has condition number 1e12",
                                       function, rng.normal(size=n)))
    return cases


check = ProblemSet("ps4-hessians", [
    Exercise("hessian_fd", _hessian_visible, _hessian_hidden),
    Exercise("hvp", _hvp_visible, _hvp_hidden, _hvp_hard),
    Exercise("classify_critical_point", _classify_visible, _classify_hidden),
    Exercise("newton_step", _newton_visible, _newton_hidden, _newton_hard),
])
