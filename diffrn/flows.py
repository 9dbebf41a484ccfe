"""Change of variables for densities: log-densities of flows and stable log-determinants.

A normalizing flow is an invertible map ``f`` from data space to a latent space where the
density is simple. The change-of-variables formula gives the data density

    log p_X(x) = log p_Z(f(x)) + log |det J_f(x)|,

so a flow is useful only if both ``f^{-1}`` and ``log |det J_f|`` are cheap. This module holds
the pieces around the layers: the latent density, the formula itself, composition of layers
(log-determinants add), and log-determinants of general matrices computed without overflow
(LU and Cholesky). The layers themselves (coupling layers, planar flows) are derived in
Chapter 5 and written in the problem set.

Conventions: a point is a 1-D array of length D, or a batch of points is a 2-D array of
shape (N, D) (one point per row). A layer is a callable ``layer(x) -> (y, log_det)``.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

Array = np.ndarray


def _split(x: Array) -> tuple[Array, Array]:
    """Both halves of ``x`` along its last axis (D must be even)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim not in (1, 2):
        raise ValueError(f"expected a point (D,) or a batch (N, D), got an array of shape {x.shape}")
    dim = x.shape[-1]
    if dim == 0 or dim % 2:
        raise ValueError(f"splitting into halves needs an even dimension D, got D = {dim}")
    half = dim // 2
    return x[..., :half], x[..., half:]


def standard_normal_log_density(z) -> Array | float:
    """Log-density of the standard normal N(0, I_D) at a point (D,) or at each row of (N, D).

    Returns:
        ``-||z||^2 / 2 - (D/2) log(2 pi)``: a float for one point, an (N,) array for a batch.
    """
    z = np.asarray(z, dtype=np.float64)
    dim = z.shape[-1]
    value = -0.5 * np.sum(z * z, axis=-1) - 0.5 * dim * np.log(2 * np.pi)
    return float(value) if np.ndim(value) == 0 else value


def flow_log_density(x, forward: Callable, base_log_density: Callable = standard_normal_log_density):
    """Log-density of the data under a flow, by the change-of-variables formula.

    Args:
        x: a point (D,) or a batch (N, D).
        forward: the flow's data-to-latent map, returning ``(z, log|det J(x)|)``
            (one layer, or several joined by :func:`compose`).
        base_log_density: log-density of the latent distribution at z.

    Returns:
        ``base_log_density(z) + log|det J(x)|`` (float or (N,) array).
    """
    z, log_det = forward(x)
    return base_log_density(z) + log_det


def compose(*layers: Callable) -> Callable:
    """Forward map of several layers applied in order; log-determinants add (chain rule).

    Each layer is a callable returning ``(y, log_det)``. A plain permutation (such as
    :func:`swap_halves`) has ``|det| = 1`` and can be included as ``lambda x: (perm(x), 0.0)``.
    """

    def forward(x):
        total = 0.0
        for layer in layers:
            x, log_det = layer(x)
            total = total + log_det
        return x, total

    return forward


def swap_halves(x) -> Array:
    """Exchange the two halves of x (|det| = 1), so that the next coupling layer transforms the other half."""
    x1, x2 = _split(x)
    return np.concatenate([x2, x1], axis=-1)


def _square_matrix(matrix) -> Array:
    a = np.asarray(matrix, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"a determinant needs a square matrix, got shape {a.shape}")
    return a


def log_abs_det(jacobian) -> float:
    """``log |det J|`` without forming det J (which over- or underflows for large matrices).

    LAPACK factors ``J = P L U`` and the log-determinant is the sum of ``log |U_ii|``; the sum
    of logarithms stays representable where the product of the pivots does not.

    Args:
        jacobian: square (n, n) matrix.

    Returns:
        ``log |det J|``; ``-inf`` if J is exactly singular.
    """
    _, logabs = np.linalg.slogdet(_square_matrix(jacobian))
    return float(logabs)


def lu_log_abs_det(matrix) -> tuple[float, float]:
    """Sign and ``log |det A|`` from an LU factorization with partial pivoting, written out.

    This is what :func:`numpy.linalg.slogdet` does inside LAPACK; it is spelled out here to
    show where the sum of logarithms comes from. Each row swap flips the sign.

    Returns:
        ``(sign, log|det A|)`` with sign in {-1, 0, 1}; ``(0.0, -inf)`` if A is singular.
    """
    u = _square_matrix(matrix).copy()
    n = u.shape[0]
    sign, total = 1.0, 0.0
    for k in range(n):
        pivot_row = k + int(np.argmax(np.abs(u[k:, k])))
        if u[pivot_row, k] == 0.0:
            return 0.0, float("-inf")
        if pivot_row != k:
            u[[k, pivot_row]] = u[[pivot_row, k]]
            sign = -sign
        pivot = u[k, k]
        sign *= np.sign(pivot)
        total += np.log(abs(pivot))
        # Eliminate below the pivot: the multipliers would form L, whose diagonal is all ones.
        u[k + 1:, k:] -= np.outer(u[k + 1:, k] / pivot, u[k, k:])
    return float(sign), float(total)


def cholesky_log_det(spd_matrix) -> float:
    """``log det A`` for a symmetric positive definite A, from ``A = L L^T``: ``2 sum log L_ii``.

    About twice as fast as LU, and used for the covariance matrices of Gaussians.

    Raises:
        ValueError: if A is not symmetric positive definite.
    """
    a = _square_matrix(spd_matrix)
    if not np.allclose(a, a.T):
        raise ValueError("cholesky_log_det needs a symmetric matrix; use log_abs_det for a general one")
    try:
        lower = np.linalg.cholesky(a)
    except np.linalg.LinAlgError as error:
        raise ValueError("the matrix is not positive definite; use log_abs_det instead") from error
    return float(2.0 * np.sum(np.log(np.diag(lower))))


__all__ = [
    "standard_normal_log_density",
    "flow_log_density",
    "compose",
    "swap_halves",
    "log_abs_det",
    "lu_log_abs_det",
    "cholesky_log_det",
]
