"""Derivatives of functions defined implicitly: by an equation, an optimum or a fixed point.

Every function here obtains a derivative from one linear solve with a Jacobian of the
defining equation, never by differentiating through the iterations that found the solution,
and never by forming a matrix inverse.
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


def implicit_jacobian(F_x, F_y) -> Array:
    """``dy/dx`` for y defined by ``F(x, y) = 0``: ``-(dF/dy)^{-1} dF/dx``, by a linear solve.

    Args:
        F_x: partial Jacobian dF/dx at the point, shape (m, n) (a scalar or an (m,) vector
            when x is a single number).
        F_y: partial Jacobian dF/dy at the point, shape (m, m) (a scalar when m = 1).

    Returns:
        (m, n) array: the Jacobian of the implicit function y(x).

    Raises:
        ValueError: if the shapes do not fit, or if F_y is singular (then the implicit
            function theorem does not apply: y need not be a function of x there).
    """
    fx = _as_matrix(F_x, "F_x")
    fy = _as_matrix(F_y, "F_y")
    if fy.shape[0] != fy.shape[1]:
        raise ValueError(f"F_y must be square (one equation per unknown y), got shape {fy.shape}")
    if fx.shape[0] != fy.shape[0]:
        raise ValueError(
            f"F_x has {fx.shape[0]} rows but F_y has {fy.shape[0]}: both must have one row per equation"
        )
    return -_solve(fy, fx, "dF/dy")


def circle_slope(x: float, y: float) -> float:
    """Slope dy/dx of the circle ``x^2 + y^2 = r^2`` at a point on it: ``-x / y``.

    Raises:
        ValueError: at ``y = 0``, where the tangent is vertical and y is not a function of x.
    """
    if y == 0:
        raise ValueError("dF/dy = 2y vanishes at y = 0: the tangent is vertical, solve for x(y) instead")
    return float(implicit_jacobian(2.0 * x, 2.0 * y)[0, 0])


def inverse_jacobian(jac_f: Callable[[Array], Array], x) -> Array:
    """Jacobian of the local inverse of f at ``f(x)``: ``J_f(x)^{-1}`` (inverse function theorem).

    Args:
        jac_f: function returning the square Jacobian J_f at a point.
        x: the point.

    Raises:
        ValueError: if J_f(x) is singular (f is not locally invertible there).
    """
    jac = _as_matrix(jac_f(np.asarray(x, dtype=np.float64)), "J_f(x)")
    if jac.shape[0] != jac.shape[1]:
        raise ValueError(f"only a map R^n -> R^n can be inverted; its Jacobian has shape {jac.shape}")
    # A matrix is wanted here, so solve against the identity (one LU, n back-substitutions).
    return _solve(jac, np.eye(jac.shape[0]), "J_f(x)")


def newton_solve(F: Callable[[Array], Array], jac: Callable[[Array], Array], y0, tol: float = 1e-12, max_iter: int = 50) -> Array:
    """Solve ``F(y) = 0`` for y by Newton's method from ``y0``.

    Raises:
        RuntimeError: if ``||F(y)||`` is not below tol after max_iter steps.
    """
    y = np.array(y0, dtype=np.float64).reshape(-1)
    for _ in range(max_iter):
        residual = np.atleast_1d(F(y))
        if np.linalg.norm(residual) < tol:
            return y
        y = y - _solve(_as_matrix(jac(y), "jacobian"), residual, "the Jacobian of F")
    raise RuntimeError(f"Newton did not converge in {max_iter} steps; start closer to a solution")


# --- differentiating through an optimizer: ridge regression --------------------------------


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
    return implicit_jacobian(theta, system)[:, 0]


def ridge_validation_hypergradient(X_train, y_train, X_val, y_val, lam: float) -> tuple[float, float]:
    """Validation loss of ridge and its derivative with respect to ``log lam`` (bilevel problem).

    Outer loss ``L(lam) = ||X_val theta*(lam) - y_val||^2 / (2 N_val)``; by the chain rule
    ``dL/dlog(lam) = lam * grad_theta L . d theta*/d lam``.

    Returns:
        ``(L, dL/dlog lam)``.
    """
    X_val = np.asarray(X_val, dtype=np.float64)
    y_val = np.asarray(y_val, dtype=np.float64).reshape(-1)
    theta = ridge_solution(X_train, y_train, lam)
    residual = X_val @ theta - y_val
    loss = 0.5 * float(residual @ residual) / y_val.size
    grad_theta = X_val.T @ residual / y_val.size
    return loss, float(lam * grad_theta @ ridge_solution_grad(X_train, y_train, lam))


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


def fixed_point_vjp(jac_z, jac_theta, grad_z, method: str = "solve", tol: float = 1e-12, max_iter: int = 10_000) -> Array:
    """Gradient of a loss through a fixed point ``z* = T(z*, theta)``, by the implicit function theorem.

    With ``A = dT/dz`` and ``B = dT/dtheta`` at ``(z*, theta)``, ``dz*/dtheta = (I - A)^{-1} B``,
    so the vector-Jacobian product with the loss gradient ``g = dL/dz*`` is
    ``B^T u`` where ``(I - A)^T u = g``: one linear system with the transposed matrix, whatever
    the number of iterations that found z*.

    Args:
        jac_z: A, (n, n).
        jac_theta: B, (n, p).
        grad_z: g, (n,).
        method: ``"solve"`` (dense LU, O(n^3)) or ``"iterate"``: ``u <- A^T u + g``, which
            converges when T is a contraction and needs only products with ``A^T`` -- the
            vector-Jacobian products that deep-equilibrium libraries use for large n.
        tol, max_iter: stopping rule of ``"iterate"``.

    Returns:
        (p,) array ``dL/dtheta``.
    """
    a = _as_matrix(jac_z, "jac_z")
    b = _as_matrix(jac_theta, "jac_theta")
    g = np.asarray(grad_z, dtype=np.float64).reshape(-1)
    n = a.shape[0]
    if a.shape != (n, n) or b.shape[0] != n or g.size != n:
        raise ValueError(f"need jac_z (n, n), jac_theta (n, p), grad_z (n,); got {a.shape}, {b.shape}, {g.shape}")
    if method == "solve":
        u = _solve((np.eye(n) - a).T, g, "I - dT/dz")
    elif method == "iterate":
        u, _ = fixed_point(lambda v: a.T @ v + g, g, tol=tol, max_iter=max_iter)
    else:
        raise ValueError(f"method must be 'solve' or 'iterate', got {method!r}")
    return b.T @ u


def unrolled_fixed_point_vjp(T, jac_z, jac_theta, z0, theta, iterations: int, grad_loss) -> tuple[Array, Array]:
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

    def solve(self, theta, tol: float = 1e-13) -> tuple[Array, int]:
        """The equilibrium z*(theta) and the number of iterations it took."""
        return fixed_point(lambda z: self.T(z, theta), np.zeros(self.W.shape[0]), tol=tol)


__all__ = [
    "implicit_jacobian",
    "circle_slope",
    "inverse_jacobian",
    "newton_solve",
    "ridge_solution",
    "ridge_solution_grad",
    "ridge_validation_hypergradient",
    "fixed_point",
    "fixed_point_vjp",
    "unrolled_fixed_point_vjp",
    "TanhEquilibriumLayer",
]
