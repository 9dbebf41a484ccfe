"""The checks of ps4-hessians grade the notebook's solutions, stubs and typical mistakes correctly."""
import numpy as np
import pytest

from diffrn.checks.core import backward_error
from diffrn.checks.ps4 import BACKWARD_TOL, check, ill_conditioned_spd

ASSIGNMENT = "ps4-hessians"



def _value(f, y):
    return float(np.asarray(f(y)).reshape(-1)[0])


# --- correct implementations by other methods -------------------------------------------------
def hessian_forward(f, x, h=1e-4):
    n = len(x)
    E = np.eye(n) * h
    f0 = _value(f, x)
    H = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            H[i, j] = (_value(f, x + E[i] + E[j]) - _value(f, x + E[i]) - _value(f, x + E[j]) + f0) / h**2
    return H


def hessian_difference_of_gradients(f, x, h=1e-4):
    """Forward differences of a central-difference gradient: not symmetric by itself, so symmetrized."""
    n = len(x)
    E = np.eye(n) * h

    def grad(y):
        return np.array([(_value(f, y + E[k]) - _value(f, y - E[k])) / (2 * h) for k in range(n)])

    g0 = grad(x)
    H = np.array([(grad(x + E[i]) - g0) / h for i in range(n)])
    return (H + H.T) / 2


def hvp_forward(grad_f, x, v):
    eps = 1e-7 * (1 + np.linalg.norm(x)) / max(np.linalg.norm(v), 1e-300)
    return (grad_f(x + eps * v) - grad_f(x)) / eps


def hvp_fixed_step(grad_f, x, v, eps=1e-6):
    return (grad_f(x + eps * v) - grad_f(x - eps * v)) / (2 * eps)


def hvp_richardson(grad_f, x, v):
    eps = 1e-3 / max(np.linalg.norm(v), 1e-300)
    d = lambda e: (grad_f(x + e * v) - grad_f(x - e * v)) / (2 * e)
    return (4 * d(eps / 2) - d(eps)) / 3


def classify_with_eig(H, tol=1e-10):
    eigenvalues = np.linalg.eigvals(H).real
    n_pos, n_neg = np.sum(eigenvalues > tol), np.sum(eigenvalues < -tol)
    if n_pos and n_neg:
        return "saddle"
    if n_pos == len(eigenvalues):
        return "minimum"
    if n_neg == len(eigenvalues):
        return "maximum"
    return "degenerate"


def classify_with_eigh(H, tol=1e-10):
    eigenvalues, _ = np.linalg.eigh(H)
    signs = {int(np.sign(value)) if abs(value) > tol else 0 for value in eigenvalues}
    return {frozenset({1}): "minimum", frozenset({-1}): "maximum"}.get(
        frozenset(signs), "saddle" if {1, -1} <= signs else "degenerate")


def newton_lstsq(grad_f, hess_f, x):
    return x - np.linalg.lstsq(hess_f(x), grad_f(x), rcond=None)[0]


def newton_cholesky(grad_f, hess_f, x):
    L = np.linalg.cholesky(hess_f(x))
    return x - np.linalg.solve(L.T, np.linalg.solve(L, grad_f(x)))


@pytest.mark.parametrize("name, function", [
    ("hessian_fd", hessian_forward), ("hessian_fd", hessian_difference_of_gradients),
    ("hvp", hvp_forward), ("hvp", hvp_fixed_step), ("hvp", hvp_richardson),
    ("classify_critical_point", classify_with_eig), ("classify_critical_point", classify_with_eigh),
    ("newton_step", newton_lstsq), ("newton_step", newton_cholesky),
])
def test_other_correct_methods_get_full_marks(grader, name, function):
    grader.assert_full_marks(check.exercises[name], function)


# --- typical mistakes and the feedback they get -----------------------------------------------
def _mixed(f, x, h, i, j):
    E = np.eye(len(x)) * h
    return (_value(f, x + E[i] + E[j]) - _value(f, x + E[i] - E[j])
            - _value(f, x - E[i] + E[j]) + _value(f, x - E[i] - E[j]))


def hessian_missing_four(f, x, h=1e-4):
    n = len(x)
    return np.array([[_mixed(f, x, h, i, j) / h**2 for j in range(n)] for i in range(n)])


def hessian_two_h_squared(f, x, h=1e-4):
    n = len(x)
    return np.array([[_mixed(f, x, h, i, j) / (2 * h**2) for j in range(n)] for i in range(n)])


def hessian_upper_only(f, x, h=1e-4):
    n = len(x)
    H = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            H[i, j] = _mixed(f, x, h, i, j) / (4 * h**2)
    return H


def hessian_aliased_step(f, x, h=1e-4):
    n = len(x)
    H = np.zeros((n, n))
    f0 = _value(f, x)
    for i in range(n):
        xp = x  # meant as a copy: every step below lands in the caller's array
        xp[i] += h
        H[i, i] = (_value(f, xp) - f0) / h**2
    return H


def hessian_list(f, x, h=1e-4):
    n = len(x)
    return [[_mixed(f, x, h, i, j) / (4 * h**2) for j in range(n)] for i in range(n)]


def hvp_missing_two(grad_f, x, v, eps=1e-6):
    return (grad_f(x + eps * v) - grad_f(x - eps * v)) / eps


def hvp_sign(grad_f, x, v, eps=1e-6):
    return (grad_f(x - eps * v) - grad_f(x + eps * v)) / (2 * eps)


def hvp_normalized(grad_f, x, v, eps=1e-6):
    u = v / np.linalg.norm(v)
    return (grad_f(x + eps * u) - grad_f(x - eps * u)) / (2 * eps)


def hvp_by_columns(grad_f, x, v, eps=1e-6):
    """Builds H one column at a time (n gradient calls), then multiplies."""
    n = len(x)
    columns = []
    for j in range(n):
        e = np.zeros(n)
        e[j] = eps
        columns.append((grad_f(x + e) - grad_f(x - e)) / (2 * eps))
    return np.stack(columns, axis=1) @ v


def hvp_dense(grad_f, x, v, eps=1e-6):
    n = len(x)
    H = np.zeros((n, n))  # 80 GB for n = 100 000
    for j in range(n):
        e = np.zeros(n)
        e[j] = eps
        H[:, j] = (grad_f(x + e) - grad_f(x - e)) / (2 * eps)
    return H @ v


def classify_by_diagonal(H, tol=1e-10):
    return classify_with_eig(np.diag(np.diag(H)), tol)


def classify_swapped(H, tol=1e-10):
    answer = classify_with_eig(H, tol)
    return {"minimum": "maximum", "maximum": "minimum"}.get(answer, answer)


def classify_without_tol(H, tol=1e-10):
    return classify_with_eig(H, 0.0)


def classify_zero_first(H, tol=1e-10):
    eigenvalues = np.linalg.eigvalsh(H)
    if np.any(np.abs(eigenvalues) <= tol):
        return "degenerate"
    return classify_with_eig(H, tol)


def classify_short_names(H, tol=1e-10):
    return {"minimum": "min", "maximum": "max"}.get(classify_with_eig(H, tol), classify_with_eig(H, tol))


def newton_inverse(grad_f, hess_f, x):
    return x - np.linalg.inv(hess_f(x)) @ grad_f(x)


def newton_uphill(grad_f, hess_f, x):
    return x + np.linalg.solve(hess_f(x), grad_f(x))


def newton_step_only(grad_f, hess_f, x):
    return np.linalg.solve(hess_f(x), grad_f(x))


def newton_multiplied(grad_f, hess_f, x):
    return x - hess_f(x) @ grad_f(x)


def newton_in_place(grad_f, hess_f, x):
    x -= np.linalg.solve(hess_f(x), grad_f(x))
    return x


@pytest.mark.parametrize("name, function, keywords", [
    ("hessian_fd", hessian_missing_four, ["four times"]),
    ("hessian_fd", hessian_two_h_squared, ["twice"]),
    ("hessian_fd", hessian_upper_only, ["not symmetric"]),
    ("hessian_fd", hessian_aliased_step, ["modified in place"]),
    ("hessian_fd", hessian_list, ["list"]),
    ("hvp", hvp_missing_two, ["twice"]),
    ("hvp", hvp_sign, ["sign"]),
    ("hvp", hvp_normalized, ["normalized"]),
    ("hvp", hvp_by_columns, ["calls", "differences of gradients"]),
    ("hvp", hvp_dense, ["80 GB", "differences of gradients"]),
    ("classify_critical_point", classify_by_diagonal, ["diagonal"]),
    ("classify_critical_point", classify_swapped, ["sign"]),
    ("classify_critical_point", classify_without_tol, ["tol"]),
    ("classify_critical_point", classify_zero_first, ["even if"]),
    ("classify_critical_point", classify_short_names, ["expected one of"]),
    ("newton_step", newton_inverse, ["np.linalg.inv", "backward error"]),
    ("newton_step", newton_uphill, ["uphill"]),
    ("newton_step", newton_step_only, ["new iterate"]),
    ("newton_step", newton_multiplied, ["solves H s"]),
    ("newton_step", newton_in_place, ["modified in place"]),
])
def test_mistakes_lose_points_and_are_named(grader, name, function, keywords):
    grader.assert_diagnosed(check.exercises[name], function, *keywords)


@pytest.mark.parametrize("name, function", [
    ("hvp", hvp_by_columns), ("hvp", hvp_dense), ("newton_step", newton_inverse),
])
def test_failing_only_the_cost_case_keeps_the_main_points(grader, name, function):
    exercise = check.exercises[name]
    grader.assert_full_marks(exercise, function, only=("visible", "hidden"))
    grader.assert_diagnosed(exercise, function, only=("hard",))


def test_hvp_feedback_reports_memory(grader):
    message = grader.run(check.hvp, hvp_dense, "hard", "alice")
    assert "80 GB" in message and ("memory" in message or "MB" in message)


def test_solution_hvp_stays_far_below_the_memory_budget(grader, solutions):
    """The budget is not tight for an honest answer: the solution's peak is measured and small."""
    import tracemalloc

    from diffrn.checks.functions import Gradient, SeparableFunction

    n = 100_000
    rng = np.random.default_rng(0)
    function = SeparableFunction(rng, n)
    x, v = rng.normal(size=n), rng.normal(size=n)
    tracemalloc.start()
    try:
        solutions["hvp"](Gradient(function), x, v)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20


def test_inverse_fails_the_ill_conditioned_case_and_solves_pass():
    """The hard Newton case separates an explicit inverse from solve/lstsq by orders of magnitude."""
    worst_solve, best_inverse = 0.0, np.inf
    for seed in range(20):
        rng = np.random.default_rng(seed)
        for n in (8, 20):
            H = ill_conditioned_spd(rng, n)
            g = H @ rng.normal(size=n)
            worst_solve = max(worst_solve, backward_error(H, np.linalg.solve(H, g), g),
                              backward_error(H, np.linalg.lstsq(H, g, rcond=None)[0], g))
            best_inverse = min(best_inverse, backward_error(H, np.linalg.inv(H) @ g, g))
    assert worst_solve < BACKWARD_TOL / 100
    assert best_inverse > BACKWARD_TOL * 100


def test_inverse_fails_the_hard_cell_for_every_student(grader, solutions):
    for student in ("alice", "bob", "s0042", "zoe", "x1"):
        for salt in ("", "hidden"):
            assert grader.run(check.newton_step, newton_inverse, "hard", student, salt) is not None
            assert grader.run(check.newton_step, newton_lstsq, "hard", student, salt) is None
            assert grader.run(check.newton_step, solutions["newton_step"], "hard", student, salt) is None


@pytest.mark.parametrize("name, function", [
    ("hessian_fd", hessian_upper_only), ("hvp", hvp_by_columns), ("classify_critical_point", classify_by_diagonal),
    ("newton_step", newton_inverse),
])
def test_verdicts_are_the_same_when_judged_apart(grader, solutions, name, function):
    grader.assert_same_when_detached(check.exercises[name], solutions[name])
    grader.assert_same_when_detached(check.exercises[name], function)
