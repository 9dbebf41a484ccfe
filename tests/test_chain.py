"""diffrn.chain against finite differences: the chain rule, its shape checks and the gradients of Chapter 2."""
import numpy as np
import pytest

from diffrn.chain import (
    chain_jacobian,
    gradient_through,
    least_squares_grad,
    least_squares_loss,
    linear_layer_loss,
    linear_layer_weight_grad,
)
from diffrn.numerical import gradient_fd, jacobian_fd


@pytest.fixture
def rng():
    return np.random.default_rng(20260202)


def smooth_map(rng, n_in, n_out):
    """A random smooth map x -> tanh(A x + b) + C x with its exact Jacobian."""
    a = rng.normal(size=(n_out, n_in))
    b = rng.normal(size=n_out)
    c = 0.3 * rng.normal(size=(n_out, n_in))

    def value(x):
        return np.tanh(a @ x + b) + c @ x

    def jacobian(x):
        return (1.0 - np.tanh(a @ x + b) ** 2)[:, None] * a + c

    return value, jacobian


@pytest.mark.parametrize("n, k, m", [(1, 1, 1), (3, 2, 4), (2, 5, 1), (1, 3, 2), (4, 4, 4)])
def test_chain_jacobian_matches_finite_differences_of_the_composition(rng, n, k, m):
    f, jac_f = smooth_map(rng, n, k)
    g, jac_g = smooth_map(rng, k, m)
    for _ in range(3):
        x = rng.normal(size=n)
        chained = chain_jacobian(f, jac_f, jac_g, x)
        assert chained.shape == (m, n)
        np.testing.assert_allclose(chained, jacobian_fd(lambda p: g(f(p)), x), rtol=1e-6, atol=1e-8)


def test_outer_jacobian_is_evaluated_at_the_inner_value_not_at_x(rng):
    f, jac_f = smooth_map(rng, 3, 3)
    g, jac_g = smooth_map(rng, 3, 3)
    x = rng.normal(size=3)
    wrong_point = jac_g(x) @ jac_f(x)
    chained = chain_jacobian(f, jac_f, jac_g, x)
    assert not np.allclose(chained, wrong_point, atol=1e-3)


def test_shape_mismatch_raises_a_message_that_says_what_to_check(rng):
    f, jac_f = smooth_map(rng, 3, 2)  # inner map R^3 -> R^2
    _, jac_h = smooth_map(rng, 4, 5)  # a Jacobian that expects 4 inputs
    with pytest.raises(ValueError, match=r"dimension mismatch.*takes 4 inputs.*returns 2 values.*swapped"):
        chain_jacobian(f, jac_f, lambda u: jac_h(np.zeros(4)), np.ones(3))


def test_inner_jacobian_of_the_wrong_shape_is_reported(rng):
    f, jac_f = smooth_map(rng, 3, 2)
    _, jac_g = smooth_map(rng, 2, 2)
    with pytest.raises(ValueError, match=r"jac_f\(x\) has shape \(3, 2\).*must be \(2, 3\)"):
        chain_jacobian(f, lambda x: jac_f(x).T, jac_g, np.ones(3))


def test_one_dimensional_jacobian_is_refused_with_advice():
    with pytest.raises(ValueError, match="2-D"):
        chain_jacobian(lambda x: x, lambda x: np.eye(2), lambda u: np.array([1.0, 2.0]), np.ones(2))


def test_scalar_jacobians_of_scalar_maps_are_accepted():
    value = chain_jacobian(np.sin, np.cos, lambda u: 2.0 * u[0], [0.3])
    np.testing.assert_allclose(value, [[2.0 * np.sin(0.3) * np.cos(0.3)]])


def test_chain_jacobian_does_not_modify_x(rng):
    f, jac_f = smooth_map(rng, 3, 2)
    g, jac_g = smooth_map(rng, 2, 2)
    x = rng.normal(size=3)
    before = x.copy()

    def f_that_writes(p):
        out = f(p)
        p[:] = 0.0  # a careless user function must not reach the caller's array
        return out

    chain_jacobian(f_that_writes, jac_f, jac_g, x)
    np.testing.assert_array_equal(x, before)


def test_gradient_through_is_the_vector_jacobian_product(rng):
    g, jac_g = smooth_map(rng, 4, 3)
    weights = rng.normal(size=3)

    def loss(u):
        return float(weights @ u**2)

    x = rng.normal(size=4)
    grad = gradient_through(jac_g(x), 2.0 * weights * g(x))
    np.testing.assert_allclose(grad, gradient_fd(lambda p: loss(g(p)), x), rtol=1e-6, atol=1e-8)
    with pytest.raises(ValueError, match="evaluate the outer gradient at g"):
        gradient_through(jac_g(x), np.ones(4))


@pytest.mark.parametrize("n_obs, n_params", [(6, 3), (1, 1), (10, 4)])
def test_least_squares_grad_matches_finite_differences(rng, n_obs, n_params):
    phi = rng.normal(size=(n_obs, n_params))
    y = rng.normal(size=n_obs)
    theta = rng.normal(size=n_params)
    args = (phi.copy(), y.copy(), theta.copy())
    grad = least_squares_grad(*args)
    assert grad.shape == (n_params,)
    np.testing.assert_allclose(grad, gradient_fd(lambda t: least_squares_loss(phi, y, t), theta), rtol=1e-6, atol=1e-6)
    for original, passed in zip((phi, y, theta), args):
        np.testing.assert_array_equal(original, passed)


def test_least_squares_grad_vanishes_at_the_least_squares_solution(rng):
    phi = rng.normal(size=(8, 3))
    y = rng.normal(size=8)
    theta_star = np.linalg.lstsq(phi, y, rcond=None)[0]
    np.testing.assert_allclose(least_squares_grad(phi, y, theta_star), 0.0, atol=1e-10)


def test_least_squares_grad_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"Phi must be \(len\(y\), len\(theta\)\)"):
        least_squares_grad(np.ones((3, 2)), np.ones(4), np.ones(2))


@pytest.mark.parametrize("m, n", [(3, 4), (1, 1), (2, 5)])
def test_linear_layer_weight_grad_matches_finite_differences(rng, m, n):
    weight = rng.normal(size=(m, n))
    x = rng.normal(size=n)
    y = rng.normal(size=m)
    args = (weight.copy(), x.copy(), y.copy())
    grad = linear_layer_weight_grad(*args)
    assert grad.shape == weight.shape
    numeric = gradient_fd(lambda w: linear_layer_loss(w.reshape(m, n), x, y), weight.ravel()).reshape(m, n)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-7)
    assert np.linalg.matrix_rank(grad) <= 1
    for original, passed in zip((weight, x, y), args):
        np.testing.assert_array_equal(original, passed)


def test_linear_layer_weight_grad_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"W must be \(len\(y\), len\(x\)\)"):
        linear_layer_weight_grad(np.ones((2, 3)), np.ones(2), np.ones(2))
