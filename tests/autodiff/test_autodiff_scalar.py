"""The scalar engine against two oracles: HIPS autograd and the tensor engine."""
import math

import numpy as np
import pytest

from diffrn.autodiff import grad
from diffrn.autodiff import numpy as anp
from diffrn.autodiff.scalar import Value

autograd = pytest.importorskip("autograd")
agnp = pytest.importorskip("autograd.numpy")


def expression(a, b, np_=None):
    """One expression for Values and for arrays: every operation of the scalar engine."""
    tanh = (lambda v: v.tanh()) if np_ is None else np_.tanh
    exp = (lambda v: v.exp()) if np_ is None else np_.exp
    log = (lambda v: v.log()) if np_ is None else np_.log
    relu = (lambda v: v.relu()) if np_ is None else (lambda v: np_.maximum(v, 0.0))
    c = a * b + a - 2.0 * b
    d = tanh(c) / (1.0 + a ** 2) + log(b ** 2 + 1.0) - exp(-b) * 3.0
    return relu(d * a - b / 4.0) + 1.0 / (2.0 + c ** 2) - (5.0 - a)


@pytest.mark.parametrize("a0,b0", [(2.0, -3.0), (0.7, 1.3), (-1.1, 0.4)])
def test_scalar_engine_matches_autograd_and_tensor_engine(a0, b0):
    a, b = Value(a0), Value(b0)
    out = expression(a, b)
    out.backward()
    f_ag = lambda ab: expression(ab[0], ab[1], agnp)
    f_anp = lambda ab: expression(ab[0], ab[1], anp)
    point = np.array([a0, b0])
    assert out.data == pytest.approx(float(f_ag(point)), rel=1e-12)
    np.testing.assert_allclose([a.grad, b.grad], autograd.grad(f_ag)(point), rtol=1e-12)
    np.testing.assert_allclose([a.grad, b.grad], grad(f_anp)(point), rtol=1e-12)


def test_a_value_used_twice_collects_both_contributions():
    x = Value(3.0)
    y = x * x + x  # x is used three times
    y.backward()
    assert x.grad == pytest.approx(2 * 3.0 + 1)


def test_backward_twice_gives_the_same_gradient():
    x = Value(0.5)
    y = (x.tanh() * x).exp()
    y.backward()
    first = x.grad
    y.backward()
    assert x.grad == first
    assert first == pytest.approx(math.exp(math.tanh(0.5) * 0.5) * (math.tanh(0.5) + 0.5 * (1 - math.tanh(0.5) ** 2)))


def test_topological_order_puts_inputs_first():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    order = d.topological_order()
    assert order.index(a) < order.index(c) < order.index(d) and order.index(b) < order.index(c)
