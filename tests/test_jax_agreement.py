"""The course engine against JAX (CPU, float64), the library Chapter 3 maps it onto.

Every transformation the chapter puts side by side (grad, vjp, jvp, jacobian in both modes and
jacfwd/jacrev, hessian, hvp, per-example gradients with vmap) must give the same numbers, on
functions written once for both array modules. The JAX side is compiled with ``jax.jit``:
run eagerly, JAX compiles every primitive separately, which takes far longer than these tiny
computations.
"""
import os
import types

os.environ.setdefault("JAX_PLATFORMS", "cpu")  # look for no accelerator (and warn about none)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import jax.scipy.special  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from diffrn.autodiff import grad, hessian, hvp, jacobian, jvp, value_and_grad, vjp  # noqa: E402
from diffrn.autodiff import numpy as anp  # noqa: E402

jax.config.update("jax_enable_x64", True)

# jax.numpy under the engine's names, so that each test function is written once.
jxp = types.SimpleNamespace(
    tanh=jnp.tanh, exp=jnp.exp, log=jnp.log, sin=jnp.sin, cos=jnp.cos, sqrt=jnp.sqrt, sum=jnp.sum,
    mean=jnp.mean, maximum=jnp.maximum, where=jnp.where, softmax=jax.nn.softmax,
    log_softmax=jax.nn.log_softmax, logsumexp=jax.scipy.special.logsumexp, relu=jax.nn.relu,
    sigmoid=jax.nn.sigmoid,
)
TOL = dict(rtol=1e-10, atol=1e-12)
A = np.random.default_rng(0).standard_normal((3, 4))

# R^4 -> R^3 maps built from the engine's primitives.
VECTOR_MAPS = {
    "tanh of a product": lambda xp, x: xp.tanh(A @ x) * xp.sum(x ** 2),
    "softmax": lambda xp, x: xp.softmax(A @ x),
    "log_softmax": lambda xp, x: xp.log_softmax(A @ x),
    "sin, cos, exp": lambda xp, x: xp.sin(A @ x) + xp.cos(A @ xp.exp(x / 3)),
    "sqrt and division": lambda xp, x: xp.sqrt(1.0 + (A @ x) ** 2) / (2.0 + xp.sum(x ** 2)),
    "sigmoid, maximum": lambda xp, x: xp.sigmoid(A @ x) + xp.maximum(A @ x, 0.1),
    "broadcast": lambda xp, x: xp.sum(A * x, axis=1) + x[:3] * x[1:],
}
# R^4 -> R functions (their Hessians are compared too).
SCALAR_FUNCTIONS = {
    "tanh squared plus logsumexp": lambda xp, x: xp.sum(xp.tanh(A @ x) ** 2) + xp.logsumexp(x),
    "cross-entropy": lambda xp, x: -xp.log_softmax(A @ x)[1],
    "log of a sum of exps": lambda xp, x: xp.log(xp.sum(xp.exp(x))) * xp.mean(xp.sin(x)),
    "rational": lambda xp, x: xp.sum(x ** 3) / (1.0 + xp.sum(x ** 2)),
}


@pytest.fixture
def point():
    rng = np.random.default_rng(1)
    return rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal(3)


def both(function):
    return (lambda x: function(anp, x)), (lambda x: function(jxp, x))


@pytest.mark.parametrize("name", sorted(SCALAR_FUNCTIONS))
def test_gradient_and_value(name, point):
    ours, theirs = both(SCALAR_FUNCTIONS[name])
    x, _, _ = point
    our_value, our_grad = value_and_grad(ours)(x)
    their_value, their_grad = jax.jit(jax.value_and_grad(theirs))(x)
    assert our_value == pytest.approx(float(their_value), rel=1e-12)
    np.testing.assert_allclose(our_grad, their_grad, **TOL)
    np.testing.assert_allclose(grad(ours)(x), jax.jit(jax.grad(theirs))(x), **TOL)


@pytest.mark.parametrize("name", sorted(VECTOR_MAPS))
def test_vjp_and_jvp(name, point):
    ours, theirs = both(VECTOR_MAPS[name])
    x, v, u = point
    our_value, our_pull_back = vjp(ours, x)
    their_value, their_pull_back = jax.vjp(theirs, x)
    np.testing.assert_allclose(our_value, their_value, **TOL)
    (their_cotangent,) = jax.jit(their_pull_back)(u)
    np.testing.assert_allclose(our_pull_back(u), their_cotangent, **TOL)
    their_jvp = jax.jit(lambda x, v: jax.jvp(theirs, (x,), (v,))[1])
    np.testing.assert_allclose(jvp(ours, x, v)[1], their_jvp(x, v), **TOL)


@pytest.mark.parametrize("name", sorted(VECTOR_MAPS))
def test_jacobian_modes_are_jacrev_and_jacfwd(name, point):
    ours, theirs = both(VECTOR_MAPS[name])
    x, _, _ = point
    np.testing.assert_allclose(jacobian(ours, x, mode="reverse"), jax.jit(jax.jacrev(theirs))(x), **TOL)
    np.testing.assert_allclose(jacobian(ours, x, mode="forward"), jax.jit(jax.jacfwd(theirs))(x), **TOL)


@pytest.mark.parametrize("name", sorted(SCALAR_FUNCTIONS))
def test_hessian_and_hvp(name, point):
    ours, theirs = both(SCALAR_FUNCTIONS[name])
    x, v, _ = point
    np.testing.assert_allclose(hessian(ours, x), jax.jit(jax.hessian(theirs))(x), **TOL)
    their_hvp = jax.jit(lambda x, v: jax.jvp(jax.grad(theirs), (x,), (v,))[1])(x, v)
    np.testing.assert_allclose(hvp(ours, x, v), their_hvp, **TOL)
    # reverse over reverse gives the same H v (the Hessian is symmetric)
    reverse_over_reverse = grad(lambda y: anp.sum(grad(ours)(y) * v))(x)
    np.testing.assert_allclose(reverse_over_reverse, their_hvp, **TOL)


def network_loss(xp, params, x, y):
    hidden = xp.tanh(x @ params["W1"] + params["b1"])
    return 0.5 * xp.sum((hidden @ params["W2"] + params["b2"] - y) ** 2)


def test_per_example_gradients_with_vmap_and_their_sum():
    rng = np.random.default_rng(2)
    params = {"W1": rng.standard_normal((3, 5)), "b1": rng.standard_normal(5),
              "W2": rng.standard_normal((5, 2)), "b2": rng.standard_normal(2)}
    X, Y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    per_example_grads = jax.vmap(jax.grad(lambda p, x, y: network_loss(jxp, p, x, y)), in_axes=(None, 0, 0))
    per_example = jax.jit(per_example_grads)(params, X, Y)
    for i in range(len(X)):
        ours = grad(lambda p: network_loss(anp, p, X[i], Y[i]))(params)
        for name in params:
            assert per_example[name].shape == (len(X), *params[name].shape)
            np.testing.assert_allclose(per_example[name][i], ours[name], **TOL)
    # The batched loss (rows are examples) is the sum of the examples' losses: so is its gradient.
    batched = grad(lambda p: network_loss(anp, p, X, Y))(params)
    for name in params:
        np.testing.assert_allclose(batched[name], per_example[name].sum(axis=0), **TOL)


def test_jax_runs_in_float64_on_the_cpu():
    assert jax.devices()[0].platform == "cpu"
    assert jax.grad(lambda x: jnp.sum(x ** 2))(jnp.ones(2)).dtype == jnp.float64
