"""Checking derivatives: JVP, VJP and central differences must tell the same story.

    from diffrn.autodiff.testing import check_grads
    check_grads(lambda x: anp.tanh(A @ x), x, order=2)

Along a random input direction ``v`` and a random output cotangent ``u`` (shaped like ``x``
and ``f(x)``), three numbers that must agree are compared:

* the JVP ``J v`` against the central difference ``(f(x + h v) - f(x - h v)) / 2h``;
* ``<u, J v>`` against ``<J^T u, v>`` (the VJP): the adjoint identity, which ties reverse mode
  to forward mode without any step size;
* ``<J^T u, v>`` against ``<u, difference>``.

With ``order=2`` the same checks run on the maps ``x -> J^T u`` and ``x -> J v``, which tests
the rules' own derivatives (what Hessians and forward-over-reverse rely on).
"""
from __future__ import annotations

import numpy as np

from diffrn.autodiff.operators import jvp, vjp


def check_grads(f, x, order=1, rng=None, h=1e-6, rtol=1e-5, atol=1e-7):
    """Assert that the forward- and reverse-mode derivatives of ``f`` at ``x`` are right.

    Args:
        f: function of one float array returning an array (or a scalar).
        x: the point; keep it away from kinks (relu, abs, max) so differences are meaningful.
        order: 1 checks first derivatives; 2 also checks the derivatives of the JVP and VJP.
        rng: numpy Generator for the random directions (a fixed seed by default).
        h: step of the central differences.
        rtol, atol: tolerances of the comparisons.

    Raises:
        AssertionError naming the comparison that failed and the two numbers.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    x = np.asarray(x, dtype=np.float64)
    v = rng.standard_normal(x.shape)
    value, tangent = jvp(f, x, v)
    u = rng.standard_normal(np.shape(value))
    _, vjp_fn = vjp(f, x)
    pulled_back = vjp_fn(u)
    difference = (np.asarray(f(x + h * v)) - np.asarray(f(x - h * v))) / (2 * h)

    _assert_close(tangent, difference, "JVP vs central differences", rtol, atol)
    _assert_close(np.vdot(u, tangent), np.vdot(pulled_back, v), "adjoint identity <u, Jv> = <J^T u, v>", rtol, atol)
    _assert_close(np.vdot(pulled_back, v), np.vdot(u, difference), "VJP vs central differences", rtol, atol)
    if order > 1:
        check_grads(lambda y: vjp(f, y)[1](u), x, order - 1, rng, h, rtol, atol)
        check_grads(lambda y: jvp(f, y, v)[1], x, order - 1, rng, h, rtol, atol)


def _assert_close(actual, expected, what, rtol, atol):
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}: shapes differ, {actual.shape} vs {expected.shape}")
    scale = atol + rtol * max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    error = float(np.max(np.abs(actual - expected), initial=0.0))
    if not error <= scale:
        raise AssertionError(f"{what}: max difference {error:.3g} exceeds {scale:.3g}\n  got      {actual}\n  expected {expected}")
