"""The user-facing operators: shapes, structures, modes, nesting and error messages."""
import numpy as np
import pytest

from diffrn.autodiff import (UnsupportedPrimitiveError, defjvp, defvjp, grad, hessian, hvp, jacobian, jvp,
                             primitive, value_and_grad, vjp)
from diffrn.autodiff import numpy as anp
from diffrn.autodiff.testing import check_grads
from diffrn.numerical import hessian_fd, jacobian_fd


def test_jacobian_reverse_equals_forward_and_finite_differences(rng):
    A = rng.standard_normal((3, 5))
    f = lambda x: anp.softmax(anp.tanh(A @ x) * x[:3])
    x = rng.standard_normal(5)
    J_rev, J_fwd = jacobian(f, x), jacobian(f, x, mode="forward")
    assert J_rev.shape == (3, 5)
    np.testing.assert_allclose(J_rev, J_fwd, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(J_rev, jacobian_fd(f, x), rtol=1e-6, atol=1e-8)


def test_jacobian_shapes_for_matrix_input_and_output(rng):
    X = rng.standard_normal((2, 3))
    J = jacobian(lambda X: anp.exp(X.T), X)
    assert J.shape == (3, 2, 2, 3)
    np.testing.assert_allclose(J, jacobian(lambda X: anp.exp(X.T), X, mode="forward"))
    assert J[1, 0, 0, 1] == pytest.approx(np.exp(X[0, 1]))


def test_hessian_and_hvp_match_finite_differences(rng):
    f = lambda x: anp.sum(anp.sin(x) * anp.exp(x[::-1])) + anp.logsumexp(x)
    x, v = rng.standard_normal(4), rng.standard_normal(4)
    H = hessian(f, x)
    np.testing.assert_allclose(H, hessian_fd(f, x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hvp(f, x, v), H @ v, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(H, H.T, atol=1e-14)


def test_grad_with_respect_to_parameter_structures(rng):
    W, b, x = rng.standard_normal((3, 2)), rng.standard_normal(3), rng.standard_normal(2)
    loss = lambda params, x: anp.sum(anp.tanh(params["W"] @ x + params["b"]) ** 2)
    g = grad(loss)({"W": W, "b": b}, x)
    assert set(g) == {"W", "b"} and g["W"].shape == (3, 2)
    t = np.tanh(W @ x + b)
    np.testing.assert_allclose(g["b"], 2 * t * (1 - t ** 2))
    np.testing.assert_allclose(g["W"], np.outer(2 * t * (1 - t ** 2), x))
    gW, gx = grad(lambda W, b, x: loss({"W": W, "b": b}, x), argnum=(0, 2))(W, b, x)
    np.testing.assert_allclose(gW, g["W"])
    np.testing.assert_allclose(gx, W.T @ (2 * t * (1 - t ** 2)))


def test_value_and_grad_and_integer_inputs():
    value, gradient = value_and_grad(lambda x: anp.sum(x ** 2))(np.array([1, 2, 3]))
    assert value == 14
    np.testing.assert_array_equal(gradient, [2.0, 4.0, 6.0])
    assert grad(lambda t: t ** 3)(2.0) == pytest.approx(12.0)
    np.testing.assert_allclose(grad(lambda x: x[0] * x[1])([3.0, 5.0]), [5.0, 3.0])


def test_output_independent_of_input_has_zero_derivatives():
    x = np.ones(3)
    np.testing.assert_array_equal(grad(lambda x: 4.0)(x), np.zeros(3))
    np.testing.assert_array_equal(jvp(lambda x: np.arange(2.0), x, x)[1], np.zeros(2))
    np.testing.assert_array_equal(grad(lambda x: anp.sum(x > 0) * 1.0)(x), np.zeros(3))


def test_returned_gradients_are_writable_and_distinct():
    a, b = grad(lambda ab: anp.sum(ab[0] + ab[1]))((np.zeros(3), np.zeros(3)))
    a += 1.0  # neither read-only nor shared with b
    np.testing.assert_array_equal(b, np.ones(3))


def test_vjp_can_be_pulled_back_repeatedly(rng):
    A = rng.standard_normal((2, 3))
    value, vjp_fn = vjp(lambda x: A @ anp.tanh(x), np.zeros(3))
    np.testing.assert_allclose(vjp_fn(np.array([1.0, 0.0])), A[0])
    np.testing.assert_allclose(vjp_fn(np.array([0.0, 1.0])), A[1])
    with pytest.raises(ValueError, match="shape"):
        vjp_fn(np.ones(3))


def test_nested_traces_do_not_confuse_perturbations():
    """d/dx [x * d/dy (x + y)] = 1: the inner derivative must not see x's perturbation."""
    assert grad(lambda x: x * grad(lambda y: x + y)(1.0))(2.0) == pytest.approx(1.0)
    tangent = jvp(lambda x: x * jvp(lambda y: x * y, 3.0, 1.0)[1], 2.0, 1.0)[1]
    assert tangent == pytest.approx(4.0)  # d/dx [x * x] at 2


def test_numpy_functions_on_boxes_are_redirected():
    x = np.array([0.3, -1.2])
    np.testing.assert_allclose(grad(lambda x: np.sum(np.exp(x) * x))(x), np.exp(x) * (1 + x))


def test_grad_of_vector_function_says_what_to_use():
    with pytest.raises(TypeError, match=r"scalar output.*shape \(2,\).*vjp.*jacobian"):
        grad(lambda x: anp.tanh(x))(np.ones(2))


def test_unsupported_numpy_function_names_it_and_says_how_to_register():
    with pytest.raises(UnsupportedPrimitiveError, match=r"(?s)numpy\.arctan.*primitive.*defvjp"):
        grad(lambda x: anp.sum(np.arctan(x)))(np.ones(2))


def test_primitive_without_rule_names_it_and_says_how_to_register():
    cube = primitive(lambda x: x ** 3)
    cube.__name__ = "cube_without_rule"
    with pytest.raises(NotImplementedError, match=r"cube_without_rule.*defvjp"):
        grad(lambda x: anp.sum(cube(x)))(np.ones(2))
    with pytest.raises(NotImplementedError, match=r"cube_without_rule.*defjvp"):
        jvp(cube, np.ones(2), np.ones(2))


def test_jacobian_mode_is_checked():
    with pytest.raises(ValueError, match="reverse.*forward"):
        jacobian(anp.sin, np.ones(2), mode="sideways")


def test_a_user_registered_primitive_is_differentiable_to_second_order(rng):
    arctan = primitive(np.arctan)
    defvjp(arctan, lambda ans, x: lambda g: g / (1.0 + x * x))
    defjvp(arctan, lambda t, ans, x: t / (1.0 + x * x))
    check_grads(lambda x: arctan(x) * x, rng.standard_normal(4), order=2, rng=rng)


def test_check_grads_catches_a_wrong_rule(rng):
    wrong = primitive(np.sin)
    defvjp(wrong, lambda ans, x: lambda g: g * anp.cos(x))
    defjvp(wrong, lambda t, ans, x: t * anp.cos(x) * 1.01)
    with pytest.raises(AssertionError, match="JVP"):
        check_grads(wrong, rng.standard_normal(3), rng=rng)
    defjvp(wrong, lambda t, ans, x: t * anp.cos(x))
    defvjp(wrong, lambda ans, x: lambda g: -g * anp.cos(x))
    with pytest.raises(AssertionError, match="adjoint"):
        check_grads(wrong, rng.standard_normal(3), rng=rng)


def test_float_of_a_box_explains_itself():
    with pytest.raises(TypeError, match="computation graph"):
        grad(lambda x: float(x) * 2.0)(1.0)
