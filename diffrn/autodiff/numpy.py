"""numpy, made differentiable: the primitives the tensor engine knows how to differentiate.

    from diffrn.autodiff import numpy as anp

    def loss(w):
        return anp.sum(anp.tanh(X @ w) ** 2)

Each function here calls the numpy function of the same name; on traced values (boxes) the
call is also recorded so that :func:`diffrn.autodiff.grad` and friends can differentiate it.
Their derivatives are registered in :mod:`diffrn.autodiff.vjps` (reverse mode) and
:mod:`diffrn.autodiff.jvps` (forward mode). Plain numpy functions called on boxes are redirected
here when a primitive of the same name exists, and raise a message saying how to add one
otherwise.
"""
from __future__ import annotations

import builtins

import numpy as _np

from diffrn.autodiff.tracing import Box, getval, notrace_primitive, primitive

# ----- elementwise arithmetic (numpy broadcasting applies) -----------------------------------
add = primitive(_np.add)
subtract = primitive(_np.subtract)
multiply = primitive(_np.multiply)
divide = primitive(_np.divide)
negative = primitive(_np.negative)
power = primitive(_np.power)
maximum = primitive(_np.maximum)

# ----- elementwise functions ------------------------------------------------------------------
square = primitive(_np.square)
sqrt = primitive(_np.sqrt)
exp = primitive(_np.exp)
log = primitive(_np.log)
tanh = primitive(_np.tanh)
sin = primitive(_np.sin)
cos = primitive(_np.cos)
abs = primitive(_np.abs)


@primitive
def relu(x):
    """max(x, 0) elementwise; its derivative at 0 is taken to be 0."""
    return _np.maximum(x, 0.0)


@primitive
def sigmoid(x):
    """1 / (1 + exp(-x)), written with tanh so that it never overflows."""
    return 0.5 * (_np.tanh(0.5 * x) + 1.0)


# ----- linear algebra -------------------------------------------------------------------------
matmul = primitive(_np.matmul)


@primitive
def dot(a, b):
    """numpy.dot for scalars, vectors and matrices (use matmul for stacks of matrices)."""
    if _np.ndim(a) > 2 or _np.ndim(b) > 2:
        raise ValueError("anp.dot handles arrays of at most 2 dimensions; use anp.matmul for stacks of matrices")
    return _np.dot(a, b)


# ----- reductions -----------------------------------------------------------------------------
@primitive
def sum(x, axis=None, keepdims=False):
    return _np.sum(x, axis=axis, keepdims=keepdims)


@primitive
def mean(x, axis=None, keepdims=False):
    return _np.mean(x, axis=axis, keepdims=keepdims)


@primitive
def max(x, axis=None, keepdims=False):
    """Largest entry; ties share the gradient equally."""
    return _np.max(x, axis=axis, keepdims=keepdims)


# ----- normalizations, computed stably ---------------------------------------------------------
@primitive
def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``, shifted by the maximum so that exp never overflows."""
    e = _np.exp(x - _np.max(x, axis=axis, keepdims=True))
    return e / _np.sum(e, axis=axis, keepdims=True)


@primitive
def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) along ``axis`` without overflow: the maximum is taken out first."""
    top = _np.max(x, axis=axis, keepdims=True)
    top = _np.where(_np.isfinite(top), top, 0.0)
    out = _np.log(_np.sum(_np.exp(x - top), axis=axis, keepdims=True)) + top
    if not keepdims:
        out = _np.squeeze(out, axis=axis)
    return out[()] if out.ndim == 0 else out


@primitive
def log_softmax(x, axis=-1):
    """x - logsumexp(x) along ``axis``: the log-probabilities of a softmax, without log(0)."""
    return x - logsumexp.fun(x, axis=axis, keepdims=True)


# ----- shapes and indexing --------------------------------------------------------------------
@primitive
def reshape(x, shape):
    return _np.reshape(x, shape)


@primitive
def transpose(x, axes=None):
    return _np.transpose(x, axes)


swapaxes = primitive(_np.swapaxes)
expand_dims = primitive(_np.expand_dims)
broadcast_to = primitive(_np.broadcast_to)


@primitive
def getitem(x, index):
    """``x[index]``; boxes use it for the ``[]`` operator."""
    return x[index]


@primitive
def untake(values, index, shape):
    """An array of zeros of ``shape`` with ``values`` added at ``index`` (repeats add up).

    It is the adjoint of ``getitem``: the gradient of ``x[index]`` with respect to ``x``.
    """
    out = _np.zeros(shape, dtype=_np.result_type(values, _np.float64))
    if _selects_each_entry_once(index):
        out[index] = values
    else:
        _np.add.at(out, index, values)
    return out


def _selects_each_entry_once(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return builtins.all(isinstance(p, (int, _np.integer, slice, type(None), type(Ellipsis))) for p in parts)


@primitive
def where(condition, x, y):
    """``x`` where ``condition`` holds, else ``y`` (``condition`` is not differentiated)."""
    return _np.where(condition, x, y)


@primitive
def _stack_args(axis, *arrays):
    return _np.stack(arrays, axis=axis)


@primitive
def _concatenate_args(axis, *arrays):
    return _np.concatenate(arrays, axis=axis)


def stack(arrays, axis=0):
    """numpy.stack for a sequence that may hold traced values."""
    return _stack_args(axis, *arrays)


def concatenate(arrays, axis=0):
    """numpy.concatenate for a sequence that may hold traced values."""
    return _concatenate_args(axis, *arrays)


def array(obj, dtype=None):
    """numpy.array; nested lists holding traced values are stacked (and stay differentiable)."""
    if isinstance(obj, (list, tuple)) and _holds_box(obj):
        return stack([array(item) for item in obj])
    if isinstance(obj, Box):
        return obj
    return _np.array(obj, dtype=dtype)


def _holds_box(obj) -> bool:
    if isinstance(obj, (list, tuple)):
        return builtins.any(_holds_box(item) for item in obj)
    return isinstance(obj, Box)


# ----- not differentiated: shapes, constants, comparisons --------------------------------------
def shape(x):
    return _np.shape(getval(x))


def ndim(x):
    return len(shape(x))


def size(x):
    return int(_np.prod(shape(x)))


zeros_like = notrace_primitive(_np.zeros_like)
ones_like = notrace_primitive(_np.ones_like)
sign = notrace_primitive(_np.sign)
greater = notrace_primitive(_np.greater)
greater_equal = notrace_primitive(_np.greater_equal)
less = notrace_primitive(_np.less)
less_equal = notrace_primitive(_np.less_equal)
equal = notrace_primitive(_np.equal)
not_equal = notrace_primitive(_np.not_equal)
isfinite = notrace_primitive(_np.isfinite)
argmax = notrace_primitive(_np.argmax)
argmin = notrace_primitive(_np.argmin)
zeros, ones, eye, arange, linspace, full = _np.zeros, _np.ones, _np.eye, _np.arange, _np.linspace, _np.full
pi, e, inf, newaxis, float64 = _np.pi, _np.e, _np.inf, _np.newaxis, _np.float64


# ----- operators on boxes ----------------------------------------------------------------------
def _install_box_operators():
    methods = {
        "__add__": lambda self, other: add(self, other),
        "__radd__": lambda self, other: add(other, self),
        "__sub__": lambda self, other: subtract(self, other),
        "__rsub__": lambda self, other: subtract(other, self),
        "__mul__": lambda self, other: multiply(self, other),
        "__rmul__": lambda self, other: multiply(other, self),
        "__truediv__": lambda self, other: divide(self, other),
        "__rtruediv__": lambda self, other: divide(other, self),
        "__pow__": lambda self, other: power(self, other),
        "__rpow__": lambda self, other: power(other, self),
        "__matmul__": lambda self, other: matmul(self, other),
        "__rmatmul__": lambda self, other: matmul(other, self),
        "__neg__": lambda self: negative(self),
        "__pos__": lambda self: self,
        "__abs__": lambda self: abs(self),
        "__getitem__": lambda self, index: getitem(self, index),
        "__lt__": lambda self, other: less(self, other),
        "__le__": lambda self, other: less_equal(self, other),
        "__gt__": lambda self, other: greater(self, other),
        "__ge__": lambda self, other: greater_equal(self, other),
        "__eq__": lambda self, other: equal(self, other),
        "__ne__": lambda self, other: not_equal(self, other),
        "T": property(lambda self: transpose(self)),
        "reshape": lambda self, *shape: reshape(self, shape[0] if len(shape) == 1 else shape),
        "ravel": lambda self: reshape(self, (-1,)),
        "flatten": lambda self: reshape(self, (-1,)),
        "transpose": lambda self, *axes: transpose(self, (axes[0] if len(axes) == 1 else axes) or None),
        "sum": lambda self, axis=None, keepdims=False: sum(self, axis, keepdims),
        "mean": lambda self, axis=None, keepdims=False: mean(self, axis, keepdims),
        "max": lambda self, axis=None, keepdims=False: max(self, axis, keepdims),
        "dot": lambda self, other: dot(self, other),
    }
    for name, method in methods.items():
        setattr(Box, name, method)


_install_box_operators()

# numpy functions called directly on boxes are redirected to the primitives above.
Box.numpy_equivalents.update({
    _np.add: add, _np.subtract: subtract, _np.multiply: multiply, _np.divide: divide,
    _np.negative: negative, _np.power: power, _np.maximum: maximum, _np.square: square,
    _np.sqrt: sqrt, _np.exp: exp, _np.log: log, _np.tanh: tanh, _np.sin: sin, _np.cos: cos,
    _np.absolute: abs, _np.matmul: matmul, _np.dot: dot, _np.sum: sum, _np.mean: mean,
    _np.max: max, _np.amax: max, _np.reshape: reshape, _np.transpose: transpose,
    _np.swapaxes: swapaxes, _np.expand_dims: expand_dims, _np.broadcast_to: broadcast_to,
    _np.where: where, _np.stack: stack, _np.concatenate: concatenate,
    _np.shape: shape, _np.ndim: ndim, _np.size: size, _np.zeros_like: zeros_like,
    _np.ones_like: ones_like, _np.sign: sign, _np.greater: greater,
    _np.greater_equal: greater_equal, _np.less: less, _np.less_equal: less_equal,
    _np.equal: equal, _np.not_equal: not_equal, _np.isfinite: isfinite,
    _np.argmax: argmax, _np.argmin: argmin,
})
