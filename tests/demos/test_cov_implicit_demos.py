"""The demos of Chapters 5 and 6 run at the extreme control values and show the right numbers."""
import math
import re

import numpy as np
import pytest

from diffrn.demos import change_of_variables as cov
from diffrn.demos import implicit as imp
from diffrn.demos.core import frame_count
from diffrn.flows import standard_normal_log_density
from diffrn.implicit import ridge_solution_grad
from diffrn.numerical import jacobian_fd

DEMOS = [cov.square_image_demo, cov.pushforward_demo, cov.coupling_demo, imp.implicit_curve_demo, imp.ridge_path_demo, imp.unrolled_demo]


def numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"-?\d+\.?\d*(?:e[-+]?\d+)?", text)]


def title(fig) -> str:
    return fig._suptitle.get_text()


def controls_of(demo, monkeypatch):
    """The controls a demo wires, captured without rendering anything."""
    captured = {}

    def fake(plot, controls, **fixed):
        captured.update(plot=plot, controls=controls)

    monkeypatch.setattr(demo.__module__ + ".interactive_demo", fake)
    demo()
    return captured["plot"], captured["controls"]


@pytest.mark.parametrize("demo", DEMOS)
def test_demo_is_small_and_runs_at_extreme_values(demo, monkeypatch):
    plot, controls = controls_of(demo, monkeypatch)
    assert frame_count(controls) <= 30
    for control in controls:
        assert "$" not in control.label, "widget labels use \\(...\\), not $...$"
    for pick in (0, -1):
        fig = plot(**{c.name: c.values[pick] for c in controls})
        width, height = fig.get_size_inches()
        assert width <= 7.5 and height <= 3.6


def test_square_image_areas_converge_at_second_order():
    for position in cov.SQUARE_POSITIONS:
        ratios = [np.subtract(*cov.square_image_areas(position, h)) for h in cov.SQUARE_SIZES]
        # For z -> z^2 the exact gap is (2/3) h^4: area = 4|c|^2 h^2 + (2/3) h^4.
        np.testing.assert_allclose(ratios, [2 / 3 * h**4 for h in cov.SQUARE_SIZES], rtol=1e-3, atol=1e-12)
    jac = jacobian_fd(cov.square_map, [0.9, 0.5])
    np.testing.assert_allclose(jac, cov.square_map_jacobian([0.9, 0.5]), atol=1e-8)


def test_square_title_numbers():
    fig = cov.plot_square_image(position=1.5, size=0.8)
    area, linear, ratio = numbers(title(fig).replace("h²", "h"))[:3]
    expected_area, expected_linear = cov.square_image_areas(1.5, 0.8)
    assert area == pytest.approx(expected_area, rel=1e-3)
    assert linear == pytest.approx(expected_linear, rel=1e-3)
    assert ratio == pytest.approx(expected_area / expected_linear, abs=1e-4)


def test_signed_area_sign_is_orientation():
    square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    assert cov.signed_area(square) == 1.0
    assert cov.signed_area(square[::-1]) == -1.0


@pytest.mark.parametrize("gain", [cov.PUSH_GAINS[0], cov.PUSH_GAINS[-1]])
def test_pushforward_density_integrates_and_matches_title(gain):
    # The mass of |Y| < 0.9 is the probability that |Z| < artanh(0.9) / a.
    y = np.linspace(-0.9, 0.9, 20_001)
    expected_mass = math.erf(np.arctanh(0.9) / gain / math.sqrt(2))
    assert np.trapezoid(cov.tanh_pushforward_density(y, gain), y) == pytest.approx(expected_mass, abs=1e-6)
    fig = cov.plot_pushforward(gain)
    values = numbers(title(fig).split(":", 1)[1])
    assert values[-1] == pytest.approx(cov.tanh_pushforward_density(cov.PUSH_PROBE, gain), abs=1e-3)
    assert values[-3] * values[-2] == pytest.approx(values[-1], abs=2e-3)


@pytest.mark.parametrize("scale,shift", [(cov.COUPLING_SCALES[0], cov.COUPLING_SHIFTS[0]), (cov.COUPLING_SCALES[-1], cov.COUPLING_SHIFTS[-1])])
def test_coupling_title_matches_layer(scale, shift):
    fig = cov.plot_coupling(scale, shift)
    probe, mean = numbers(title(fig))[-2:]
    assert probe == pytest.approx(scale * np.tanh(1.0), abs=1e-3)
    assert mean == pytest.approx(cov.coupling_2d(cov.COUPLING_SAMPLES, scale, shift)[1].mean(), abs=1e-3)
    # The coupling Jacobian at the probe point, brute force.
    jac = jacobian_fd(lambda x: cov.coupling_2d(x, scale, shift)[0], cov.COUPLING_PROBE)
    assert np.log(abs(np.linalg.det(jac))) == pytest.approx(probe, abs=1e-3)
    assert jac[0, 1] == pytest.approx(0.0, abs=1e-9)
    # The preimage undoes the layer, and the contoured density p_Y integrates to one.
    x = cov.COUPLING_SAMPLES
    np.testing.assert_allclose(cov.coupling_2d_preimage(cov.coupling_2d(x, scale, shift)[0], scale, shift), x,
                               atol=1e-12)
    grid = np.linspace(-30, 30, 1501)  # s = 1.5 stretches x2 by up to e^1.5
    gx, gy = np.meshgrid(grid, grid)
    back = cov.coupling_2d_preimage(np.stack([gx, gy], axis=-1), scale, shift)
    p_y = np.exp(standard_normal_log_density(back) - cov.coupling_2d(back, scale, shift)[1])
    assert p_y.sum() * (grid[1] - grid[0]) ** 2 == pytest.approx(1.0, abs=1e-4)


def test_folium_slope_agrees_with_parametrization():
    for t in [-2.5, -0.5, 0.3, 1.1, 3.5]:
        x, y = imp.folium_point(t)
        assert imp.folium(x, y) == pytest.approx(0.0, abs=1e-12)
        dx, dy = jacobian_fd(imp.folium_point, [t])[:, 0]
        assert imp.folium_slope(t) == pytest.approx(dy / dx, rel=1e-6)
    assert imp.folium_slope(0.5 ** (1 / 3)) is None  # vertical tangent
    assert imp.folium_slope(0.0) is None  # singular point


def test_folium_titles():
    assert "vertical tangent" in title(imp.plot_implicit_curve(0.5 ** (1 / 3)))
    assert "singular" in title(imp.plot_implicit_curve(0.0))
    text = title(imp.plot_implicit_curve(0.45))
    assert numbers(text)[-1] == pytest.approx(imp.folium_slope(0.45), abs=1e-3)


@pytest.mark.parametrize("log10_lam", [imp.RIDGE_LOG10_LAMBDAS[0], imp.RIDGE_LOG10_LAMBDAS[-1]])
def test_ridge_demo_derivatives(log10_lam):
    lam = 10.0**log10_lam
    implicit, fd = imp.ridge_path_derivatives(lam)
    np.testing.assert_allclose(implicit, ridge_solution_grad(imp.RIDGE_X, imp.RIDGE_Y, lam))
    np.testing.assert_allclose(implicit, fd, rtol=1e-5, atol=1e-12)
    gap = numbers(title(imp.plot_ridge_path(log10_lam)).split(":", 1)[1])[-1]
    assert gap < 1e-5


def test_unrolled_demo_numbers():
    reference = imp.deq_gradients()
    layer, theta = imp.DEQ_LAYER, imp.DEQ_THETA
    z = reference["z_star"]
    A, B = layer.jac_z(z, theta), layer.jac_theta(z, theta)
    exact = B.T @ np.linalg.solve((np.eye(len(z)) - A).T, z - imp.DEQ_TARGET)  # the adjoint system, solved directly
    np.testing.assert_allclose(reference["grad"], exact, atol=1e-10)
    _, g_err = imp.unrolled_errors(imp.DEQ_ITERATIONS)
    assert g_err[0] > 0.1 and g_err[-1] < 1e-10
    text = title(imp.plot_unrolled_vs_implicit(1))
    assert numbers(text)[1] == pytest.approx(g_err[0], rel=0.06)
