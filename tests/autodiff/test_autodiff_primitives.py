"""Every primitive's VJP and JVP against central differences (first and second order).

check_grads compares the JVP with a central difference along a random direction, the VJP with
the JVP through the adjoint identity <u, J v> = <J^T u, v>, and, at order 2, the derivatives of
the JVP and VJP themselves (what Hessians and forward-over-reverse use).
"""
import numpy as np
import pytest

from diffrn.autodiff import numpy as anp
from diffrn.autodiff.testing import check_grads


def positive(rng, *shape):
    return rng.uniform(0.5, 2.0, size=shape)


def away_from_zero(rng, *shape):
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.3, 1.5, size=shape)


UNARY = {
    "negative": (anp.negative, away_from_zero),
    "square": (anp.square, away_from_zero),
    "sqrt": (anp.sqrt, positive),
    "exp": (anp.exp, away_from_zero),
    "log": (anp.log, positive),
    "tanh": (anp.tanh, away_from_zero),
    "sigmoid": (anp.sigmoid, away_from_zero),
    "sin": (anp.sin, away_from_zero),
    "cos": (anp.cos, away_from_zero),
    "abs": (anp.abs, away_from_zero),
    "relu": (anp.relu, away_from_zero),
    "softmax": (anp.softmax, away_from_zero),
    "softmax_axis0": (lambda x: anp.softmax(x, axis=0), away_from_zero),
    "log_softmax": (anp.log_softmax, away_from_zero),
    "logsumexp": (anp.logsumexp, away_from_zero),
    "logsumexp_axis1_keepdims": (lambda x: anp.logsumexp(x, axis=1, keepdims=True), away_from_zero),
    "sum": (anp.sum, away_from_zero),
    "sum_axis0": (lambda x: anp.sum(x, axis=0), away_from_zero),
    "sum_axis_tuple_keepdims": (lambda x: anp.sum(x, axis=(0, 1), keepdims=True), away_from_zero),
    "mean": (anp.mean, away_from_zero),
    "mean_axis1": (lambda x: anp.mean(x, axis=1), away_from_zero),
    "max": (anp.max, away_from_zero),
    "max_axis0_keepdims": (lambda x: anp.max(x, axis=0, keepdims=True), away_from_zero),
    "reshape": (lambda x: anp.reshape(x, (4, 3)), away_from_zero),
    "transpose": (anp.transpose, away_from_zero),
    "T": (lambda x: x.T, away_from_zero),
    "swapaxes": (lambda x: anp.swapaxes(x, 0, 1), away_from_zero),
    "expand_dims": (lambda x: anp.expand_dims(x, 1), away_from_zero),
    "broadcast_to": (lambda x: anp.broadcast_to(x[:1], (5, 4)), away_from_zero),
    "getitem_slice": (lambda x: x[1:, ::2], away_from_zero),
    "getitem_int": (lambda x: x[2], away_from_zero),
    "getitem_repeated_rows": (lambda x: x[[0, 2, 0], [1, 1, 1]], away_from_zero),
    "getitem_mask": (lambda x: x[np.array([True, False, True])], away_from_zero),
    "where": (lambda x: anp.where(np.eye(3, 4, dtype=bool), x, 2.0 * x), away_from_zero),
    "stack": (lambda x: anp.stack([x, 2.0 * x, anp.sin(x)], axis=1), away_from_zero),
    "concatenate": (lambda x: anp.concatenate([x, anp.exp(x[:1])], axis=0), away_from_zero),
    "array_of_boxes": (lambda x: anp.array([x[0, 0] * x[1, 1], anp.sum(x)]), away_from_zero),
    "untake": (lambda x: anp.untake(x, [0, 2, 0], (4, 4)), away_from_zero),
    "box_methods": (lambda x: x.reshape(2, 6).sum(axis=1) + x.mean() * x.max() + x.ravel()[3], away_from_zero),
    "python_scalar_ops": (lambda x: 2.0 - x / 3.0 + 1.0 / (x * x + 1.0) + 2.0 ** x - (-x) ** 2, away_from_zero),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_primitive(name, rng):
    fun, sample = UNARY[name]
    x = sample(rng, 3, 4)
    check_grads(fun, x, order=2, rng=rng)


BINARY = {
    "add": anp.add, "subtract": anp.subtract, "multiply": anp.multiply,
    "divide": anp.divide, "power": anp.power, "maximum": anp.maximum,
}
SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((), (3,)), ((2, 3, 4), (3, 1))]


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_binary_primitive_with_broadcasting(name, shapes, rng):
    fun = BINARY[name]
    x, y = positive(rng, *shapes[0]), positive(rng, *shapes[1])
    check_grads(lambda x: fun(x, y), x, order=2, rng=rng)
    check_grads(lambda y: fun(x, y), y, order=2, rng=rng)


def test_power_with_integer_exponent_and_operators(rng):
    x = away_from_zero(rng, 5)
    check_grads(lambda x: x ** 3, x, order=2, rng=rng)
    check_grads(lambda x: anp.sum(x ** 2) ** 0.5, x, order=2, rng=rng)


MATMUL_SHAPES = [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)),
                 ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((3, 4), (2, 4, 5)), ((2, 3, 4), (4,))]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(shapes, rng):
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    check_grads(lambda a: anp.matmul(a, b), a, order=2, rng=rng)
    check_grads(lambda b: a @ b, b, order=2, rng=rng)
    check_grads(lambda a: a @ anp.tanh(anp.swapaxes(a, -1, -2) if a.ndim > 1 else a), a, order=2, rng=rng)


@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((), (3,)), ((3, 2), ())], ids=str)
def test_dot(shapes, rng):
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    check_grads(lambda a: anp.dot(a, b), a, order=2, rng=rng)
    check_grads(lambda b: anp.dot(a, b), b, order=2, rng=rng)


def test_adjoint_identity_on_a_composite(rng):
    """<u, J v> = <J^T u, v> for a map R^6 -> R^4 built from many primitives."""
    from diffrn.autodiff import jvp, vjp

    A = rng.standard_normal((4, 6))

    def f(x):
        return anp.softmax(anp.tanh(A @ x) * anp.exp(x[:4])) + anp.logsumexp(x)

    x, v, u = rng.standard_normal(6), rng.standard_normal(6), rng.standard_normal(4)
    _, tangent = jvp(f, x, v)
    _, vjp_fn = vjp(f, x)
    assert np.vdot(u, tangent) == pytest.approx(np.vdot(vjp_fn(u), v), rel=1e-12)
