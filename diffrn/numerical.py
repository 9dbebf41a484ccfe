"""Derivatives by finite differences: the course's numerical ground truth.

Every analytic or automatic derivative in the course is checked against these functions.
They treat ``f`` as a black box: ``f`` takes a 1-D float array of length n and returns a
1-D array of length m, or a scalar (then m = 1).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

Array = np.ndarray


def as_vector(value) -> Array:
    """``f``'s value as a 1-D float64 array (a scalar becomes a length-1 vector)."""
    return np.atleast_1d(np.asarray(value, dtype=np.float64)).reshape(-1)


def jacobian_fd(f: Callable[[Array], Array], x, h: float = 1e-6) -> Array:
    """Jacobian of ``f`` at ``x`` by central differences.

    Column j is (f(x + h e_j) - f(x - h e_j)) / 2h, whose error is O(h^2).

    Args:
        f: map from R^n to R^m (a scalar output counts as m = 1).
        x: point of R^n (anything array-like; it is copied, never modified).
        h: step. Around 1e-6 balances truncation error against rounding for smooth f of
            unit scale.

    Returns:
        (m, n) float64 array; row i is the gradient of output i.
    """
    x = np.array(x, dtype=np.float64).reshape(-1)
    columns = []
    for j in range(x.size):
        step = np.zeros_like(x)
        step[j] = h
        columns.append((as_vector(f(x + step)) - as_vector(f(x - step))) / (2 * h))
    return np.stack(columns, axis=1)


def gradient_fd(f: Callable[[Array], float], x, h: float = 1e-6) -> Array:
    """Gradient of a scalar ``f`` at ``x`` (a 1-D array, the transpose of the 1 x n Jacobian)."""
    jac = jacobian_fd(f, x, h)
    if jac.shape[0] != 1:
        raise ValueError(f"gradient_fd needs a scalar function; this one returns {jac.shape[0]} values")
    return jac[0]


def directional_derivative_fd(f: Callable[[Array], float], x, direction, h: float = 1e-6) -> float:
    """Rate of change of a scalar ``f`` at ``x`` along ``direction`` (not normalized)."""
    x = np.asarray(x, dtype=np.float64)
    u = np.asarray(direction, dtype=np.float64)
    return float((as_vector(f(x + h * u))[0] - as_vector(f(x - h * u))[0]) / (2 * h))


def hessian_fd(f: Callable[[Array], float], x, h: float = 1e-4) -> Array:
    """Hessian of a scalar ``f`` at ``x``: central differences of central-difference gradients.

    The result is symmetrized, since the exact Hessian of a C^2 function is symmetric and the
    two one-sided orders of differencing differ only by rounding.
    """
    x = np.array(x, dtype=np.float64).reshape(-1)
    hess = jacobian_fd(lambda point: gradient_fd(f, point, h), x, h)
    return (hess + hess.T) / 2
