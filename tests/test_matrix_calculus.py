"""Tests of diffrn.matrix_calculus against central differences and against the course's engine."""
import numpy as np
import pytest

from diffrn.autodiff import grad, jacobian, jvp, vjp
from diffrn.autodiff import numpy as anp
from diffrn.matrix_calculus import (
    det_differential,
    differential_fd,
    gaussian_nll,
    gaussian_nll_differential,
    inverse_differential,
    least_squares_differential,
    least_squares_loss,
    logdet_differential,
    matrix_jacobian_fd,
    product_differential,
    relative_error,
    trace_inner,
    unvec,
    vec,
)


@pytest.fixture
def rng():
    return np.random.default_rng(20260707)


def well_conditioned(rng, n):
    """A random n x n matrix with singular values in [1, 3] (so differences are accurate)."""
    u, _ = np.linalg.qr(rng.normal(size=(n, n)))
    v, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return u @ np.diag(np.linspace(1.0, 3.0, n)) @ v.T


def spd(rng, n):
    M = rng.normal(size=(n, n))
    return M @ M.T / n + 0.5 * np.eye(n)


def engine_vec_jacobian(f, X):
    """The engine's Jacobian of a matrix-to-matrix map, rearranged to vec (column-stacking) coordinates."""
    J = np.asarray(jacobian(f, X, mode="forward"))          # shape out.shape + X.shape
    m, n, p, q = J.shape
    return J.transpose(1, 0, 3, 2).reshape(m * n, p * q)


# Functions of small matrices written with the engine's primitives only (it has no linear-algebra
# primitives), so that its JVPs give an independent answer.

def det2(A):
    return A[0, 0] * A[1, 1] - A[0, 1] * A[1, 0]


def inv2(A):
    adjugate = anp.stack([anp.stack([A[1, 1], -A[0, 1]]), anp.stack([-A[1, 0], A[0, 0]])])
    return adjugate / det2(A)


def det3(A):
    return (A[0, 0] * (A[1, 1] * A[2, 2] - A[1, 2] * A[2, 1])
            - A[0, 1] * (A[1, 0] * A[2, 2] - A[1, 2] * A[2, 0])
            + A[0, 2] * (A[1, 0] * A[2, 1] - A[1, 1] * A[2, 0]))


# ----- the trace inner product and vec -------------------------------------------------------------

def test_trace_inner_is_trace_of_transpose_product_and_vec_dot(rng):
    A, B = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    assert trace_inner(A, B) == pytest.approx(np.trace(A.T @ B))
    assert trace_inner(A, B) == pytest.approx(vec(A) @ vec(B))
    with pytest.raises(ValueError, match="one shape"):
        trace_inner(A, B.T)


def test_vec_stacks_columns_and_unvec_inverts_it(rng):
    X = np.arange(6.0).reshape(2, 3)                           # [[0, 1, 2], [3, 4, 5]]
    np.testing.assert_array_equal(vec(X), [0, 3, 1, 4, 2, 5])
    Y = rng.normal(size=(3, 5))
    np.testing.assert_array_equal(unvec(vec(Y), Y.shape), Y)
    with pytest.raises(ValueError, match="cannot fill"):
        unvec(np.zeros(7), (2, 3))
    with pytest.raises(ValueError, match="matrix"):
        vec(np.zeros(3))


@pytest.mark.parametrize("shapes", [((2, 3), (3, 4), (4, 2)), ((1, 5), (5, 5), (5, 3)), ((3, 2), (2, 1), (1, 4))])
def test_kronecker_identity_for_vec_of_a_product(rng, shapes):
    A, X, B = (rng.normal(size=s) for s in shapes)
    np.testing.assert_allclose(vec(A @ X @ B), np.kron(B.T, A) @ vec(X), atol=1e-12)


def test_matrix_vector_product_as_kronecker(rng):
    W, x = rng.normal(size=(3, 4)), rng.normal(size=4)
    np.testing.assert_allclose(W @ x, np.kron(x, np.eye(3)) @ vec(W), atol=1e-12)


def test_jacobian_of_sandwich_is_kronecker_in_engine_and_by_differences(rng):
    A, B, X = rng.normal(size=(3, 2)), rng.normal(size=(4, 5)), rng.normal(size=(2, 4))
    expected = np.kron(B.T, A)
    np.testing.assert_allclose(engine_vec_jacobian(lambda M: A @ M @ B, X), expected, atol=1e-12)
    np.testing.assert_allclose(matrix_jacobian_fd(lambda M: A @ M @ B, X), expected, atol=1e-8)


def test_gradient_has_the_shape_of_the_matrix_and_pairs_with_the_differential(rng):
    # For a scalar f of a matrix, <grad f, dA> = df: the engine's gradient against its own JVP.
    C, D = rng.normal(size=(3, 3)), rng.normal(size=(4, 4))
    f = lambda W: anp.sum(anp.tanh(C @ W @ D))
    W, dW = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    gradient = grad(f)(W)
    assert gradient.shape == W.shape
    assert trace_inner(gradient, dW) == pytest.approx(float(jvp(f, W, dW)[1]), rel=1e-12)
    assert trace_inner(gradient, dW) == pytest.approx(differential_fd(f, W, dW), rel=1e-7)


def test_moving_factors_across_the_inner_product(rng):
    # <G, M dA N> = <M^T G N^T, dA>: the step that turns every differential into a gradient.
    M, N, dA, G = rng.normal(size=(3, 4)), rng.normal(size=(5, 2)), rng.normal(size=(4, 5)), rng.normal(size=(3, 2))
    assert trace_inner(G, M @ dA @ N) == pytest.approx(trace_inner(M.T @ G @ N.T, dA), rel=1e-12)
    _, pull_back = vjp(lambda X: M @ X @ N, dA)
    np.testing.assert_allclose(pull_back(G), M.T @ G @ N.T, atol=1e-12)


# ----- differentials -------------------------------------------------------------------------------------

def test_product_rule_against_engine_and_differences(rng):
    A, B, dA, dB = (rng.normal(size=s) for s in [(3, 4), (4, 2), (3, 4), (4, 2)])
    expected = product_differential(A, B, dA, dB)
    np.testing.assert_allclose(expected, differential_fd(lambda t: (A + t * dA) @ (B + t * dB), 0.0, 1.0), atol=1e-8)
    # A -> A C A has differential dA C A + A C dA: the product rule twice, checked by the engine.
    X, dX = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    C = rng.normal(size=(3, 3))
    _, tangent = jvp(lambda M: M @ C @ M, X, dX)
    np.testing.assert_allclose(tangent, product_differential(X, C @ X, dX, C @ dX), atol=1e-12)
    with pytest.raises(ValueError, match="shape"):
        product_differential(A, B, dA.T, dB)


@pytest.mark.parametrize("n", [1, 2, 5, 20])
def test_inverse_differential_against_differences(rng, n):
    A, dA = well_conditioned(rng, n), rng.normal(size=(n, n))
    expected = differential_fd(np.linalg.inv, A, dA)
    assert relative_error(inverse_differential(A, dA), expected) < 1e-7


def test_inverse_differential_against_engine_on_2x2(rng):
    A, dA = well_conditioned(rng, 2), rng.normal(size=(2, 2))
    _, tangent = jvp(inv2, A, dA)
    np.testing.assert_allclose(inverse_differential(A, dA), tangent, atol=1e-12)


def test_inverse_differential_is_the_differential_of_A_times_its_inverse(rng):
    # A A^{-1} = I, so dA A^{-1} + A d(A^{-1}) = 0: a check with no differences at all.
    A, dA = well_conditioned(rng, 30), rng.normal(size=(30, 30))
    residual = dA @ np.linalg.inv(A) + A @ inverse_differential(A, dA)
    assert np.abs(residual).max() < 1e-10


def test_inverse_differential_does_not_modify_its_inputs(rng):
    A, dA = well_conditioned(rng, 4), rng.normal(size=(4, 4))
    A0, dA0 = A.copy(), dA.copy()
    inverse_differential(A, dA)
    np.testing.assert_array_equal(A, A0)
    np.testing.assert_array_equal(dA, dA0)


def test_jacobian_of_inverse_is_minus_kron(rng):
    A = well_conditioned(rng, 3)
    inverse = np.linalg.inv(A)
    expected = -np.kron(inverse.T, inverse)
    np.testing.assert_allclose(matrix_jacobian_fd(np.linalg.inv, A), expected, atol=1e-8)
    for k in range(9):
        column = vec(inverse_differential(A, unvec(np.eye(9)[k], (3, 3))))
        np.testing.assert_allclose(column, expected[:, k], atol=1e-12)


@pytest.mark.parametrize("n", [2, 3, 6])
def test_det_differential_is_jacobis_formula(rng, n):
    A, dA = well_conditioned(rng, n), rng.normal(size=(n, n))
    assert det_differential(A, dA) == pytest.approx(differential_fd(np.linalg.det, A, dA), rel=1e-7)
    # Jacobi's formula with the adjugate, det(A) A^{-1}: d det = tr(adj(A) dA).
    adjugate = np.linalg.det(A) * np.linalg.inv(A)
    assert det_differential(A, dA) == pytest.approx(np.trace(adjugate @ dA), rel=1e-10)


@pytest.mark.parametrize("det, n", [(det2, 2), (det3, 3)])
def test_det_and_logdet_differentials_against_engine(rng, det, n):
    A, dA = well_conditioned(rng, n), rng.normal(size=(n, n))
    value, tangent = jvp(det, A, dA)
    assert float(value) == pytest.approx(np.linalg.det(A), rel=1e-12)
    assert det_differential(A, dA) == pytest.approx(float(tangent), rel=1e-10)
    _, log_tangent = jvp(lambda M: anp.log(anp.abs(det(M))), A, dA)
    assert logdet_differential(A, dA) == pytest.approx(float(log_tangent), rel=1e-10)


def test_logdet_differential_where_det_overflows_and_underflows(rng):
    n = 200
    base = rng.normal(size=(n, n))
    dA = rng.normal(size=(n, n))
    for scale in (1e3, 1e-3):
        A = scale * base
        with np.errstate(over="ignore", under="ignore"):
            det = np.linalg.det(A)
        assert det == 0.0 or not np.isfinite(det)        # the determinant itself is useless here
        logdet = lambda M: np.linalg.slogdet(M)[1]
        expected = differential_fd(logdet, A, scale * dA, h=1e-5)
        assert logdet_differential(A, scale * dA) == pytest.approx(expected, rel=1e-6)


def test_logdet_differential_along_identity_counts_and_is_scale_free(rng):
    A = well_conditioned(rng, 7)
    # log|det(A + tA)| = log|det A| + n log(1 + t): derivative n at t = 0.
    assert logdet_differential(A, A) == pytest.approx(7.0, rel=1e-12)
    dA = rng.normal(size=(7, 7))
    assert logdet_differential(5.0 * A, 5.0 * dA) == pytest.approx(logdet_differential(A, dA), rel=1e-12)


def test_singular_and_misshapen_inputs_raise_with_a_message(rng):
    with pytest.raises(np.linalg.LinAlgError):
        inverse_differential(np.ones((3, 3)), np.eye(3))
    with pytest.raises(ValueError, match="square"):
        logdet_differential(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="shape of the matrix"):
        det_differential(np.eye(3), np.eye(2))


# ----- worked examples ------------------------------------------------------------------------------------

def test_least_squares_differential_against_engine_and_differences(rng):
    X, Y, W = rng.normal(size=(30, 4)), rng.normal(size=(30, 2)), rng.normal(size=(4, 2))
    dW = rng.normal(size=W.shape)
    found = least_squares_differential(W, X, Y, dW)
    assert found == pytest.approx(differential_fd(lambda V: least_squares_loss(V, X, Y), W, dW), rel=1e-7)
    loss = lambda V: anp.sum((X @ V - Y) ** 2)
    assert found == pytest.approx(float(jvp(loss, W, dW)[1]), rel=1e-12)
    # The engine's gradient is 2 X^T (X W - Y), the matrix that pairs with every direction.
    gradient = grad(loss)(W)
    np.testing.assert_allclose(gradient, 2 * X.T @ (X @ W - Y), atol=1e-10)
    assert trace_inner(gradient, dW) == pytest.approx(found, rel=1e-12)
    # At the least-squares solution the differential vanishes in every direction.
    solution = np.linalg.lstsq(X, Y, rcond=None)[0]
    assert abs(least_squares_differential(solution, X, Y, dW)) < 1e-10
    assert least_squares_loss(W, X, Y) == pytest.approx(np.linalg.norm(X @ W - Y) ** 2)


def test_gaussian_nll_value(rng):
    n = 4
    x, mu, Sigma = rng.normal(size=n), rng.normal(size=n), spd(rng, n)
    r = x - mu
    expected = 0.5 * r @ np.linalg.inv(Sigma) @ r + 0.5 * np.linalg.slogdet(Sigma)[1] + 0.5 * n * np.log(2 * np.pi)
    assert gaussian_nll(x, mu, Sigma) == pytest.approx(expected, rel=1e-12)
    # The standard normal at its mean: (n/2) log 2 pi.
    assert gaussian_nll(np.zeros(3), np.zeros(3), np.eye(3)) == pytest.approx(1.5 * np.log(2 * np.pi))
    with pytest.raises(ValueError, match="positive definite"):
        gaussian_nll(x, mu, -Sigma)


@pytest.mark.parametrize("n", [1, 3, 8])
def test_gaussian_nll_differential_against_differences(rng, n):
    x, mu, Sigma = rng.normal(size=n), rng.normal(size=n), spd(rng, n)
    dmu, dSigma = rng.normal(size=n), rng.normal(size=(n, n))
    dSigma = dSigma + dSigma.T                      # stay symmetric, so Cholesky still applies
    expected = differential_fd(lambda t: gaussian_nll(x, mu + t * dmu, Sigma + t * dSigma), 0.0, 1.0, h=1e-5)
    assert gaussian_nll_differential(x, mu, Sigma, dmu, dSigma) == pytest.approx(expected, rel=1e-7)
    # The two parts separately.
    zero_mu, zero_Sigma = np.zeros(n), np.zeros((n, n))
    expected_mu = differential_fd(lambda m: gaussian_nll(x, m, Sigma), mu, dmu)
    assert gaussian_nll_differential(x, mu, Sigma, dmu, zero_Sigma) == pytest.approx(expected_mu, rel=1e-7)
    expected_Sigma = differential_fd(lambda S: gaussian_nll(x, mu, S), Sigma, dSigma, h=1e-5)
    assert gaussian_nll_differential(x, mu, Sigma, zero_mu, dSigma) == pytest.approx(expected_Sigma, rel=1e-7)


def test_gaussian_nll_differential_by_the_chain_rule_in_the_engine(rng):
    # In terms of the precision P = Sigma^{-1}, the quadratic term q(mu, P) = 1/2 (x - mu)^T P (x - mu)
    # is built from engine primitives; with dP = d(Sigma^{-1}) it gives the mu- and Sigma-parts of dL
    # apart from the log-determinant's 1/2 tr(Sigma^{-1} dSigma).
    n = 5
    x, mu, Sigma = rng.normal(size=n), rng.normal(size=n), spd(rng, n)
    dmu, dSigma = rng.normal(size=n), rng.normal(size=(n, n))
    P = np.linalg.inv(Sigma)
    _, q_mu = jvp(lambda m: 0.5 * (x - m) @ P @ (x - m), mu, dmu)
    _, q_P = jvp(lambda Q: 0.5 * (x - mu) @ Q @ (x - mu), P, inverse_differential(Sigma, dSigma))
    logdet_part = 0.5 * logdet_differential(Sigma, dSigma)
    assert gaussian_nll_differential(x, mu, Sigma, dmu, dSigma) == pytest.approx(
        float(q_mu) + float(q_P) + logdet_part, rel=1e-12)


def test_dense_flow_log_det_differential(rng):
    # A dense flow layer z = W x + b adds log|det W| to the log-density; its differential is tr(W^{-1} dW).
    W, dW = well_conditioned(rng, 6), rng.normal(size=(6, 6))
    expected = differential_fd(lambda M: np.linalg.slogdet(M)[1], W, dW)
    assert logdet_differential(W, dW) == pytest.approx(expected, rel=1e-8)


# ----- the numerical tools ----------------------------------------------------------------------------------

def test_differential_fd_is_second_order(rng):
    A, dA = well_conditioned(rng, 3), rng.normal(size=(3, 3))
    exact = inverse_differential(A, dA)
    errors = [relative_error(differential_fd(np.linalg.inv, A, dA, h), exact) for h in (1e-2, 1e-3)]
    assert 50 < errors[0] / errors[1] < 200         # ten times smaller h, a hundred times smaller error


def test_matrix_jacobian_fd_of_a_scalar_function_is_a_row(rng):
    A = well_conditioned(rng, 3)
    row = matrix_jacobian_fd(np.linalg.det, A)
    assert row.shape == (1, 9)
    dA = rng.normal(size=(3, 3))
    assert float((row @ vec(dA))[0]) == pytest.approx(det_differential(A, dA), rel=1e-7)


def test_relative_error():
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert relative_error([1.1, 0.0], [1.0, 0.0]) == pytest.approx(0.1)
