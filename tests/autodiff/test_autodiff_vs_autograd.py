"""The tensor engine against an outside oracle: HIPS autograd on the same computations."""
import numpy as np
import pytest

autograd = pytest.importorskip("autograd")
agnp = pytest.importorskip("autograd.numpy")

from diffrn.autodiff import grad, hessian, hvp, jacobian, jvp, value_and_grad  # noqa: E402
from diffrn.autodiff import numpy as anp  # noqa: E402


def mlp_loss(np_):
    """Cross-entropy of a relu MLP, written once for any numpy-like module."""
    def loss(params, X, y):
        *hidden, (W, b) = params
        h = X
        for W_k, b_k in hidden:
            h = np_.maximum(h @ W_k + b_k, 0.0)
        logits = h @ W + b
        logits = logits - np_.max(logits, axis=1, keepdims=True)
        log_probs = logits - np_.log(np_.sum(np_.exp(logits), axis=1, keepdims=True))
        return -np_.mean(log_probs[np.arange(len(y)), y])
    return loss


def make_mlp(rng, sizes, batch):
    params = [(rng.standard_normal((a, b)) / np.sqrt(a), 0.1 * rng.standard_normal(b))
              for a, b in zip(sizes[:-1], sizes[1:])]
    X = rng.standard_normal((batch, sizes[0]))
    y = rng.integers(0, sizes[-1], size=batch)
    return params, X, y


@pytest.mark.parametrize("sizes", [(6, 5, 3), (20, 16, 16, 5), (784, 512, 512, 10)], ids=str)
def test_mlp_loss_value_and_gradient(sizes, rng):
    params, X, y = make_mlp(rng, sizes, batch=128 if sizes[0] == 784 else 8)
    ours_value, ours_grad = value_and_grad(mlp_loss(anp))(params, X, y)
    their_value, their_grad = autograd.value_and_grad(mlp_loss(agnp))(params, X, y)
    assert ours_value == pytest.approx(their_value, rel=1e-12)
    for (gW, gb), (tW, tb) in zip(ours_grad, their_grad):
        np.testing.assert_allclose(gW, tW, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(gb, tb, rtol=1e-9, atol=1e-12)


def test_mlp_written_with_engine_primitives(rng):
    """relu and log_softmax primitives give the same gradient as autograd's composite version."""
    params, X, y = make_mlp(rng, (10, 8, 4), batch=6)

    def loss(params, X, y):
        (W1, b1), (W2, b2) = params
        log_probs = anp.log_softmax(anp.relu(X @ W1 + b1) @ W2 + b2)
        return -anp.mean(log_probs[np.arange(len(y)), y])

    ours = grad(loss)(params, X, y)
    theirs = autograd.grad(mlp_loss(agnp))(params, X, y)
    for mine, other in zip(np.concatenate([np.ravel(a) for pair in ours for a in pair]),
                           np.concatenate([np.ravel(a) for pair in theirs for a in pair])):
        assert mine == pytest.approx(other, rel=1e-9, abs=1e-12)


def test_softmax_cross_entropy(rng):
    z, label = rng.standard_normal(7), 3
    ours = grad(lambda z: -anp.log_softmax(z)[label])(z)
    theirs = autograd.grad(lambda z: -(z[label] - agnp.log(agnp.sum(agnp.exp(z)))))(z)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    expected = anp.softmax(z) - np.eye(7)[label]  # s - e_y
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-15)


def smooth_functions():
    A = np.random.default_rng(3).standard_normal((4, 5))
    return {
        "tanh_quadratic": (lambda np_: lambda x: np_.sum(np_.tanh(A @ x) ** 2) + np_.sum(x ** 3) / 3),
        "logsumexp": (lambda np_: lambda x: np_.log(np_.sum(np_.exp(A @ x)))),
        "cross_entropy": (lambda np_: lambda x: -(A @ x)[1] + np_.log(np_.sum(np_.exp(A @ x)))),
        "rational": (lambda np_: lambda x: np_.sum(x[:2] / (1.0 + x[2:4] ** 2)) * np_.sin(x[4])),
    }


@pytest.mark.parametrize("name", sorted(smooth_functions()))
def test_nested_hessians(name, rng):
    make = smooth_functions()[name]
    f, f_ag = make(anp), make(agnp)
    x, v = rng.standard_normal(5), rng.standard_normal(5)
    expected = autograd.hessian(f_ag)(x)
    np.testing.assert_allclose(hessian(f, x), expected, rtol=1e-10, atol=1e-12)          # forward-over-reverse
    np.testing.assert_allclose(jacobian(grad(f), x), expected, rtol=1e-10, atol=1e-12)   # reverse-over-reverse
    np.testing.assert_allclose(jacobian(grad(f), x, mode="forward"), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hvp(f, x, v), autograd.hessian_vector_product(f_ag)(x, v), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(jvp(grad(f), x, v)[1], expected @ v, rtol=1e-10, atol=1e-12)


def test_grad_of_grad_scalar(rng):
    f = lambda np_: lambda t: np_.tanh(t) * np_.exp(-t * t) + np_.log(1.0 + t * t)
    for t in rng.standard_normal(3):
        ours = grad(grad(f(anp)))(t)
        theirs = autograd.grad(autograd.grad(f(agnp)))(t)
        assert float(ours) == pytest.approx(float(theirs), rel=1e-12)
        assert float(grad(grad(grad(f(anp))))(t)) == pytest.approx(float(autograd.grad(autograd.grad(autograd.grad(f(agnp))))(t)), rel=1e-10)


def test_hessian_of_mlp_loss_in_the_weights(rng):
    params, X, y = make_mlp(rng, (3, 4, 2), batch=5)
    (W1, b1), (W2, b2) = params

    def loss_of(np_):
        def loss(w):
            W = np_.reshape(w, (3, 4))
            h = np_.tanh(X @ W + b1)
            logits = h @ W2 + b2
            return np_.mean(np_.log(np_.sum(np_.exp(logits), axis=1)) - logits[np.arange(5), y])
        return loss

    w = W1.ravel()
    np.testing.assert_allclose(hessian(loss_of(anp), w), autograd.hessian(loss_of(agnp))(w), rtol=1e-9, atol=1e-12)
