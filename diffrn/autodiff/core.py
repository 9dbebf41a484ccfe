"""Reverse and forward mode on top of the tracer: rule registries, nodes and the two passes.

* Reverse mode: each recorded primitive becomes a :class:`VJPNode` holding, for every input
  that was traced, a closure ``g -> g J`` (a vector-Jacobian product) made by the rule
  registered with :func:`defvjp`. :func:`backward_pass` then visits the nodes from the output
  back to the inputs, pulling the output's cotangent back one primitive at a time.
* Forward mode: each recorded primitive becomes a :class:`JVPNode`, whose tangent ``J t`` is
  computed on the spot from its inputs' tangents by the rules registered with :func:`defjvp`.

Rules are written with the primitives of :mod:`diffrn.autodiff.numpy`, so a rule applied to
boxes of an outer trace is itself recorded: that is all nested differentiation needs.
"""
from __future__ import annotations

import numpy as np

from diffrn.autodiff.numpy import add
from diffrn.autodiff.tracing import getval, trace, tree_flatten

# ----- rule registries ------------------------------------------------------------------------

primitive_vjps: dict = {}
primitive_jvps: dict = {}


def defvjp(fun, *vjpmakers):
    """Register the reverse-mode rules of primitive ``fun``, one per positional argument.

    Each ``vjpmaker(ans, *args, **kwargs)`` is called during the forward pass with the result
    and the arguments, and returns the closure ``g -> g J_i`` that maps a cotangent of the
    result (an array shaped like ``ans``) to the cotangent of argument ``i``.

    Example: ``defvjp(anp.multiply, lambda ans, x, y: lambda g: g * y, ...)``.
    """
    primitive_vjps[fun] = lambda argnum: vjpmakers[argnum] if argnum < len(vjpmakers) else None


def defvjp_argnum(fun, vjpmaker):
    """Register one rule ``vjpmaker(argnum, ans, *args, **kwargs)`` for all arguments of ``fun``
    (for primitives with a variable number of arguments, like ``stack``)."""
    primitive_vjps[fun] = lambda argnum: lambda *args, **kwargs: vjpmaker(argnum, *args, **kwargs)


def defjvp(fun, *jvpmakers):
    """Register the forward-mode rules of primitive ``fun``, one per positional argument.

    Each ``jvpmaker(t, ans, *args, **kwargs)`` returns ``J_i t``, the change of the result
    (shaped like ``ans``) caused by the tangent ``t`` of argument ``i``. The contributions of
    all traced arguments are added.

    Example: ``defjvp(anp.multiply, lambda t, ans, x, y: t * y, ...)``.
    """
    primitive_jvps[fun] = lambda argnum: jvpmakers[argnum] if argnum < len(jvpmakers) else None


def defjvp_argnum(fun, jvpmaker):
    """Register one rule ``jvpmaker(argnum, t, ans, *args, **kwargs)`` for all arguments."""
    primitive_jvps[fun] = lambda argnum: lambda *args, **kwargs: jvpmaker(argnum, *args, **kwargs)


def _rule(registry, fun, argnum, mode):
    name = getattr(fun, "__name__", repr(fun))
    rules = registry.get(fun)
    rule = rules(argnum) if rules is not None else None
    if rule is None:
        register, signature = (
            ("defvjp", "lambda ans, *args: lambda g: ...") if mode == "reverse"
            else ("defjvp", "lambda t, ans, *args: ...")
        )
        raise NotImplementedError(
            f"the primitive {name!r} has no {mode}-mode rule for its argument {argnum}. "
            f"Register one with {register}({name}, ..., {signature}) (rules are listed by "
            "argument position; see diffrn/autodiff/vjps.py and jvps.py for examples)"
        )
    return rule


# ----- reverse mode ---------------------------------------------------------------------------

class VJPNode:
    """A reverse-mode graph node: its parents' nodes and one VJP closure per parent."""

    __slots__ = ("parents", "vjps")

    def __init__(self, ans, fun, args, kwargs, argnums, parents):
        self.parents = parents
        self.vjps = [_rule(primitive_vjps, fun, i, "reverse")(ans, *args, **kwargs) for i in argnums]

    @classmethod
    def root(cls):
        node = cls.__new__(cls)
        node.parents, node.vjps = (), ()
        return node


def toposort(end_node):
    """The nodes that ``end_node`` depends on, each one before all of its parents."""
    child_counts = {}
    stack = [end_node]
    while stack:
        node = stack.pop()
        if node in child_counts:
            child_counts[node] += 1
        else:
            child_counts[node] = 1
            stack.extend(node.parents)
    ready = [end_node]
    while ready:
        node = ready.pop()
        yield node
        for parent in node.parents:
            if child_counts[parent] == 1:
                ready.append(parent)
            else:
                child_counts[parent] -= 1


def backward_pass(g, end_node, root_nodes, release=False):
    """Pull the cotangent ``g`` of the output back to the inputs.

    Nodes are visited children first: when a node's turn comes, every
    use of its value has sent its contribution. Contributions are added
    (a value used twice gets two terms); the VJPs pass the total on.

    Args:
        release: drop each node's closures (and the forward values they
            hold) once used, so later steps reuse the memory. Single use.

    Returns:
        one cotangent per root node; None for an input the output ignores.
    """
    cotangents = {end_node: g}
    for node in toposort(end_node):
        g = cotangents.pop(node)
        for parent, vjp in zip(node.parents, node.vjps):
            contribution = vjp(g)
            previous = cotangents.get(parent)
            if previous is None:
                cotangents[parent] = contribution
            else:
                cotangents[parent] = add(previous, contribution)
        if release:
            node.vjps = ()
        if not node.parents:
            cotangents[node] = g  # an input: keep its total
    return [cotangents.get(root) for root in root_nodes]


def make_vjp(fun, x, single_use=False):
    """Run ``fun(x)`` once, recording it; return ``(value, vjp_fn)``.

    ``vjp_fn(u)`` returns ``u J``: the cotangent of ``x`` (same structure as ``x``) for the
    output cotangent ``u`` (same shape as the value). It can be called many times, unless
    ``single_use`` is set: then the graph is released during its only backward pass (what
    ``grad`` does), which keeps the peak memory of the pass lower.
    """
    leaves, unflatten = tree_flatten(x)
    roots = [VJPNode.root() for _ in leaves]
    value, end_node = trace(fun, leaves, unflatten, roots)
    state = {"used": False}

    def vjp_fn(u):
        if np.shape(u) != np.shape(value):
            raise ValueError(f"the cotangent has shape {np.shape(u)}; it must match the output's shape {np.shape(value)}")
        if single_use and state["used"]:
            raise RuntimeError("this vjp_fn was made with single_use=True and has already been used")
        state["used"] = True
        found = backward_pass(u, end_node, roots, release=single_use) if end_node is not None else [None] * len(leaves)
        return unflatten(_fresh(zeros_like(leaf) if g is None else g for leaf, g in zip(leaves, found)))

    return value, vjp_fn


# ----- forward mode -----------------------------------------------------------------------

class JVPNode:
    """A forward-mode node: the tangent of its value, computed at once."""

    __slots__ = ("tangent",)

    def __init__(self, ans, fun, args, kwargs, argnums, parents):
        tangent = None
        for i, parent in zip(argnums, parents):
            rule = _rule(primitive_jvps, fun, i, "forward")
            contribution = rule(parent.tangent, ans, *args, **kwargs)
            if tangent is None:
                tangent = contribution
            else:
                tangent = add(tangent, contribution)
        self.tangent = tangent

    @classmethod
    def root(cls, tangent):
        node = cls.__new__(cls)
        node.tangent = tangent
        return node


def make_jvp(fun, x, v):
    """Run ``fun(x)`` once, carrying the tangent ``v`` along.

    Returns:
        ``(value, J v)``.
    """
    leaves, unflatten = tree_flatten(x)
    tangents, _ = tree_flatten(v)
    _check_same_shapes(leaves, tangents)
    roots = [JVPNode.root(t) for t in tangents]
    value, end_node = trace(fun, leaves, unflatten, roots)
    if end_node is None:  # the output does not depend on x
        return value, zeros_like(value)
    return value, _fresh([end_node.tangent])[0]


# ----- small helpers --------------------------------------------------------------------------

def _check_same_shapes(leaves, tangents):
    if len(tangents) != len(leaves) or any(np.shape(t) != np.shape(a) for t, a in zip(tangents, leaves)):
        raise ValueError("the tangent v must have the same structure and shapes as x")


def zeros_like(x):
    return np.zeros(np.shape(getval(x)), dtype=np.result_type(getval(x), np.float64))


def _fresh(arrays):
    """Results the user may modify in place: copy read-only views and repeated objects."""
    out, seen = [], set()
    for a in arrays:
        if isinstance(a, np.ndarray) and (not a.flags.writeable or id(a) in seen):
            a = a.copy()
        seen.add(id(a))
        out.append(a)
    return out
