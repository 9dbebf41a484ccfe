"""Demos of Chapter 1: they draw at the extreme control values and their titles tell the truth."""
import numpy as np
import pytest
from matplotlib.figure import Figure

import diffrn.demos.jacobian as demos
from diffrn.demos.core import frame_count
from diffrn.numerical import directional_derivative_fd, gradient_fd, jacobian_fd


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def titles(fig):
    return " ".join(ax.get_title() for ax in fig.axes)


@pytest.mark.parametrize("theta0_deg", [min(demos.BASE_ANGLES_DEG), max(demos.BASE_ANGLES_DEG)])
@pytest.mark.parametrize("zoom", [min(demos.ZOOM_VALUES), max(demos.ZOOM_VALUES)])
def test_polar_zoom_draws_at_extremes(theta0_deg, zoom):
    fig = demos.plot_polar_zoom(theta0_deg=theta0_deg, zoom=zoom)
    assert isinstance(fig, Figure)
    gap = demos.linearization_gap(demos.ZOOM_RADIUS, np.deg2rad(theta0_deg), demos.ZOOM_BASE_HALF_WIDTH / zoom)
    assert f"{gap:.3f}" in titles(fig)


def test_polar_zoom_keeps_axis_limits_fixed():
    limits = {
        (demos.plot_polar_zoom(theta0_deg=t, zoom=z).axes[0].get_xlim())
        for t in (0, 180)
        for z in (1, 32)
    }
    assert len(limits) == 1


def test_polar_jacobian_matches_finite_differences(rng):
    for p in np.column_stack([rng.uniform(0.2, 3, 8), rng.uniform(-np.pi, np.pi, 8)]):
        np.testing.assert_allclose(demos.polar_jacobian(p), jacobian_fd(demos.polar_map, p), rtol=1e-8, atol=1e-9)


def test_linearization_gap_shrinks_linearly_with_the_grid():
    widths = [demos.ZOOM_BASE_HALF_WIDTH / z for z in demos.ZOOM_VALUES]
    gaps = np.array([demos.linearization_gap(demos.ZOOM_RADIUS, 0.7, w) for w in widths])
    assert np.all(np.diff(gaps) < 0)
    # The remainder is second order, so gap / w halves when w halves.
    np.testing.assert_allclose(gaps[:-1] / gaps[1:], 2.0, rtol=0.05)
    assert gaps[-1] < 0.03


def test_linearization_gap_rejects_empty_grid():
    with pytest.raises(ValueError, match="positive"):
        demos.linearization_gap(1.0, 0.0, 0.0)


def test_hill_gradient_matches_finite_differences(rng):
    for p in rng.uniform(-2, 2, size=(8, 2)):
        np.testing.assert_allclose(demos.hill_gradient(p), gradient_fd(demos.hill, p), rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("phi_deg", demos.DIRECTION_ANGLES_DEG)
def test_directional_slope_matches_finite_differences(phi_deg):
    slope, grad_norm = demos.directional_slope(phi_deg)
    u = demos.unit_direction(phi_deg)
    assert slope == pytest.approx(directional_derivative_fd(demos.hill, demos.SLOPE_POINT, u), abs=1e-9)
    assert abs(slope) <= grad_norm + 1e-12


def test_steepest_slope_is_gradient_norm_along_gradient():
    grad = demos.hill_gradient(demos.SLOPE_POINT)
    angle = np.rad2deg(np.arctan2(grad[1], grad[0]))
    slope, grad_norm = demos.directional_slope(angle)
    assert slope == pytest.approx(grad_norm, rel=1e-12)
    assert demos.directional_slope(angle + 180)[0] == pytest.approx(-grad_norm, rel=1e-12)
    assert demos.directional_slope(angle + 90)[0] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("phi_deg", [min(demos.DIRECTION_ANGLES_DEG), max(demos.DIRECTION_ANGLES_DEG)])
def test_directional_derivative_draws_at_extremes(phi_deg):
    fig = demos.plot_directional_derivative(phi_deg=phi_deg)
    assert isinstance(fig, Figure)
    slope, grad_norm = demos.directional_slope(phi_deg)
    assert f"{slope:+.3f}" in titles(fig)
    assert f"{grad_norm:.3f}" in titles(fig)


@pytest.mark.parametrize("make_demo", [demos.polar_zoom_demo, demos.directional_derivative_demo])
def test_demos_stay_within_the_frame_budget(monkeypatch, make_demo):
    captured = {}

    def fake_interactive_demo(plot, controls, **fixed):
        captured.update(plot=plot, controls=controls)
        return "widget"

    monkeypatch.setattr(demos, "interactive_demo", fake_interactive_demo)
    assert make_demo() == "widget"
    assert frame_count(captured["controls"]) <= 30
    # Every control value is a valid argument of the plot function.
    start = {c.name: c.start for c in captured["controls"]}
    assert isinstance(captured["plot"](**start), Figure)


@pytest.mark.parametrize("theta0_deg", [min(demos.BASE_ANGLES_DEG), max(demos.BASE_ANGLES_DEG)])
@pytest.mark.parametrize("zoom", [min(demos.ZOOM_VALUES), max(demos.ZOOM_VALUES)])
def test_polar_zoom_alt_text_says_what_the_frame_shows(theta0_deg, zoom):
    alt = demos.polar_zoom_alt(theta0_deg, zoom)
    gap = demos.linearization_gap(demos.ZOOM_RADIUS, np.deg2rad(theta0_deg), demos.ZOOM_BASE_HALF_WIDTH / zoom)
    assert f"{gap:.3f}" in alt and f"theta = {theta0_deg:g} degrees" in alt
    assert ("nearly coincide" in alt) == (gap < 0.06)


@pytest.mark.parametrize("phi_deg", [0, 51, 90, 231])
def test_directional_derivative_alt_text_gives_the_slope_and_its_meaning(phi_deg):
    alt = demos.directional_derivative_alt(phi_deg)
    slope, grad_norm = demos.directional_slope(phi_deg)
    assert f"{slope:+.3f}" in alt and f"{grad_norm:.3f}" in alt
    if phi_deg == 51:
        assert "steepest ascent" in alt
    if phi_deg == 231:
        assert "steepest descent" in alt
