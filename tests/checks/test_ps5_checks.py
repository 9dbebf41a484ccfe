"""The checks of ps5-change-of-variables grade the notebook's solutions, stubs and typical mistakes correctly."""
import numpy as np
import pytest

from diffrn.checks.ps5 import check

ASSIGNMENT = "ps5-change-of-variables"



# --- correct implementations by other methods -------------------------------------------------
def polar_abs(r, theta):
    return abs(r)


def log_abs_det_svd(J):
    return float(np.sum(np.log(np.linalg.svd(J, compute_uv=False))))


def log_abs_det_eigenvalues(J):
    return float(np.sum(np.log(np.abs(np.linalg.eigvals(J)))))


def log_abs_det_lu(J):
    """Gaussian elimination with partial pivoting, adding log|pivot| as it goes."""
    U = np.array(J, dtype=float)
    n = len(U)
    total = 0.0
    for k in range(n):
        p = k + int(np.argmax(np.abs(U[k:, k])))
        U[[k, p]] = U[[p, k]]
        total += np.log(abs(U[k, k]))
        U[k + 1:, k:] -= np.outer(U[k + 1:, k] / U[k, k], U[k, k:])
    return total


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


def flow_log_density_unpacked(x, forward, base_log_density):
    result = forward(x)
    return np.add(base_log_density(result[0]), result[1])


@pytest.mark.parametrize("name, function", [
    ("polar_area_factor", polar_abs),
    ("log_abs_det", log_abs_det_svd), ("log_abs_det", log_abs_det_eigenvalues), ("log_abs_det", log_abs_det_lu),
    ("coupling_forward", coupling_forward_in_place_on_copy),
    ("coupling_inverse", coupling_inverse_divide),
    ("flow_log_density", flow_log_density_unpacked),
])
def test_other_correct_methods_get_full_marks(grader, name, function):
    grader.assert_full_marks(check.exercises[name], function)


# --- typical mistakes and the feedback they get -----------------------------------------------
def polar_signed(r, theta):
    return r


def polar_squared(r, theta):
    return r ** 2


def polar_diagonal_product(r, theta):
    return abs(r * np.cos(theta) * np.cos(theta))


def log_det_naive(J):
    return np.log(np.linalg.det(J))


def log_abs_det_naive(J):
    return np.log(abs(np.linalg.det(J)))


def log_abs_det_log10(J):
    return np.linalg.slogdet(J)[1] / np.log(10)


def log_abs_det_forgot_log(J):
    return np.linalg.det(J)


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


def inverse_in_place(y, scale, shift):
    half = len(y) // 2
    y1, y2 = y[:half], y[half:]
    y2 -= shift(y1)
    y2 *= np.exp(-scale(y1))
    return y


def flow_minus_log_det(x, forward, base_log_density):
    z, log_det = forward(x)
    return base_log_density(z) - log_det


def flow_base_at_x(x, forward, base_log_density):
    _, log_det = forward(x)
    return base_log_density(x) + log_det


def flow_no_log_det(x, forward, base_log_density):
    z, _ = forward(x)
    return base_log_density(z)


def flow_density(x, forward, base_log_density):
    z, log_det = forward(x)
    return np.exp(base_log_density(z) + log_det)


@pytest.mark.parametrize("name, function, keywords", [
    ("polar_area_factor", polar_signed, ["absolute value"]),
    ("polar_area_factor", polar_squared, ["r²"]),
    ("polar_area_factor", polar_diagonal_product, ["diagonal entries only"]),
    ("log_abs_det", log_det_naive, ["negative", "absolute value"]),
    ("log_abs_det", log_abs_det_naive, ["overflow", "slogdet"]),
    ("log_abs_det", log_abs_det_log10, ["log10"]),
    ("log_abs_det", log_abs_det_forgot_log, ["det J itself"]),
    ("coupling_forward", coupling_views, ["modified in place"]),
    ("coupling_forward", coupling_no_exp, ["exp(scale(x1))"]),
    ("coupling_forward", coupling_log_det_exp, ["sum of the log-scales"]),
    ("coupling_forward", coupling_list, ["tuple", "list"]),
    ("coupling_forward", coupling_conditioned_on_x2, ["take x1"]),
    ("coupling_forward", coupling_second_half_only, ["shape"]),
    ("coupling_inverse", inverse_wrong_exponent, ["exp(-s(y1))"]),
    ("coupling_inverse", inverse_wrong_order, ["reverse order"]),
    ("coupling_inverse", inverse_in_place, ["modified in place"]),
    ("flow_log_density", flow_minus_log_det, ["sign"]),
    ("flow_log_density", flow_base_at_x, ["z = f(x)"]),
    ("flow_log_density", flow_no_log_det, ["missing"]),
    ("flow_log_density", flow_density, ["logarithm"]),
])
def test_mistakes_lose_points_and_are_named(grader, name, function, keywords):
    grader.assert_diagnosed(check.exercises[name], function, *keywords)


def test_naive_log_abs_det_fails_only_the_overflow_cell(grader):
    grader.assert_full_marks(check.log_abs_det, log_abs_det_naive, only=("visible", "hidden"))
    grader.assert_diagnosed(check.log_abs_det, log_abs_det_naive, "overflow", only=("hard",))


@pytest.mark.parametrize("name, function", [
    ("log_abs_det", log_abs_det_naive), ("coupling_forward", coupling_views),
    ("coupling_inverse", inverse_wrong_order), ("flow_log_density", flow_minus_log_det),
])
def test_verdicts_are_the_same_when_judged_apart(grader, solutions, name, function):
    grader.assert_same_when_detached(check.exercises[name], solutions[name])
    grader.assert_same_when_detached(check.exercises[name], function)
