"""Tests of diffrn.flows against brute-force Jacobians, numerical integration and sampling."""
import numpy as np
import pytest

from diffrn.flows import (
    AffineCoupling,
    cholesky_log_det,
    compose,
    flow_log_density,
    log_abs_det,
    lu_log_abs_det,
    standard_normal_log_density,
    swap_halves,
)
from diffrn.numerical import jacobian_fd


def mlp_coupling(dim: int, seed: int) -> AffineCoupling:
    """A coupling whose scale and shift are small random tanh networks (as in RealNVP)."""
    rng = np.random.default_rng(seed)
    half = dim // 2
    w1, w2 = rng.normal(size=(half, 8)), rng.normal(size=(8, half)) * 0.5
    v1, v2 = rng.normal(size=(half, 8)), rng.normal(size=(8, half))
    return AffineCoupling(lambda x1: np.tanh(x1 @ w1) @ w2, lambda x1: np.tanh(x1 @ v1) @ v2)


@pytest.mark.parametrize("dim", [2, 4, 6])
def test_inverse_undoes_forward(dim):
    layer = mlp_coupling(dim, seed=dim)
    x = np.random.default_rng(0).normal(size=(50, dim))
    y, _ = layer.forward(x)
    np.testing.assert_allclose(layer.inverse(y), x, atol=1e-12)
    np.testing.assert_allclose(layer.forward(layer.inverse(y))[0], y, atol=1e-12)


@pytest.mark.parametrize("dim", [2, 4, 6])
def test_log_det_is_log_abs_det_of_brute_force_jacobian(dim):
    layer = mlp_coupling(dim, seed=10 + dim)
    for x in np.random.default_rng(1).normal(size=(5, dim)):
        jac = jacobian_fd(lambda p: layer.forward(p)[0], x)
        assert layer.log_det(x) == pytest.approx(log_abs_det(jac), abs=1e-7)
        # The Jacobian is block lower-triangular: y1 = x1 does not depend on x2.
        np.testing.assert_allclose(jac[: dim // 2, dim // 2:], 0.0, atol=1e-9)


def test_batch_agrees_with_single_points():
    layer = mlp_coupling(4, seed=3)
    x = np.random.default_rng(2).normal(size=(7, 4))
    y, log_det = layer.forward(x)
    assert y.shape == (7, 4) and log_det.shape == (7,)
    for row, y_row, ld in zip(x, y, log_det):
        y_single, ld_single = layer.forward(row)
        np.testing.assert_allclose(y_single, y_row)
        assert isinstance(ld_single, float) and ld_single == pytest.approx(ld)


def test_odd_dimension_and_bad_conditioners_raise():
    layer = AffineCoupling(lambda x1: 0 * x1, lambda x1: 0 * x1)
    with pytest.raises(ValueError, match="even"):
        layer.forward(np.zeros(3))
    bad = AffineCoupling(lambda x1: np.zeros(5), lambda x1: x1)
    with pytest.raises(ValueError, match="shaped like x1"):
        bad.forward(np.zeros(4))


def test_standard_normal_log_density():
    assert standard_normal_log_density(np.zeros(2)) == pytest.approx(-np.log(2 * np.pi))
    z = np.array([[1.0, 2.0], [0.0, 0.0]])
    np.testing.assert_allclose(standard_normal_log_density(z), [-2.5 - np.log(2 * np.pi), -np.log(2 * np.pi)])


def two_layer_flow():
    first = AffineCoupling(lambda a: 0.6 * np.tanh(a), lambda a: 0.25 * (a**2 - 1))
    second = AffineCoupling(lambda a: -0.3 * np.tanh(a), lambda a: 0.4 * np.sin(a))
    return compose(first, lambda x: (swap_halves(x), 0.0), second)


def grid_density(forward, half_width=14.0, n=1001):
    u = np.linspace(-half_width, half_width, n)
    xx, yy = np.meshgrid(u, u)
    points = np.column_stack([xx.ravel(), yy.ravel()])
    density = np.exp(flow_log_density(points, forward)).reshape(n, n)
    return u, density


def test_flow_density_integrates_to_one():
    u, density = grid_density(two_layer_flow())
    cell = (u[1] - u[0]) ** 2
    assert density.sum() * cell == pytest.approx(1.0, abs=1e-5)


def test_flow_density_matches_histogram_of_pushed_samples():
    """Sample z ~ N(0, I) and push it through the inverse flow: the histogram is p_X."""
    first = AffineCoupling(lambda a: 0.6 * np.tanh(a), lambda a: 0.25 * (a**2 - 1))
    second = AffineCoupling(lambda a: -0.3 * np.tanh(a), lambda a: 0.4 * np.sin(a))
    forward = compose(first, lambda x: (swap_halves(x), 0.0), second)
    z = np.random.default_rng(42).normal(size=(400_000, 2))
    x = first.inverse(swap_halves(second.inverse(z)))
    edges = np.linspace(-4, 4, 21)
    counts, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=[edges, edges])
    empirical = counts / (len(x) * (edges[1] - edges[0]) ** 2)
    # Average the formula over each bin (5 x 5 sub-points) to compare like with like.
    sub = (np.arange(5) + 0.5) / 5 * (edges[1] - edges[0])
    centers = (edges[:-1, None] + sub[None, :]).ravel()
    xx, yy = np.meshgrid(centers, centers, indexing="ij")
    dens = np.exp(flow_log_density(np.column_stack([xx.ravel(), yy.ravel()]), forward))
    expected = dens.reshape(20, 5, 20, 5).mean(axis=(1, 3))
    standard_error = np.sqrt(expected / (len(x) * (edges[1] - edges[0]) ** 2))
    assert np.all(np.abs(empirical - expected) < 5 * standard_error + 1e-4)


def test_log_abs_det_where_det_overflows_and_underflows():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(300, 300))
    reference = log_abs_det(a)
    with np.errstate(over="ignore", under="ignore"):
        assert np.isinf(np.linalg.det(10 * a))
        assert np.linalg.det(a / 1000) == 0.0
    assert log_abs_det(10 * a) == pytest.approx(reference + 300 * np.log(10), rel=1e-12)
    assert log_abs_det(a / 1000) == pytest.approx(reference - 300 * np.log(1000), rel=1e-12)
    # On a small matrix, agree with the plain determinant.
    b = rng.normal(size=(5, 5))
    assert log_abs_det(b) == pytest.approx(np.log(abs(np.linalg.det(b))))


def test_lu_and_cholesky_agree_with_slogdet():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(40, 40))
    sign, logabs = np.linalg.slogdet(a)
    lu_sign, lu_logabs = lu_log_abs_det(a)
    assert lu_sign == sign and lu_logabs == pytest.approx(logabs, rel=1e-10)
    spd = a @ a.T + np.eye(40)
    assert cholesky_log_det(spd) == pytest.approx(np.linalg.slogdet(spd)[1], rel=1e-12)
    assert lu_log_abs_det(np.array([[1.0, 2.0], [2.0, 4.0]]))[0] in (0.0, 1.0, -1.0)
    assert lu_log_abs_det(np.zeros((3, 3))) == (0.0, float("-inf"))
    assert log_abs_det(np.zeros((3, 3))) == float("-inf")


def test_determinant_errors():
    with pytest.raises(ValueError, match="square"):
        log_abs_det(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="symmetric"):
        cholesky_log_det(np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="positive definite"):
        cholesky_log_det(-np.eye(2))
