"""Forward-mode rules: one Jacobian-vector product per primitive and argument.

A rule ``lambda t, ans, *args: ...`` receives the tangent ``t`` of one argument (shaped like
that argument), the primitive's result and its arguments, and returns ``J t``: the first-order
change of the result, shaped like ``ans``. When several arguments carry tangents, the
engine adds their contributions.
"""
from __future__ import annotations

from diffrn.autodiff import numpy as anp
from diffrn.autodiff.core import defjvp, defjvp_argnum
from diffrn.autodiff.vjps import kept_shape, log_positive, max_share, winner


def broadcast_like(t, ans):
    """``t`` broadcast to the shape of ``ans`` (a broadcast argument moves every copy of itself)."""
    shape = anp.shape(ans)
    return t if anp.shape(t) == shape else anp.broadcast_to(t, shape)


# ----- arithmetic -----
defjvp(anp.add,
       lambda t, ans, x, y: broadcast_like(t, ans),
       lambda t, ans, x, y: broadcast_like(t, ans))
defjvp(anp.subtract,
       lambda t, ans, x, y: broadcast_like(t, ans),
       lambda t, ans, x, y: broadcast_like(-t, ans))
defjvp(anp.multiply,
       lambda t, ans, x, y: broadcast_like(t * y, ans),
       lambda t, ans, x, y: broadcast_like(x * t, ans))
defjvp(anp.divide,
       lambda t, ans, x, y: broadcast_like(t / y, ans),
       lambda t, ans, x, y: broadcast_like(-t * ans / y, ans))
defjvp(anp.negative, lambda t, ans, x: -t)
defjvp(anp.power,
       lambda t, ans, x, y: broadcast_like(t * y * x ** (y - 1), ans),
       lambda t, ans, x, y: broadcast_like(t * ans * log_positive(x), ans))
defjvp(anp.maximum,
       lambda t, ans, x, y: broadcast_like(t * winner(x, y), ans),
       lambda t, ans, x, y: broadcast_like(t * winner(y, x), ans))

# ----- elementwise functions -----
defjvp(anp.square,  lambda t, ans, x: t * 2.0 * x)
defjvp(anp.sqrt,    lambda t, ans, x: t * 0.5 / ans)
defjvp(anp.exp,     lambda t, ans, x: t * ans)
defjvp(anp.log,     lambda t, ans, x: t / x)
defjvp(anp.tanh,    lambda t, ans, x: t * (1.0 - ans * ans))
defjvp(anp.sigmoid, lambda t, ans, x: t * ans * (1.0 - ans))
defjvp(anp.sin,     lambda t, ans, x: t * anp.cos(x))
defjvp(anp.cos,     lambda t, ans, x: -t * anp.sin(x))
defjvp(anp.abs,     lambda t, ans, x: t * anp.sign(x))
defjvp(anp.relu,    lambda t, ans, x: t * (x > 0))

# ----- linear algebra: the product rule, one factor at a time -----
defjvp(anp.matmul, lambda t, ans, a, b: broadcast_like(anp.matmul(t, b), ans),
                   lambda t, ans, a, b: broadcast_like(anp.matmul(a, t), ans))
defjvp(anp.dot,    lambda t, ans, a, b: anp.dot(t, b),
                   lambda t, ans, a, b: anp.dot(a, t))


# ----- reductions: linear maps are their own JVPs -----
def _max_jvp(t, ans, x, axis=None, keepdims=False):
    return anp.sum(t * max_share(ans, x, axis), axis=axis, keepdims=keepdims)


defjvp(anp.sum,  lambda t, ans, x, axis=None, keepdims=False: anp.sum(t, axis=axis, keepdims=keepdims))
defjvp(anp.mean, lambda t, ans, x, axis=None, keepdims=False: anp.mean(t, axis=axis, keepdims=keepdims))
defjvp(anp.max,  _max_jvp)


# ----- normalizations -----
def _logsumexp_jvp(t, ans, x, axis=None, keepdims=False):
    kept = kept_shape(anp.shape(x), axis)
    weights = anp.exp(x - anp.reshape(ans, kept))
    return anp.sum(t * weights, axis=axis, keepdims=keepdims)


defjvp(anp.softmax,     lambda t, ans, x, axis=-1: ans * (t - anp.sum(t * ans, axis=axis, keepdims=True)))
defjvp(anp.log_softmax, lambda t, ans, x, axis=-1: t - anp.sum(anp.exp(ans) * t, axis=axis, keepdims=True))
defjvp(anp.logsumexp,   _logsumexp_jvp)


# ----- shapes and indexing: the same rearrangement, applied to the tangent -----
def _concatenate_jvp(argnum, t, ans, axis, *arrays):
    parts = [t if i == argnum - 1 else anp.zeros_like(a) for i, a in enumerate(arrays)]
    return anp.concatenate(parts, axis=axis)


def _stack_jvp(argnum, t, ans, axis, *arrays):
    parts = [t if i == argnum - 1 else anp.zeros_like(a) for i, a in enumerate(arrays)]
    return anp.stack(parts, axis=axis)


defjvp(anp.reshape,      lambda t, ans, x, shape: anp.reshape(t, anp.shape(ans)))
defjvp(anp.transpose,    lambda t, ans, x, axes=None: anp.transpose(t, axes))
defjvp(anp.swapaxes,     lambda t, ans, x, axis1, axis2: anp.swapaxes(t, axis1, axis2))
defjvp(anp.expand_dims,  lambda t, ans, x, axis: anp.reshape(t, anp.shape(ans)))
defjvp(anp.broadcast_to, lambda t, ans, x, shape: anp.broadcast_to(t, shape))
defjvp(anp.getitem,      lambda t, ans, x, index: t[index])
defjvp(anp.untake,       lambda t, ans, values, index, shape: anp.untake(t, index, shape))
defjvp(anp.where,        None,
                         lambda t, ans, c, x, y: broadcast_like(anp.where(c, t, 0.0), ans),
                         lambda t, ans, c, x, y: broadcast_like(anp.where(c, 0.0, t), ans))
defjvp_argnum(anp._stack_args, _stack_jvp)
defjvp_argnum(anp._concatenate_args, _concatenate_jvp)
