"""Chapter 7: differentials of functions of matrices, and the bookkeeping that goes with them.

A function of a matrix is differentiated the way any function is: find the linear map that
sends a small change ``dA`` to the first-order change of the value. This module computes those
linear maps (the *differentials*, i.e. forward-mode directional derivatives) for the building
blocks of the chapter, always by solving linear systems rather than forming an inverse::

    inverse_differential(A, dA)     -A^{-1} dA A^{-1}
    det_differential(A, dA)         det(A) tr(A^{-1} dA)
    logdet_differential(A, dA)      tr(A^{-1} dA)            (log|det A|)

and the tools that turn differentials into gradients and Jacobians: the trace inner product
:func:`trace_inner`, column-stacking :func:`vec` / :func:`unvec`, central differences along a
matrix direction (:func:`differential_fd`) and the Jacobian of a matrix-to-matrix map in vec
coordinates (:func:`matrix_jacobian_fd`, for small matrices only: it has ``n^2 x n^2`` entries).

Gradients and VJPs with respect to matrices are derived in the chapter; implementing them is
left to the problem sets.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

Array = np.ndarray


def _square(matrix, name: str = "A") -> Array:
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {matrix.shape}")
    return matrix


def _same_shape(direction, matrix, name: str = "dA") -> Array:
    direction = np.asarray(direction, dtype=np.float64)
    if direction.shape != matrix.shape:
        raise ValueError(f"the direction {name} must have the shape of the matrix, {matrix.shape}; got {direction.shape}")
    return direction


# ----- inner product and vec ---------------------------------------------------------------------

def trace_inner(A, B) -> float:
    """The trace (Frobenius) inner product ``<A, B> = tr(A^T B) = sum_ij A_ij B_ij``.

    Computed as the entrywise sum, which costs ``mn`` multiplies instead of the ``mn^2`` of
    forming ``A^T B``.

    Args:
        A, B: arrays of the same shape.

    Returns:
        the inner product, a float.
    """
    A, B = np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)
    if A.shape != B.shape:
        raise ValueError(f"the trace inner product needs two arrays of one shape, got {A.shape} and {B.shape}")
    return float(np.sum(A * B))


def vec(X) -> Array:
    """Stack the columns of ``X`` into one vector: ``vec(X) = X.flatten(order="F")``.

    Args:
        X: an (m, n) array.

    Returns:
        the (m n,) vector ``[X[:, 0]; X[:, 1]; ...]``.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"vec takes a matrix (2-D array), got an array of shape {X.shape}")
    return X.flatten(order="F")


def unvec(v, shape: tuple[int, int]) -> Array:
    """The inverse of :func:`vec`: refill the columns of an array of the given shape.

    Args:
        v: a vector with ``shape[0] * shape[1]`` entries.
        shape: ``(m, n)``, the shape of the matrix to rebuild.

    Returns:
        the (m, n) matrix ``X`` with ``vec(X) = v``.
    """
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    if v.size != shape[0] * shape[1]:
        raise ValueError(f"a vector of {v.size} entries cannot fill a matrix of shape {shape}")
    return v.reshape(shape, order="F")


# ----- differentials --------------------------------------------------------------------------------

def product_differential(A, B, dA, dB) -> Array:
    """Differential of the product ``(A, B) -> AB``: ``dA B + A dB`` (the order of the factors stays).

    Args:
        A, B: matrices with ``A @ B`` defined; dA, dB: directions shaped like them.

    Returns:
        the first-order change of ``A @ B``, shaped like it.
    """
    A, B = np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)
    return _same_shape(dA, A) @ B + A @ _same_shape(dB, B, "dB")


def inverse_differential(A, dA) -> Array:
    """Differential of ``A -> A^{-1}`` at ``A`` in the direction ``dA``: ``-A^{-1} dA A^{-1}``.

    Two solves with ``A`` (no inverse is formed): ``X = A^{-1} dA``, then ``X A^{-1}`` as the
    transpose of ``A^{-T} X^T``.

    Args:
        A: an invertible (n, n) matrix; dA: an (n, n) direction.

    Returns:
        the (n, n) first-order change of ``A^{-1}``.
    """
    A = _square(A)
    dA = _same_shape(dA, A)
    left = np.linalg.solve(A, dA)
    return -np.linalg.solve(A.T, left.T).T


def det_differential(A, dA) -> float:
    """Differential of ``det`` at ``A`` in the direction ``dA``: ``det(A) tr(A^{-1} dA)`` (Jacobi's formula).

    Args:
        A: an invertible (n, n) matrix; dA: an (n, n) direction.

    Returns:
        the first-order change of ``det A``, a float.
    """
    A = _square(A)
    return float(np.linalg.det(A) * np.trace(np.linalg.solve(A, _same_shape(dA, A))))


def logdet_differential(A, dA) -> float:
    """Differential of ``log|det A|`` at ``A`` in the direction ``dA``: ``tr(A^{-1} dA)``, by one solve.

    Unlike ``det`` itself this stays an ordinary number when ``det A`` over- or underflows.

    Args:
        A: an invertible (n, n) matrix; dA: an (n, n) direction.

    Returns:
        the first-order change of ``log|det A|``, a float.
    """
    A = _square(A)
    return float(np.trace(np.linalg.solve(A, _same_shape(dA, A))))


# ----- worked examples -------------------------------------------------------------------------------

def least_squares_loss(W, X, Y) -> float:
    """``||X W - Y||_F^2``, the squared error of the linear model ``X W`` on targets ``Y``.

    Args:
        W: (d, k) weights; X: (N, d) inputs, one per row; Y: (N, k) targets.
    """
    residual = np.asarray(X) @ np.asarray(W) - np.asarray(Y)
    return float(np.sum(residual * residual))


def least_squares_differential(W, X, Y, dW) -> float:
    """Differential of :func:`least_squares_loss` at ``W`` in the direction ``dW``:
    ``2 <X W - Y, X dW>``, the trace inner product of the residual with its change.

    Args:
        W: (d, k) weights; X: (N, d) inputs; Y: (N, k) targets; dW: (d, k) direction.

    Returns:
        the first-order change of the loss, a float.
    """
    X, W = np.asarray(X, dtype=np.float64), np.asarray(W, dtype=np.float64)
    return 2.0 * trace_inner(X @ W - np.asarray(Y), X @ _same_shape(dW, W, "dW"))


def gaussian_nll(x, mu, Sigma) -> float:
    """Negative log-density of ``N(mu, Sigma)`` at ``x``:
    ``1/2 r^T Sigma^{-1} r + 1/2 log det Sigma + n/2 log 2 pi`` with ``r = x - mu``.

    One Cholesky factorization ``Sigma = L L^T`` gives both the quadratic form
    (``||L^{-1} r||^2``) and the log-determinant (``2 sum log L_ii``).

    Args:
        x, mu: (n,) vectors; Sigma: an (n, n) symmetric positive definite matrix.
    """
    Sigma = _square(Sigma, "Sigma")
    r = np.asarray(x, dtype=np.float64) - np.asarray(mu, dtype=np.float64)
    try:
        L = np.linalg.cholesky(Sigma)
    except np.linalg.LinAlgError as error:
        raise ValueError("Sigma must be symmetric positive definite (its Cholesky factorization failed)") from error
    whitened = np.linalg.solve(L, r)
    n = r.size
    return float(0.5 * whitened @ whitened + np.sum(np.log(np.diag(L))) + 0.5 * n * np.log(2 * np.pi))


def gaussian_nll_differential(x, mu, Sigma, dmu, dSigma) -> float:
    """Differential of :func:`gaussian_nll` at ``(mu, Sigma)`` in the direction ``(dmu, dSigma)``:
    ``-r^T S^{-1} dmu + 1/2 tr(S^{-1} dSigma) - 1/2 r^T S^{-1} dSigma S^{-1} r`` (``S = Sigma``, ``r = x - mu``).

    ``dSigma`` is any (n, n) matrix: the entries of Sigma are treated as independent.

    Args:
        x, mu, dmu: (n,) vectors; Sigma: (n, n) symmetric positive definite; dSigma: (n, n).

    Returns:
        the first-order change of the negative log-likelihood, a float.
    """
    Sigma = _square(Sigma, "Sigma")
    dSigma = _same_shape(dSigma, Sigma, "dSigma")
    r = np.asarray(x, dtype=np.float64) - np.asarray(mu, dtype=np.float64)
    s = np.linalg.solve(Sigma, r)                      # Sigma^{-1} r, used by all three terms
    quadratic = -float(s @ np.asarray(dmu, dtype=np.float64)) - 0.5 * float(s @ dSigma @ s)
    return quadratic + 0.5 * float(np.trace(np.linalg.solve(Sigma, dSigma)))


# ----- numerical checks ------------------------------------------------------------------------------

def differential_fd(f: Callable[[Array], Array], A, dA, h: float = 1e-6):
    """Central difference ``(f(A + h dA) - f(A - h dA)) / 2h``: the differential of ``f`` at ``A``
    along ``dA``, up to ``O(h^2)``.

    Args:
        f: function of one array (scalar- or array-valued).
        A: the point, an array; dA: the direction, shaped like ``A``.
        h: step length.

    Returns:
        an array shaped like ``f(A)`` (a float for scalar ``f``).
    """
    A = np.asarray(A, dtype=np.float64)
    dA = _same_shape(dA, A)
    change = (np.asarray(f(A + h * dA), dtype=np.float64) - np.asarray(f(A - h * dA), dtype=np.float64)) / (2 * h)
    return float(change) if change.ndim == 0 else change


def relative_error(found, expected) -> float:
    """``||found - expected|| / max(||expected||, tiny)``: the size of a mismatch relative to the answer."""
    found, expected = np.asarray(found, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return float(np.linalg.norm(found - expected) / max(np.linalg.norm(expected), np.finfo(np.float64).tiny))


def matrix_jacobian_fd(f: Callable[[Array], Array], A, h: float = 1e-6) -> Array:
    """Jacobian of a map between matrices in vec coordinates, by central differences.

    Column ``k`` is ``vec`` of the differential along the ``k``-th unit matrix ``unvec(e_k)``, so
    ``J @ vec(dA) = vec(df)``. It needs ``2 n^2`` evaluations of ``f`` and holds
    ``size(f(A)) * size(A)`` numbers: a tool for small matrices.

    Args:
        f: function from (m, n) arrays to arrays (a matrix, or a scalar counted as 1 x 1).
        A: the (m, n) point.
        h: step length.

    Returns:
        the (size of f(A), m n) matrix.
    """
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2:
        raise ValueError(f"matrix_jacobian_fd differentiates functions of a matrix; got an array of shape {A.shape}")
    columns = []
    for k in range(A.size):
        direction = unvec(np.eye(A.size)[k], A.shape)
        change = np.atleast_2d(differential_fd(f, A, direction, h))
        columns.append(vec(change))
    return np.stack(columns, axis=1)
