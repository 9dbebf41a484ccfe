"""What you differentiate with: gradients, VJPs, JVPs, Jacobians, Hessian-vector products.

    from diffrn.autodiff import grad, jacobian, hessian
    from diffrn.autodiff import numpy as anp

    f = lambda x: anp.sum(anp.tanh(x) ** 2)
    grad(f)(x)                        # reverse mode: one forward and one backward pass
    jacobian(anp.tanh, x, mode="forward")
    hessian(f, x)                     # forward-over-reverse, one column per pass

Inputs are float arrays (integers are converted); :func:`grad`, :func:`value_and_grad` and
:func:`vjp` also accept lists, tuples and dicts of arrays (e.g. a network's parameters) and
return gradients of the same structure.
"""
from __future__ import annotations

import functools

import numpy as np

from diffrn.autodiff import numpy as anp
from diffrn.autodiff.core import make_jvp, make_vjp
from diffrn.autodiff.tracing import getval, isbox, tree_flatten


def vjp(f, x):
    """Reverse mode: evaluate ``f`` at ``x`` once and return ``(value, vjp_fn)``.

    Args:
        f: function of one argument built from :mod:`diffrn.autodiff.numpy` primitives.
        x: array (or list/tuple/dict of arrays) at which to differentiate.

    Returns:
        ``f(x)`` and ``vjp_fn``, which maps a cotangent ``u`` (shaped like ``f(x)``) to
        ``u^T J_f(x)`` (shaped like ``x``); call it as often as you like.
    """
    return make_vjp(f, _as_input(x))


def jvp(f, x, v):
    """Forward mode: evaluate ``f`` at ``x`` carrying the tangent ``v`` along.

    Returns:
        ``(f(x), J_f(x) v)``; the second is shaped like ``f(x)``.
    """
    return make_jvp(f, _as_input(x), _as_input(v))


def value_and_grad(f, argnum=0):
    """``f``'s value and its gradient with respect to argument ``argnum``, in one forward pass
    and one backward pass.

    Args:
        f: function returning a scalar.
        argnum: position of the argument to differentiate (an int, or a tuple of ints to
            differentiate several at once; then the gradient is a tuple).

    Returns:
        a function with ``f``'s signature returning ``(value, gradient)``; the gradient has the
        shape (or structure) of the argument.
    """
    @functools.wraps(f)
    def value_and_gradient(*args, **kwargs):
        positions = argnum if isinstance(argnum, tuple) else (argnum,)

        def f_of_x(x):
            chosen = x if isinstance(argnum, tuple) else (x,)
            full = list(args)
            for position, value in zip(positions, chosen):
                full[position] = value
            return f(*full, **kwargs)

        x = tuple(args[p] for p in positions) if isinstance(argnum, tuple) else args[argnum]
        value, vjp_fn = make_vjp(f_of_x, _as_input(x), single_use=True)
        if np.size(getval(value)) != 1:
            raise TypeError(
                f"grad needs a function with a scalar output, but {_name(f)} returned an array of "
                f"shape {np.shape(getval(value))}. For a vector-valued function use "
                "vjp(f, x) (one row of the Jacobian per cotangent) or jacobian(f, x)."
            )
        return value, vjp_fn(anp.ones_like(value))

    return value_and_gradient


def grad(f, argnum=0):
    """The gradient of a scalar function ``f`` with respect to argument ``argnum``.

    Returns:
        a function with ``f``'s signature returning an array shaped like the argument.
        See :func:`value_and_grad`.
    """
    value_and_gradient = value_and_grad(f, argnum)

    @functools.wraps(f)
    def gradient(*args, **kwargs):
        return value_and_gradient(*args, **kwargs)[1]

    return gradient


def jacobian(f, x, mode="reverse"):
    """The Jacobian of ``f`` at ``x``, shaped ``f(x).shape + x.shape``.

    Args:
        f: function from arrays to arrays.
        x: the point (an array).
        mode: ``"reverse"``: one forward pass, then one VJP per output,
            each pulling back a basis vector to give a row. ``"forward"``:
            one JVP per input, each pushing a basis vector forward to give
            a column. Reverse is cheaper when there are fewer outputs than
            inputs, forward otherwise.

    Returns:
        the Jacobian as an array ((m, n) for f from R^n to R^m).
    """
    x = _as_input(x)
    in_shape = anp.shape(x)
    if mode == "reverse":
        value, vjp_fn = vjp(f, x)
        out_shape = anp.shape(value)
        basis = np.eye(anp.size(value))
        rows = [vjp_fn(u.reshape(out_shape)) for u in basis]
        return anp.reshape(anp.stack(rows), out_shape + in_shape)
    if mode == "forward":
        basis = np.eye(anp.size(x))
        columns = [jvp(f, x, v.reshape(in_shape))[1] for v in basis]
        out_shape = anp.shape(columns[0])
        columns = anp.stack(columns, axis=-1)
        return anp.reshape(columns, out_shape + in_shape)
    raise ValueError(f"mode must be 'reverse' or 'forward', not {mode!r}")


def hvp(f, x, v):
    """Hessian-vector product ``H_f(x) v`` of a scalar ``f``.

    Forward over reverse: the derivative of the gradient along ``v``. It
    costs a small multiple of one gradient; the Hessian is never formed.
    """
    return jvp(grad(f), x, v)[1]


def hessian(f, x):
    """The Hessian of a scalar ``f`` at ``x``, one column ``H e_j = hvp(f, x, e_j)`` per input.

    Returns:
        array of shape ``x.shape + x.shape``.
    """
    x = _as_input(x)
    shape = anp.shape(x)
    columns = [hvp(f, x, e.reshape(shape)) for e in np.eye(anp.size(x))]
    return anp.reshape(anp.stack(columns, axis=-1), shape + shape)


def _as_input(x):
    """Float arrays for every leaf of ``x`` (traced values are left alone). A list of plain
    numbers is one vector, not a list of scalars."""
    if isinstance(x, (list, tuple)) and all(isinstance(item, (int, float, np.number)) for item in x):
        x = np.asarray(x)
    leaves, unflatten = tree_flatten(x)
    converted = []
    for leaf in leaves:
        if not isbox(leaf):
            leaf = np.asarray(leaf)
            if not np.issubdtype(leaf.dtype, np.inexact):
                leaf = leaf.astype(np.float64)
        converted.append(leaf)
    return unflatten(converted)


def _name(f) -> str:
    return getattr(f, "__name__", "the function")
