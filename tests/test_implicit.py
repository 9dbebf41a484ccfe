"""Tests of diffrn.implicit against finite differences (all random data seeded)."""
import numpy as np
import pytest

from diffrn.implicit import (
    TanhEquilibriumLayer,
    adjoint_by_iteration,
    fixed_point,
    ridge_solution,
    ridge_solution_grad,
    unrolled_fixed_point_gradient,
)
from diffrn.numerical import jacobian_fd


def ridge_data(seed=0, n=40, d=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 0.5 * rng.normal(size=n)
    return X, y


def test_ridge_solution_satisfies_optimality_condition():
    X, y = ridge_data()
    for lam in [0.0, 0.1, 10.0]:
        theta = ridge_solution(X, y, lam)
        np.testing.assert_allclose((X.T @ X + lam * np.eye(4)) @ theta - X.T @ y, 0.0, atol=1e-10)


@pytest.mark.parametrize("lam", [1e-3, 0.5, 3.0, 200.0])
def test_ridge_solution_grad_matches_finite_differences(lam):
    X, y = ridge_data(seed=1)
    fd = jacobian_fd(lambda t: ridge_solution(X, y, t[0]), [lam], h=1e-6 * max(lam, 1e-2))[:, 0]
    np.testing.assert_allclose(ridge_solution_grad(X, y, lam), fd, rtol=1e-5, atol=1e-9)


def test_ridge_errors():
    X, y = ridge_data()
    with pytest.raises(ValueError, match="lam must be >= 0"):
        ridge_solution(X, y, -1.0)
    with pytest.raises(ValueError, match="N = len"):
        ridge_solution(X, y[:-1], 1.0)
    with pytest.raises(ValueError, match="singular"):
        ridge_solution(np.ones((5, 2)), np.ones(5), 0.0)  # collinear columns, no penalty


def equilibrium_problem(n=5, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, n))
    W *= 0.8 / np.linalg.norm(W, 2)
    return TanhEquilibriumLayer(W), rng.normal(size=n), rng.normal(size=n)


def test_fixed_point_converges_and_errors():
    layer, theta, _ = equilibrium_problem()
    z, iterations = layer.solve(theta)
    np.testing.assert_allclose(layer.T(z, theta), z, atol=1e-12)
    assert iterations > 1
    with pytest.raises(RuntimeError, match="did not converge"):
        fixed_point(lambda z: 2 * z + 1, np.zeros(2), max_iter=50)


def implicit_gradient(layer, theta, target):
    """dL/dtheta through the equilibrium by the adjoint iteration, with VJPs only."""
    z, _ = layer.solve(theta)
    u, _ = adjoint_by_iteration(lambda v: layer.vjp_z(z, theta, v), z - target)
    return layer.vjp_theta(z, theta, u)


def test_adjoint_iteration_gradient_matches_finite_differences():
    layer, theta, target = equilibrium_problem(seed=4)

    def loss(t):
        z, _ = layer.solve(t)
        return 0.5 * np.sum((z - target) ** 2)

    np.testing.assert_allclose(implicit_gradient(layer, theta, target), jacobian_fd(loss, theta)[0], atol=1e-8)


def test_adjoint_iteration_solves_the_adjoint_system():
    layer, theta, target = equilibrium_problem(seed=6)
    z, _ = layer.solve(theta)
    A = layer.jac_z(z, theta)
    np.testing.assert_allclose(layer.vjp_z(z, theta, target), A.T @ target, atol=1e-14)
    np.testing.assert_allclose(layer.vjp_theta(z, theta, target), layer.jac_theta(z, theta).T @ target, atol=1e-14)
    u, iterations = adjoint_by_iteration(lambda v: A.T @ v, target)
    np.testing.assert_allclose((np.eye(5) - A).T @ u, target, atol=1e-11)
    assert iterations > 1


def test_unrolled_gradient_approaches_implicit_gradient():
    layer, theta, target = equilibrium_problem(seed=5)
    implicit = implicit_gradient(layer, theta, target)
    errors = []
    for K in [1, 5, 20, 80]:
        z_K, unrolled = unrolled_fixed_point_gradient(
            layer.T, layer.jac_z, layer.jac_theta, np.zeros(5), theta, K, lambda zk: zk - target
        )
        errors.append(np.linalg.norm(unrolled - implicit))
    assert errors == sorted(errors, reverse=True) and errors[-1] < 1e-7

    # The unrolled gradient is exact for the truncated map: compare with finite differences.
    def truncated_loss(t):
        zk = np.zeros(5)
        for _ in range(3):
            zk = layer.T(zk, t)
        return 0.5 * np.sum((zk - target) ** 2)

    _, unrolled3 = unrolled_fixed_point_gradient(layer.T, layer.jac_z, layer.jac_theta, np.zeros(5), theta, 3, lambda zk: zk - target)
    np.testing.assert_allclose(unrolled3, jacobian_fd(truncated_loss, theta)[0], atol=1e-8)


def test_fixed_point_errors():
    with pytest.raises(RuntimeError, match="did not converge"):
        adjoint_by_iteration(lambda v: 1.5 * v, np.ones(2), max_iter=100)  # ||A|| > 1
    with pytest.raises(ValueError, match=">= 0"):
        unrolled_fixed_point_gradient(np.tanh, None, None, np.zeros(2), np.zeros(2), -1, None)
