"""The checks of ps1-jacobians grade the solutions, the stubs and typical mistakes correctly."""
import numpy as np
import pytest

from diffrn.checks.ps1 import check

ASSIGNMENT = "ps1-jacobians"



# --- other correct methods ---------------------------------------------------------------------
def jacobian_forward_differences(f, x, h=1e-6):
    x = np.array(x, dtype=float)
    f0 = np.atleast_1d(f(x))
    return np.stack([(np.atleast_1d(f(x + h * e)) - f0) / h for e in np.eye(x.size)], axis=1)


def jacobian_vectorized(f, x, h=1e-6):
    x = np.array(x, dtype=float)
    steps = h * np.eye(x.size)
    rows = [np.atleast_1d(f(x + s)) - np.atleast_1d(f(x - s)) for s in steps]
    return np.array(rows, dtype=float).T / (2 * h)


def jacobian_fourth_order(f, x, h=1e-3):
    x = np.array(x, dtype=float)
    g = lambda p: np.atleast_1d(np.asarray(f(p), dtype=float))
    cols = [(-g(x + 2 * h * e) + 8 * g(x + h * e) - 8 * g(x - h * e) + g(x - 2 * h * e)) / (12 * h) for e in np.eye(x.size)]
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("method", [jacobian_forward_differences, jacobian_vectorized, jacobian_fourth_order])
def test_any_sensible_difference_scheme_gets_full_marks(grader, method):
    grader.assert_full_marks(check.jacobian_fd, method)


def test_linearize_without_special_casing_scalars_by_float_conversion(grader):
    def linearize(f, jac, x0):
        x0 = np.array(x0, dtype=float)
        f0, J = f(x0), np.asarray(jac(x0))
        return lambda x: f0 + (J @ (np.asarray(x) - x0)).reshape(np.shape(f0))

    grader.assert_full_marks(check.linearize, linearize)


# --- typical mistakes, each named in the feedback ----------------------------------------------
def test_transposed_jacobian_is_named(grader, solutions):
    transposed = lambda f, x, h=1e-6: solutions["jacobian_fd"](f, x, h).T
    grader.assert_diagnosed(check.jacobian_fd, transposed, "transpose")


def test_scalar_f_without_a_row_is_named(grader, solutions):
    squeezed = lambda f, x, h=1e-6: np.squeeze(solutions["jacobian_fd"](f, x, h))
    grader.assert_diagnosed(check.jacobian_fd, squeezed, "shape|axis")


def test_list_instead_of_array_is_named(grader, solutions):
    as_list = lambda f, x, h=1e-6: solutions["jacobian_fd"](f, x, h).tolist()
    grader.assert_diagnosed(check.jacobian_fd, as_list, "list")


def test_modifying_the_input_in_place_is_named(grader):
    def in_place(f, x, h=1e-6):
        columns = []
        for j in range(len(x)):
            x[j] += h
            plus = np.atleast_1d(f(x)).copy()
            x[j] -= 2 * h
            minus = np.atleast_1d(f(x)).copy()
            x[j] += h
            columns.append((plus - minus) / (2 * h))
        return np.stack(columns, axis=1)

    grader.assert_diagnosed(check.jacobian_fd, in_place, "in place")


def test_polar_sign_error_and_transpose_are_named(grader):
    sign = lambda r, t: np.array([[np.cos(t), r * np.sin(t)], [np.sin(t), r * np.cos(t)]])
    grader.assert_diagnosed(check.polar_jacobian, sign, "expected")
    transposed = lambda r, t: np.array([[np.cos(t), np.sin(t)], [-r * np.sin(t), r * np.cos(t)]])
    grader.assert_diagnosed(check.polar_jacobian, transposed, "transpose")


def test_example_factor_of_two_and_integer_dtype_are_named(grader):
    half = lambda x: np.array([[x[0], 1.0], [x[1], x[0]]])
    grader.assert_diagnosed(check.example_jacobian, half, "expected")
    integer = lambda x: np.array([[2 * x[0], 1], [x[1], x[0]]]).astype(int)
    grader.assert_diagnosed(check.example_jacobian, integer, "float64|expected")


def test_linearize_returning_a_value_or_an_array_for_scalar_f_is_named(grader):
    not_a_function = lambda f, jac, x0: f(x0)
    grader.assert_diagnosed(check.linearize, not_a_function, "return a function")

    def always_vector(f, jac, x0):
        x0 = np.array(x0, dtype=float)
        f0, J = np.atleast_1d(f(x0)), np.asarray(jac(x0))
        return lambda x: f0 + J @ (np.asarray(x) - x0)

    grader.assert_diagnosed(check.linearize, always_vector, "scalar in, scalar out")
