"""Finite differences (diffrn.numerical) against Jacobians, gradients and Hessians known exactly."""
import numpy as np
import pytest

from diffrn.numerical import directional_derivative_fd, gradient_fd, hessian_fd, jacobian_fd


@pytest.fixture
def rng():
    return np.random.default_rng(20260101)


def worked_example(x):
    """Chapter 1's example f(x1, x2) = (x1^2 + x2, x1 x2)."""
    return np.array([x[0] ** 2 + x[1], x[0] * x[1]])


def worked_example_jacobian(x):
    return np.array([[2 * x[0], 1.0], [x[1], x[0]]])


def polar(p):
    return np.array([p[0] * np.cos(p[1]), p[0] * np.sin(p[1])])


def polar_jacobian(p):
    r, theta = p
    return np.array([[np.cos(theta), -r * np.sin(theta)], [np.sin(theta), r * np.cos(theta)]])


def smooth_map(x):
    """A transcendental R^3 -> R^2 map: its third derivatives are not zero, so h matters."""
    return np.array([np.exp(x[0]) * np.sin(x[1]) + x[2] ** 3, np.cos(x[0] * x[2]) + np.log1p(x[1] ** 2)])


def smooth_map_jacobian(x):
    a, b, c = x
    return np.array([
        [np.exp(a) * np.sin(b), np.exp(a) * np.cos(b), 3 * c**2],
        [-c * np.sin(a * c), 2 * b / (1 + b**2), -a * np.sin(a * c)],
    ])


def relative_error(approx, exact):
    return np.max(np.abs(approx - exact)) / max(np.max(np.abs(exact)), 1.0)


def test_worked_example_matches_analytic_jacobian(rng):
    for x in rng.uniform(-2, 2, size=(10, 2)):
        assert relative_error(jacobian_fd(worked_example, x), worked_example_jacobian(x)) < 1e-8


def test_polar_map_matches_analytic_jacobian(rng):
    for p in np.column_stack([rng.uniform(0.1, 3, 10), rng.uniform(-np.pi, np.pi, 10)]):
        assert relative_error(jacobian_fd(polar, p), polar_jacobian(p)) < 1e-8


def test_transcendental_map_is_accurate_to_1e_8(rng):
    for x in rng.uniform(-1, 1, size=(10, 3)):
        assert relative_error(jacobian_fd(smooth_map, x), smooth_map_jacobian(x)) < 1e-8


def test_linear_map_gives_its_matrix(rng):
    matrix = rng.normal(size=(4, 3))
    x = rng.normal(size=3)
    jac = jacobian_fd(lambda v: matrix @ v, x)
    assert jac.shape == (4, 3)
    # Central differences are exact for linear maps; only rounding (~eps / h) is left.
    np.testing.assert_allclose(jac, matrix, rtol=1e-8, atol=1e-9)


def test_shape_is_outputs_by_inputs(rng):
    x = rng.normal(size=5)
    jac = jacobian_fd(lambda v: np.array([v.sum(), v @ v, v[0] * v[4]]), x)
    assert jac.shape == (3, 5)
    np.testing.assert_allclose(jac[1], 2 * x, rtol=1e-8, atol=1e-9)


def test_scalar_function_gives_one_row(rng):
    x = rng.normal(size=4)
    jac = jacobian_fd(lambda v: float(np.sum(np.sin(v))), x)
    assert jac.shape == (1, 4)
    np.testing.assert_allclose(jac[0], np.cos(x), rtol=1e-8, atol=1e-9)


def test_input_is_not_modified_and_lists_are_accepted(rng):
    x = rng.normal(size=3)
    before = x.copy()
    jacobian_fd(smooth_map, x)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(jacobian_fd(smooth_map, list(x)), jacobian_fd(smooth_map, x))


def test_function_never_sees_the_callers_array(rng):
    x = rng.normal(size=3)
    before = x.copy()

    def vandal(v):
        value = smooth_map(v)
        v[:] = 0.0  # a badly behaved f that writes into its argument
        return value

    jacobian_fd(vandal, x)
    np.testing.assert_array_equal(x, before)


def test_central_difference_error_is_second_order():
    x = np.array([0.3, -0.4, 0.8])
    exact = smooth_map_jacobian(x)
    coarse = relative_error(jacobian_fd(smooth_map, x, h=1e-2), exact)
    fine = relative_error(jacobian_fd(smooth_map, x, h=1e-3), exact)
    # Ten times smaller h, a hundred times smaller truncation error.
    assert 70 < coarse / fine < 130


def test_gradient_fd_is_the_transposed_row(rng):
    x = rng.normal(size=3)
    grad = gradient_fd(lambda v: np.exp(v[0]) * v[1] + v[2] ** 2, x)
    assert grad.shape == (3,)
    np.testing.assert_allclose(grad, [np.exp(x[0]) * x[1], np.exp(x[0]), 2 * x[2]], rtol=1e-8, atol=1e-9)


def test_gradient_fd_rejects_vector_functions(rng):
    with pytest.raises(ValueError, match="scalar"):
        gradient_fd(worked_example, rng.normal(size=2))


def test_directional_derivative_is_gradient_dot_direction(rng):
    f = lambda v: np.sin(v[0]) * v[1] ** 2
    x, u = rng.normal(size=2), rng.normal(size=2)
    expected = np.array([np.cos(x[0]) * x[1] ** 2, 2 * np.sin(x[0]) * x[1]]) @ u
    assert directional_derivative_fd(f, x, u) == pytest.approx(expected, rel=1e-8, abs=1e-9)


def test_hessian_of_quadratic_is_symmetric_part_of_matrix(rng):
    q = rng.normal(size=(4, 4))  # deliberately not symmetric
    b = rng.normal(size=4)
    x = rng.normal(size=4)
    hess = hessian_fd(lambda v: 0.5 * v @ q @ v + b @ v, x)
    np.testing.assert_array_equal(hess, hess.T)
    np.testing.assert_allclose(hess, (q + q.T) / 2, rtol=1e-6, atol=1e-6)


def test_hessian_of_nonpolynomial_function(rng):
    x = rng.uniform(-1, 1, size=2)
    f = lambda v: np.exp(v[0]) * np.sin(v[1])
    a, b = x
    exact = np.exp(a) * np.array([[np.sin(b), np.cos(b)], [np.cos(b), -np.sin(b)]])
    np.testing.assert_allclose(hessian_fd(f, x), exact, rtol=1e-5, atol=1e-6)
