"""The Chapter 4 demos run at their extreme control values and draw what they claim."""
import matplotlib.figure
import numpy as np
import pytest

from diffrn import curvature
from diffrn.demos import hessian as demos
from diffrn.demos.core import figure_png, frame_count
from diffrn.numerical import gradient_fd


@pytest.fixture
def rng():
    return np.random.default_rng(4)


def _title(fig, index=0):
    return fig.axes[index].get_title()


def _controls(demo_factory, monkeypatch):
    """The Control list a demo wires, captured instead of building widgets."""
    captured = {}

    def fake_interactive_demo(plot, controls, **fixed):
        captured["plot"], captured["controls"] = plot, list(controls)
        return None

    monkeypatch.setattr(demos, "interactive_demo", fake_interactive_demo)
    demo_factory()
    return captured["plot"], captured["controls"]


@pytest.mark.parametrize("factory", [demos.quadratic_form_demo, demos.newton_vs_gd_demo, demos.taylor_demo])
def test_demos_stay_small_and_run_at_extremes(factory, monkeypatch):
    plot, controls = _controls(factory, monkeypatch)
    assert frame_count(controls) <= 30
    extremes = [dict(zip([c.name for c in controls], values)) for values in
                [[c.values[0] for c in controls], [c.values[-1] for c in controls]]]
    largest = 0
    for params in extremes:
        fig = plot(**params)
        assert isinstance(fig, matplotlib.figure.Figure)
        assert tuple(fig.get_size_inches()) == pytest.approx((7.0, 3.4))
        largest = max(largest, len(figure_png(fig)))
    # Frames ship base64-encoded (4/3 of their size): the whole demo stays under about 1.5 MB.
    assert frame_count(controls) * largest * 4 / 3 < 1.5e6


# --- 1. Quadratic forms ----------------------------------------------------------------------

def test_quadratic_form_matrix_has_the_chosen_eigen_decomposition():
    matrix = demos.quadratic_form_matrix(1.0, -2.0, 30.0)
    np.testing.assert_allclose(matrix, matrix.T)
    np.testing.assert_allclose(np.linalg.eigvalsh(matrix), [-2.0, 1.0])
    axis = np.array([np.cos(np.radians(30.0)), np.sin(np.radians(30.0))])
    np.testing.assert_allclose(matrix @ axis, axis, atol=1e-15)


@pytest.mark.parametrize("lambda1, lambda2, expected", [
    (1.0, 2.0, "minimum"), (1.0, -2.0, "saddle"), (1.0, 0.0, "degenerate"),
    (-1.0, -2.0, "maximum"), (-1.0, 2.0, "saddle"), (-1.0, 0.0, "degenerate"),
])
@pytest.mark.parametrize("theta_deg", [demos.THETA_DEG_VALUES[0], demos.THETA_DEG_VALUES[-1]])
def test_quadratic_form_title_names_the_critical_point(lambda1, lambda2, expected, theta_deg):
    fig = demos.plot_quadratic_form(lambda1=lambda1, lambda2=lambda2, theta_deg=theta_deg)
    assert _title(fig).endswith(f": {expected}")
    matrix = demos.quadratic_form_matrix(lambda1, lambda2, theta_deg)
    assert curvature.classify_critical_point(matrix) == expected
    # The Hessian of x^T Q x / 2 is Q (checked with the package's finite differences).
    form = lambda x: 0.5 * x @ matrix @ x  # noqa: E731
    np.testing.assert_allclose(curvature.hessian(form, [0.3, -0.4], method="fd"), matrix, atol=1e-6)


def test_every_quadratic_form_frame_is_labelled_by_its_eigenvalues():
    for lambda1 in demos.LAMBDA1_VALUES:
        for lambda2 in demos.LAMBDA2_VALUES:
            expected = curvature.classify_critical_point(np.diag([lambda1, lambda2]))
            fig = demos.plot_quadratic_form(lambda1, lambda2, demos.THETA_DEG_VALUES[1])
            assert expected in _title(fig)


# --- 2. Newton against gradient descent ------------------------------------------------------

def test_bowl_derivatives_match_the_package(rng):
    for _ in range(3):
        x = rng.uniform(-1, 1, size=2)
        np.testing.assert_allclose(demos.bowl_gradient(x), gradient_fd(demos.bowl, x), rtol=1e-7)
        np.testing.assert_allclose(demos.bowl_hessian(x), curvature.hessian(demos.bowl, x, method="fd"), rtol=1e-5)
    np.testing.assert_allclose(demos.bowl_gradient(demos.BOWL_MINIMIZER), 0.0, atol=1e-15)
    assert curvature.classify_critical_point(demos.bowl_hessian(demos.BOWL_MINIMIZER)) == "minimum"


@pytest.mark.parametrize("angle_deg", [demos.START_ANGLES_DEG[0], demos.START_ANGLES_DEG[-1], 60.0])
def test_newton_wins_from_every_start(angle_deg):
    runs = demos.bowl_runs(angle_deg)
    assert runs["newton_errors"].min() < 1e-12
    assert np.argmax(runs["newton_errors"] < 1e-12) <= 8
    assert runs["gd_errors"][-1] > 1e-4  # gradient descent is still far away after 40 steps
    # The safe step keeps gradient descent descending.
    values = np.array([demos.bowl(x) for x in runs["gd"]])
    assert np.all(np.diff(values) <= 1e-12)
    # Paths come from the package's iterations.
    expected = curvature.newton(demos.bowl_gradient, demos.bowl_hessian, demos.start_point(angle_deg),
                                steps=demos.RUN_STEPS, tol=1e-13)
    np.testing.assert_array_equal(runs["newton"], expected)


def test_newton_plot_title_reports_the_runs():
    fig = demos.plot_newton_vs_gd(angle_deg=demos.START_ANGLES_DEG[-1])
    runs = demos.bowl_runs(demos.START_ANGLES_DEG[-1])
    steps = int(np.argmax(runs["newton_errors"] < 1e-12))
    title = _title(fig, 1)
    assert f"after {steps} steps" in title
    assert f"{runs['gd_errors'][-1]:.1e}" in title


def test_starts_lie_inside_the_plot():
    for angle in demos.START_ANGLES_DEG:
        x0 = demos.start_point(angle)
        assert demos.BOWL_XLIM[0] < x0[0] < demos.BOWL_XLIM[1]
        assert demos.BOWL_YLIM[0] < x0[1] < demos.BOWL_YLIM[1]


# --- 3. Taylor models ------------------------------------------------------------------------

def test_wave_derivatives_match_the_package(rng):
    for _ in range(3):
        x = rng.uniform(-2, 2, size=2)
        np.testing.assert_allclose(demos.wave_gradient(x), gradient_fd(demos.wave, x), atol=1e-8)
        np.testing.assert_allclose(demos.wave_hessian(x), curvature.hessian(demos.wave, x, method="fd"), atol=1e-5)


@pytest.mark.parametrize("position", [demos.TAYLOR_POSITIONS[0], demos.TAYLOR_POSITIONS[-1]])
def test_taylor_title_reports_the_errors(position):
    fig = demos.plot_taylor(position=position)
    err1, err2 = demos.taylor_errors(demos.taylor_point(position))
    assert f"|f − T₁| = {err1:.4f}" in _title(fig, 1)
    assert f"|f − T₂| = {err2:.4f}" in _title(fig, 1)


def test_taylor_errors_shrink_at_their_orders():
    point = demos.taylor_point(1.2)
    e1 = [demos.taylor_errors(point, r)[0] for r in (1e-2, 5e-3)]
    e2 = [demos.taylor_errors(point, r)[1] for r in (1e-2, 5e-3)]
    assert e1[0] / e1[1] == pytest.approx(4, rel=0.05)  # O(t^2)
    assert e2[0] / e2[1] == pytest.approx(8, rel=0.05)  # O(t^3)
