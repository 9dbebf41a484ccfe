"""The checks of ps2-chain-rule grade the notebook's solutions, other correct methods and typical mistakes correctly."""
import re

import numpy as np
import pytest

from diffrn.checks.core import CheckFailure, run_cases
from diffrn.checks.functions import SmoothMap
from diffrn.checks.ps2 import _compose_case, check

ASSIGNMENT = "ps2-chain-rule"


# --- compose_jacobian: other correct methods ----------------------------------------------------
def compose_reverse_accumulation(layers, x):
    """Forward pass for the points, then J_k ⋯ J_1 from the output end (left to right)."""
    u = np.asarray(x, dtype=float)
    factors = []
    for f, jac in layers:
        factors.append(np.atleast_2d(jac(u)))
        u = np.atleast_1d(f(u))
    J = factors[-1]
    for factor in reversed(factors[:-1]):
        J = J @ factor
    return np.asarray(J, dtype=float)


def compose_without_identity(layers, x):
    u, J = np.array(x, dtype=float), None
    for f, jac in layers:
        Ji = np.asarray(jac(u), dtype=float).reshape(-1, u.size)
        J = Ji if J is None else Ji @ J
        u = np.asarray(f(u), dtype=float).reshape(-1)
    return J


def compose_by_columns(layers, x):
    """Push every basis vector through the layers' Jacobians (n JVPs), one column at a time."""
    u = np.asarray(x, dtype=float)
    jacobians = []
    for f, jac in layers:
        jacobians.append(np.atleast_2d(jac(u)))
        u = np.atleast_1d(f(u))
    columns = []
    for e in np.eye(np.size(x)):
        v = e
        for Ji in jacobians:
            v = Ji @ v
        columns.append(v)
    return np.stack(columns, axis=1)


@pytest.mark.parametrize("method", [compose_reverse_accumulation, compose_without_identity, compose_by_columns])
def test_compose_methods_get_full_marks(grader, method):
    grader.assert_full_marks(check.compose_jacobian, method)


# --- compose_jacobian: mistakes -----------------------------------------------------------------
def compose_jac_at_x(layers, x):
    J = np.eye(len(x))
    for f, jac in layers:
        J = np.atleast_2d(jac(x)) @ J
    for f, _ in layers:
        x = np.atleast_1d(f(x))
    return J


def compose_jac_after_f(layers, x):
    u, J = np.asarray(x, dtype=float), np.eye(len(x))
    for f, jac in layers:
        u = np.atleast_1d(f(u))
        J = np.atleast_2d(jac(u)) @ J
    return J


def compose_wrong_order(layers, x):
    u, J = np.asarray(x, dtype=float), np.eye(len(x))
    for f, jac in layers:
        J = J @ np.atleast_2d(jac(u))
        u = np.atleast_1d(f(u))
    return J


def compose_wrong_order_identity_last(layers, x):
    u, J = np.asarray(x, dtype=float), None
    for f, jac in layers:
        Ji = np.atleast_2d(jac(u))
        J = Ji if J is None else J @ Ji
        u = np.atleast_1d(f(u))
    return J


def compose_calls_f_twice(layers, x):
    u, J = np.asarray(x, dtype=float), np.eye(len(x))
    for f, jac in layers:
        J = np.atleast_2d(jac(u)) @ J
        print_value = f(u)  # "just to look at it", then the real step
        u = np.atleast_1d(f(u)) if print_value is not None else u
    return J


def compose_skips_last_f(layers, x):
    u, J = np.asarray(x, dtype=float), np.eye(len(x))
    for i, (f, jac) in enumerate(layers):
        J = np.atleast_2d(jac(u)) @ J
        if i < len(layers) - 1:
            u = np.atleast_1d(f(u))
    return J


def compose_recomputes_prefix(layers, x):
    """Recomputes the input of each layer from x: correct values, quadratic number of calls."""
    J = np.eye(len(x))
    for i, (_, jac) in enumerate(layers):
        u = np.asarray(x, dtype=float)
        for f, _ in layers[:i]:
            u = np.atleast_1d(f(u))
        J = np.atleast_2d(jac(u)) @ J
    u = np.asarray(x, dtype=float)
    for f, _ in layers:
        u = np.atleast_1d(f(u))
    return J


def compose_gradient_for_scalar(layers, x):
    return np.squeeze(compose_reverse_accumulation(layers, x))


def compose_skips_first(layers, x):
    u = np.atleast_1d(layers[0][0](np.asarray(x, dtype=float)))
    layers[0][1](np.asarray(x, dtype=float))
    J = np.eye(len(u))
    for f, jac in layers[1:]:
        J = np.atleast_2d(jac(u)) @ J
        u = np.atleast_1d(f(u))
    return J


def compose_transposed(layers, x):
    return compose_reverse_accumulation(layers, x).T


def compose_modifies_x(layers, x):
    u = x
    J = np.eye(len(x))
    for f, jac in layers:
        J = np.atleast_2d(jac(u)) @ J
        value = np.atleast_1d(f(u))
        if value.shape == u.shape:
            u[:] = value  # overwrites the caller's x on the first layer
        else:
            u = value
    return J


@pytest.mark.parametrize("function, keywords, only", [
    (compose_jac_at_x, ["evaluated at x instead of the layer's input"], None),
    (compose_jac_after_f, ["output of layer"], None),
    (compose_wrong_order, ["wrong multiplication order|wrong order"], None),
    (compose_wrong_order_identity_last, ["wrong order"], None),
    (compose_calls_f_twice, ["f_1 was called twice", "exactly one call"], ("hard",)),
    (compose_skips_last_f, ["never", "last one included"], ("hard",)),
    (compose_recomputes_prefix, ["f_1 was called", "exactly one call"], ("hard",)),
    (compose_gradient_for_scalar, ["one row", "(1, 2)"], None),
    (compose_skips_first, ["jac_2 was evaluated at x|first layer"], None),
    (compose_transposed, ["transpose"], None),
    (compose_modifies_x, ["modified in place"], None),
])
def test_compose_mistakes_are_named(grader, function, keywords, only):
    grader.assert_diagnosed(check.compose_jacobian, function, *keywords, only=only)


@pytest.mark.parametrize("function, keyword", [
    (compose_jac_at_x, "jac_2 was evaluated at x instead of the layer's input"),
    (compose_jac_after_f, "jac_1 was evaluated at the output of layer 1"),
])
def test_a_point_of_the_wrong_length_is_still_named(function, keyword):
    """On a chain R² → R⁴ → R³, jac_2(x) cannot even run; the feedback still says where it was called."""
    rng = np.random.default_rng(5)
    case = _compose_case("R² → R⁴ → R³", [SmoothMap(rng, 2, 4), SmoothMap(rng, 4, 3)], [0.3, -0.7])
    with pytest.raises(CheckFailure, match=re.escape(keyword)):
        run_cases(function, [case], "compose_jacobian")


def test_call_counting_mistakes_keep_the_main_cell(grader):
    """Calling a layer too often costs the 1-point cell only: the values are right."""
    for function in (compose_calls_f_twice, compose_skips_last_f, compose_recomputes_prefix):
        grader.assert_full_marks(check.compose_jacobian, function, only=("visible", "hidden"))


# --- composite_derivative -----------------------------------------------------------------------
def composite_derivative_central(t, h=1e-6):
    value = lambda s: np.sin(s) ** 2 + 2 * np.cos(s)
    return (value(t + h) - value(t - h)) / (2 * h)


def composite_derivative_simplified(t):
    return float(np.sin(2 * t) - 2 * np.sin(t))


@pytest.mark.parametrize("method", [composite_derivative_central, composite_derivative_simplified])
def test_composite_methods_get_full_marks(grader, method):
    grader.assert_full_marks(check.composite_derivative, method)


@pytest.mark.parametrize("function, keywords", [
    (lambda t: 2 * np.sin(t) * np.cos(t) + 2 * np.sin(t), ["sign"]),
    (lambda t: np.sin(t) * np.cos(t) - 2 * np.sin(t), ["half", "factor of 2"]),
    (lambda t: 2 * np.sin(t) + 2, ["chain rule"]),
    (lambda t: 2 * np.sin(t) * np.cos(t), ["missing"]),
    (lambda t: np.array([2 * np.sin(t) * np.cos(t) - 2 * np.sin(t), 0.0]), ["single number"]),
])
def test_composite_mistakes_are_named(grader, function, keywords):
    grader.assert_diagnosed(check.composite_derivative, function, *keywords)


# --- weighted_least_squares_grad ----------------------------------------------------------------
def weighted_by_square_roots(theta, Phi, y, w):
    root = np.sqrt(w)
    A, c = root[:, None] * Phi, root * y
    return 2 * (A.T @ (A @ theta) - A.T @ c)


def weighted_by_loops(theta, Phi, y, w):
    grad = np.zeros(len(theta))
    for i in range(Phi.shape[0]):
        residual = y[i] - sum(Phi[i, j] * theta[j] for j in range(len(theta)))
        for j in range(len(theta)):
            grad[j] -= 2 * w[i] * residual * Phi[i, j]
    return grad


def weighted_normal_equations(theta, Phi, y, w):
    return 2 * (Phi.T @ np.diag(w) @ Phi @ theta - Phi.T @ (w * y))


@pytest.mark.parametrize("method", [weighted_by_square_roots, weighted_by_loops, weighted_normal_equations])
def test_weighted_methods_get_full_marks(grader, method):
    grader.assert_full_marks(check.weighted_least_squares_grad, method)


def weighted_rows_scaled_by_w(theta, Phi, y, w):
    A, c = w[:, None] * Phi, w * y
    return -2 * A.T @ (c - A @ theta)


def weighted_in_place(theta, Phi, y, w):
    y -= Phi @ theta
    y *= w
    return -2 * Phi.T @ y


@pytest.mark.parametrize("function, keywords", [
    (lambda theta, Phi, y, w: -Phi.T @ (w * (y - Phi @ theta)), ["half"]),
    (lambda theta, Phi, y, w: 2 * Phi.T @ (w * (y - Phi @ theta)), ["sign"]),
    (lambda theta, Phi, y, w: -2 * Phi.T @ (y - Phi @ theta), ["ignores the weights"]),
    (weighted_rows_scaled_by_w, ["wᵢ²"]),
    (lambda theta, Phi, y, w: -2 * Phi.T @ (w * (y - Phi @ theta)) / len(y), ["divided by N", "sum, not a mean"]),
    (lambda theta, Phi, y, w: -2 * Phi.T @ (w * (y - Phi @ theta)) / w.sum(), ["Σ wᵢ"]),
    (lambda theta, Phi, y, w: (-2 * Phi.T @ (w * (y - Phi @ theta)))[:, None], ["shape", "extra axis"]),
    (weighted_in_place, ["modified in place"]),
])
def test_weighted_mistakes_are_named(grader, function, keywords):
    grader.assert_diagnosed(check.weighted_least_squares_grad, function, *keywords)


# --- linear_layer_grads -------------------------------------------------------------------------
def layer_grads_einsum(W, b, X, Y):
    R = np.einsum("ij,bj->bi", W, X) + b - Y
    return np.einsum("bi,bj->ij", R, X) / len(X), R.mean(axis=0)


def layer_grads_loops(W, b, X, Y):
    g_W, g_b = np.zeros(W.shape), np.zeros(len(b))
    for x, y in zip(X, Y):
        r = W @ x + b - y
        g_W += np.outer(r, x)
        g_b += r
    return g_W / len(X), g_b / len(X)


def layer_grads_augmented(W, b, X, Y):
    """Append a column of ones to X: the bias is one more column of an augmented W."""
    X1 = np.hstack([X, np.ones((len(X), 1))])
    G = (X1 @ np.hstack([W, b[:, None]]).T - Y).T @ X1 / len(X)
    return G[:, :-1], G[:, -1]


@pytest.mark.parametrize("method", [layer_grads_einsum, layer_grads_loops, layer_grads_augmented])
def test_layer_methods_get_full_marks(grader, method):
    grader.assert_full_marks(check.linear_layer_grads, method)


def layer_sum(W, b, X, Y):
    R = X @ W.T + b - Y
    return R.T @ X, R.sum(axis=0)


def layer_no_half(W, b, X, Y):
    g_W, g_b = layer_grads_einsum(W, b, X, Y)
    return 2 * g_W, 2 * g_b


def layer_sign(W, b, X, Y):
    g_W, g_b = layer_grads_einsum(W, b, X, Y)
    return -g_W, -g_b


def layer_bias_forgotten(W, b, X, Y):
    R = X @ W.T - Y
    return R.T @ X / len(X), R.mean(axis=0)


def layer_transposed(W, b, X, Y):
    g_W, g_b = layer_grads_einsum(W, b, X, Y)
    return g_W.T, g_b


def layer_swapped(W, b, X, Y):
    g_W, g_b = layer_grads_einsum(W, b, X, Y)
    return g_b, g_W


def layer_as_list(W, b, X, Y):
    return list(layer_grads_einsum(W, b, X, Y))


@pytest.mark.parametrize("function, keywords", [
    (layer_sum, ["times the right one", "averages over the batch"]),
    (layer_no_half, ["twice"]),
    (layer_sign, ["sign"]),
    (layer_bias_forgotten, ["leaves b out"]),
    (layer_transposed, ["transpose|shape"]),
    (layer_swapped, ["(g_b, g_W)"]),
    (layer_as_list, ["tuple"]),
])
def test_layer_mistakes_are_named(grader, function, keywords):
    grader.assert_diagnosed(check.linear_layer_grads, function, *keywords)


# --- the same verdicts in the kernel and in the re-check ----------------------------------------
@pytest.mark.parametrize("name, function", [
    ("compose_jacobian", compose_jac_at_x), ("compose_jacobian", compose_wrong_order),
    ("compose_jacobian", compose_calls_f_twice), ("compose_jacobian", compose_modifies_x),
    ("weighted_least_squares_grad", weighted_rows_scaled_by_w), ("linear_layer_grads", layer_swapped),
])
def test_verdicts_are_the_same_when_judged_apart(grader, solutions, name, function):
    grader.assert_same_when_detached(check.exercises[name], solutions[name])
    grader.assert_same_when_detached(check.exercises[name], function)
