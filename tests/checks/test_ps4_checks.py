"""The checks of ps4-hessians grade the notebook's solutions, stubs and typical mistakes correctly."""
import tracemalloc

import numpy as np
import pytest

from diffrn.checks.core import backward_error
from diffrn.checks.ps4 import (
    BACKWARD_TOL, LARGE_N, MEMORY_BUDGET, Product, ResidualJacobian, check, ill_conditioned_spd, near_singular_shift,
)

ASSIGNMENT = "ps4-hessians"


# --- correct implementations by other methods -------------------------------------------------
def gauss_newton_named(jvp_r, vjp_r, v):
    u = jvp_r(v)
    return vjp_r(u)


def gauss_newton_copying(jvp_r, vjp_r, v):
    """Copies the input and casts the result: still one call of each."""
    return np.array(vjp_r(np.array(jvp_r(np.array(v, dtype=float)), dtype=float)), dtype=float)


def hutchinson_integers(hvp, n, num_samples, rng):
    probes = 2.0 * rng.integers(0, 2, size=(num_samples, n)) - 1.0
    return float(np.mean([probe @ hvp(probe) for probe in probes]))


def hutchinson_sign_of_gaussian(hvp, n, num_samples, rng):
    estimates = []
    for _ in range(num_samples):
        v = np.sign(rng.standard_normal(n))
        estimates.append(np.dot(v, hvp(v)))
    return sum(estimates) / len(estimates)


def hutchinson_int_probes(hvp, n, num_samples, rng):
    """Integer probes (dtype int64) straight from rng.choice: the products are the same."""
    return np.mean([(lambda v: v @ hvp(v))(rng.choice([-1, 1], size=n)) for _ in range(num_samples)])


def curvature_eig(H, tol=1e-10):
    w, V = np.linalg.eig(H)
    i = int(np.argmin(w.real))
    if w.real[i] >= -tol:
        return None
    v = np.real(V[:, i])
    return v / np.linalg.norm(v)


def curvature_eigh_flipped(H, tol=1e-10):
    w, V = np.linalg.eigh(H)
    return -V[:, 0] if w[0] < -tol else None


def damped_lstsq(g, H, lam):
    return np.linalg.lstsq(H + lam * np.eye(len(g)), -g, rcond=None)[0]


def damped_cholesky(g, H, lam):
    L = np.linalg.cholesky(H + lam * np.eye(len(g)))
    return -np.linalg.solve(L.T, np.linalg.solve(L, g))


def damped_diagonal_copy(g, H, lam):
    M = np.array(H, dtype=float)
    M[np.diag_indices_from(M)] += lam
    return np.linalg.solve(M, -np.asarray(g))


@pytest.mark.parametrize("name, function", [
    ("gauss_newton_hvp", gauss_newton_named), ("gauss_newton_hvp", gauss_newton_copying),
    ("hutchinson_trace", hutchinson_integers), ("hutchinson_trace", hutchinson_sign_of_gaussian),
    ("hutchinson_trace", hutchinson_int_probes),
    ("negative_curvature_direction", curvature_eig), ("negative_curvature_direction", curvature_eigh_flipped),
    ("damped_newton_step", damped_lstsq), ("damped_newton_step", damped_cholesky),
    ("damped_newton_step", damped_diagonal_copy),
])
def test_other_correct_methods_get_full_marks(grader, name, function):
    grader.assert_full_marks(check.exercises[name], function)


# --- typical mistakes and the feedback they get -----------------------------------------------
def gauss_newton_wrong_order(jvp_r, vjp_r, v):
    return jvp_r(vjp_r(v))


def gauss_newton_forward_only(jvp_r, vjp_r, v):
    return jvp_r(v)


def gauss_newton_two_jvps(jvp_r, vjp_r, v):
    return vjp_r((jvp_r(v) + jvp_r(v)) / 2)


def gauss_newton_by_basis(jvp_r, vjp_r, v):
    """Builds J column by column (n JVPs), then multiplies: n calls and an m×n array."""
    n = len(v)
    J = np.stack([jvp_r(e) for e in np.eye(n)], axis=1)
    return J.T @ (J @ v)


def gauss_newton_factor_two(jvp_r, vjp_r, v):
    return 2 * vjp_r(jvp_r(v))


def gauss_newton_dense_scratch(jvp_r, vjp_r, v):
    """The right two calls, but an n×n scratch array (80 GB at n = 100 000)."""
    scratch = np.zeros((len(v), len(v)))
    return vjp_r(jvp_r(v)) + scratch[0]


def hutchinson_gaussian(hvp, n, num_samples, rng):
    return float(np.mean([(lambda v: v @ hvp(v))(rng.standard_normal(n)) for _ in range(num_samples)]))


def hutchinson_global_rng(hvp, n, num_samples, rng):
    return float(np.mean([(lambda v: v @ hvp(v))(np.random.choice([-1.0, 1.0], size=n))
                          for _ in range(num_samples)]))


def hutchinson_sum(hvp, n, num_samples, rng):
    return float(sum((lambda v: v @ hvp(v))(rng.choice([-1.0, 1.0], size=n)) for _ in range(num_samples)))


def hutchinson_divide_by_n(hvp, n, num_samples, rng):
    return hutchinson_integers(hvp, n, num_samples, rng) / n


def hutchinson_zero_one(hvp, n, num_samples, rng):
    return float(np.mean([(lambda v: v @ hvp(v))(rng.integers(0, 2, size=n).astype(float))
                          for _ in range(num_samples)]))


def hutchinson_extra_call(hvp, n, num_samples, rng):
    total = 0.0
    for _ in range(num_samples):
        v = rng.choice([-1.0, 1.0], size=n)
        hvp(v)  # computed once to look at it...
        total += v @ hvp(v)  # ...and again for the sum
    return total / num_samples


def curvature_largest_abs(H, tol=1e-10):
    w, V = np.linalg.eigh(H)
    if w[0] >= -tol:
        return None
    return V[:, int(np.argmax(np.abs(w)))]


def curvature_last_column(H, tol=1e-10):
    w, V = np.linalg.eigh(H)
    return V[:, -1] if w[0] < -tol else None


def curvature_not_normalized(H, tol=1e-10):
    w, V = np.linalg.eigh(H)
    return 2.0 * V[:, 0] if w[0] < -tol else None


def curvature_always(H, tol=1e-10):
    return np.linalg.eigh(H)[1][:, 0]


def curvature_complex(H, tol=1e-10):
    w, V = np.linalg.eig(np.asarray(H, dtype=complex))
    i = int(np.argmin(w.real))
    return V[:, i] if w[i].real < -tol else None


def curvature_ignores_tol(H, tol=1e-10):
    w, V = np.linalg.eigh(H)
    return V[:, 0] if w[0] < 0 else None


def curvature_unsorted_eig(H, tol=1e-10):
    w, V = np.linalg.eig(H)
    return V[:, 0].real if np.min(w.real) < -tol else None


def curvature_row(H, tol=1e-10):
    w, V = np.linalg.eigh(H)
    return V[0] if w[0] < -tol else None


def damped_sign(g, H, lam):
    return np.linalg.solve(H + lam * np.eye(len(g)), g)


def damped_no_lambda(g, H, lam):
    return np.linalg.solve(H, -g)


def damped_lambda_on_g(g, H, lam):
    return np.linalg.solve(H, -(g + lam))


def damped_lambda_everywhere(g, H, lam):
    return np.linalg.solve(H + lam, -g)


def damped_inverse(g, H, lam):
    return -np.linalg.inv(H + lam * np.eye(len(g))) @ g


def damped_in_place(g, H, lam):
    H[np.diag_indices_from(H)] += lam
    return np.linalg.solve(H, -g)


@pytest.mark.parametrize("name, function, keywords", [
    ("gauss_newton_hvp", gauss_newton_wrong_order, ["wrong order|J(Jᵀv)", "jvp_r(v)"]),
    ("gauss_newton_hvp", gauss_newton_forward_only, ["shape", "R^m|alone"]),
    ("gauss_newton_hvp", gauss_newton_two_jvps, ["2 times", "exactly one call"]),
    ("gauss_newton_hvp", gauss_newton_by_basis, ["basis vectors"]),
    ("gauss_newton_hvp", gauss_newton_factor_two, ["twice", "½"]),
    ("gauss_newton_hvp", gauss_newton_dense_scratch, ["80 GB", "memory|MB"]),
    ("hutchinson_trace", hutchinson_gaussian, ["Gaussian", "±1"]),
    ("hutchinson_trace", hutchinson_global_rng, ["rng", "not used"]),
    ("hutchinson_trace", hutchinson_sum, ["divide by num_samples"]),
    ("hutchinson_trace", hutchinson_divide_by_n, ["divided by n"]),
    ("hutchinson_trace", hutchinson_zero_one, ["0 and 1"]),
    ("hutchinson_trace", hutchinson_extra_call, ["exactly num_samples"]),
    ("negative_curvature_direction", curvature_largest_abs, ["largest in absolute value"]),
    ("negative_curvature_direction", curvature_last_column, ["largest eigenvalue", "column 0"]),
    ("negative_curvature_direction", curvature_not_normalized, ["unit vector"]),
    ("negative_curvature_direction", curvature_always, ["expected None", "positive semidefinite"]),
    ("negative_curvature_direction", curvature_complex, ["complex", "eigh"]),
    ("negative_curvature_direction", curvature_ignores_tol, ["-tol"]),
    ("negative_curvature_direction", curvature_unsorted_eig, ["does not sort"]),
    ("negative_curvature_direction", curvature_row, ["columns"]),
    ("damped_newton_step", damped_sign, ["wrong sign"]),
    ("damped_newton_step", damped_no_lambda, ["forgot the damping"]),
    ("damped_newton_step", damped_lambda_on_g, ["added λ to g"]),
    ("damped_newton_step", damped_lambda_everywhere, ["every entry"]),
    ("damped_newton_step", damped_inverse, ["np.linalg.inv", "backward error"]),
    ("damped_newton_step", damped_in_place, ["modified in place"]),
])
def test_mistakes_lose_points_and_are_named(grader, name, function, keywords):
    grader.assert_diagnosed(check.exercises[name], function, *keywords)


@pytest.mark.parametrize("name, function", [
    ("gauss_newton_hvp", gauss_newton_dense_scratch), ("damped_newton_step", damped_inverse),
])
def test_failing_only_the_cost_case_keeps_the_main_points(grader, name, function):
    exercise = check.exercises[name]
    grader.assert_full_marks(exercise, function, only=("visible", "hidden"))
    grader.assert_diagnosed(exercise, function, only=("hard",))


def test_building_j_fails_the_large_case(grader):
    message = grader.run(check.gauss_newton_hvp, gauss_newton_by_basis, "hard", "alice")
    assert "80 GB" in message and ("more than" in message or "out of memory" in message)


def test_solution_gauss_newton_stays_far_below_the_memory_budget(solutions):
    """The budget is not tight for an honest answer: the solution's peak is measured and small."""
    rng = np.random.default_rng(0)
    jacobian = ResidualJacobian(diagonal=rng.uniform(0.5, 2, size=LARGE_N), block=rng.normal(size=(3, LARGE_N)))
    v = rng.normal(size=LARGE_N)
    jvp_r, vjp_r = Product(jacobian, "jvp"), Product(jacobian, "vjp")
    tracemalloc.start()
    try:
        solutions["gauss_newton_hvp"](jvp_r, vjp_r, v)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20 < MEMORY_BUDGET
    assert (jvp_r.calls, vjp_r.calls) == (1, 1)


def test_inverse_fails_the_ill_conditioned_case_and_solves_pass():
    """The hard damped-Newton cases separate an explicit inverse from solve/lstsq by orders of magnitude."""
    worst_solve, best_inverse = 0.0, np.inf
    for seed in range(20):
        rng = np.random.default_rng(seed)
        for n in (8, 20):
            for H, lam in (near_singular_shift(rng, n), (ill_conditioned_spd(rng, n), 1e-14)):
                M = H + lam * np.eye(n)
                g = M @ rng.normal(size=n)
                worst_solve = max(worst_solve, backward_error(M, np.linalg.solve(M, -g), -g),
                                  backward_error(M, np.linalg.lstsq(M, -g, rcond=None)[0], -g))
                best_inverse = min(best_inverse, backward_error(M, -np.linalg.inv(M) @ g, -g))
    assert worst_solve < BACKWARD_TOL / 100
    assert best_inverse > BACKWARD_TOL * 100


def test_inverse_fails_the_hard_cell_for_every_student(grader, solutions):
    for student in ("alice", "bob", "s0042", "zoe", "x1"):
        for salt in ("", "hidden"):
            assert grader.run(check.damped_newton_step, damped_inverse, "hard", student, salt) is not None
            assert grader.run(check.damped_newton_step, damped_lstsq, "hard", student, salt) is None
            assert grader.run(check.damped_newton_step, solutions["damped_newton_step"], "hard", student, salt) is None


def test_hutchinson_estimates_the_trace(solutions):
    """The estimator asked for is unbiased: many probes bring it close to tr H."""
    rng = np.random.default_rng(7)
    H = rng.normal(size=(30, 30))
    H = (H + H.T) / 2
    estimate = solutions["hutchinson_trace"](lambda v: H @ v, 30, 4000, np.random.default_rng(1))
    assert abs(estimate - np.trace(H)) < 0.1 * np.linalg.norm(H)


@pytest.mark.parametrize("name, function", [
    ("gauss_newton_hvp", gauss_newton_two_jvps), ("hutchinson_trace", hutchinson_global_rng),
    ("negative_curvature_direction", curvature_complex), ("damped_newton_step", damped_inverse),
])
def test_verdicts_are_the_same_when_judged_apart(grader, solutions, name, function):
    grader.assert_same_when_detached(check.exercises[name], solutions[name])
    grader.assert_same_when_detached(check.exercises[name], function)
