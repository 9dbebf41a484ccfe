"""Tests of diffrn.flows against brute-force Jacobians, numerical integration and sampling."""
import numpy as np
import pytest

from diffrn.flows import (
    cholesky_log_det,
    compose,
    flow_log_density,
    log_abs_det,
    lu_log_abs_det,
    standard_normal_log_density,
    swap_halves,
)
from diffrn.numerical import jacobian_fd


# Two concrete layers on R² (rows of an (N, 2) array, or one point): y1 = x1 passes through,
# y2 = x2 exp(s(x1)) + t(x1), and log|det J| = s(x1). The tests exercise the tools around them.
def bend(x):
    x = np.asarray(x, dtype=float)
    a, c = x[..., 0], x[..., 1]
    s = 0.6 * np.tanh(a)
    return np.stack([a, c * np.exp(s) + 0.25 * (a**2 - 1)], axis=-1), s


def bend_back(y):
    y = np.asarray(y, dtype=float)
    a = y[..., 0]
    return np.stack([a, (y[..., 1] - 0.25 * (a**2 - 1)) * np.exp(-0.6 * np.tanh(a))], axis=-1)


def wave(x):
    x = np.asarray(x, dtype=float)
    a, c = x[..., 0], x[..., 1]
    s = -0.3 * np.tanh(a)
    return np.stack([a, c * np.exp(s) + 0.4 * np.sin(a)], axis=-1), s


def wave_back(y):
    y = np.asarray(y, dtype=float)
    a = y[..., 0]
    return np.stack([a, (y[..., 1] - 0.4 * np.sin(a)) * np.exp(0.3 * np.tanh(a))], axis=-1)


def two_layer_flow():
    return compose(bend, lambda x: (swap_halves(x), 0.0), wave)


def test_compose_adds_log_determinants_of_the_brute_force_jacobians():
    flow = two_layer_flow()
    for x in np.random.default_rng(1).normal(size=(5, 2)):
        jac = jacobian_fd(lambda p: flow(p)[0], x)
        assert flow(x)[1] == pytest.approx(log_abs_det(jac), abs=1e-7)
        # A single layer's Jacobian is lower triangular: y1 = x1 does not depend on x2.
        assert jacobian_fd(lambda p: bend(p)[0], x)[0, 1] == pytest.approx(0.0, abs=1e-9)


def test_swap_halves_and_its_errors():
    np.testing.assert_array_equal(swap_halves(np.array([1.0, 2.0, 3.0, 4.0])), [3.0, 4.0, 1.0, 2.0])
    np.testing.assert_array_equal(swap_halves(np.arange(4.0).reshape(2, 2)), [[1.0, 0.0], [3.0, 2.0]])
    with pytest.raises(ValueError, match="even"):
        swap_halves(np.zeros(3))
    with pytest.raises(ValueError, match="batch"):
        swap_halves(np.zeros((2, 2, 2)))


def test_standard_normal_log_density():
    assert standard_normal_log_density(np.zeros(2)) == pytest.approx(-np.log(2 * np.pi))
    z = np.array([[1.0, 2.0], [0.0, 0.0]])
    np.testing.assert_allclose(standard_normal_log_density(z), [-2.5 - np.log(2 * np.pi), -np.log(2 * np.pi)])


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
    forward = two_layer_flow()
    z = np.random.default_rng(42).normal(size=(400_000, 2))
    x = bend_back(swap_halves(wave_back(z)))
    np.testing.assert_allclose(forward(x)[0], z, atol=1e-10)
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
