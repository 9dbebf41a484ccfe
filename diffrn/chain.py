"""The chain rule in matrix form, and the gradients of Chapter 2 that follow from it.

Conventions (the course's, "numerator layout"): the Jacobian of a map R^n -> R^m is an
(m, n) array whose row i is the gradient of output i; the gradient of a scalar function of
x in R^n is a 1-D array of length n (the transpose of its 1 x n Jacobian); the gradient with
respect to a matrix W has the shape of W.

Every function here copies what it reads and never writes into its arguments.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from diffrn.numerical import as_vector

Array = np.ndarray


def _as_matrix(value, name: str) -> Array:
    """``value`` as a 2-D float64 array, or a ValueError that says how to return one."""
    matrix = np.array(value, dtype=np.float64)
    if matrix.ndim <= 1 and matrix.size == 1:  # a scalar map of a scalar: its Jacobian is 1 x 1
        matrix = matrix.reshape(1, 1)
    if matrix.ndim != 2:
        raise ValueError(
            f"{name} returned an array of shape {matrix.shape}; a Jacobian must be a 2-D "
            "(outputs, inputs) array. For a scalar function return one row, e.g. "
            "np.array([[df_dx1, df_dx2]]); for a curve t -> R^m return one column, shape (m, 1)."
        )
    return matrix


def chain_jacobian(
    f: Callable[[Array], Array],
    jac_f: Callable[[Array], Array],
    jac_g: Callable[[Array], Array],
    x,
) -> Array:
    """Jacobian of ``g o f`` at ``x`` by the chain rule: ``jac_g(f(x)) @ jac_f(x)``.

    The outer Jacobian is evaluated at the inner *value* f(x), not at x, and stands on the
    left because f acts first. The shapes are checked before multiplying, so that a
    Jacobian passed in the wrong slot or evaluated at the wrong point fails loudly.

    Args:
        f: inner map R^n -> R^k (its value at x is where ``jac_g`` is evaluated).
        jac_f: Jacobian of f, a function returning a (k, n) array.
        jac_g: Jacobian of the outer map g: R^k -> R^m, a function returning an (m, k) array.
        x: point of R^n (array-like; copied, never modified).

    Returns:
        (m, n) float64 array, the Jacobian of g o f at x.

    Raises:
        ValueError: if a Jacobian is not 2-D, or if the inner and outer dimensions disagree.
    """
    x = np.array(x, dtype=np.float64).reshape(-1)
    inner_value = as_vector(f(x.copy()))
    inner = _as_matrix(jac_f(x.copy()), "jac_f")
    outer = _as_matrix(jac_g(inner_value.copy()), "jac_g")
    if inner.shape != (inner_value.size, x.size):
        raise ValueError(
            f"jac_f(x) has shape {inner.shape}, but f maps R^{x.size} to R^{inner_value.size}, "
            f"so its Jacobian must be ({inner_value.size}, {x.size}): one row per output of f, "
            "one column per coordinate of x."
        )
    if outer.shape[1] != inner.shape[0]:
        raise ValueError(
            f"dimension mismatch in the chain rule: the outer Jacobian jac_g(f(x)) has shape "
            f"{outer.shape} and takes {outer.shape[1]} inputs, but the inner map f returns "
            f"{inner.shape[0]} values (jac_f(x) has shape {inner.shape}). The outer map must "
            "accept exactly what the inner map produces: check that jac_g is the Jacobian of "
            "the map applied second and that the two were not swapped."
        )
    return outer @ inner


def gradient_through(jac_inner, grad_outer) -> Array:
    """Gradient of a scalar ``L o g`` at x from ``J_g(x)`` and ``grad L(g(x))``: ``J_g^T grad L``.

    This is a vector-Jacobian product: the gradient of the outer function is pulled back
    through the inner map without ever forming a product of two Jacobians.

    Args:
        jac_inner: (m, n) Jacobian of the inner map g at x.
        grad_outer: gradient of the scalar outer function L at g(x), length m.

    Returns:
        1-D array of length n, the gradient of L o g at x.
    """
    jac = _as_matrix(jac_inner, "jac_inner")
    grad = as_vector(grad_outer)
    if grad.size != jac.shape[0]:
        raise ValueError(
            f"the outer gradient has {grad.size} entries but the inner map has {jac.shape[0]} "
            f"outputs (its Jacobian has shape {jac.shape}); evaluate the outer gradient at g(x)."
        )
    return jac.T @ grad


def least_squares_loss(phi, y, theta) -> float:
    """``||y - Phi theta||^2``, the squared error of the linear model Phi theta."""
    residual = np.asarray(y, dtype=np.float64) - np.asarray(phi, dtype=np.float64) @ np.asarray(theta, dtype=np.float64)
    return float(residual @ residual)


def least_squares_grad(phi, y, theta) -> Array:
    """Gradient of ``||y - Phi theta||^2`` with respect to theta: ``-2 Phi^T (y - Phi theta)``.

    Chain rule with e(theta) = y - Phi theta (Jacobian -Phi, N x D) and L(e) = e.e (Jacobian
    2 e^T, 1 x N): the 1 x D Jacobian -2 e^T Phi, transposed into a gradient.

    Args:
        phi: (N, D) feature matrix.
        y: N observations.
        theta: D parameters.

    Returns:
        1-D array of length D.
    """
    phi = np.array(phi, dtype=np.float64)
    y = np.array(y, dtype=np.float64).reshape(-1)
    theta = np.array(theta, dtype=np.float64).reshape(-1)
    if phi.ndim != 2 or phi.shape != (y.size, theta.size):
        raise ValueError(
            f"Phi has shape {phi.shape}, but y has {y.size} entries and theta {theta.size}: "
            "Phi must be (len(y), len(theta)), one row per observation."
        )
    residual = y - phi @ theta
    return -2.0 * phi.T @ residual


def linear_layer_loss(weight, x, y) -> float:
    """``1/2 ||W x - y||^2``, the squared error of a linear layer with weight W."""
    residual = np.asarray(weight, dtype=np.float64) @ np.asarray(x, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    return float(0.5 * residual @ residual)


def linear_layer_weight_grad(weight, x, y) -> Array:
    """Gradient of ``1/2 ||W x - y||^2`` with respect to W: the outer product ``(W x - y) x^T``.

    Under the trace inner product <A, B> = tr(A^T B), the change of the loss along a
    direction dW is (W x - y) . (dW x) = <(W x - y) x^T, dW>, which identifies the gradient.

    Args:
        weight: (m, n) matrix W.
        x: input, length n.
        y: target, length m.

    Returns:
        (m, n) array, the same shape as W.
    """
    weight = np.array(weight, dtype=np.float64)
    x = np.array(x, dtype=np.float64).reshape(-1)
    y = np.array(y, dtype=np.float64).reshape(-1)
    if weight.ndim != 2 or weight.shape != (y.size, x.size):
        raise ValueError(
            f"W has shape {weight.shape}, but x has {x.size} entries and y {y.size}: "
            "W must be (len(y), len(x)) so that W x is comparable with y."
        )
    residual = weight @ x - y
    return np.outer(residual, x)


__all__ = [
    "chain_jacobian",
    "gradient_through",
    "least_squares_loss",
    "least_squares_grad",
    "linear_layer_loss",
    "linear_layer_weight_grad",
]
