"""Derivatives of functions defined implicitly: by an equation, an optimum or a fixed point.

The tools of Chapter 6: the derivative of the ridge solution with respect to its penalty by one
more linear solve (:func:`ridge_solution_grad`), and for fixed points the iterations a deep equilibrium model runs
in both directions (:func:`fixed_point`, :func:`adjoint_by_iteration`), next to backpropagation
through unrolled iterations (:func:`unrolled_fixed_point_gradient`) for comparison. No derivative
here is taken by differentiating through the iterations that found a solution, and no matrix
inverse is formed.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

Array = np.ndarray

# Beyond this condition number a double-precision solve has no correct digit left.
SINGULAR_CONDITION = 1.0 / np.finfo(np.float64).eps


def _as_matrix(value, name: str) -> Array:
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        # A length-m vector of partials with respect to one scalar parameter is an m x 1 column.
        return a.reshape(-1, 1)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a scalar, a vector or a matrix; got shape {a.shape}")
    return a


def _solve(matrix: Array, rhs: Array, what: str) -> Array:
    """``matrix^{-1} rhs`` by LU, with a readable error when the matrix is (numerically) singular.

    Singularity is detected without the O(n^3) cost of a condition number: LAPACK stops at an
    exactly zero pivot, and otherwise ``||A||_1 ||x||_1 / ||b||_1`` is a lower bound for the
    1-norm condition number of A that explodes when A is singular up to rounding.
    """
    try:
        solution = np.linalg.solve(matrix, rhs)
    except np.linalg.LinAlgError:
        raise ValueError(f"{what} is singular: the derivative is not defined here") from None
    rhs_norm = np.abs(rhs).sum(axis=0)
    if np.all(rhs_norm == 0):
        return solution
    solution_norm = np.abs(solution).sum(axis=0)
    lower_bound = np.max(np.linalg.norm(matrix, 1) * solution_norm[rhs_norm > 0] / rhs_norm[rhs_norm > 0])
    if not np.isfinite(lower_bound) or lower_bound > SINGULAR_CONDITION:
        raise ValueError(
            f"{what} is singular up to rounding (condition number at least {lower_bound:.3g}): "
            "the derivative is not defined here"
        )
    return solution


def _ridge_system(X, y, lam) -> tuple[Array, Array]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if X.ndim != 2 or X.shape[0] != y.size:
        raise ValueError(f"X must be (N, d) with N = len(y) = {y.size}; got X of shape {X.shape}")
    if lam < 0:
        raise ValueError(f"the ridge penalty lam must be >= 0, got {lam}")
    return X.T @ X + lam * np.eye(X.shape[1]), X.T @ y


def ridge_solution(X, y, lam: float) -> Array:
    """``theta*(lam) = argmin ||X theta - y||^2 + lam ||theta||^2 = (X^T X + lam I)^{-1} X^T y``."""
    system, rhs = _ridge_system(X, y, lam)
    return _solve(system, rhs, "X^T X + lam I")


def ridge_solution_grad(X, y, lam: float) -> Array:
    """``d theta*/d lam`` by the implicit function theorem.

    The optimality condition ``G(theta, lam) = (X^T X + lam I) theta - X^T y = 0`` has
    ``dG/dtheta = X^T X + lam I`` and ``dG/dlam = theta``, hence
    ``d theta*/d lam = -(X^T X + lam I)^{-1} theta*``: one more solve with the same matrix.

    Returns:
        (d,) array.
    """
    system, rhs = _ridge_system(X, y, lam)
    theta = _solve(system, rhs, "X^T X + lam I")
    return -_solve(system, theta, "X^T X + lam I")


# --- fixed points and deep equilibrium models ------------------------------------------------


def fixed_point(T: Callable[[Array], Array], z0, tol: float = 1e-12, max_iter: int = 10_000) -> tuple[Array, int]:
    """Iterate ``z <- T(z)`` from ``z0`` until the step is below ``tol``.

    Returns:
        ``(z*, number of iterations)``.

    Raises:
        RuntimeError: if it has not converged after max_iter iterations (T may not be a
            contraction; damp it, or use a root finder on ``T(z) - z``).
    """
    z = np.array(z0, dtype=np.float64)
    for iteration in range(1, max_iter + 1):
        z_next = np.asarray(T(z), dtype=np.float64)
        if np.linalg.norm(z_next - z) <= tol * (1.0 + np.linalg.norm(z_next)):
            return z_next, iteration
        z = z_next
    raise RuntimeError(f"the fixed-point iteration did not converge in {max_iter} steps")


def adjoint_by_iteration(vjp_z: Callable[[Array], Array], g, tol: float = 1e-12,
                         max_iter: int = 10_000) -> tuple[Array, int]:
    """The adjoint of a fixed point, by the iteration deep equilibrium models run backwards.

    For ``z* = T(z*, theta)`` with ``A = dT/dz`` at the fixed point, the gradient of a loss
    with ``g = dL/dz*`` is ``dL/dtheta = (dT/dtheta)^T u``, where u solves ``u = A^T u + g``.
    This iterates exactly that equation, ``u <- A^T u + g`` from ``u = g``, which needs only
    vector-Jacobian products ``v -> A^T v`` (never A itself) and converges at the rate of the
    contraction when ``||A|| < 1``: the backward pass is a second fixed-point problem, as cheap
    in memory as the forward one.

    Args:
        vjp_z: ``vjp_z(v)`` returns ``A^T v`` (a VJP of T in z at the fixed point).
        g: the gradient of the loss with respect to z*, (n,).
        tol, max_iter: stopping rule, as for :func:`fixed_point`.

    Returns:
        ``(u, number of iterations)``; apply the VJP of T in theta to u to finish the gradient.

    Raises:
        RuntimeError: if the iteration has not converged after max_iter steps (A is not a
            contraction, or too close to one).
    """
    g = np.asarray(g, dtype=np.float64).reshape(-1)
    return fixed_point(lambda u: np.asarray(vjp_z(u), dtype=np.float64) + g, g, tol=tol, max_iter=max_iter)


def unrolled_fixed_point_gradient(T, jac_z, jac_theta, z0, theta, iterations: int, grad_loss) -> tuple[Array, Array]:
    """Gradient through ``K`` unrolled iterations ``z_{k+1} = T(z_k, theta)``, by backpropagation.

    Reverse mode stores the K iterates, then walks back:
    ``u_K = grad_loss(z_K)``, ``u_k = A_k^T u_{k+1}`` and ``dL/dtheta = sum_k B_k^T u_{k+1}``,
    where ``A_k, B_k`` are the partial Jacobians at ``(z_k, theta)``. Cost and memory grow
    linearly with K, and the result is the gradient of the truncated map, not of z*.

    Args:
        T, jac_z, jac_theta: ``T(z, theta)`` and its partial Jacobians (functions of z, theta).
        z0: starting point; it does not depend on theta.
        theta: parameters, (p,).
        iterations: K >= 0.
        grad_loss: function returning dL/dz at z_K.

    Returns:
        ``(z_K, dL/dtheta)``.
    """
    if iterations < 0:
        raise ValueError(f"the number of unrolled iterations must be >= 0, got {iterations}")
    theta = np.asarray(theta, dtype=np.float64)
    tape = [np.array(z0, dtype=np.float64)]
    for _ in range(iterations):
        tape.append(np.asarray(T(tape[-1], theta), dtype=np.float64))
    u = np.asarray(grad_loss(tape[-1]), dtype=np.float64)
    grad_theta = np.zeros(theta.size)
    for z in reversed(tape[:-1]):
        grad_theta += _as_matrix(jac_theta(z, theta), "jac_theta").T @ u
        u = _as_matrix(jac_z(z, theta), "jac_z").T @ u
    return tape[-1], grad_theta


class TanhEquilibriumLayer:
    """A tiny deep-equilibrium layer ``T(z, theta) = tanh(W z + theta)``.

    Its output is the fixed point ``z* = T(z*, theta)``. With ``||W||_2 < 1`` the map is a
    contraction (tanh is 1-Lipschitz), so the fixed point exists, is unique and is found by
    plain iteration.
    """

    def __init__(self, W):
        self.W = np.asarray(W, dtype=np.float64)

    def T(self, z, theta) -> Array:
        return np.tanh(self.W @ z + theta)

    def jac_z(self, z, theta) -> Array:
        return (1.0 - self.T(z, theta) ** 2)[:, None] * self.W

    def jac_theta(self, z, theta) -> Array:
        return np.diag(1.0 - self.T(z, theta) ** 2)

    def vjp_z(self, z, theta, u) -> Array:
        """``(dT/dz)^T u = W^T (s * u)`` with ``s = 1 - T^2``, without forming the Jacobian."""
        return self.W.T @ ((1.0 - self.T(z, theta) ** 2) * u)

    def vjp_theta(self, z, theta, u) -> Array:
        """``(dT/dtheta)^T u = s * u``."""
        return (1.0 - self.T(z, theta) ** 2) * u

    def solve(self, theta, tol: float = 1e-13) -> tuple[Array, int]:
        """The equilibrium z*(theta) and the number of iterations it took."""
        return fixed_point(lambda z: self.T(z, theta), np.zeros(self.W.shape[0]), tol=tol)


__all__ = [
    "ridge_solution",
    "ridge_solution_grad",
    "fixed_point",
    "adjoint_by_iteration",
    "unrolled_fixed_point_gradient",
    "TanhEquilibriumLayer",
]
