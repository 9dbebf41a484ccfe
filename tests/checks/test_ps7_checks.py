"""The checks of ps7-matrix-calculus grade the notebook's solutions, other correct methods and typical mistakes."""
import tracemalloc

import numpy as np
import pytest

from diffrn.checks.core import CheckFailure, run_case
from diffrn.checks.ps7 import BACKWARD_TOL, PEAK_LIMIT, _two_sided_backward_error, check
from diffrn.checks.seeding import rng_for

ASSIGNMENT = "ps7-matrix-calculus"


# --- correct implementations by other methods -------------------------------------------------
def inverse_vjp_lstsq(A, G):
    left = np.linalg.lstsq(A.T, G, rcond=None)[0]
    return -np.linalg.lstsq(A, left.T, rcond=None)[0].T


def inverse_vjp_right_first(A, G):
    """G A⁻ᵀ first (a solve with A on Gᵀ), then A⁻ᵀ from the left."""
    right = np.linalg.solve(A, G.T).T
    return -np.linalg.solve(A.T, right)


def gaussian_cholesky(x, mu, Sigma):
    """Σ = L Lᵀ; every Σ⁻¹ is two triangular solves (done here with np.linalg.solve)."""
    L = np.linalg.cholesky(Sigma)
    r = x - mu
    Sigma_inv_r = np.linalg.solve(L.T, np.linalg.solve(L, r))
    L_inv = np.linalg.solve(L, np.eye(r.size))
    Sigma_inv = L_inv.T @ L_inv
    return -Sigma_inv_r, 0.5 * (Sigma_inv - np.outer(Sigma_inv_r, Sigma_inv_r))


def gaussian_einsum(x, mu, Sigma):
    P = np.linalg.inv(Sigma)
    r = x - mu
    return np.einsum("ij,j->i", P, mu - x), 0.5 * (P - np.einsum("ia,a,b,bj->ij", P, r, r, P))


def kron_row_major(A, B, v):
    """The same product with row-major reshapes: (A ⊗ B) v = vec_C(A X Bᵀ) for X = v.reshape(q, n)."""
    X = v.reshape(A.shape[1], B.shape[1])
    return (A @ X @ B.T).ravel()


def kron_einsum(A, B, v):
    X = v.reshape(A.shape[1], B.shape[1])
    return np.einsum("ij,kl,jl->ik", A, B, X, optimize=True).ravel()


def kron_by_blocks(A, B, v):
    """Block i of the result is Σ_j A_ij B v_j, with v_j the j-th block of v."""
    (p, q), n = A.shape, B.shape[1]
    blocks = v.reshape(q, n)
    return np.concatenate([B @ (A[i] @ blocks) for i in range(p)])


@pytest.mark.parametrize("name, function", [
    ("inverse_vjp", inverse_vjp_lstsq), ("inverse_vjp", inverse_vjp_right_first),
    ("gaussian_nll_grads", gaussian_cholesky), ("gaussian_nll_grads", gaussian_einsum),
    ("kron_matvec", kron_row_major), ("kron_matvec", kron_einsum), ("kron_matvec", kron_by_blocks),
])
def test_other_correct_methods_get_full_marks(grader, name, function):
    grader.assert_full_marks(check.exercises[name], function)


# --- typical mistakes and the feedback they get -----------------------------------------------
def inverse_no_transposes(A, G):
    A_inv = np.linalg.inv(A)
    return -A_inv @ G @ A_inv


def inverse_sign(A, G):
    left = np.linalg.solve(A.T, G)
    return np.linalg.solve(A, left.T).T


def inverse_one_side(A, G):
    return -np.linalg.solve(A.T, G)


def inverse_G_transposed(A, G):
    left = np.linalg.solve(A.T, G.T)
    return -np.linalg.solve(A, left.T).T


def inverse_entrywise(A, G):
    with np.errstate(divide="ignore", invalid="ignore"):
        return -G / A ** 2


def inverse_formed(A, G):
    A_inv = np.linalg.inv(A)
    return -A_inv.T @ G @ A_inv.T


def inverse_in_place(A, G):
    G *= -1.0  # negates the caller's upstream gradient
    left = np.linalg.solve(A.T, G)
    return np.linalg.solve(A, left.T).T


def _solve_nll(x, mu, Sigma):
    P = np.linalg.solve(Sigma, np.eye(x.size))
    Pr = np.linalg.solve(Sigma, x - mu)
    return P, Pr


def gaussian_sign_mu(x, mu, Sigma):
    P, Pr = _solve_nll(x, mu, Sigma)
    return Pr, 0.5 * (P - np.outer(Pr, Pr))


def gaussian_no_half(x, mu, Sigma):
    P, Pr = _solve_nll(x, mu, Sigma)
    return -Pr, P - np.outer(Pr, Pr)


def gaussian_symmetrized(x, mu, Sigma):
    P, Pr = _solve_nll(x, mu, Sigma)
    G = 0.5 * (P - np.outer(Pr, Pr))
    return -Pr, 2 * G - np.diag(np.diag(G))


def gaussian_no_log_det(x, mu, Sigma):
    P, Pr = _solve_nll(x, mu, Sigma)
    return -Pr, -0.5 * np.outer(Pr, Pr)


def gaussian_outer_r(x, mu, Sigma):
    P, Pr = _solve_nll(x, mu, Sigma)
    return -Pr, 0.5 * (P - np.outer(x - mu, x - mu))


def gaussian_list(x, mu, Sigma):
    P, Pr = _solve_nll(x, mu, Sigma)
    return [-Pr, 0.5 * (P - np.outer(Pr, Pr))]


def gaussian_swapped(x, mu, Sigma):
    P, Pr = _solve_nll(x, mu, Sigma)
    return 0.5 * (P - np.outer(Pr, Pr)), -Pr


def kron_c_order_reshape(A, B, v):
    V = v.reshape(B.shape[1], A.shape[1])
    return (B @ V @ A.T).flatten(order="F")


def kron_c_order_flatten(A, B, v):
    V = v.reshape((B.shape[1], A.shape[1]), order="F")
    return (B @ V @ A.T).flatten()


def kron_A_not_transposed(A, B, v):
    V = v.reshape((B.shape[1], A.shape[1]), order="F")
    return (B @ V @ A).flatten(order="F")


def kron_swapped_factors(A, B, v):
    X = v.reshape((A.shape[1], B.shape[1]), order="F")
    return (A @ X @ B.T).flatten(order="F")


def kron_both_c_order(A, B, v):
    V = v.reshape(B.shape[1], A.shape[1])
    return (B @ V @ A.T).ravel()


def kron_formed(A, B, v):
    return np.kron(A, B) @ v


def kron_not_flattened(A, B, v):
    return B @ v.reshape((B.shape[1], A.shape[1]), order="F") @ A.T


@pytest.mark.parametrize("name, function, keywords", [
    ("inverse_vjp", inverse_no_transposes, ["transposes are missing"]),
    ("inverse_vjp", inverse_sign, ["sign"]),
    ("inverse_vjp", inverse_one_side, ["only one side"]),
    ("inverse_vjp", inverse_G_transposed, ["Gᵀ instead of G"]),
    ("inverse_vjp", inverse_entrywise, ["entrywise"]),
    ("inverse_vjp", inverse_formed, ["backward error", "np.linalg.solve"]),
    ("inverse_vjp", inverse_in_place, ["modified in place"]),
    ("gaussian_nll_grads", gaussian_sign_mu, ["sign error in g_mu"]),
    ("gaussian_nll_grads", gaussian_no_half, ["twice", "½"]),
    ("gaussian_nll_grads", gaussian_symmetrized, ["2G - diag(G)", "independent"]),
    ("gaussian_nll_grads", gaussian_no_log_det, ["log det term is missing"]),
    ("gaussian_nll_grads", gaussian_outer_r, ["Σ⁻¹ on both sides"]),
    ("gaussian_nll_grads", gaussian_list, ["tuple", "list"]),
    ("gaussian_nll_grads", gaussian_swapped, ["order is swapped"]),
    ("kron_matvec", kron_c_order_reshape, ["reshaped v in row-major"]),
    ("kron_matvec", kron_c_order_flatten, ["flattened B V Aᵀ in row-major"]),
    ("kron_matvec", kron_A_not_transposed, ["instead of Aᵀ|about shapes"]),
    ("kron_matvec", kron_swapped_factors, ["(B ⊗ A) v", "not commutative"]),
    ("kron_matvec", kron_both_c_order, ["(B ⊗ A) v", "row-major"]),
    ("kron_matvec", kron_formed, ["Don't form A ⊗ B", "MB of memory at once"]),
    ("kron_matvec", kron_not_flattened, ["flatten", "order=\"F\""]),
])
def test_mistakes_lose_points_and_are_named(grader, name, function, keywords):
    grader.assert_diagnosed(check.exercises[name], function, *keywords)


def test_a_product_that_does_not_fit_is_explained_with_the_shapes():
    """On the non-square visible case, B V A cannot be computed: the feedback gives the shapes of the factors."""
    case = next(case for case in check.kron_matvec.visible() if "not square" in case.label)
    with pytest.raises(CheckFailure, match=r"about shapes.*B V Aᵀ is 3×2"):
        run_case(kron_A_not_transposed, case)


# --- the hard cells: what they let through and what they stop ---------------------------------
def test_an_explicit_inverse_fails_only_the_ill_conditioned_cell(grader):
    exercise = check.inverse_vjp
    grader.assert_full_marks(exercise, inverse_formed, only=("visible", "hidden"))
    outcomes = grader.outcomes(exercise, inverse_formed, only=("hard",))
    assert all(message and "backward error" in message for message in outcomes.values()), outcomes


def test_forming_the_kronecker_product_fails_only_the_large_cell(grader):
    exercise = check.kron_matvec
    grader.assert_full_marks(exercise, kron_formed, only=("visible", "hidden"))
    outcomes = grader.outcomes(exercise, kron_formed, only=("hard",))
    assert all(message and "Don't form A ⊗ B" in message for message in outcomes.values()), outcomes


def inverse_no_transposes_by_solves(A, G):
    left = np.linalg.solve(A, G)                 # A⁻¹ G
    return -np.linalg.solve(A.T, left.T).T       # -A⁻¹ G A⁻¹


@pytest.mark.parametrize("function, keyword", [(inverse_sign, "sign error"),
                                               (inverse_no_transposes_by_solves, "transposes are missing")])
def test_the_ill_conditioned_cell_still_names_sign_and_transposes(grader, function, keyword):
    outcomes = grader.outcomes(check.inverse_vjp, function, only=("hard",))
    assert all(message and keyword in message for message in outcomes.values()), outcomes


@pytest.mark.parametrize("student", ["alice", "bob", "s0042"])
def test_the_ill_conditioned_cases_separate_solves_from_an_inverse(student):
    """Measured margins: solves stay 100× under the tolerance, the explicit inverse 100× over it."""
    for salt in ("", "hidden"):
        for case in check.inverse_vjp.cases("hard", rng_for("inverse_vjp/hard", student, salt)):
            A, G = case.args
            assert _two_sided_backward_error(A, inverse_vjp_right_first(A, G), G) < BACKWARD_TOL / 100
            assert _two_sided_backward_error(A, inverse_vjp_lstsq(A, G), G) < BACKWARD_TOL / 10
            assert _two_sided_backward_error(A, inverse_formed(A, G), G) > BACKWARD_TOL * 100


@pytest.mark.parametrize("student", ["alice", "bob", "s0042"])
def test_the_hard_kronecker_cases_measure_then_go_beyond_memory(student):
    """First A ⊗ B fits but is far over the measured limit; then it needs far more than any machine
    (and the grader's 4 GB limit) while the inputs are a few MB."""
    for salt in ("", "hidden"):
        measured, huge = check.kron_matvec.cases("hard", rng_for("kron_matvec/hard", student, salt))
        A, B, v = measured.args
        assert A.size * B.size * 8 > 3 * PEAK_LIMIT
        A, B, v = huge.args
        assert A.size * B.size * 8 > 200e9
        assert A.nbytes + B.nbytes + v.nbytes < 20e6


def test_forming_the_kronecker_product_never_reaches_the_impossible_allocation(grader):
    """On a student's own machine a 500 GB allocation might not fail fast: the measured case stops it first."""
    for key, message in grader.outcomes(check.kron_matvec, kron_formed, only=("hard",)).items():
        assert "measuring the memory" in message and "ran out of memory" not in message, (key, message)


def test_the_solution_stays_far_under_the_memory_limit(solutions):
    for case in check.kron_matvec.cases("hard", rng_for("kron_matvec/hard", "bob")):
        tracemalloc.start()
        try:
            start = tracemalloc.get_traced_memory()[0]
            solutions["kron_matvec"](*case.args)
            peak = tracemalloc.get_traced_memory()[1] - start
        finally:
            tracemalloc.stop()
        assert peak < PEAK_LIMIT / 2, (case.label, peak)


def test_visible_kronecker_cases_use_np_kron_as_the_oracle():
    """The identity the students use agrees with np.kron on every small case (checked independently here)."""
    for case in check.kron_matvec.visible() + check.kron_matvec.cases("hidden", rng_for("kron_matvec/hidden", "bob")):
        A, B, v = case.args
        np.testing.assert_allclose(kron_row_major(A, B, v), np.kron(A, B) @ v, rtol=1e-12, atol=1e-12)
