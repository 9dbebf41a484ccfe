"""Second derivatives: Hessians, Hessian-vector products, critical points and Newton's method.

Chapter 4 of the course. Two ways to get curvature sit side by side:

* ``method="autodiff"``: forward-over-reverse with the course engine (:mod:`diffrn.autodiff`).
  The function must be written with ``diffrn.autodiff.numpy`` (``anp``) so the engine can
  trace it.
* ``method="fd"``: finite differences (:mod:`diffrn.numerical`), which treat the function as
  a black box and are the numerical ground truth.

Neither Hessian-vector product forms the n x n Hessian: both cost a few gradient evaluations,
so they work for n in the hundreds of thousands where the matrix itself would not fit in memory.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from diffrn.numerical import gradient_fd, hessian_fd

Array = np.ndarray
METHODS = ("autodiff", "fd")
CLASSES = ("minimum", "maximum", "saddle", "degenerate")


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def _engine():
    """The autodiff engine of Chapter 3, imported only when an autodiff path is used."""
    try:
        import diffrn.autodiff as engine
    except ImportError as error:  # the engine is a separate part of the package
        raise ImportError(
            "method='autodiff' needs the course's autodiff engine (diffrn.autodiff), which could "
            "not be imported; use method='fd' instead"
        ) from error
    return engine


def _as_point(x) -> Array:
    return np.array(x, dtype=np.float64).reshape(-1)


def hvp(f_or_grad: Callable, x, v, method: str = "autodiff", *, is_gradient: bool = False,
        eps: float | None = None) -> Array:
    """Hessian-vector product H(x) v of a scalar function, without forming H.

    H v is the directional derivative of the gradient along v, so it can be had for the
    price of a few gradients:

    * ``"autodiff"``: forward mode over reverse mode, ``jvp(grad(f), x, v)``; exact up to
      rounding, about the cost of a few gradients.
    * ``"fd"``: central difference of gradients, (grad f(x + e v) - grad f(x - e v)) / 2e,
      with e scaled to the sizes of x and v; error O(e^2).

    Args:
        f_or_grad: the scalar function f (default), or its gradient if ``is_gradient``.
            With ``"autodiff"`` it must be written with ``diffrn.autodiff.numpy``.
        x: point of R^n.
        v: direction in R^n (same length as x; need not be a unit vector).
        method: ``"autodiff"`` or ``"fd"``.
        is_gradient: True if ``f_or_grad`` is the gradient of f (a map R^n -> R^n). With
            ``"fd"`` and a plain f the gradients are themselves finite differences, which cost
            2n evaluations of f each: pass the gradient for large n.
        eps: relative step of ``"fd"``; default 1e-5 for an exact gradient, 1e-4 when the
            gradient is itself a finite difference.

    Returns:
        H(x) v as a 1-D float64 array of length n.
    """
    _check_method(method)
    x = _as_point(x)
    v = _as_point(v)
    if v.shape != x.shape:
        raise ValueError(f"v has {v.size} entries but x has {x.size}: give a direction of the same length as x")
    if method == "autodiff":
        engine = _engine()
        gradient = f_or_grad if is_gradient else engine.grad(f_or_grad)
        _, tangent = engine.jvp(gradient, x, v)  # forward mode over reverse mode
        return np.asarray(tangent, dtype=np.float64).reshape(-1)
    if is_gradient:
        gradient, eps = f_or_grad, 1e-5 if eps is None else eps
    else:
        gradient, eps = (lambda point: gradient_fd(f_or_grad, point, h=1e-4)), 1e-4 if eps is None else eps
    v_size = np.max(np.abs(v)) if v.size else 0.0
    if v_size == 0.0:
        return np.zeros_like(x)
    # The step along v moves every coordinate by at most eps * (1 + |x|_max).
    step = eps * (1.0 + np.max(np.abs(x))) / v_size
    forward = np.asarray(gradient(x + step * v), dtype=np.float64).reshape(-1)
    backward = np.asarray(gradient(x - step * v), dtype=np.float64).reshape(-1)
    return (forward - backward) / (2.0 * step)


def hessian(f: Callable, x, method: str = "autodiff") -> Array:
    """Hessian matrix of a scalar function f at x.

    ``"autodiff"`` builds it one column at a time, column j being the Hessian-vector
    product H e_j (forward over reverse), so n products for an n x n matrix.
    ``"fd"`` is :func:`diffrn.numerical.hessian_fd` (differences of differences, symmetrized).

    Args:
        f: scalar function of a 1-D array (written with ``diffrn.autodiff.numpy`` for
            ``"autodiff"``).
        x: point of R^n.
        method: ``"autodiff"`` or ``"fd"``.

    Returns:
        (n, n) float64 array.
    """
    _check_method(method)
    x = _as_point(x)
    if method == "fd":
        return hessian_fd(f, x)
    gradient = _engine().grad(f)  # traced once, reused for every column
    basis = np.eye(x.size)
    columns = [hvp(gradient, x, basis[j], method="autodiff", is_gradient=True) for j in range(x.size)]
    return np.stack(columns, axis=1)


def classify_critical_point(hessian_matrix, tol: float = 1e-8) -> str:
    """Classify a critical point (a point where the gradient vanishes) by its Hessian.

    Only the symmetric part (H + H^T)/2 enters the quadratic form h^T H h, so that is the part
    whose eigenvalues are used. An eigenvalue with |lambda| <= tol counts as zero.

    Args:
        hessian_matrix: (n, n) Hessian at the critical point.
        tol: absolute tolerance below which an eigenvalue is treated as zero. Finite-difference
            Hessians carry errors of about 1e-6: use a tolerance above that for them.

    Returns:
        ``"minimum"`` (all eigenvalues positive), ``"maximum"`` (all negative), ``"saddle"``
        (at least one of each sign) or ``"degenerate"`` (otherwise: some are zero and the
        others share a sign, so second derivatives cannot decide).
    """
    matrix = np.asarray(hessian_matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise ValueError(f"a Hessian is a non-empty square matrix; got shape {matrix.shape}")
    if tol < 0:
        raise ValueError(f"tol must be non-negative, got {tol}")
    eigenvalues = np.linalg.eigvalsh((matrix + matrix.T) / 2)
    positive = np.any(eigenvalues > tol)
    negative = np.any(eigenvalues < -tol)
    if positive and negative:
        return "saddle"
    if np.any(np.abs(eigenvalues) <= tol):
        return "degenerate"
    return "minimum" if positive else "maximum"


def newton_step(grad_f: Callable, hess_f: Callable, x) -> Array:
    """One Newton step: the minimizer (stationary point) of the local quadratic model.

    The model f(x) + g^T p + p^T H p / 2 is stationary where H p = -g. That linear system is
    solved by an LU factorization (``np.linalg.solve``), never by forming H^{-1}: solving costs
    a third of inverting and is more accurate.

    Args:
        grad_f: gradient of f, R^n -> R^n.
        hess_f: Hessian of f, R^n -> (n, n).
        x: current point.

    Returns:
        The next point x + p.
    """
    x = _as_point(x)
    gradient = np.asarray(grad_f(x), dtype=np.float64).reshape(-1)
    hess = np.asarray(hess_f(x), dtype=np.float64)
    if hess.shape != (x.size, x.size):
        raise ValueError(f"hess_f returned shape {hess.shape}; expected ({x.size}, {x.size})")
    try:
        step = np.linalg.solve(hess, -gradient)
    except np.linalg.LinAlgError as error:
        raise ValueError(
            f"the Hessian is singular at x = {x}: the quadratic model has no unique stationary "
            "point; start elsewhere or add a multiple of the identity to the Hessian"
        ) from error
    return x + step


def _iterate(update: Callable[[Array], Array], grad_f: Callable, x0, steps: int, tol: float) -> Array:
    if steps < 0:
        raise ValueError(f"steps must be non-negative, got {steps}")
    x = _as_point(x0)
    iterates = [x]
    for _ in range(steps):
        if np.linalg.norm(grad_f(x)) <= tol:
            break
        x = update(x)
        iterates.append(x)
        if not np.all(np.isfinite(x)):  # diverged: return what happened, including the overflow
            break
    return np.array(iterates)


def newton(grad_f: Callable, hess_f: Callable, x0, steps: int = 20, tol: float = 0.0) -> Array:
    """Pure Newton's method (full steps, no line search) from x0.

    Args:
        grad_f: gradient of f.
        hess_f: Hessian of f.
        x0: starting point.
        steps: at most this many steps.
        tol: stop early once the gradient norm is at most ``tol``.

    Returns:
        (k + 1, n) array of iterates x0, x1, ..., xk.
    """
    return _iterate(lambda x: newton_step(grad_f, hess_f, x), grad_f, x0, steps, tol)


def gradient_descent(grad_f: Callable, x0, learning_rate: float, steps: int = 100, tol: float = 0.0,
                     metric=None) -> Array:
    """Gradient descent with a fixed learning rate, optionally in another metric.

    The steepest-descent direction depends on how lengths are measured. In the metric
    |d|_M^2 = d^T M d it is -M^{-1} grad f, so ``metric`` turns plain gradient descent into
    preconditioned gradient descent (M = Hessian gives Newton's direction).

    Args:
        grad_f: gradient of f.
        x0: starting point.
        learning_rate: step size eta in x <- x - eta M^{-1} grad f(x).
        steps: at most this many steps.
        tol: stop early once the gradient norm is at most ``tol``.
        metric: None (Euclidean), a 1-D array of positive weights (a diagonal metric), or a
            symmetric positive definite (n, n) matrix M.

    Returns:
        (k + 1, n) array of iterates.
    """
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    if metric is None:
        direction = lambda g: g  # noqa: E731
    else:
        metric = np.asarray(metric, dtype=np.float64)
        if metric.ndim == 1:
            if np.any(metric <= 0):
                raise ValueError("a diagonal metric needs positive weights")
            direction = lambda g: g / metric  # noqa: E731
        else:
            direction = lambda g: np.linalg.solve(metric, g)  # noqa: E731

    def update(x):
        return x - learning_rate * direction(np.asarray(grad_f(x), dtype=np.float64).reshape(-1))

    return _iterate(update, grad_f, x0, steps, tol)


__all__ = ["hessian", "hvp", "classify_critical_point", "newton_step", "newton", "gradient_descent"]
