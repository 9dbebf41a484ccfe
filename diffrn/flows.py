"""Change of variables for densities: affine coupling layers and stable log-determinants.

A normalizing flow is an invertible map ``f`` from data space to a latent space where the
density is simple. The change-of-variables formula gives the data density

    log p_X(x) = log p_Z(f(x)) + log |det J_f(x)|,

so a flow is useful only if both ``f^{-1}`` and ``log |det J_f|`` are cheap. The affine
coupling layer of RealNVP achieves both: its Jacobian is triangular.

Conventions: a point is a 1-D array of even length D, or a batch of points is a 2-D array of
shape (N, D) (one point per row). The first half ``x1 = x[..., :D//2]`` passes through
unchanged and conditions the transformation of the second half ``x2 = x[..., D//2:]``.
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
        raise ValueError(f"an affine coupling layer needs an even dimension D, got D = {dim}; pad x with a zero coordinate")
    half = dim // 2
    return x[..., :half], x[..., half:]


class AffineCoupling:
    """The RealNVP affine coupling layer ``y = (x1, x2 * exp(s(x1)) + t(x1))``.

    Because ``y1 = x1`` and ``y2`` depends on ``x2`` only through an elementwise scaling, the
    Jacobian is block lower-triangular with diagonal ``(1, ..., 1, exp(s(x1)))``: its
    log-determinant is ``sum(s(x1))``, whatever the networks ``s`` and ``t`` are. They are
    never inverted or differentiated, which is why they may be arbitrary functions.

    Args:
        scale: ``s``, maps x1 of shape (..., D/2) to log-scales of the same shape.
        shift: ``t``, maps x1 of shape (..., D/2) to shifts of the same shape.
    """

    def __init__(self, scale: Callable[[Array], Array], shift: Callable[[Array], Array]):
        self.scale = scale
        self.shift = shift

    def _conditioners(self, x1: Array) -> tuple[Array, Array]:
        s = np.asarray(self.scale(x1), dtype=np.float64)
        t = np.asarray(self.shift(x1), dtype=np.float64)
        if s.shape != x1.shape or t.shape != x1.shape:
            raise ValueError(
                f"scale and shift must return arrays shaped like x1 {x1.shape}; got {s.shape} and {t.shape}"
            )
        return s, t

    def forward(self, x) -> tuple[Array, Array | float]:
        """Apply the layer.

        Args:
            x: a point (D,) or a batch (N, D), D even.

        Returns:
            ``(y, log_det)``: y has the shape of x; log_det is ``log |det J(x)|``, a float
            for one point or an (N,) array for a batch.
        """
        x1, x2 = _split(x)
        s, t = self._conditioners(x1)
        y = np.concatenate([x1, x2 * np.exp(s) + t], axis=-1)
        log_det = s.sum(axis=-1)
        return y, (float(log_det) if np.ndim(log_det) == 0 else log_det)

    def inverse(self, y) -> Array:
        """Undo :meth:`forward`: ``x2 = (y2 - t(y1)) * exp(-s(y1))`` since ``y1 = x1``."""
        y1, y2 = _split(y)
        s, t = self._conditioners(y1)
        return np.concatenate([y1, (y2 - t) * np.exp(-s)], axis=-1)

    def log_det(self, x) -> Array | float:
        """``log |det J(x)|`` alone (the sum of the log-scales)."""
        return self.forward(x)[1]

    def __call__(self, x):
        return self.forward(x)


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
            (for example :meth:`AffineCoupling.forward` or :func:`compose`).
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
    """Exchange the two halves of x so that the next coupling transforms the other half."""
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
    "AffineCoupling",
    "standard_normal_log_density",
    "flow_log_density",
    "compose",
    "swap_halves",
    "log_abs_det",
    "lu_log_abs_det",
    "cholesky_log_det",
]
