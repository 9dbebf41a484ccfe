"""The checks of ps5-change-of-variables grade the notebook's solutions, stubs and typical mistakes correctly."""
import numpy as np
import pytest

from diffrn.checks.ps5 import check

ASSIGNMENT = "ps5-change-of-variables"



# --- correct implementations by other methods -------------------------------------------------
def polar_abs(r, theta):
    return abs(r)


def grad_inverse_transposed(A):
    return np.linalg.inv(A).T


def grad_lstsq(A):
    return np.linalg.lstsq(np.transpose(A), np.eye(len(A)), rcond=None)[0]


def grad_lu_by_hand(A):
    """Gaussian elimination with partial pivoting on [Aᵀ | I], then back substitution."""
    n = len(A)
    M = np.hstack([np.array(A, dtype=float).T, np.eye(n)])
    for k in range(n):
        p = k + int(np.argmax(np.abs(M[k:, k])))
        M[[k, p]] = M[[p, k]]
        M[k + 1:] -= np.outer(M[k + 1:, k] / M[k, k], M[k])
    G = np.zeros((n, n))
    for i in reversed(range(n)):
        G[i] = (M[i, n:] - M[i, i + 1:n] @ G[i + 1:]) / M[i, i]
    return G


def coupling_forward_in_place_on_copy(x, scale, shift):
    y = x.copy()
    half = len(x) // 2
    s = scale(x[:half])
    y[half:] *= np.exp(s)
    y[half:] += shift(x[:half])
    return y, np.sum(s)


def coupling_inverse_divide(y, scale, shift):
    half = len(y) // 2
    y1 = y[:half]
    return np.concatenate([y1, (y[half:] - shift(y1)) / np.exp(scale(y1))])


def planar_with_sech(z, u, w, b):
    """1 - tanh² written as 1 / cosh², and the lemma as det(I + u ψᵀ) = 1 + ψᵀu."""
    slope = 1.0 / np.cosh(np.dot(w, z) + b) ** 2
    return np.log(np.abs(1.0 + slope * np.dot(w, u)))


def planar_einsum(z, u, w, b):
    a = np.einsum("i,i->", w, z) + b
    psi = w * (1 - np.tanh(a)) * (1 + np.tanh(a))
    return np.log(np.abs(1 + np.einsum("i,i->", u, psi)))


def polar_via_hypot(r, theta):
    """|det J| = |first column| · |second column| (the columns are orthogonal)."""
    return np.hypot(np.cos(theta), np.sin(theta)) * np.hypot(-r * np.sin(theta), r * np.cos(theta))


def coupling_forward_with_copy(x, scale, shift):
    y = np.array(x, dtype=float)
    d = len(y) // 2
    s = np.asarray(scale(y[:d]))
    y[d:] = y[d:] * np.exp(s) + shift(y[:d])
    return y, float(s.sum())


def coupling_inverse_by_loop(y, scale, shift):
    d = len(y) // 2
    s, t = scale(y[:d]), shift(y[:d])
    x = np.array(y, dtype=float)
    for i in range(d):
        x[d + i] = (y[d + i] - t[i]) / np.exp(s[i])
    return x


@pytest.mark.parametrize("name, function", [
    ("polar_area_factor", polar_abs), ("polar_area_factor", polar_via_hypot),
    ("log_abs_det_grad", grad_inverse_transposed), ("log_abs_det_grad", grad_lstsq),
    ("log_abs_det_grad", grad_lu_by_hand),
    ("coupling_forward", coupling_forward_in_place_on_copy), ("coupling_forward", coupling_forward_with_copy),
    ("coupling_inverse", coupling_inverse_divide), ("coupling_inverse", coupling_inverse_by_loop),
    ("planar_flow_log_det", planar_with_sech), ("planar_flow_log_det", planar_einsum),
])
def test_other_correct_methods_get_full_marks(grader, name, function):
    grader.assert_full_marks(check.exercises[name], function)


# --- typical mistakes and the feedback they get -----------------------------------------------
def polar_signed(r, theta):
    return r


def polar_squared(r, theta):
    return r ** 2


def polar_lost_sign(r, theta):
    J = np.array([[np.cos(theta), r * np.sin(theta)], [np.sin(theta), r * np.cos(theta)]])
    return abs(np.linalg.det(J))


def polar_diagonal_product(r, theta):
    return abs(r * np.cos(theta) * np.cos(theta))


def grad_no_transpose(A):
    return np.linalg.solve(A, np.eye(len(A)))


def grad_via_det(A):
    """Jacobi's formula for d det A, then divided by det A: inf / inf when det A overflows."""
    det = np.linalg.det(A)
    return det * np.linalg.inv(A).T / det


def grad_signed(A):
    return np.sign(np.linalg.det(A)) * np.linalg.inv(A).T


def grad_of_det(A):
    return np.linalg.det(A) * np.linalg.inv(A).T


def grad_normal_equations(A):
    """A⁻ᵀ = A (AᵀA)⁻¹ holds exactly, but squares the condition number."""
    return A @ np.linalg.inv(A.T @ A)


def grad_returns_log_det(A):
    return np.linalg.slogdet(A)[1]


def coupling_views(x, scale, shift):
    half = len(x) // 2
    x1, x2 = x[:half], x[half:]
    s = scale(x1)
    x2 *= np.exp(s)  # x2 is a view: this writes into the caller's x
    x2 += shift(x1)
    return np.concatenate([x1, x2]), np.sum(s)


def coupling_no_exp(x, scale, shift):
    half = len(x) // 2
    x1, x2 = x[:half], x[half:]
    return np.concatenate([x1, x2 * scale(x1) + shift(x1)]), np.sum(scale(x1))


def coupling_log_det_exp(x, scale, shift):
    half = len(x) // 2
    x1, x2 = x[:half], x[half:]
    s = scale(x1)
    return np.concatenate([x1, x2 * np.exp(s) + shift(x1)]), np.sum(np.exp(s))


def coupling_list(x, scale, shift):
    half = len(x) // 2
    x1, x2 = x[:half], x[half:]
    s = scale(x1)
    return [np.concatenate([x1, x2 * np.exp(s) + shift(x1)]), np.sum(s)]


def coupling_conditioned_on_x2(x, scale, shift):
    half = len(x) // 2
    x1, x2 = x[:half], x[half:]
    return np.concatenate([x1, x2 * np.exp(scale(x2)) + shift(x2)]), np.sum(scale(x2))


def coupling_second_half_only(x, scale, shift):
    half = len(x) // 2
    x1, x2 = x[:half], x[half:]
    return x2 * np.exp(scale(x1)) + shift(x1), np.sum(scale(x1))


def inverse_wrong_exponent(y, scale, shift):
    half = len(y) // 2
    y1 = y[:half]
    return np.concatenate([y1, (y[half:] - shift(y1)) * np.exp(scale(y1))])


def inverse_wrong_order(y, scale, shift):
    half = len(y) // 2
    y1 = y[:half]
    return np.concatenate([y1, y[half:] * np.exp(-scale(y1)) - shift(y1)])


def inverse_conditioned_on_y2(y, scale, shift):
    half = len(y) // 2
    y2 = y[half:]
    return np.concatenate([y[:half], (y2 - shift(y2)) * np.exp(-scale(y2))])


def inverse_in_place(y, scale, shift):
    half = len(y) // 2
    y1, y2 = y[:half], y[half:]
    y2 -= shift(y1)
    y2 *= np.exp(-scale(y1))
    return y


def _psi(z, w, b):
    return (1 - np.tanh(w @ z + b) ** 2) * w


def planar_no_abs(z, u, w, b):
    return np.log(1 + u @ _psi(z, w, b))


def planar_no_tanh_derivative(z, u, w, b):
    return np.log(abs(1 + u @ w))


def planar_tanh_not_derivative(z, u, w, b):
    return np.log(abs(1 + np.tanh(w @ z + b) * (u @ w)))


def planar_one_minus_tanh(z, u, w, b):
    return np.log(abs(1 + (1 - np.tanh(w @ z + b)) * (u @ w)))


def planar_forgot_identity(z, u, w, b):
    return np.log(abs(u @ _psi(z, w, b)))


def planar_full_jacobian(z, u, w, b):
    return np.linalg.slogdet(np.eye(len(z)) + np.outer(u, _psi(z, w, b)))[1]


def planar_returns_det(z, u, w, b):
    return 1 + u @ _psi(z, w, b)


@pytest.mark.parametrize("name, function, keywords", [
    ("polar_area_factor", polar_signed, ["absolute value"]),
    ("polar_area_factor", polar_squared, ["r²"]),
    ("polar_area_factor", polar_diagonal_product, ["diagonal entries only"]),
    ("polar_area_factor", polar_lost_sign, ["r cos 2θ"]),
    ("log_abs_det_grad", grad_no_transpose, ["transpose"]),
    ("log_abs_det_grad", grad_signed, ["sign(det A)"]),
    ("log_abs_det_grad", grad_of_det, ["gradient of det A itself"]),
    ("log_abs_det_grad", grad_returns_log_det, ["shape"]),
    ("coupling_forward", coupling_views, ["modified in place"]),
    ("coupling_forward", coupling_no_exp, ["exp(scale(x1))"]),
    ("coupling_forward", coupling_log_det_exp, ["sum of the log-scales"]),
    ("coupling_forward", coupling_list, ["tuple", "list"]),
    ("coupling_forward", coupling_conditioned_on_x2, ["take x1"]),
    ("coupling_forward", coupling_second_half_only, ["shape"]),
    ("coupling_inverse", inverse_wrong_exponent, ["exp(-s(y1))"]),
    ("coupling_inverse", inverse_wrong_order, ["reverse order"]),
    ("coupling_inverse", inverse_in_place, ["modified in place"]),
    ("coupling_inverse", inverse_conditioned_on_y2, ["not at y2"]),
    ("planar_flow_log_det", planar_no_abs, ["absolute value"]),
    ("planar_flow_log_det", planar_no_tanh_derivative, ["tanh' factor is missing"]),
    ("planar_flow_log_det", planar_tanh_not_derivative, ["derivative belongs"]),
    ("planar_flow_log_det", planar_one_minus_tanh, ["1 - tanh² (squared)"]),
    ("planar_flow_log_det", planar_forgot_identity, ["identity is missing"]),
    ("planar_flow_log_det", planar_returns_det, ["log|1 + uᵀψ|"]),
])
def test_mistakes_lose_points_and_are_named(grader, name, function, keywords):
    grader.assert_diagnosed(check.exercises[name], function, *keywords)


def test_gradient_through_det_fails_only_the_overflow_cell(grader):
    grader.assert_full_marks(check.log_abs_det_grad, grad_via_det, only=("visible", "hidden"))
    grader.assert_diagnosed(check.log_abs_det_grad, grad_via_det, "overflows to inf|underflows to 0",
                            "never needs det A", only=("hard",))


def test_normal_equations_fail_only_the_ill_conditioned_case(grader):
    grader.assert_full_marks(check.log_abs_det_grad, grad_normal_equations, only=("visible", "hidden"))
    grader.assert_diagnosed(check.log_abs_det_grad, grad_normal_equations, "backward error", "condition number",
                            only=("hard",))


def test_forming_the_planar_jacobian_fails_only_at_large_n(grader):
    grader.assert_full_marks(check.planar_flow_log_det, planar_full_jacobian, only=("visible", "hidden"))
    grader.assert_diagnosed(check.planar_flow_log_det, planar_full_jacobian, "out of memory|allocated",
                            "determinant lemma", only=("hard",))


def test_memory_budget_catches_a_large_temporary(grader):
    """An n×k temporary that fits in memory is still far beyond what the lemma needs."""
    def planar_with_temporary(z, u, w, b):
        waste = np.ones((len(z), 200))
        return float(np.log(abs(1 + u @ _psi(z, w, b)))) + 0 * waste[0, 0]

    grader.assert_diagnosed(check.planar_flow_log_det, planar_with_temporary, "allocated", only=("hard",))


@pytest.mark.parametrize("name, function", [
    ("log_abs_det_grad", grad_via_det), ("log_abs_det_grad", grad_normal_equations),
    ("coupling_forward", coupling_views), ("coupling_inverse", inverse_wrong_order),
    ("planar_flow_log_det", planar_full_jacobian), ("planar_flow_log_det", planar_no_abs),
])
def test_verdicts_are_the_same_when_judged_apart(grader, solutions, name, function):
    grader.assert_same_when_detached(check.exercises[name], solutions[name])
    grader.assert_same_when_detached(check.exercises[name], function)
