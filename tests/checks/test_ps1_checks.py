"""The checks of ps1-jacobians grade the solutions, other correct methods and typical mistakes correctly."""
import warnings

import numpy as np
import pytest

from diffrn.checks.ps1 import check

ASSIGNMENT = "ps1-jacobians"


# --- jacobian_complex_step: other correct methods ---------------------------------------------
def complex_step_by_identity_rows(f, x, h=1e-20):
    x = np.asarray(x, dtype=float)
    points = x + 1j * h * np.eye(x.size)  # row j is x + i h e_j
    return np.column_stack([np.atleast_1d(f(point)).imag / h for point in points]).astype(float)


def complex_step_filled_in_place(f, x, h=1e-20):
    x = np.asarray(x, dtype=float)
    J = None
    for j in range(x.size):
        point = np.array(x, dtype=np.complex128)
        point[j] = complex(x[j], h)
        column = np.imag(np.asarray(f(point))).reshape(-1) / h
        if J is None:
            J = np.empty((column.size, x.size))
        J[:, j] = column
    return J


@pytest.mark.parametrize("method", [complex_step_by_identity_rows, complex_step_filled_in_place])
def test_complex_step_methods_get_full_marks(grader, method):
    grader.assert_full_marks(check.jacobian_complex_step, method)


# --- jacobian_complex_step: mistakes -----------------------------------------------------------
def central_differences(f, x, h=1e-20):
    step = 1e-6  # the complex step's h is far too small for differences
    x = np.asarray(x, dtype=float)
    return np.stack([(np.atleast_1d(f(x + step * e)) - np.atleast_1d(f(x - step * e))) / (2 * step)
                     for e in np.eye(x.size)], axis=1).real


def fourth_order_differences(f, x, h=1e-20):
    step = 1e-3
    x = np.asarray(x, dtype=float)
    g = lambda p: np.atleast_1d(f(p)).real
    return np.stack([(-g(x + 2 * step * e) + 8 * g(x + step * e) - 8 * g(x - step * e) + g(x - 2 * step * e))
                     / (12 * step) for e in np.eye(x.size)], axis=1)


def divided_by_2h(f, x, h=1e-20):
    return complex_step_by_identity_rows(f, x, h) / 2


def real_part(f, x, h=1e-20):
    x = np.asarray(x, dtype=float)
    return np.column_stack([np.atleast_1d(f(x + 1j * h * e)).real / h for e in np.eye(x.size)])


def conjugated(f, x, h=1e-20):
    x = np.asarray(x, dtype=float)
    return np.column_stack([np.imag(np.conj(np.atleast_1d(f(x + 1j * h * e)))) / h for e in np.eye(x.size)])


def step_into_float_copy(f, x, h=1e-20):
    x = np.asarray(x, dtype=float)
    columns = []
    for j in range(x.size):
        point = x.copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
            point[j] += 1j * h  # the imaginary part is dropped: point stays real
        columns.append(np.imag(np.atleast_1d(f(point))) / h)
    return np.stack(columns, axis=1)


def modulus_of_the_value(f, x, h=1e-20):
    x = np.asarray(x, dtype=float)
    return np.column_stack([np.imag(np.abs(np.atleast_1d(f(x + 1j * h * e)))) / h for e in np.eye(x.size)])


def no_row_for_scalar_f(f, x, h=1e-20):
    return np.squeeze(complex_step_by_identity_rows(f, x, h))


def left_complex(f, x, h=1e-20):
    x = np.asarray(x, dtype=float)
    return np.column_stack([np.atleast_1d(f(x + 1j * h * e)) / h for e in np.eye(x.size)]) * 1e-20 * 1j


def transposed(f, x, h=1e-20):
    return complex_step_by_identity_rows(f, x, h).T


def nudges_left_in_x(f, x, h=1e-20):
    f0 = np.atleast_1d(f(x)).real
    columns = []
    for j in range(len(x)):
        x[j] += 1e-8  # never undone
        columns.append((np.atleast_1d(f(x)).real - f0) / 1e-8)
    return np.stack(columns, axis=1)


@pytest.mark.parametrize("function, keywords", [
    (central_differences, ["finite differences", "complex point"]),
    (fourth_order_differences, ["finite differences"]),
    (divided_by_2h, ["half", "not by 2h"]),
    (real_part, ["real part"]),
    (conjugated, ["wrong sign", "conj"]),
    (step_into_float_copy, ["zero", "float array"]),
    (modulus_of_the_value, ["zero|modulus", "np.abs"]),
    (no_row_for_scalar_f, ["one row", "(1, 3)"]),
    (left_complex, ["dtype complex", "imaginary part"]),
    (transposed, ["shape|transpose"]),
    (nudges_left_in_x, ["modified in place"]),
])
def test_complex_step_mistakes_are_named(grader, function, keywords):
    grader.assert_diagnosed(check.jacobian_complex_step, function, *keywords)


def test_central_differences_fail_even_on_the_easiest_visible_case(grader):
    message = grader.run(check.jacobian_complex_step, central_differences)
    assert message.startswith("f(x1, x2) = (x1² + x2, x1·x2) at (1, 2)"), message


# --- spherical_jacobian ------------------------------------------------------------------------
def spherical_by_columns(r, theta, phi):
    radial = np.array([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
    polar = r * np.array([np.cos(theta) * np.cos(phi), np.cos(theta) * np.sin(phi), -np.sin(theta)])
    azimuthal = r * np.sin(theta) * np.array([-np.sin(phi), np.cos(phi), 0.0])
    return np.column_stack([radial, polar, azimuthal])


def spherical_by_complex_step(r, theta, phi):
    point = np.array([r, theta, phi], dtype=complex)
    columns = []
    for j in range(3):
        p = point.copy()
        p[j] += 1e-20j
        value = np.array([p[0] * np.sin(p[1]) * np.cos(p[2]), p[0] * np.sin(p[1]) * np.sin(p[2]),
                          p[0] * np.cos(p[1])])
        columns.append(value.imag / 1e-20)
    return np.stack(columns, axis=1)


@pytest.mark.parametrize("method", [spherical_by_columns, spherical_by_complex_step])
def test_spherical_methods_get_full_marks(grader, method):
    grader.assert_full_marks(check.spherical_jacobian, method)


def spherical_latitude(r, theta, phi):
    return np.array([[np.cos(theta) * np.cos(phi), -r * np.sin(theta) * np.cos(phi), -r * np.cos(theta) * np.sin(phi)],
                     [np.cos(theta) * np.sin(phi), -r * np.sin(theta) * np.sin(phi), r * np.cos(theta) * np.cos(phi)],
                     [np.sin(theta), r * np.cos(theta), 0.0]])


def spherical_angles_swapped(r, theta, phi):
    return spherical_by_columns(r, phi, theta)[:, [0, 2, 1]]


@pytest.mark.parametrize("function, keywords", [
    (lambda r, t, p: spherical_by_columns(r, t, p).T, ["transpose"]),
    (lambda r, t, p: spherical_by_columns(r, t, p)[:, [0, 2, 1]], ["(r, φ, θ)"]),
    (spherical_angles_swapped, ["swapped the roles"]),
    (spherical_latitude, ["latitude"]),
    (lambda r, t, p: spherical_by_columns(1.0, t, p), ["factor r"]),
    (lambda r, t, p: spherical_by_columns(r, t, p) * np.array([[1, 1, 1], [1, 1, 1], [1, -1, 1]]), ["∂z/∂θ"]),
    (lambda r, t, p: spherical_by_columns(r, t, p).tolist(), ["list"]),
])
def test_spherical_mistakes_are_named(grader, function, keywords):
    grader.assert_diagnosed(check.spherical_jacobian, function, *keywords)


# --- example_jacobian --------------------------------------------------------------------------
def example_by_rows(x):
    x1, x2 = x
    return np.vstack([np.array([2.0 * x1, 1.0]), np.array([x2, x1])]).astype(float)


def example_by_complex_step(x):
    x = np.asarray(x, dtype=float)
    f = lambda p: np.array([p[0] ** 2 + p[1], p[0] * p[1]])
    return np.column_stack([f(x + 1e-20j * e).imag / 1e-20 for e in np.eye(2)])


@pytest.mark.parametrize("method", [example_by_rows, example_by_complex_step])
def test_example_methods_get_full_marks(grader, method):
    grader.assert_full_marks(check.example_jacobian, method)


@pytest.mark.parametrize("function, keywords", [
    (lambda x: np.array([[x[0], 1.0], [x[1], x[0]]]), ["factor 2"]),
    (lambda x: np.array([[2 * x[0], 1.0], [x[1], x[0]]]).T, ["transpose"]),
    (lambda x: np.array([[2 * x[0], 1.0], [x[0], x[1]]]), ["swapped"]),
    (lambda x: np.array([[2 * x[0], 0.0], [x[1], x[0]]]), ["should be 1"]),
    (lambda x: np.array([[2 * x[0], 1], [x[1], x[0]]]).astype(int), ["float64|expected"]),
])
def test_example_mistakes_are_named(grader, function, keywords):
    grader.assert_diagnosed(check.example_jacobian, function, *keywords)


# --- linearize ---------------------------------------------------------------------------------
def linearize_reshaping(f, jac, x0):
    x0 = np.array(x0, dtype=float)
    f0, J = f(x0), np.asarray(jac(x0))
    return lambda x: f0 + (J @ (np.asarray(x) - x0)).reshape(np.shape(f0))


def linearize_with_branch(f, jac, x0):
    x0 = np.array(x0, dtype=float)
    value, J = f(x0), np.asarray(jac(x0), dtype=float)

    def L(x):
        change = J @ (np.asarray(x, dtype=float) - x0)
        return float(value + change[0]) if np.ndim(value) == 0 else np.asarray(value, dtype=float) + change

    return L


@pytest.mark.parametrize("method", [linearize_reshaping, linearize_with_branch])
def test_linearize_methods_get_full_marks(grader, method):
    grader.assert_full_marks(check.linearize, method)


def linearize_jac_at_x(f, jac, x0):
    x0 = np.array(x0, dtype=float)
    f0 = f(x0)
    return lambda x: f0 + (np.asarray(jac(x)) @ (np.asarray(x) - x0)).reshape(np.shape(f0))


def linearize_sign(f, jac, x0):
    x0 = np.array(x0, dtype=float)
    f0, J = f(x0), np.asarray(jac(x0))
    return lambda x: f0 + (J @ (x0 - np.asarray(x))).reshape(np.shape(f0))


def linearize_without_f0(f, jac, x0):
    x0 = np.array(x0, dtype=float)
    f0, J = f(x0), np.asarray(jac(x0))
    return lambda x: (J @ (np.asarray(x) - x0)).reshape(np.shape(f0))


def linearize_transposed(f, jac, x0):
    x0 = np.array(x0, dtype=float)
    f0, J = f(x0), np.asarray(jac(x0))
    return lambda x: f0 + (J.T @ (np.asarray(x) - x0) if J.shape[0] == J.shape[1] else J @ (np.asarray(x) - x0))


def linearize_always_vector(f, jac, x0):
    x0 = np.array(x0, dtype=float)
    f0, J = np.atleast_1d(f(x0)), np.asarray(jac(x0))
    return lambda x: f0 + J @ (np.asarray(x) - x0)


def linearize_zero_dim_array(f, jac, x0):
    x0 = np.array(x0, dtype=float)
    f0, J = np.asarray(f(x0), dtype=float), np.asarray(jac(x0))
    return lambda x: np.asarray(f0 + (J @ (np.asarray(x) - x0)).reshape(f0.shape))


@pytest.mark.parametrize("function, keywords", [
    (lambda f, jac, x0: f(x0), ["return a function"]),
    (linearize_jac_at_x, ["Jacobian at x", "jac(x0)"]),
    (linearize_sign, ["sign"]),
    (linearize_without_f0, ["f(x0) is missing"]),
    (linearize_transposed, ["transpose"]),
    (linearize_always_vector, ["scalar in, scalar out"]),
    (linearize_zero_dim_array, ["plain number", "shape ()"]),
])
def test_linearize_mistakes_are_named(grader, function, keywords):
    grader.assert_diagnosed(check.linearize, function, *keywords)


# --- the same verdicts in the kernel and in the re-check ----------------------------------------
@pytest.mark.parametrize("name, function", [
    ("jacobian_complex_step", central_differences), ("jacobian_complex_step", real_part),
    ("jacobian_complex_step", no_row_for_scalar_f), ("spherical_jacobian", spherical_latitude),
    ("linearize", linearize_jac_at_x), ("linearize", linearize_zero_dim_array),
])
def test_verdicts_are_the_same_when_judged_apart(grader, solutions, name, function):
    grader.assert_same_when_detached(check.exercises[name], solutions[name])
    grader.assert_same_when_detached(check.exercises[name], function)

