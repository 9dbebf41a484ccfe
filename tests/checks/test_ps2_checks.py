"""The checks of ps2-chain-rule grade the notebook's solutions, stubs and typical mistakes correctly."""
import numpy as np
import pytest

from diffrn.checks.ps2 import check

ASSIGNMENT = "ps2-chain-rule"



# --- correct implementations by other methods -------------------------------------------------
def chain_jacobian_by_columns(f, jac_f, jac_g, x):
    Jg = jac_g(f(x))
    Jf = jac_f(x)
    return np.stack([Jg @ Jf[:, j] for j in range(Jf.shape[1])], axis=1)


def composite_derivative_central(t, h=1e-6):
    value = lambda s: np.sin(s) ** 2 + 2 * np.cos(s)
    return (value(t + h) - value(t - h)) / (2 * h)


def composite_derivative_forward(t, h=1e-7):
    value = lambda s: np.sin(s) ** 2 + 2 * np.cos(s)
    return (value(t + h) - value(t)) / h


def least_squares_grad_normal_equations(theta, Phi, y):
    return 2 * (Phi.T @ Phi @ theta - Phi.T @ y)


def least_squares_grad_loops(theta, Phi, y):
    grad = np.zeros(len(theta))
    for i in range(Phi.shape[0]):
        residual = y[i] - sum(Phi[i, j] * theta[j] for j in range(len(theta)))
        for j in range(len(theta)):
            grad[j] += -2 * residual * Phi[i, j]
    return grad


def layer_grad_einsum(W, x, y):
    return np.einsum("i,j->ij", W @ x - y, x)


def layer_grad_loops(W, x, y):
    error = W @ x - y
    grad = np.empty(W.shape)
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            grad[i, j] = error[i] * x[j]
    return grad


@pytest.mark.parametrize("name, function", [
    ("chain_jacobian", chain_jacobian_by_columns),
    ("composite_derivative", composite_derivative_central),
    ("composite_derivative", composite_derivative_forward),
    ("least_squares_grad", least_squares_grad_normal_equations),
    ("least_squares_grad", least_squares_grad_loops),
    ("linear_layer_weight_grad", layer_grad_einsum),
    ("linear_layer_weight_grad", layer_grad_loops),
])
def test_other_correct_methods_get_full_marks(grader, name, function):
    grader.assert_full_marks(check.exercises[name], function)


# --- typical mistakes and the feedback they get -----------------------------------------------
def chain_wrong_order(f, jac_f, jac_g, x):
    return jac_f(x) @ jac_g(f(x))


def chain_outer_at_x(f, jac_f, jac_g, x):
    return jac_g(x) @ jac_f(x)


def chain_transposed(f, jac_f, jac_g, x):
    return (jac_g(f(x)) @ jac_f(x)).T


def chain_as_list(f, jac_f, jac_g, x):
    return (jac_g(f(x)) @ jac_f(x)).tolist()


def composite_sign(t):
    return 2 * np.sin(t) * np.cos(t) + 2 * np.sin(t)


def composite_missing_two(t):
    return np.sin(t) * np.cos(t) - 2 * np.sin(t)


def composite_no_inner_derivative(t):
    return 2 * np.sin(t) + 2


def least_squares_half(theta, Phi, y):
    return -Phi.T @ (y - Phi @ theta)


def least_squares_sign(theta, Phi, y):
    return 2 * Phi.T @ (y - Phi @ theta)


def least_squares_column(theta, Phi, y):
    return (-2 * Phi.T @ (y - Phi @ theta)).reshape(-1, 1)


def least_squares_in_place(theta, Phi, y):
    y -= Phi @ theta
    return -2 * Phi.T @ y


def layer_transposed(W, x, y):
    return np.outer(x, W @ x - y)


def layer_sign(W, x, y):
    return np.outer(y - W @ x, x)


def layer_twice(W, x, y):
    return 2 * np.outer(W @ x - y, x)


def layer_list(W, x, y):
    return np.outer(W @ x - y, x).tolist()


@pytest.mark.parametrize("name, function, keywords", [
    ("chain_jacobian", chain_wrong_order, ["wrong order"]),
    ("chain_jacobian", chain_outer_at_x, ["jac_g(f(x))"]),
    ("chain_jacobian", chain_transposed, ["transpose"]),
    ("chain_jacobian", chain_as_list, ["list"]),
    ("composite_derivative", composite_sign, ["sign"]),
    ("composite_derivative", composite_missing_two, ["half", "factor of 2"]),
    ("composite_derivative", composite_no_inner_derivative, ["chain rule"]),
    ("least_squares_grad", least_squares_half, ["half"]),
    ("least_squares_grad", least_squares_sign, ["sign"]),
    ("least_squares_grad", least_squares_column, ["shape", "extra axis"]),
    ("least_squares_grad", least_squares_in_place, ["modified in place"]),
    ("linear_layer_weight_grad", layer_transposed, ["transpose"]),
    ("linear_layer_weight_grad", layer_sign, ["sign"]),
    ("linear_layer_weight_grad", layer_twice, ["twice"]),
    ("linear_layer_weight_grad", layer_list, ["list"]),
])
def test_mistakes_lose_points_and_are_named(grader, name, function, keywords):
    grader.assert_diagnosed(check.exercises[name], function, *keywords)


def test_feedback_says_expected_and_found(grader):
    message = grader.run(check.linear_layer_weight_grad, layer_twice)
    assert "expected" in message and "found" in message
    assert "AssertionError" not in message


@pytest.mark.parametrize("name, function", [
    ("chain_jacobian", chain_wrong_order), ("chain_jacobian", chain_transposed),
    ("composite_derivative", composite_sign), ("least_squares_grad", least_squares_in_place),
    ("linear_layer_weight_grad", layer_twice),
])
def test_verdicts_are_the_same_when_judged_apart(grader, solutions, name, function):
    grader.assert_same_when_detached(check.exercises[name], solutions[name])
    grader.assert_same_when_detached(check.exercises[name], function)
