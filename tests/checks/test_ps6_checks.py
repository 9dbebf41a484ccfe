"""The checks of ps6-implicit-functions grade the notebook's solutions, stubs and typical mistakes correctly."""
import numpy as np
import pytest

from diffrn.checks.core import backward_error
from diffrn.checks.ps6 import BACKWARD_TOL, check, ill_conditioned

ASSIGNMENT = "ps6-implicit-functions"



# --- correct implementations by other methods -------------------------------------------------
def implicit_slope_lstsq(F_x, F_y):
    return -np.linalg.lstsq(F_y, F_x, rcond=None)[0]


def implicit_slope_by_columns(F_x, F_y):
    return np.stack([-np.linalg.solve(F_y, F_x[:, j]) for j in range(F_x.shape[1])], axis=1)


def second_derivative_expanded(Fx, Fy, Fxx, Fxy, Fyy):
    """Without y': y'' = -(Fxx Fy² - 2 Fxy Fx Fy + Fyy Fx²) / Fy³."""
    return -(Fxx * Fy**2 - 2 * Fxy * Fx * Fy + Fyy * Fx**2) / Fy**3


def second_derivative_numpy(Fx, Fy, Fxx, Fxy, Fyy):
    """The quadratic form (1, y') H (1, y')ᵀ of the Hessian of F."""
    tangent = np.array([1.0, -Fx / Fy])
    return np.float64(-(tangent @ np.array([[Fxx, Fxy], [Fxy, Fyy]]) @ tangent) / Fy)


def newton_lstsq_while(f, jac_f, y, x0, tol=1e-12, max_iter=50):
    """A while loop, steps by lstsq, the residual checked after each step."""
    x = np.asarray(x0, dtype=float).copy()
    y = np.asarray(y, dtype=float)
    steps = 0
    while np.linalg.norm(f(x) - y) > tol * max(1.0, np.linalg.norm(y)):
        if steps == max_iter:
            raise ValueError("Newton's method did not converge")
        x = x + np.linalg.lstsq(jac_f(x), y - f(x), rcond=None)[0]
        steps += 1
    return x


def newton_max_norm_and_linalgerror(f, jac_f, y, x0, tol=1e-12, max_iter=50):
    """Max-norm stopping rule (stricter than the 2-norm one); a singular Jacobian raises LinAlgError."""
    x = np.array(x0, dtype=float)
    scale = max(1.0, np.linalg.norm(y))
    for _ in range(max_iter + 1):
        r = f(x) - y
        if np.linalg.norm(r) <= tol * scale and np.max(np.abs(r)) <= tol * scale:
            return x
        x -= np.linalg.solve(jac_f(x), r)
    raise ValueError("no convergence")


def ridge_hypergradient_cholesky(X, y, X_val, y_val, lam):
    """One Cholesky factor for both solves; the chain rule through the gradient of L."""
    L = np.linalg.cholesky(X.T @ X + lam * np.eye(X.shape[1]))

    def solve(b):
        return np.linalg.solve(L.T, np.linalg.solve(L, b))

    theta = solve(X.T @ y)
    grad_theta = 2 * X_val.T @ (X_val @ theta - y_val)
    return float(-grad_theta @ solve(theta))


def ridge_hypergradient_adjoint(X, y, X_val, y_val, lam):
    """Adjoint form: solve (XᵀX + λI) v = ∇L first, then -vᵀθ* (the matrix is symmetric)."""
    A = X.T @ X + lam * np.eye(X.shape[1])
    theta = np.linalg.lstsq(A, X.T @ y, rcond=None)[0]
    v = np.linalg.lstsq(A, 2 * X_val.T @ (X_val @ theta - y_val), rcond=None)[0]
    return -v @ theta


def fixed_point_vjp_lstsq(A, B, g):
    return B.T @ np.linalg.lstsq(np.eye(len(g)) - A.T, g, rcond=None)[0]


def fixed_point_vjp_row_form(A, B, g):
    """Solve the row-vector system uᵀ(I - A) = gᵀ as written, via solve on the transpose of both sides."""
    u_row = np.linalg.solve((np.eye(A.shape[0]) - A).T, g[:, None]).T
    return (u_row @ B)[0]


@pytest.mark.parametrize("name, function", [
    ("implicit_slope", implicit_slope_lstsq), ("implicit_slope", implicit_slope_by_columns),
    ("implicit_second_derivative", second_derivative_expanded),
    ("implicit_second_derivative", second_derivative_numpy),
    ("newton_inverse", newton_lstsq_while), ("newton_inverse", newton_max_norm_and_linalgerror),
    ("ridge_hypergradient", ridge_hypergradient_cholesky), ("ridge_hypergradient", ridge_hypergradient_adjoint),
    ("fixed_point_vjp", fixed_point_vjp_lstsq), ("fixed_point_vjp", fixed_point_vjp_row_form),
])
def test_other_correct_methods_get_full_marks(grader, name, function):
    grader.assert_full_marks(check.exercises[name], function)


# --- typical mistakes and the feedback they get -----------------------------------------------
def implicit_inverse(F_x, F_y):
    return -np.linalg.inv(F_y) @ F_x


def implicit_sign(F_x, F_y):
    return np.linalg.solve(F_y, F_x)


def implicit_wrong_order(F_x, F_y):
    return -F_x @ np.linalg.inv(F_y)


def implicit_transposed(F_x, F_y):
    return -np.linalg.solve(F_y, F_x).T


def implicit_list(F_x, F_y):
    return (-np.linalg.solve(F_y, F_x)).tolist()


def second_no_factor_two(Fx, Fy, Fxx, Fxy, Fyy):
    p = -Fx / Fy
    return -(Fxx + Fxy * p + Fyy * p**2) / Fy


def second_no_fyy(Fx, Fy, Fxx, Fxy, Fyy):
    p = -Fx / Fy
    return -(Fxx + 2 * Fxy * p) / Fy


def second_sign(Fx, Fy, Fxx, Fxy, Fyy):
    p = -Fx / Fy
    return (Fxx + 2 * Fxy * p + Fyy * p**2) / Fy


def second_first_derivative(Fx, Fy, Fxx, Fxy, Fyy):
    return -Fx / Fy


def newton_ignores_y(f, jac_f, y, x0, tol=1e-12, max_iter=50):
    x = np.array(x0, dtype=float)
    for _ in range(max_iter):
        if np.linalg.norm(f(x)) <= tol * max(1.0, np.linalg.norm(y)):
            return x
        x = x - np.linalg.solve(jac_f(x), f(x))
    raise ValueError("no convergence")


def newton_transposed(f, jac_f, y, x0, tol=1e-12, max_iter=50):
    x = np.array(x0, dtype=float)
    for _ in range(max_iter):
        r = f(x) - y
        if np.linalg.norm(r) <= tol * max(1.0, np.linalg.norm(y)):
            return x
        x = x - np.linalg.solve(jac_f(x).T, r)
    raise ValueError("no convergence")


def newton_no_valueerror(f, jac_f, y, x0, tol=1e-12, max_iter=50):
    x = np.array(x0, dtype=float)
    for _ in range(max_iter):
        r = f(x) - y
        if np.linalg.norm(r) <= tol * max(1.0, np.linalg.norm(y)):
            break
        x = x - np.linalg.solve(jac_f(x), r)
    return x


def newton_fixed_steps(f, jac_f, y, x0, tol=1e-12, max_iter=50):
    x = np.array(x0, dtype=float)
    for _ in range(10):
        x = x - np.linalg.solve(jac_f(x), f(x) - y)
    return x


def newton_modifies_x0(f, jac_f, y, x0, tol=1e-12, max_iter=50):
    x = x0
    for _ in range(max_iter):
        r = f(x) - y
        if np.linalg.norm(r) <= tol * max(1.0, np.linalg.norm(y)):
            return x.copy()
        x -= np.linalg.solve(jac_f(x), r)
    raise ValueError("no convergence")


def newton_absolute_tolerance(f, jac_f, y, x0, tol=1e-12, max_iter=50):
    x = np.array(x0, dtype=float)
    for _ in range(max_iter):
        r = f(x) - y
        if np.linalg.norm(r) <= tol:
            return x
        x = x - np.linalg.solve(jac_f(x), r)
    raise ValueError("no convergence")


def newton_runtime_error(f, jac_f, y, x0, tol=1e-12, max_iter=50):
    x = np.array(x0, dtype=float)
    for _ in range(max_iter):
        r = f(x) - y
        if np.linalg.norm(r) <= tol * max(1.0, np.linalg.norm(y)):
            return x
        x = x - np.linalg.solve(jac_f(x), r)
    raise RuntimeError("no convergence")


def _ridge(X, y, lam, penalty=1.0):
    A = X.T @ X + penalty * lam * np.eye(X.shape[1])
    theta = np.linalg.solve(A, X.T @ y)
    return theta, -penalty * np.linalg.solve(A, theta)


def ridge_no_factor_two(X, y, X_val, y_val, lam):
    theta, d = _ridge(X, y, lam)
    return float((X_val @ theta - y_val) @ (X_val @ d))


def ridge_sign(X, y, X_val, y_val, lam):
    theta, d = _ridge(X, y, lam)
    return float(-2 * (X_val @ theta - y_val) @ (X_val @ d))


def ridge_two_lambda(X, y, X_val, y_val, lam):
    theta, d = _ridge(X, y, lam, penalty=2.0)
    return float(2 * (X_val @ theta - y_val) @ (X_val @ d))


def ridge_training_residual(X, y, X_val, y_val, lam):
    theta, d = _ridge(X, y, lam)
    return float(2 * (X @ theta - y) @ (X @ d))


def _validation_loss(X, y, X_val, y_val, lam):
    theta, _ = _ridge(X, y, lam)
    return float(np.sum((X_val @ theta - y_val) ** 2))


def ridge_central_differences(X, y, X_val, y_val, lam):
    h = 1e-5 * lam
    return (_validation_loss(X, y, X_val, y_val, lam + h) - _validation_loss(X, y, X_val, y_val, lam - h)) / (2 * h)


def ridge_forward_differences(X, y, X_val, y_val, lam):
    h = 1e-7
    return (_validation_loss(X, y, X_val, y_val, lam + h) - _validation_loss(X, y, X_val, y_val, lam)) / h


def fixed_no_transpose(A, B, g):
    return B.T @ np.linalg.solve(np.eye(A.shape[0]) - A, g)


def fixed_neumann(A, B, g, terms=200):
    u, term = g.copy(), g.copy()
    for _ in range(terms):
        term = A.T @ term
        u += term
    return B.T @ u


def fixed_no_B(A, B, g):
    return np.linalg.solve((np.eye(A.shape[0]) - A).T, g)


def fixed_inverse(A, B, g):
    return B.T @ np.linalg.inv(np.eye(A.shape[0]) - A).T @ g


def fixed_ignores_A(A, B, g):
    return B.T @ g


@pytest.mark.parametrize("name, function, keywords", [
    ("implicit_slope", implicit_inverse, ["backward error", "np.linalg.solve"]),
    ("implicit_slope", implicit_sign, ["sign"]),
    ("implicit_slope", implicit_wrong_order, ["wrong order"]),
    ("implicit_slope", implicit_transposed, ["transpose"]),
    ("implicit_slope", implicit_list, ["list"]),
    ("implicit_second_derivative", second_no_factor_two, ["factor 2"]),
    ("implicit_second_derivative", second_no_fyy, ["F_yy y'²"]),
    ("implicit_second_derivative", second_sign, ["sign"]),
    ("implicit_second_derivative", second_first_derivative, ["first derivative"]),
    ("newton_inverse", newton_ignores_y, ["f(x) = 0"]),
    ("newton_inverse", newton_transposed, ["J_f(x).T|transpose"]),
    ("newton_inverse", newton_no_valueerror, ["should raise ValueError"]),
    ("newton_inverse", newton_fixed_steps, ["fixed number of steps"]),
    ("newton_inverse", newton_modifies_x0, ["modified in place"]),
    ("newton_inverse", newton_absolute_tolerance, ["relative to ||y||"]),
    ("newton_inverse", newton_runtime_error, ["raise ValueError", "RuntimeError"]),
    ("ridge_hypergradient", ridge_no_factor_two, ["factor 2"]),
    ("ridge_hypergradient", ridge_sign, ["sign"]),
    ("ridge_hypergradient", ridge_two_lambda, ["2λ"]),
    ("ridge_hypergradient", ridge_training_residual, ["training residual"]),
    ("ridge_hypergradient", ridge_central_differences, ["finite differences", "cancellation"]),
    ("ridge_hypergradient", ridge_forward_differences, ["finite differences"]),
    ("fixed_point_vjp", fixed_no_transpose, ["transpose"]),
    ("fixed_point_vjp", fixed_neumann, ["Neumann"]),
    ("fixed_point_vjp", fixed_no_B, ["Bᵀu"]),
    ("fixed_point_vjp", fixed_inverse, ["backward error", "np.linalg.inv"]),
    ("fixed_point_vjp", fixed_ignores_A, ["left out A"]),
])
def test_mistakes_lose_points_and_are_named(grader, name, function, keywords):
    grader.assert_diagnosed(check.exercises[name], function, *keywords)


def test_inverse_fails_only_the_ill_conditioned_cell(grader):
    grader.assert_full_marks(check.implicit_slope, implicit_inverse, only=("visible", "hidden"))
    grader.assert_diagnosed(check.implicit_slope, implicit_inverse, "np.linalg.inv", only=("hard",))
    grader.assert_full_marks(check.fixed_point_vjp, fixed_inverse, only=("visible", "hidden"))
    grader.assert_diagnosed(check.fixed_point_vjp, fixed_inverse, "np.linalg.inv", only=("hard",))


def test_differences_fail_only_the_cancellation_cell(grader):
    grader.assert_full_marks(check.ridge_hypergradient, ridge_central_differences, only=("visible", "hidden"))
    grader.assert_diagnosed(check.ridge_hypergradient, ridge_central_differences, "cancellation", only=("hard",))


def test_inverse_fails_the_hard_cell_for_every_student(grader, solutions):
    for student in ("alice", "bob", "s0042", "zoe", "x1"):
        for salt in ("", "hidden"):
            assert grader.run(check.implicit_slope, implicit_inverse, "hard", student, salt) is not None
            assert grader.run(check.implicit_slope, implicit_slope_lstsq, "hard", student, salt) is None
            assert grader.run(check.implicit_slope, solutions["implicit_slope"], "hard", student, salt) is None
            assert grader.run(check.fixed_point_vjp, fixed_inverse, "hard", student, salt) is not None
            assert grader.run(check.fixed_point_vjp, solutions["fixed_point_vjp"], "hard", student, salt) is None


def test_no_step_size_rescues_differences_on_the_cancellation_cell(grader, solutions):
    """Central and forward differences with any step from 1e-1 to 1e-8 (absolute or relative to λ) fail."""
    for student in ("alice", "bob", "s0042", "zoe", "x1"):
        for h in (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8):
            for relative in (False, True):
                def central(X, y, X_val, y_val, lam):
                    step = h * lam if relative else min(h, lam / 2)
                    return (_validation_loss(X, y, X_val, y_val, lam + step)
                            - _validation_loss(X, y, X_val, y_val, lam - step)) / (2 * step)

                assert grader.run(check.ridge_hypergradient, central, "hard", student) is not None, (student, h)
        assert grader.run(check.ridge_hypergradient, solutions["ridge_hypergradient"], "hard", student) is None


def test_absolute_tolerance_fails_the_hidden_cases_for_every_student(grader):
    """The large-||y|| hidden case keeps the residual far above 1e-12 (no exact hit f(x) == y)."""
    for k in range(20):
        message = grader.run(check.newton_inverse, newton_absolute_tolerance, "hidden", f"student{k}")
        assert message is not None and "relative to ||y||" in message


def test_inverse_and_solve_are_orders_of_magnitude_apart():
    worst_solve, best_inverse = 0.0, np.inf
    for seed in range(20):
        rng = np.random.default_rng(seed)
        for m, n in [(8, 3), (20, 5)]:
            F_y = ill_conditioned(rng, m)
            F_x = F_y @ rng.normal(size=(m, n))
            worst_solve = max(worst_solve, backward_error(F_y, np.linalg.solve(F_y, F_x), F_x),
                              backward_error(F_y, np.linalg.lstsq(F_y, F_x, rcond=None)[0], F_x))
            best_inverse = min(best_inverse, backward_error(F_y, np.linalg.inv(F_y) @ F_x, F_x))
    assert worst_solve < BACKWARD_TOL / 100
    assert best_inverse > BACKWARD_TOL * 100


@pytest.mark.parametrize("name, function", [
    ("implicit_slope", implicit_inverse), ("implicit_second_derivative", second_no_factor_two),
    ("newton_inverse", newton_no_valueerror), ("newton_inverse", newton_transposed),
    ("ridge_hypergradient", ridge_central_differences), ("fixed_point_vjp", fixed_inverse),
])
def test_verdicts_are_the_same_when_judged_apart(grader, solutions, name, function):
    grader.assert_same_when_detached(check.exercises[name], solutions[name])
    grader.assert_same_when_detached(check.exercises[name], function)


def test_points_match_the_notebook():
    import jupytext

    from tests.checks.conftest import REPO_ROOT

    notebook = jupytext.read(REPO_ROOT / "solutions" / f"{ASSIGNMENT}.md", fmt="md:myst")
    cells = {cell.metadata["nbgrader"]["grade_id"]: cell for cell in notebook.cells if "nbgrader" in cell.metadata}
    for name, exercise in check.exercises.items():
        points = sum(cell.metadata["nbgrader"].get("points", 0) for cell in cells.values()
                     if cell.cell_type == "code" and cell.metadata["nbgrader"].get("grade")
                     and f"check.{name}(" in cell.source)
        assert points == exercise.points, name
