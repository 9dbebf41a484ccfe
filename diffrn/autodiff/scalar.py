"""A reverse-mode engine for scalars, small enough to read in one go (in the style of micrograd).

    a, b = Value(2.0), Value(-3.0)
    loss = (a * b + a).tanh()
    loss.backward()
    a.grad, b.grad          # d loss / d a, d loss / d b

Every operation returns a new :class:`Value` that remembers its inputs (``_prev``), the name
of the operation (``_op``) and a closure ``_backward`` that adds its share of the derivative to
its inputs' ``grad``. :meth:`Value.backward` runs those closures from the output back.
"""
from __future__ import annotations

import math


class Value:
    """A number in a computational graph, and d(output)/d(this number)."""

    def __init__(self, data, _prev=(), _op="", label=""):
        self.data = float(data)
        self.grad = 0.0
        self._prev = tuple(_prev)
        self._op = _op
        self._backward = lambda: None
        self.label = label

    def __add__(self, other):
        other = as_value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = as_value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, exponent):
        if not isinstance(exponent, (int, float)):
            raise TypeError("only constant exponents; write x ** y as (y * x.log()).exp()")
        out = Value(self.data ** exponent, (self,), f"**{exponent:g}")

        def _backward():
            self.grad += exponent * self.data ** (exponent - 1) * out.grad
        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def log(self):
        out = Value(math.log(self.data), (self,), "log")

        def _backward():
            self.grad += out.grad / self.data
        out._backward = _backward
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward():
            self.grad += (1.0 - out.data ** 2) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = Value(max(self.data, 0.0), (self,), "relu")

        def _backward():
            self.grad += (self.data > 0) * out.grad
        out._backward = _backward
        return out

    def __sub__(self, other):
        other = as_value(other)
        out = Value(self.data - other.data, (self, other), "-")

        def _backward():
            self.grad += out.grad
            other.grad -= out.grad
        out._backward = _backward
        return out

    def __truediv__(self, other):
        other = as_value(other)
        out = Value(self.data / other.data, (self, other), "/")

        def _backward():
            self.grad += out.grad / other.data
            other.grad -= out.grad * out.data / other.data
        out._backward = _backward
        return out

    # The mirrored forms (2 * v, 1 - v, ...) reuse the operations above.
    def __neg__(self):
        return self * -1.0

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return as_value(other) - self

    def __rtruediv__(self, other):
        return as_value(other) / self

    def topological_order(self):
        """Every value this one depends on, each after all its inputs."""
        order, seen = [], set()

        def visit(v):
            if v not in seen:
                seen.add(v)
                for child in v._prev:
                    visit(child)
                order.append(v)
        visit(self)
        return order

    def backward(self):
        """Set ``grad`` of every value in the graph to d(self)/d(value).

        The seed is d(self)/d(self) = 1. Then each value, visited after
        everything that uses it, sends its ``grad`` to its inputs through
        its ``_backward`` closure.
        """
        order = self.topological_order()
        for v in order:
            v.grad = 0.0
        self.grad = 1.0
        for v in reversed(order):
            v._backward()

    def __repr__(self):
        return f"Value(data={self.data:.4g}, grad={self.grad:.4g})"


def as_value(x) -> Value:
    """``x`` itself if it is a Value, else a constant leaf holding ``x``."""
    return x if isinstance(x, Value) else Value(x)
