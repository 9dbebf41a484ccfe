"""Checks for ps7-matrix-calculus: gradients with respect to matrices, Kronecker products without forming them.

Notebook usage::

    from diffrn.checks.ps7 import check
    check.inverse_vjp(inverse_vjp)                # visible cases
    check.inverse_vjp(inverse_vjp, hidden=True)   # hidden cases, drawn per student
    check.inverse_vjp(inverse_vjp, part="hard")   # A with condition number 1e9: judged by backward error
    check.kron_matvec(kron_matvec, part="hard")   # sizes where A ⊗ B would take hundreds of GB
"""
from __future__ import annotations

import contextlib

import numpy as np

from diffrn.checks.core import (
    Answer, Case, CheckFailure, Exercise, ProblemSet, expect_array, expect_close_named, expect_tuple, flag,
    PeakMemory, flagged,
)
from diffrn.checks.functions import ill_conditioned

EXACT_RTOL = 1e-9
# Two solves leave a backward error near 1e-17 at condition 1e9 (lstsq at most ~1e-15);
# multiplying by np.linalg.inv(A) leaves 6e-11 or more (measured over 80 random matrices).
BACKWARD_TOL = 1e-13
ILL_CONDITION = 1e9
# kron_matvec's measured case: A ⊗ B takes 50 MB or more there, the products B V Aᵀ well under 1 MB.
PEAK_LIMIT = 16e6


def _matrix(rows) -> np.ndarray:
    return np.array(rows, dtype=np.float64)


def _well_conditioned(rng, n):
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return Q * rng.uniform(0.5, 2.0, size=n) + 0.3 * rng.normal(size=(n, n)) / np.sqrt(n)


def _shape_or_memory_errors_flagged(*args, measure_peak: bool = False):
    """A call adapter: a shape mismatch in a matrix product or a failed huge allocation becomes a flag.

    The judge then explains it (shapes of the factors; do not form A ⊗ B) instead of printing
    numpy's raw message. With ``measure_peak``, the largest amount of memory the call held at
    once (numpy arrays included, via tracemalloc) is reported as ``flag("peak", bytes)`` when it
    exceeds PEAK_LIMIT, so that forming A ⊗ B is caught at sizes where it still fits.
    """

    def call(function):
        memory = PeakMemory()
        try:
            with memory if measure_peak else contextlib.nullcontext():
                result = function(*args)
        except MemoryError as error:
            return flag("memory", str(error)[:150])
        except ValueError as error:
            text = str(error)
            if not any(word in text for word in ("matmul", "aligned", "shape", "reshape", "solve")):
                raise
            return flag("shapes", text[:150])
        if memory.bytes > PEAK_LIMIT:
            return flag("peak", memory.bytes)
        return result

    return call


# --- inverse_vjp ------------------------------------------------------------------------------
def _inverse_case(label, A, G):
    A, G = _matrix(A), _matrix(G)
    n = A.shape[0]
    A_inv = np.linalg.inv(A)  # the checks may form it: A is well conditioned here
    expected = -A_inv.T @ G @ A_inv.T
    transposes = ("dY = -A⁻¹ dA A⁻¹, and moving each A⁻¹ to the other side of the inner product "
                  "<G, dY> = Σ G_ij dY_ij transposes it: ∂L/∂A = -A⁻ᵀ G A⁻ᵀ.")
    mistakes = [
        (A_inv.T @ G @ A_inv.T, "Sign error: d(A⁻¹) = -A⁻¹ dA A⁻¹, so ∂L/∂A = -A⁻ᵀ G A⁻ᵀ."),
        (-A_inv @ G @ A_inv, "The transposes are missing: you returned -A⁻¹ G A⁻¹. " + transposes),
        (-A_inv.T @ G.T @ A_inv.T, "You used Gᵀ instead of G (or transposed -A⁻¹ G A⁻¹ as a whole): "
                                   "∂L/∂A = -A⁻ᵀ G A⁻ᵀ, with G itself in the middle."),
        (-A_inv @ G.T @ A_inv, "Your matrix is the transpose of the right one: ∂L/∂A = -A⁻ᵀ G A⁻ᵀ."),
        (-A_inv.T @ G @ A_inv, "Only the left factor is transposed: -A⁻ᵀ G A⁻¹. " + transposes),
        (-A_inv @ G @ A_inv.T, "Only the right factor is transposed: -A⁻¹ G A⁻ᵀ. " + transposes),
        (-A_inv.T @ G, "Only one side: A⁻¹ appears twice in d(A⁻¹) = -A⁻¹ dA A⁻¹, so the gradient has a "
                       "factor A⁻ᵀ on each side of G."),
        (-G @ A_inv.T, "Only one side: A⁻¹ appears twice in d(A⁻¹) = -A⁻¹ dA A⁻¹, so the gradient has a "
                       "factor A⁻ᵀ on each side of G."),
        (-A_inv @ G, "Only one side (and no transpose): the gradient is -A⁻ᵀ G A⁻ᵀ."),
        (-G @ A_inv, "Only one side (and no transpose): the gradient is -A⁻ᵀ G A⁻ᵀ."),
    ]
    with np.errstate(all="ignore"):
        entrywise = -G / A ** 2
    mistakes.append((entrywise, "-G / A² is the rule for the entrywise reciprocal 1/A_ij; the matrix inverse "
                                "couples all entries: ∂L/∂A = -A⁻ᵀ G A⁻ᵀ."))

    def judge(answer: Answer):
        problem = flagged(answer)
        if problem:
            raise CheckFailure(f"{label}: your function raised an error about shapes: {problem[1][0].text}. "
                               f"A and G are both {n}×{n}.")
        found = expect_array(answer, (n, n), label, f"a gradient with respect to A has the shape of A, {n}×{n}")
        expect_close_named(found, expected, label, EXACT_RTOL, "entry of ∂L/∂A", mistakes)

    return Case(label, (A, G), judge, call=_shape_or_memory_errors_flagged(A, G))


def _inverse_visible():
    rng = np.random.default_rng(70)
    return [
        _inverse_case("n = 1, A = [[2]], G = [[1]]: d(1/a)/da = -1/a² = -0.25", [[2.0]], [[1.0]]),
        _inverse_case("A = [[2, 1], [0, 1]] (not symmetric), G = [[1, 2], [0, -1]]",
                      [[2.0, 1.0], [0.0, 1.0]], [[1.0, 2.0], [0.0, -1.0]]),
        _inverse_case("A = [[1, 2, 0], [0, 1, 1], [1, 0, 3]], G = [[0, 1, 0], [0, 0, 0], [2, 0, 1]]",
                      [[1.0, 2.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 3.0]],
                      [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [2.0, 0.0, 1.0]]),
        _inverse_case("a fixed nonsymmetric 4×4 A and a nonsymmetric G", _well_conditioned(rng, 4),
                      rng.normal(size=(4, 4))),
    ]


def _inverse_hidden(rng):
    return [_inverse_case(f"a random nonsymmetric {n}×{n} A and a random G", _well_conditioned(rng, n),
                          rng.normal(size=(n, n))) for n in (2, 3, 5, 8)]


def _two_sided_backward_error(A, X, G) -> float:
    """||Aᵀ X Aᵀ + G|| / (||A||² ||X||): how far X is from solving Aᵀ X Aᵀ = -G exactly."""
    scale = float(np.linalg.norm(A) ** 2 * np.linalg.norm(X))
    if scale == 0.0:
        return float("inf")
    return float(np.linalg.norm(A.T @ X @ A.T + G) / scale)


def _inverse_hard_case(label, A, G):
    A, G = _matrix(A), _matrix(G)
    n = A.shape[0]
    condition = float(np.linalg.cond(A))

    def judge(answer: Answer):
        problem = flagged(answer)
        if problem:
            raise CheckFailure(f"{label}: your function raised an error about shapes: {problem[1][0].text}.")
        found = expect_array(answer, (n, n), label, f"∂L/∂A has the shape of A, {n}×{n}")
        error = _two_sided_backward_error(A, found, G)
        if error <= BACKWARD_TOL:
            return
        if _two_sided_backward_error(A, -found, G) <= BACKWARD_TOL:
            raise CheckFailure(f"{label}: sign error: ∂L/∂A = -A⁻ᵀ G A⁻ᵀ.")
        if _two_sided_backward_error(A.T, found, G) <= BACKWARD_TOL:  # A X A = -G: no transposes
            raise CheckFailure(f"{label}: the transposes are missing: you returned -A⁻¹ G A⁻¹; "
                               "∂L/∂A = -A⁻ᵀ G A⁻ᵀ.")
        raise CheckFailure(
            f"{label}: your ∂L/∂A = X does not solve Aᵀ X Aᵀ = -G accurately: the backward error "
            f"|Aᵀ X Aᵀ + G| / (|A|² |X|) is {error:.1e}, expected at most {BACKWARD_TOL:.0e} (A has condition "
            f"number about {condition:.0e}). Forming the inverse (np.linalg.inv) loses accuracy on ill-conditioned "
            "matrices; get A⁻ᵀ G with np.linalg.solve(A.T, G), then multiply by A⁻ᵀ from the right with a second "
            "solve (transpose, solve with A, transpose back)."
        )

    return Case(label, (A, G), judge, call=_shape_or_memory_errors_flagged(A, G))


def _inverse_hard(rng):
    cases = []
    for n in (10, 30):
        A = ill_conditioned(rng, n, ILL_CONDITION)
        G = A.T @ rng.normal(size=(n, n)) @ A.T  # so that the answer is of moderate size
        cases.append(_inverse_hard_case(f"a nonsymmetric {n}×{n} A with condition number 1e9", A, G))
    return cases


# --- gaussian_nll_grads -----------------------------------------------------------------------
def _gaussian_case(label, x, mu, Sigma):
    x, mu, Sigma = (_matrix(a) for a in (x, mu, Sigma))
    n = x.size
    P = np.linalg.inv(Sigma)  # the checks may form it: Σ is well conditioned here
    r = x - mu
    Pr = P @ r
    expected_mu = -Pr
    quadratic = np.outer(Pr, Pr)
    expected_Sigma = 0.5 * (P - quadratic)
    mu_mistakes = [
        (Pr, "Sign error in g_mu: the loss has (x - μ), whose derivative in μ is -1, so g_mu = Σ⁻¹(μ - x)."),
        (mu - x, "g_mu is missing Σ⁻¹: the gradient of ½ rᵀΣ⁻¹r with respect to r is Σ⁻¹r, so g_mu = Σ⁻¹(μ - x)."),
        (x - mu, "g_mu is missing Σ⁻¹ and has the wrong sign: g_mu = Σ⁻¹(μ - x)."),
        (-0.5 * Pr, "g_mu is half the right one: ½ rᵀΣ⁻¹r has gradient Σ⁻¹r in r (Σ⁻¹ is symmetric), so the "
                    "½ cancels: g_mu = Σ⁻¹(μ - x)."),
    ]
    G = expected_Sigma
    Sigma_mistakes = [
        (2 * G, "g_Sigma is twice the right one: keep the ½ of both terms, g_Sigma = ½(Σ⁻¹ - Σ⁻¹ r rᵀ Σ⁻¹)."),
        (2 * G - np.diag(np.diag(G)), "You returned 2G - diag(G), the gradient with respect to the n(n+1)/2 "
                                      "distinct entries of a symmetric Σ. This exercise treats the n² entries of Σ "
                                      "as independent: g_Sigma = ½(Σ⁻¹ - Σ⁻¹ r rᵀ Σ⁻¹), with no doubling of the "
                                      "off-diagonal entries."),
        (-0.5 * quadratic, "The log det term is missing: ½ log det Σ contributes ½ Σ⁻ᵀ = ½ Σ⁻¹ to g_Sigma."),
        (0.5 * P, "The quadratic term is missing: ½ rᵀΣ⁻¹r depends on Σ too, and d(Σ⁻¹) = -Σ⁻¹ dΣ Σ⁻¹ gives "
                  "-½ Σ⁻¹ r rᵀ Σ⁻¹."),
        (-G, "Sign error in g_Sigma: g_Sigma = ½(Σ⁻¹ - Σ⁻¹ r rᵀ Σ⁻¹)."),
        (0.5 * (P + quadratic), "Sign error in the quadratic term: d(Σ⁻¹) = -Σ⁻¹ dΣ Σ⁻¹, so it contributes "
                                "-½ Σ⁻¹ r rᵀ Σ⁻¹."),
        (0.5 * (P - np.outer(r, r)), "The quadratic term needs Σ⁻¹ on both sides: d(rᵀΣ⁻¹r) = -rᵀΣ⁻¹ dΣ Σ⁻¹r, "
                                     "so its gradient is -Σ⁻¹ r rᵀ Σ⁻¹, not -r rᵀ."),
        (0.5 * (Sigma - quadratic), "The gradient of log det Σ is Σ⁻ᵀ = Σ⁻¹, not Σ."),
    ]

    def judge(answer: Answer):
        items = expect_tuple(answer, ("g_mu", "g_Sigma"), label)
        if items[0].kind == "ndarray" and tuple(items[0].shape) == (n, n) and tuple(items[1].shape) == (n,) and n > 1:
            raise CheckFailure(f"{label}: the order is swapped: return (g_mu, g_Sigma), g_mu of shape ({n},) first.")
        g_mu = expect_array(items[0], (n,), f"{label}, g_mu", f"μ has {n} entries")
        expect_close_named(g_mu, expected_mu, f"{label}, g_mu", EXACT_RTOL, "entry", mu_mistakes)
        g_Sigma = expect_array(items[1], (n, n), f"{label}, g_Sigma", f"Σ is {n}×{n}")
        expect_close_named(g_Sigma, expected_Sigma, f"{label}, g_Sigma", EXACT_RTOL, "entry", Sigma_mistakes)

    return Case(label, (x, mu, Sigma), judge)


def _random_spd(rng, n):
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return (Q * rng.uniform(0.5, 3.0, size=n)) @ Q.T


def _gaussian_visible():
    return [
        _gaussian_case("n = 1: x = 2, μ = 0.5, Σ = [[4]] (g_mu = -0.375, g_Sigma = [[0.0546875]])",
                       [2.0], [0.5], [[4.0]]),
        _gaussian_case("n = 2: x = (1, -1), μ = (0, 0.5), Σ = [[2, 0.5], [0.5, 1]]",
                       [1.0, -1.0], [0.0, 0.5], [[2.0, 0.5], [0.5, 1.0]]),
        _gaussian_case("n = 3 at the mean, x = μ (so g_mu = 0 and g_Sigma = ½ Σ⁻¹)", [1.0, 2.0, 3.0], [1.0, 2.0, 3.0],
                       [[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]]),
        _gaussian_case("n = 3: x = (1, 0, -2), μ = (0.5, 1, 0), Σ = [[3, 1, 0], [1, 2, 0.5], [0, 0.5, 1]]",
                       [1.0, 0.0, -2.0], [0.5, 1.0, 0.0], [[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]]),
    ]


def _gaussian_hidden(rng):
    return [_gaussian_case(f"a random {n}-dimensional Gaussian", rng.normal(size=n) * 1.5, rng.normal(size=n),
                           _random_spd(rng, n)) for n in (2, 3, 5, 8)]


# --- kron_matvec ------------------------------------------------------------------------------
def _kron_case(label, A, B, v, big=False, measure_peak=False):
    A, B, v = _matrix(A), _matrix(B), _matrix(v)
    (p, q), (m, n) = A.shape, B.shape
    V = v.reshape((n, q), order="F")
    # The small cases use np.kron itself, an oracle independent of the identity the students use.
    expected = (B @ V @ A.T).flatten(order="F") if big else np.kron(A, B) @ v
    X = v.reshape((q, n), order="F")
    mistakes = [
        ((B @ v.reshape((n, q)) @ A.T).flatten(order="F"),
         "You reshaped v in row-major (C) order. vec stacks columns: V = v.reshape((n, q), order=\"F\") and then "
         "(A ⊗ B) v = vec(B V Aᵀ), flattened with order=\"F\" too."),
        ((B @ V @ A.T).flatten(),
         "You flattened B V Aᵀ in row-major (C) order. vec stacks columns: return (B @ V @ A.T).flatten(order=\"F\")."),
        # Both in C order is the same vector as vec(A X Bᵀ) with X = v.reshape((q, n), order="F").
        ((A @ X @ B.T).flatten(order="F"),
         "That is (B ⊗ A) v, with the roles of A and B swapped: the Kronecker product is not commutative. You get it "
         "from vec(A X Bᵀ), or from reshaping v and flattening the result in row-major (C) order while using the "
         "column-stacking identity. For column-stacking vec, (A ⊗ B) vec(V) = vec(B V Aᵀ) with "
         "V = v.reshape((n, q), order=\"F\"): B acts on the columns of V (length n), A on its rows (length q)."),
    ]
    if p == q and m == n:
        mistakes += [
            ((B @ V @ A).flatten(order="F"), "You multiplied by A instead of Aᵀ on the right: vec(B V Aᵀ)."),
            ((B.T @ V @ A.T).flatten(order="F"), "You multiplied by Bᵀ instead of B on the left: vec(B V Aᵀ)."),
        ]
    size_gb = p * m * q * n * 8 / 1e9

    def judge(answer: Answer):
        problem = flagged(answer)
        if problem and problem[0] == "memory":
            raise CheckFailure(
                f"{label}: your function ran out of memory ({problem[1][0].text}). Don't form A ⊗ B: at these sizes "
                f"it has {p * m * q * n:.1e} entries ({size_gb:,.0f} GB). Reshape v into V of shape ({n}, {q}) with "
                "order=\"F\" and use (A ⊗ B) vec(V) = vec(B V Aᵀ): two ordinary matrix products."
            )
        if problem and problem[0] == "peak":
            held = float(problem[1][0].values) / 1e6
            raise CheckFailure(
                f"{label}: your function held {held:,.0f} MB of memory at once; A ⊗ B here is {size_gb * 1e3:,.0f} MB "
                "and the products B V Aᵀ need less than 1 MB. Don't form A ⊗ B: the next case is one where it "
                "would take hundreds of gigabytes. Reshape v into V with order=\"F\" and use "
                "(A ⊗ B) vec(V) = vec(B V Aᵀ)."
            )
        if problem:
            raise CheckFailure(
                f"{label}: your function raised an error about shapes: {problem[1][0].text}. Here A is {p}×{q}, B is "
                f"{m}×{n} and v has q·n = {q * n} entries: V = v.reshape(({n}, {q}), order=\"F\") is {n}×{q}, so B V "
                f"is {m}×{q} and B V Aᵀ is {m}×{p}."
            )
        if answer.kind == "ndarray" and len(answer.shape) == 2 and sorted(answer.shape) == sorted((m, p)):
            raise CheckFailure(
                f"{label}: you returned a matrix of shape {tuple(answer.shape)}; the answer is the vector "
                f"vec(B V Aᵀ) of length p·m = {p * m}: flatten B V Aᵀ ({m}×{p}) with order=\"F\"."
            )
        if answer.kind == "ndarray" and tuple(answer.shape) == (q * n,) and q * n != p * m:
            raise CheckFailure(
                f"{label}: your vector has length {q * n} = q·n, the length of v. A ⊗ B is (p·m)×(q·n) = "
                f"{p * m}×{q * n}, so (A ⊗ B) v has p·m = {p * m} entries."
            )
        found = expect_array(answer, (p * m,), label, f"A ⊗ B is (p·m)×(q·n) = {p * m}×{q * n}")
        expect_close_named(found, expected, label, EXACT_RTOL, "entry of (A ⊗ B) v", mistakes)

    return Case(label, (A, B, v), judge, call=_shape_or_memory_errors_flagged(A, B, v, measure_peak=measure_peak))


def _kron_visible():
    rng = np.random.default_rng(71)
    return [
        _kron_case("A = [[1, 2], [3, 4]], B = [[0, 1], [1, 1]], v = (1, 2, 3, 4)",
                   [[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [1.0, 1.0]], [1.0, 2.0, 3.0, 4.0]),
        _kron_case("A = I (2×2), so A ⊗ B = diag(B, B); B = [[1, 2, 0], [0, 1, 3], [2, 0, 1]], v = (1, ..., 6)",
                   np.eye(2), [[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [2.0, 0.0, 1.0]], np.arange(1.0, 7.0)),
        _kron_case("A 2×3, B 3×2 (not square), v of length 3·2 = 6",
                   [[1.0, 0.0, 2.0], [-1.0, 1.0, 0.5]], [[1.0, 2.0], [0.0, 1.0], [3.0, -1.0]],
                   [1.0, -2.0, 0.5, 3.0, 1.0, 2.0]),
        _kron_case("A 3×2 and B 2×4 with random entries", rng.normal(size=(3, 2)), rng.normal(size=(2, 4)),
                   rng.normal(size=8)),
    ]


def _kron_hidden(rng):
    cases = []
    for p, q, m, n in [(2, 2, 3, 3), (3, 4, 2, 5), (4, 3, 5, 2), (1, 3, 4, 1)]:
        cases.append(_kron_case(f"random A {p}×{q}, B {m}×{n}", rng.normal(size=(p, q)), rng.normal(size=(m, n)),
                                rng.normal(size=q * n)))
    return cases


def _kron_hard(rng):
    """First a case where A ⊗ B still fits (tens of MB) and the memory the call holds is measured;
    then one where it would take hundreds of GB. Code that forms A ⊗ B stops at the first, so it
    never tries the impossible allocation on a student's own machine."""
    p, q, m, n = (int(s) for s in rng.integers(50, 70, size=4))
    measured = _kron_case(f"A {p}×{q} and B {m}×{n}, measuring the memory your function holds at once",
                          rng.normal(size=(p, q)), rng.normal(size=(m, n)), rng.normal(size=q * n), measure_peak=True)
    p, q, m, n = (int(s) for s in rng.integers(450, 650, size=4))
    label = f"A {p}×{q} and B {m}×{n}: A ⊗ B would be a {p * m}×{q * n} matrix ({p * m * q * n * 8 / 1e9:,.0f} GB)"
    huge = _kron_case(label, rng.normal(size=(p, q)), rng.normal(size=(m, n)), rng.normal(size=q * n), big=True)
    return [measured, huge]


check = ProblemSet("ps7-matrix-calculus", [
    Exercise("inverse_vjp", _inverse_visible, _inverse_hidden, _inverse_hard, points=3),
    Exercise("gaussian_nll_grads", _gaussian_visible, _gaussian_hidden, points=3),
    Exercise("kron_matvec", _kron_visible, _kron_hidden, _kron_hard, points=3),
])
