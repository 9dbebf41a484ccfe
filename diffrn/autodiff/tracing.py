"""Recording a computation as it runs: boxes, nodes and trace levels.

To differentiate ``f`` at ``x`` we call ``f`` on a :class:`Box` that holds ``x``. Every
*primitive* (a numpy function wrapped with :func:`primitive`) that meets a box unwraps it,
computes the ordinary numpy result, and returns a new box whose node remembers how the result
was made. The chain of nodes is the computational graph; what a node stores depends on the
mode: a reverse-mode node keeps its VJP closures, a forward-mode node its tangent (see
:mod:`diffrn.autodiff.core`).

Nested differentiation (a derivative of a derivative) runs one trace inside another. Each
trace gets a level, one higher than the trace around it; a primitive only unwraps the boxes of
the highest level among its arguments and calls itself again on the unwrapped values, so the
outer trace records the same operation one level down. Boxes of different levels never mix up.
"""
from __future__ import annotations

import functools
from contextlib import contextmanager

import numpy as np


class UnsupportedPrimitiveError(TypeError):
    """A numpy function without a differentiation rule met a traced value."""


# ----- trace levels ----------------------------------------------------------------------------

class _TraceStack:
    def __init__(self):
        self.top = -1

    @contextmanager
    def new_trace(self):
        self.top += 1
        try:
            yield self.top
        finally:
            self.top -= 1


_trace_stack = _TraceStack()


# ----- boxes ---------------------------------------------------------------------------------

class Box:
    """A value being traced: the value itself, the level of its trace, and its graph node.

    Arithmetic operators, ``@``, indexing and ``.T`` call the primitives of
    :mod:`diffrn.autodiff.numpy` (they are attached there), so code written for numpy arrays
    runs unchanged on boxes.
    """

    __slots__ = ("_value", "_trace", "_node")
    __array_priority__ = 100.0

    def __init__(self, value, trace, node):
        self._value = value
        self._trace = trace
        self._node = node

    # Array attributes of the value, read through any boxes of outer traces.
    shape = property(lambda self: np.shape(self._value))
    ndim = property(lambda self: len(np.shape(self._value)))
    size = property(lambda self: int(np.prod(np.shape(self._value))))
    dtype = property(lambda self: np.result_type(getval(self._value)))

    def __len__(self):
        return len(self._value)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self):
        return bool(self._value)

    def __repr__(self):
        return f"Box(level={self._trace}, value={getval(self._value)!r})"

    def __float__(self):
        raise TypeError(
            "float() of a traced value would cut it out of the computation graph; keep it an "
            "array (index it, or use diffrn.autodiff.numpy functions) inside the function you "
            "differentiate"
        )

    __hash__ = object.__hash__

    # numpy functions called on a box are sent to the wrapped primitive of the same name; the
    # table is filled in by diffrn.autodiff.numpy.
    numpy_equivalents: dict = {}

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        wrapped = Box.numpy_equivalents.get(ufunc)
        if method != "__call__" or wrapped is None or "out" in kwargs:
            raise UnsupportedPrimitiveError(_unsupported_message(f"numpy.{ufunc.__name__}", method))
        return wrapped(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        wrapped = Box.numpy_equivalents.get(func)
        if wrapped is None:
            raise UnsupportedPrimitiveError(_unsupported_message(f"numpy.{func.__name__}"))
        return wrapped(*args, **kwargs)

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            "a traced value cannot become a plain numpy array: that would cut it out of the "
            "computation graph. Build arrays from traced values with anp.stack or anp.array "
            "(import diffrn.autodiff.numpy as anp)"
        )


def _unsupported_message(name: str, method: str = "__call__") -> str:
    how = "" if method == "__call__" else f" (method {method!r})"
    return (
        f"{name}{how} has no differentiation rule in diffrn.autodiff, so it cannot be applied "
        "to a traced value. Use the functions of diffrn.autodiff.numpy, or make it a primitive "
        "and register its derivative:\n"
        f"    from diffrn.autodiff import primitive, defvjp, defjvp\n"
        f"    my_fun = primitive({name})\n"
        "    defvjp(my_fun, lambda ans, x: lambda g: ...)   # reverse mode: g -> g @ J\n"
        "    defjvp(my_fun, lambda t, ans, x: ...)          # forward mode: t -> J @ t"
    )


def getval(x):
    """The plain value inside ``x``, unwrapping the boxes of every trace level."""
    while type(x) is Box:
        x = x._value
    return x


def isbox(x) -> bool:
    return type(x) is Box


# ----- primitives ----------------------------------------------------------------------------

def primitive(f_raw):
    """Wrap a numpy function so that its calls on boxes are recorded.

    Without boxes among the positional arguments, ``f_raw`` is simply
    called. Otherwise the boxes of the highest trace level are unwrapped,
    the wrapper calls itself on their values (so that lower levels record
    the call too), and the result is boxed with a new node of the same kind
    as the arguments' nodes. Rules are added with ``defvjp``/``defjvp``.
    """

    @functools.wraps(f_raw)
    def f_wrapped(*args, **kwargs):
        top, argnums = -1, []
        for i, arg in enumerate(args):
            if type(arg) is Box:
                if arg._trace > top:
                    top, argnums = arg._trace, [i]
                elif arg._trace == top:
                    argnums.append(i)
        if not argnums:
            return f_raw(*args, **kwargs)
        argvals, parents = list(args), []
        for i in argnums:
            argvals[i] = args[i]._value
            parents.append(args[i]._node)
        argvals = tuple(argvals)
        ans = f_wrapped(*argvals, **kwargs)
        node_type = type(parents[0])
        node = node_type(ans, f_wrapped, argvals, kwargs,
                         tuple(argnums), tuple(parents))
        return Box(ans, top, node)

    f_wrapped.fun = f_raw
    f_wrapped.is_primitive = True
    return f_wrapped


def notrace_primitive(f_raw):
    """Wrap a function whose result does not depend smoothly on its inputs (comparisons,
    ``sign``, shapes, constant arrays): boxes of every level are unwrapped and nothing is
    recorded, so its derivative is zero by construction."""

    @functools.wraps(f_raw)
    def f_wrapped(*args, **kwargs):
        return f_raw(*[getval(a) for a in args], **kwargs)

    f_wrapped.fun = f_raw
    return f_wrapped


# ----- running a function on boxes ------------------------------------------------------------

def trace(fun, leaves, unflatten, root_nodes):
    """Call ``fun`` on boxed copies of ``leaves`` and return its value and end node.

    Args:
        fun: function of one argument, the structure ``unflatten(leaves)``.
        leaves: the input arrays (the leaves of a list/tuple/dict structure, or one array).
        unflatten: rebuilds the structure from a list of leaves.
        root_nodes: one node per leaf; its type decides the mode of the trace.

    Returns:
        ``(value, end_node)``; ``end_node`` is None when the output does not depend on the
        input (then ``value`` is the output itself).
    """
    with _trace_stack.new_trace() as level:
        boxes = [Box(leaf, level, node) for leaf, node in zip(leaves, root_nodes)]
        out = fun(unflatten(boxes))
        if type(out) is Box and out._trace == level:
            return out._value, out._node
        return out, None


# ----- inputs that are lists, tuples or dicts of arrays ----------------------------------------

def tree_flatten(x):
    """The arrays inside nested lists/tuples/dicts, and a function that rebuilds ``x`` from them."""
    if isinstance(x, (list, tuple)):
        parts = [tree_flatten(item) for item in x]
        kind = type(x)

        def unflatten(leaves):
            items, start = [], 0
            for sub_leaves, sub_unflatten in parts:
                items.append(sub_unflatten(leaves[start:start + len(sub_leaves)]))
                start += len(sub_leaves)
            return kind._make(items) if hasattr(kind, "_make") else kind(items)

        return [leaf for sub_leaves, _ in parts for leaf in sub_leaves], unflatten
    if isinstance(x, dict):
        keys = list(x)
        leaves, unflatten_values = tree_flatten([x[k] for k in keys])
        return leaves, lambda new: type(x)(zip(keys, unflatten_values(new)))
    return [x], lambda leaves: leaves[0]
