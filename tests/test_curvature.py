"""Tests of diffrn.curvature: Hessians, Hessian-vector products, critical points, Newton."""
import tracemalloc

import numpy as np
import pytest

from diffrn import curvature
from diffrn.autodiff import numpy as anp

METHODS = ["autodiff", "fd"]
TOLERANCE = {"autodiff": 1e-10, "fd": 1e-5}  # fd: differences of differences with h = 1e-4


@pytest.fixture
def rng():
    return np.random.default_rng(20260404)


# Test functions written with anp (so both methods apply), each with its analytic Hessian.
def cubic(x):
    return x[0] ** 3 + 2.0 * x[0] * x[1] ** 2 - x[1]


def cubic_hessian(x):
    return np.array([[6 * x[0], 4 * x[1]], [4 * x[1], 4 * x[0]]])


def exp_coupled(x):
    return anp.exp(x[0] * x[1]) + anp.sin(x[2]) * x[0]


def exp_coupled_hessian(x):
    a, b, c = x
    e = np.exp(a * b)
    return np.array([
        [b * b * e, e * (1 + a * b), np.cos(c)],
        [e * (1 + a * b), a * a * e, 0.0],
        [np.cos(c), 0.0, -a * np.sin(c)],
    ])


def make_quadratic(rng, n):
    root = rng.normal(size=(n, n))
    matrix = root @ root.T + n * np.eye(n)
    return matrix, lambda x: 0.5 * (x @ (matrix @ x))


def log_barrier(x):
    return anp.sum(anp.log(1.0 + x ** 2))


def log_barrier_gradient(x):
    return 2.0 * x / (1.0 + x ** 2)


def log_barrier_hessian_diagonal(x):
    return (2.0 - 2.0 * x ** 2) / (1.0 + x ** 2) ** 2


# --- Hessians --------------------------------------------------------------------------------

@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("function, analytic, size", [(cubic, cubic_hessian, 2), (exp_coupled, exp_coupled_hessian, 3)])
def test_hessian_matches_analytic(method, function, analytic, size, rng):
    for _ in range(3):
        x = rng.uniform(-1, 1, size=size)
        np.testing.assert_allclose(curvature.hessian(function, x, method=method), analytic(x),
                                   atol=TOLERANCE[method], rtol=0)


@pytest.mark.parametrize("method", METHODS)
def test_hessian_of_quadratic_is_its_matrix(method, rng):
    matrix, quadratic = make_quadratic(rng, 5)
    x = rng.normal(size=5)
    np.testing.assert_allclose(curvature.hessian(quadratic, x, method=method), matrix, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("method", METHODS)
def test_hessian_is_symmetric(method, rng):
    x = rng.uniform(-1, 1, size=3)
    hess = curvature.hessian(exp_coupled, x, method=method)
    np.testing.assert_allclose(hess, hess.T, atol=1e-12)


def test_hessian_rejects_unknown_method():
    with pytest.raises(ValueError, match="method must be one of"):
        curvature.hessian(cubic, [1.0, 2.0], method="symbolic")


# --- Hessian-vector products -----------------------------------------------------------------

@pytest.mark.parametrize("method", METHODS)
def test_hvp_equals_hessian_times_vector(method, rng):
    for _ in range(3):
        x = rng.uniform(-1, 1, size=3)
        v = rng.normal(size=3)
        np.testing.assert_allclose(curvature.hvp(exp_coupled, x, v, method=method), exp_coupled_hessian(x) @ v,
                                   atol=TOLERANCE[method], rtol=0)


def test_hvp_of_gradient_function_both_methods(rng):
    x, v = rng.normal(size=50), rng.normal(size=50)
    expected = log_barrier_hessian_diagonal(x) * v
    engine_gradient = lambda p: 2.0 * p / (1.0 + p ** 2)  # noqa: E731  (anp-traceable as written)
    np.testing.assert_allclose(curvature.hvp(engine_gradient, x, v, is_gradient=True), expected, atol=1e-12)
    np.testing.assert_allclose(curvature.hvp(log_barrier_gradient, x, v, method="fd", is_gradient=True),
                               expected, atol=1e-7)


def test_hvp_zero_direction_and_shape_check():
    assert np.array_equal(curvature.hvp(cubic, [1.0, 2.0], [0.0, 0.0], method="fd"), np.zeros(2))
    with pytest.raises(ValueError, match="same length"):
        curvature.hvp(cubic, [1.0, 2.0], [1.0, 0.0, 0.0])


@pytest.mark.parametrize("method", METHODS)
def test_hvp_large_n_never_forms_the_hessian(method, rng):
    """n = 100 000: the Hessian would take n^2 * 8 bytes = 80 GB; the product needs O(n)."""
    n = 100_000
    x, v = rng.normal(size=n), rng.normal(size=n)
    function = log_barrier if method == "autodiff" else log_barrier_gradient
    kwargs = {} if method == "autodiff" else {"is_gradient": True}
    curvature.hvp(function, x, v, method=method, **kwargs)  # warm up caches outside the measurement
    tracemalloc.start()
    try:
        product = curvature.hvp(function, x, v, method=method, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(product, log_barrier_hessian_diagonal(x) * v, atol=TOLERANCE[method])
    full_hessian_bytes = n * n * 8
    assert peak < full_hessian_bytes / 1000  # in practice a few dozen vectors of n floats
    assert peak < 100 * n * 8


# --- Classifying critical points -------------------------------------------------------------

@pytest.mark.parametrize("matrix, expected", [
    (np.diag([1.0, 2.0]), "minimum"),
    (np.diag([-1.0, -3.0]), "maximum"),
    (np.diag([1.0, -1.0]), "saddle"),
    (np.diag([1.0, 0.0]), "degenerate"),
    (np.diag([-2.0, 0.0]), "degenerate"),
    (np.zeros((3, 3)), "degenerate"),
    (np.diag([1.0, 0.0, -1.0]), "saddle"),  # a zero eigenvalue does not hide opposite signs
    (np.array([[0.0, 1.0], [1.0, 0.0]]), "saddle"),  # eigenvalues +-1, all diagonal entries zero
    (np.array([[2.0, 1.0], [1.0, 2.0]]), "minimum"),
    (np.array([[1.0, 2.0], [2.0, 1.0]]), "saddle"),  # positive diagonal, yet indefinite
])
def test_classify_critical_point(matrix, expected):
    assert curvature.classify_critical_point(matrix) == expected


def test_classify_tolerance_edge():
    tol = 1e-6
    assert curvature.classify_critical_point(np.diag([1.0, tol]), tol=tol) == "degenerate"  # |lambda| <= tol
    assert curvature.classify_critical_point(np.diag([1.0, -tol]), tol=tol) == "degenerate"
    assert curvature.classify_critical_point(np.diag([1.0, 2 * tol]), tol=tol) == "minimum"
    assert curvature.classify_critical_point(np.diag([1.0, -2 * tol]), tol=tol) == "saddle"
    assert curvature.classify_critical_point(np.diag([1.0, 1e-12]), tol=0.0) == "minimum"


def test_classify_uses_symmetric_part():
    # x^T A x only sees (A + A^T) / 2 = I here.
    assert curvature.classify_critical_point(np.array([[1.0, 5.0], [-5.0, 1.0]])) == "minimum"


def test_classify_rejects_non_square():
    with pytest.raises(ValueError, match="square"):
        curvature.classify_critical_point(np.ones((2, 3)))


def test_classify_fd_hessians_of_known_critical_points():
    # f = x^4 + y^4 - 4xy has a saddle at the origin and minima at +-(1, 1).
    f = lambda p: p[0] ** 4 + p[1] ** 4 - 4 * p[0] * p[1]  # noqa: E731
    assert curvature.classify_critical_point(curvature.hessian(f, [0.0, 0.0], "fd"), tol=1e-4) == "saddle"
    assert curvature.classify_critical_point(curvature.hessian(f, [1.0, 1.0], "fd"), tol=1e-4) == "minimum"
    assert curvature.classify_critical_point(curvature.hessian(f, [-1.0, -1.0]), tol=1e-8) == "minimum"


# --- Newton's method and gradient descent ----------------------------------------------------

def test_newton_step_solves_a_quadratic_in_one_step(rng):
    matrix, _ = make_quadratic(rng, 6)
    b = rng.normal(size=6)
    x1 = curvature.newton_step(lambda x: matrix @ x - b, lambda x: matrix, rng.normal(size=6))
    np.testing.assert_allclose(matrix @ x1, b, atol=1e-12)


def test_newton_step_on_ill_conditioned_matrix_has_small_residual(rng):
    n = 8
    orthogonal, _ = np.linalg.qr(rng.normal(size=(n, n)))
    matrix = orthogonal @ np.diag(np.logspace(0, 10, n)) @ orthogonal.T  # condition number 1e10
    b = rng.normal(size=n)
    x1 = curvature.newton_step(lambda x: matrix @ x - b, lambda x: matrix, np.zeros(n))
    # A backward-stable solve: the residual is rounding-sized relative to |A| |x| + |b|.
    relative_residual = np.linalg.norm(matrix @ x1 - b) / (np.linalg.norm(matrix, 2) * np.linalg.norm(x1) + np.linalg.norm(b))
    assert relative_residual < 1e-14


def test_newton_step_singular_hessian_message():
    with pytest.raises(ValueError, match="singular"):
        curvature.newton_step(lambda x: np.array([1.0, 1.0]), lambda x: np.zeros((2, 2)), [0.0, 0.0])


def test_newton_converges_quadratically():
    # f = sum(exp(x) - x): minimum at 0, Newton's map x - (1 - exp(-x)) per coordinate.
    iterates = curvature.newton(lambda x: np.exp(x) - 1.0, lambda x: np.diag(np.exp(x)), [1.0, -0.5], steps=8)
    errors = np.linalg.norm(iterates, axis=1)
    assert errors[-1] < 1e-15
    # Quadratic convergence: e_{k+1} <= C e_k^2 with C about f'''/(2 f'') = 1/2 near 0.
    for before, after in zip(errors[2:], errors[3:]):
        if before > 1e-7:
            assert after <= 0.6 * before ** 2


def test_newton_stops_at_tolerance():
    iterates = curvature.newton(lambda x: 2 * x, lambda x: 2 * np.eye(2), [1.0, 1.0], steps=10, tol=1e-12)
    assert len(iterates) == 2  # one step lands on the minimum, then the gradient is zero


def test_gradient_descent_metrics():
    matrix = np.diag([1.0, 100.0])
    grad_f = lambda x: matrix @ x  # noqa: E731
    plain = curvature.gradient_descent(grad_f, [1.0, 1.0], learning_rate=1 / 100, steps=50)
    assert np.linalg.norm(plain[-1]) > 0.5  # the flat direction has barely moved
    diagonal = curvature.gradient_descent(grad_f, [1.0, 1.0], learning_rate=1.0, steps=3, metric=np.diag(matrix))
    np.testing.assert_allclose(diagonal[1], 0.0, atol=1e-15)
    full = curvature.gradient_descent(grad_f, [1.0, 1.0], learning_rate=1.0, steps=1, metric=matrix)
    np.testing.assert_allclose(full[-1], 0.0, atol=1e-15)


def test_gradient_descent_stops_on_divergence():
    with np.errstate(over="ignore", invalid="ignore"):
        iterates = curvature.gradient_descent(lambda x: 1e200 * x, [1.0], learning_rate=1e200, steps=10)
    assert not np.all(np.isfinite(iterates[-1]))
    assert len(iterates) < 11


def test_gradient_descent_input_errors():
    with pytest.raises(ValueError, match="learning_rate"):
        curvature.gradient_descent(lambda x: x, [1.0], learning_rate=0.0)
    with pytest.raises(ValueError, match="positive weights"):
        curvature.gradient_descent(lambda x: x, [1.0, 1.0], learning_rate=0.1, metric=[1.0, -1.0])
