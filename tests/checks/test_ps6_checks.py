"""The checks of ps6-implicit-functions grade the notebook's solutions, stubs and typical mistakes correctly."""
import numpy as np
import pytest

from diffrn.checks.core import backward_error
from diffrn.checks.ps6 import BACKWARD_TOL, check, ill_conditioned

ASSIGNMENT = "ps6-implicit-functions"



# --- correct implementations by other methods -------------------------------------------------
def implicit_slope_lstsq(F_x, F_y):
    return -np.linalg.lstsq(F_y, F_x, rcond=None)[0]


def implicit_slope_by_columns(F_x, F_y):
    return np.stack([-np.linalg.solve(F_y, F_x[:, j]) for j in range(F_x.shape[1])], axis=1)


def circle_slope_explicit(x, y):
    """Differentiate y = ±sqrt(1 - x²) directly (the sign of y picks the branch)."""
    return -np.sign(y) * x / np.sqrt(1 - x * x)


def inverse_jacobian_inv(jac_f, x):
    return np.linalg.inv(jac_f(x))


def ridge_grad_central_differences(X, y, lam, h=1e-5):
    def theta(l):
        return np.linalg.solve(X.T @ X + l * np.eye(X.shape[1]), X.T @ y)
    return (theta(lam + h) - theta(lam - h)) / (2 * h)


def ridge_grad_forward_differences(X, y, lam, h=1e-7):
    def theta(l):
        return np.linalg.solve(X.T @ X + l * np.eye(X.shape[1]), X.T @ y)
    return (theta(lam + h) - theta(lam)) / h


def ridge_grad_squared_inverse(X, y, lam):
    A_inv = np.linalg.inv(X.T @ X + lam * np.eye(X.shape[1]))
    return -A_inv @ A_inv @ X.T @ y


@pytest.mark.parametrize("name, function", [
    ("implicit_slope", implicit_slope_lstsq), ("implicit_slope", implicit_slope_by_columns),
    ("circle_slope", circle_slope_explicit),
    ("inverse_jacobian", inverse_jacobian_inv),
    ("ridge_solution_grad", ridge_grad_central_differences), ("ridge_solution_grad", ridge_grad_forward_differences),
    ("ridge_solution_grad", ridge_grad_squared_inverse),
])
def test_other_correct_methods_get_full_marks(grader, name, function):
    grader.assert_full_marks(check.exercises[name], function)


# --- typical mistakes and the feedback they get -----------------------------------------------
def implicit_inverse(F_x, F_y):
    return -np.linalg.inv(F_y) @ F_x


def implicit_sign(F_x, F_y):
    return np.linalg.solve(F_y, F_x)


def implicit_wrong_order(F_x, F_y):
    return -F_x @ np.linalg.inv(F_y)


def implicit_transposed(F_x, F_y):
    return -np.linalg.solve(F_y, F_x).T


def implicit_list(F_x, F_y):
    return (-np.linalg.solve(F_y, F_x)).tolist()


def circle_sign(x, y):
    return x / y


def circle_swapped(x, y):
    return -y / x


def circle_upper_branch(x, y):
    return -x / np.sqrt(1 - x * x)


def inverse_returns_jacobian(jac_f, x):
    return jac_f(x)


def inverse_elementwise(jac_f, x):
    return 1 / jac_f(x)


def inverse_transposed(jac_f, x):
    return np.linalg.inv(jac_f(x)).T


def ridge_theta(X, y, lam):
    return np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ y)


def ridge_sign(X, y, lam):
    A = X.T @ X + lam * np.eye(X.shape[1])
    return np.linalg.solve(A, np.linalg.solve(A, X.T @ y))


def ridge_without_lambda(X, y, lam):
    theta = np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ y)
    return -np.linalg.solve(X.T @ X, theta)


def ridge_factor_two(X, y, lam):
    A = X.T @ X + lam * np.eye(X.shape[1])
    return -2 * np.linalg.solve(A, np.linalg.solve(A, X.T @ y))


def ridge_in_place(X, y, lam):
    y *= 1.0 / (1.0 + lam)  # rescales the caller's targets
    A = X.T @ X + lam * np.eye(X.shape[1])
    return -np.linalg.solve(A, np.linalg.solve(A, X.T @ y)) * (1.0 + lam)


@pytest.mark.parametrize("name, function, keywords", [
    ("implicit_slope", implicit_inverse, ["backward error", "np.linalg.solve"]),
    ("implicit_slope", implicit_sign, ["sign"]),
    ("implicit_slope", implicit_wrong_order, ["wrong order"]),
    ("implicit_slope", implicit_transposed, ["transpose"]),
    ("implicit_slope", implicit_list, ["list"]),
    ("circle_slope", circle_sign, ["sign"]),
    ("circle_slope", circle_swapped, ["swapped"]),
    ("circle_slope", circle_upper_branch, ["lower half"]),
    ("inverse_jacobian", inverse_returns_jacobian, ["matrix inverse"]),
    ("inverse_jacobian", inverse_elementwise, ["elementwise"]),
    ("inverse_jacobian", inverse_transposed, ["transpose"]),
    ("ridge_solution_grad", ridge_theta, ["θ* itself"]),
    ("ridge_solution_grad", ridge_sign, ["sign"]),
    ("ridge_solution_grad", ridge_without_lambda, ["XᵀX + λI"]),
    ("ridge_solution_grad", ridge_factor_two, ["twice"]),
    ("ridge_solution_grad", ridge_in_place, ["modified in place"]),
])
def test_mistakes_lose_points_and_are_named(grader, name, function, keywords):
    grader.assert_diagnosed(check.exercises[name], function, *keywords)


def test_inverse_fails_only_the_ill_conditioned_cell(grader):
    grader.assert_full_marks(check.implicit_slope, implicit_inverse, only=("visible", "hidden"))
    grader.assert_diagnosed(check.implicit_slope, implicit_inverse, "np.linalg.inv", only=("hard",))


def test_inverse_fails_the_hard_cell_for_every_student(grader, solutions):
    for student in ("alice", "bob", "s0042", "zoe", "x1"):
        for salt in ("", "hidden"):
            assert grader.run(check.implicit_slope, implicit_inverse, "hard", student, salt) is not None
            assert grader.run(check.implicit_slope, implicit_slope_lstsq, "hard", student, salt) is None
            assert grader.run(check.implicit_slope, solutions["implicit_slope"], "hard", student, salt) is None


def test_inverse_and_solve_are_orders_of_magnitude_apart():
    worst_solve, best_inverse = 0.0, np.inf
    for seed in range(20):
        rng = np.random.default_rng(seed)
        for m, n in [(8, 3), (20, 5)]:
            F_y = ill_conditioned(rng, m)
            F_x = F_y @ rng.normal(size=(m, n))
            worst_solve = max(worst_solve, backward_error(F_y, np.linalg.solve(F_y, F_x), F_x),
                              backward_error(F_y, np.linalg.lstsq(F_y, F_x, rcond=None)[0], F_x))
            best_inverse = min(best_inverse, backward_error(F_y, np.linalg.inv(F_y) @ F_x, F_x))
    assert worst_solve < BACKWARD_TOL / 100
    assert best_inverse > BACKWARD_TOL * 100


@pytest.mark.parametrize("name, function", [
    ("implicit_slope", implicit_inverse), ("circle_slope", circle_swapped),
    ("inverse_jacobian", inverse_elementwise), ("ridge_solution_grad", ridge_without_lambda),
])
def test_verdicts_are_the_same_when_judged_apart(grader, solutions, name, function):
    grader.assert_same_when_detached(check.exercises[name], solutions[name])
    grader.assert_same_when_detached(check.exercises[name], function)
