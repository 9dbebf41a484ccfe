"""Reverse-mode rules: one vector-Jacobian product per primitive and argument.

A rule ``lambda ans, *args: lambda g: ...`` receives the primitive's result and arguments
during the forward pass and returns the map ``g -> g J``: given the cotangent ``g`` of the
result (shaped like ``ans``), the cotangent of that argument (shaped like the argument).
Rules only use the primitives of :mod:`diffrn.autodiff.numpy`, so an outer trace can
differentiate them again (Hessians, forward-over-reverse).
"""
from __future__ import annotations

import numpy as np

from diffrn.autodiff import numpy as anp
from diffrn.autodiff.core import defvjp, defvjp_argnum
from diffrn.autodiff.tracing import getval


# ----- broadcasting -----
def unbroadcast(g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched, giving it ``shape``.

    If ``x`` of shape ``shape`` was broadcast to make ``ans``, each entry of ``x`` was used
    several times; its cotangent is the sum of the cotangents of all of its copies.
    """
    g_shape = anp.shape(g)
    if g_shape == shape:
        return g
    lead = len(g_shape) - len(shape)
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and g_shape[lead + i] != 1)
    return anp.reshape(anp.sum(g, axis=tuple(range(lead)) + stretched), shape)


def unbroadcast_vjp(arg, vjp):
    """The rule ``vjp`` followed by :func:`unbroadcast` to the shape of ``arg``."""
    shape = anp.shape(arg)
    return lambda g: unbroadcast(vjp(g), shape)


def kept_shape(shape, axis):
    """The shape of a reduction over ``axis`` with ``keepdims=True``."""
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,))}
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _as_shape(g, shape):
    return g if anp.shape(g) == shape else anp.reshape(g, shape)


def winner(x, y):
    """1 where x > y, 1/2 at ties, 0 elsewhere: a constant, since masks are not differentiated."""
    x, y = getval(x), getval(y)
    return (x > y) + 0.5 * (x == y)


def log_positive(x):
    """log x where x > 0, else 0. (x ** y has derivative x ** y log x in y; for x <= 0 it has
    none, and 0 is used.)"""
    return anp.log(anp.where(x > 0, x, 1.0))


# ----- arithmetic -----
defvjp(anp.add,
       lambda ans, x, y: unbroadcast_vjp(x, lambda g: g),
       lambda ans, x, y: unbroadcast_vjp(y, lambda g: g))
defvjp(anp.subtract,
       lambda ans, x, y: unbroadcast_vjp(x, lambda g: g),
       lambda ans, x, y: unbroadcast_vjp(y, lambda g: -g))
defvjp(anp.multiply,
       lambda ans, x, y: unbroadcast_vjp(x, lambda g: g * y),
       lambda ans, x, y: unbroadcast_vjp(y, lambda g: g * x))
defvjp(anp.divide,
       lambda ans, x, y: unbroadcast_vjp(x, lambda g: g / y),
       lambda ans, x, y: unbroadcast_vjp(y, lambda g: -g * ans / y))
defvjp(anp.negative, lambda ans, x: lambda g: -g)
defvjp(anp.power,
       lambda ans, x, y: unbroadcast_vjp(x, lambda g: g * y * x ** (y - 1)),
       lambda ans, x, y: unbroadcast_vjp(y, lambda g: g * ans * log_positive(x)))
defvjp(anp.maximum,
       lambda ans, x, y: unbroadcast_vjp(x, lambda g: g * winner(x, y)),
       lambda ans, x, y: unbroadcast_vjp(y, lambda g: g * winner(y, x)))

# ----- elementwise functions -----
defvjp(anp.square,  lambda ans, x: lambda g: g * 2.0 * x)
defvjp(anp.sqrt,    lambda ans, x: lambda g: g * 0.5 / ans)
defvjp(anp.exp,     lambda ans, x: lambda g: g * ans)
defvjp(anp.log,     lambda ans, x: lambda g: g / x)
defvjp(anp.tanh,    lambda ans, x: lambda g: g * (1.0 - ans * ans))
defvjp(anp.sigmoid, lambda ans, x: lambda g: g * ans * (1.0 - ans))
defvjp(anp.sin,     lambda ans, x: lambda g: g * anp.cos(x))
defvjp(anp.cos,     lambda ans, x: lambda g: -g * anp.sin(x))
defvjp(anp.abs,     lambda ans, x: lambda g: g * anp.sign(x))
defvjp(anp.relu,    lambda ans, x: lambda g: g * (x > 0))


# ----- linear algebra -----
def _matmul_vjp(side):
    """Cotangent of one factor of ``a @ b``: ``g @ b^T`` for ``a``, ``a^T @ g`` for ``b``.

    Vectors are treated as numpy does (``a`` as a row, ``b`` as a column) and stacks of
    matrices are summed over the broadcast batch axes.
    """
    def rule(ans, a, b):
        a_ndim, b_ndim = anp.ndim(a), anp.ndim(b)
        shape = anp.shape(a if side == 0 else b)

        def vjp(g):
            if b_ndim == 1:
                g = anp.expand_dims(g, -1)
            if a_ndim == 1:
                g = anp.expand_dims(g, -2)
            if side == 0:
                other = b if b_ndim > 1 else anp.expand_dims(b, -1)
                result = anp.matmul(g, anp.swapaxes(other, -1, -2))
                matrix_shape = shape if a_ndim > 1 else (1,) + shape
            else:
                other = a if a_ndim > 1 else anp.expand_dims(a, -2)
                result = anp.matmul(anp.swapaxes(other, -1, -2), g)
                matrix_shape = shape if b_ndim > 1 else shape + (1,)
            return _as_shape(unbroadcast(result, matrix_shape), shape)
        return vjp
    return rule


def _dot_vjp(side):
    """numpy.dot is matmul for vectors and matrices, and multiply when a factor is a scalar."""
    matmul_rule = _matmul_vjp(side)

    def rule(ans, a, b):
        if anp.ndim(a) == 0 or anp.ndim(b) == 0:
            x, other = (a, b) if side == 0 else (b, a)
            return unbroadcast_vjp(x, lambda g: g * other)
        return matmul_rule(ans, a, b)
    return rule


defvjp(anp.matmul, _matmul_vjp(0), _matmul_vjp(1))
defvjp(anp.dot,    _dot_vjp(0), _dot_vjp(1))


# ----- reductions -----
def _sum_vjp(ans, x, axis=None, keepdims=False):
    shape = anp.shape(x)
    kept = kept_shape(shape, axis)
    return lambda g: anp.broadcast_to(_as_shape(g, kept), shape)


def _mean_vjp(ans, x, axis=None, keepdims=False):
    shape = anp.shape(x)
    kept = kept_shape(shape, axis)
    count = anp.size(x) / max(anp.size(ans), 1)
    return lambda g: anp.broadcast_to(_as_shape(g, kept) / count, shape)


def max_share(ans, x, axis):
    """How the maximum splits among the entries of ``x``: 1 for the winner, 1/k for k tied
    winners, 0 elsewhere (a constant: which entry wins does not change under a small step)."""
    winners = getval(x) == np.reshape(getval(ans), kept_shape(anp.shape(x), axis))
    return winners / np.sum(winners, axis=axis, keepdims=True)


def _max_vjp(ans, x, axis=None, keepdims=False):
    kept, share = kept_shape(anp.shape(x), axis), max_share(ans, x, axis)
    return lambda g: _as_shape(g, kept) * share


defvjp(anp.sum,  _sum_vjp)
defvjp(anp.mean, _mean_vjp)
defvjp(anp.max,  _max_vjp)


# ----- normalizations -----
def _logsumexp_vjp(ans, x, axis=None, keepdims=False):
    kept = kept_shape(anp.shape(x), axis)
    return lambda g: _as_shape(g, kept) * anp.exp(x - _as_shape(ans, kept))


defvjp(anp.softmax,     lambda ans, x, axis=-1: lambda g: ans * (g - anp.sum(g * ans, axis=axis, keepdims=True)))
defvjp(anp.log_softmax, lambda ans, x, axis=-1: lambda g: g - anp.exp(ans) * anp.sum(g, axis=axis, keepdims=True))
defvjp(anp.logsumexp,   _logsumexp_vjp)


# ----- shapes and indexing -----
def _transpose_vjp(ans, x, axes=None):
    inverse = None if axes is None else tuple(np.argsort([a % anp.ndim(x) for a in axes]))
    return lambda g: anp.transpose(g, inverse)


def _check_not_axis(argnum):
    if argnum == 0:
        raise NotImplementedError("the axis of stack/concatenate is an integer and cannot be differentiated")


def _stack_vjp(argnum, ans, axis, *arrays):
    _check_not_axis(argnum)
    position = (slice(None),) * (axis % anp.ndim(ans)) + (argnum - 1,)
    return lambda g: g[position]


def _concatenate_vjp(argnum, ans, axis, *arrays):
    _check_not_axis(argnum)
    axis = axis % anp.ndim(ans)
    start = sum(anp.shape(a)[axis] for a in arrays[:argnum - 1])
    part = (slice(None),) * axis + (slice(start, start + anp.shape(arrays[argnum - 1])[axis]),)
    return lambda g: g[part]


defvjp(anp.reshape,      lambda ans, x, shape: lambda g: anp.reshape(g, anp.shape(x)))
defvjp(anp.transpose,    _transpose_vjp)
defvjp(anp.swapaxes,     lambda ans, x, axis1, axis2: lambda g: anp.swapaxes(g, axis1, axis2))
defvjp(anp.expand_dims,  lambda ans, x, axis: lambda g: anp.reshape(g, anp.shape(x)))
defvjp(anp.broadcast_to, lambda ans, x, shape: lambda g: unbroadcast(g, anp.shape(x)))
defvjp(anp.getitem,      lambda ans, x, index: lambda g: anp.untake(g, index, anp.shape(x)))
defvjp(anp.untake,       lambda ans, values, index, shape: lambda g: g[index])
defvjp(anp.where,        None,
                         lambda ans, c, x, y: unbroadcast_vjp(x, lambda g: anp.where(c, g, 0.0)),
                         lambda ans, c, x, y: unbroadcast_vjp(y, lambda g: anp.where(c, 0.0, g)))
defvjp_argnum(anp._stack_args, _stack_vjp)
defvjp_argnum(anp._concatenate_args, _concatenate_vjp)
