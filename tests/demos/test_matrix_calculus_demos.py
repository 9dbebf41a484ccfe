"""The demos of Chapter 7 run at the extreme control values, stay small, and show the right numbers."""
import re

import matplotlib.figure
import numpy as np
import pytest

from diffrn.demos import matrix_calculus as demos
from diffrn.demos.core import figure_png, frame_count
from diffrn.matrix_calculus import inverse_differential

DEMOS = [demos.perturbation_demo, demos.first_order_error_demo]


def numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"[-+]?\d+\.?\d*(?:e[-+]?\d+)?", text)]


def wiring(demo, monkeypatch):
    """The plot function, controls and alt text a demo wires, captured without rendering anything."""
    captured = {}

    def fake(plot, controls, **keywords):
        captured.update(plot=plot, controls=controls, **keywords)

    monkeypatch.setattr(demo.__module__ + ".interactive_demo", fake)
    demo()
    return captured


@pytest.mark.parametrize("demo", DEMOS)
def test_demo_is_small_runs_at_extreme_values_and_describes_each_frame(demo, monkeypatch):
    wired = wiring(demo, monkeypatch)
    plot, controls, alt = wired["plot"], wired["controls"], wired["alt"]
    assert frame_count(controls) <= 30
    for control in controls:
        assert "$" not in control.label, "widget labels use \\(...\\), not $...$"
    largest = 0
    texts = set()
    for pick in (0, -1):
        params = {c.name: c.values[pick] for c in controls}
        fig = plot(**params)
        assert isinstance(fig, matplotlib.figure.Figure)
        assert tuple(fig.get_size_inches()) == pytest.approx((7.0, 3.4))
        largest = max(largest, len(figure_png(fig)))
        text = alt(**params)
        assert len(text) > 100 and "Figure" not in text
        texts.add(text)
    assert len(texts) == 2, "the alt text should describe what changes between frames"
    # Frames ship base64-encoded (4/3 of their size): the whole demo stays under about 1.5 MB.
    assert frame_count(controls) * largest * 4 / 3 < 1.5e6


# --- 1. A + t dA ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("direction", list(demos.DIRECTIONS))
def test_perturbation_numbers_are_exact_and_first_order(direction):
    A, dA = demos.PERTURBED_A, demos.DIRECTIONS[direction]
    for t in demos.STEPS:
        found = demos.perturbation_numbers(t, direction)
        np.testing.assert_allclose(found["inverse"] @ (A + t * dA), np.eye(2), atol=1e-12)
        np.testing.assert_allclose(found["inverse_linear"], np.linalg.inv(A) - t * np.linalg.inv(A) @ dA @ np.linalg.inv(A), atol=1e-12)
        # det is linear in each entry, so along a direction with one nonzero entry (or rank one)
        # its first-order prediction is exact; along the rotation it is off by t^2 det(dA) = t^2.
        gap = found["det"] - found["det_linear"]
        assert gap == pytest.approx(t * t * np.linalg.det(dA), abs=1e-12)
    # The inverse's error is second order: halving t quarters it (up to the third-order term).
    small, half = (demos.perturbation_numbers(t, direction)["inverse_error"] for t in (0.02, 0.01))
    assert 3.7 < small / half < 4.3


def test_perturbation_title_and_alt_numbers():
    fig = demos.plot_perturbation(t=-0.6, direction="rotate")
    title = fig._suptitle.get_text()
    t, error, det, det_linear = numbers(title)
    expected = demos.perturbation_numbers(-0.6, "rotate")
    assert t == -0.6
    assert error == pytest.approx(expected["inverse_error"], rel=1e-2)
    assert det == pytest.approx(expected["det"], abs=1e-4)
    assert det_linear == pytest.approx(expected["det_linear"], abs=1e-4)
    assert f"{expected['det']:.4f}" in demos.perturbation_alt(-0.6, "rotate")


def test_perturbation_draws_the_inverse_images():
    fig = demos.plot_perturbation(t=0.6, direction="stretch")
    ax_inverse = fig.axes[0]
    exact, linear = ax_inverse.lines[1], ax_inverse.lines[2]
    numbers_ = demos.perturbation_numbers(0.6, "stretch")
    circle = np.stack([np.cos(0.0), np.sin(0.0)])
    np.testing.assert_allclose(exact.get_xydata()[0], numbers_["inverse"] @ circle, atol=1e-12)
    np.testing.assert_allclose(linear.get_xydata()[0], numbers_["inverse_linear"] @ circle, atol=1e-12)


# --- 2. error against t -----------------------------------------------------------------------------------

def test_conditioned_matrix_has_the_chosen_smallest_singular_value():
    for smallest in demos.SMALLEST_SINGULAR_VALUES:
        A, dA = demos.conditioned_matrix(smallest)
        assert np.linalg.svd(A, compute_uv=False).min() == pytest.approx(smallest, rel=1e-10)
        assert np.linalg.norm(dA) == pytest.approx(1.0)


@pytest.mark.parametrize("smallest", demos.SMALLEST_SINGULAR_VALUES)
def test_first_order_errors_have_slope_two(smallest):
    for name, slope in demos.small_step_slopes(smallest).items():
        assert slope == pytest.approx(2.0, abs=0.05), name


def test_inverse_error_is_the_second_order_term():
    # (A + t dA)^{-1} = A^{-1} - t A^{-1} dA A^{-1} + t^2 A^{-1} dA A^{-1} dA A^{-1} - ...
    A, dA = demos.conditioned_matrix(0.5)
    second = np.linalg.inv(A) @ dA @ np.linalg.inv(A) @ dA @ np.linalg.inv(A)
    t = demos.ERROR_STEPS[:5]
    errors = demos.first_order_errors(0.5, steps=t)["inverse"]
    np.testing.assert_allclose(errors, t * t * np.linalg.norm(second), rtol=1e-2)
    # the same with the package's differential: one step of the series
    np.testing.assert_allclose(inverse_differential(A, dA), -np.linalg.inv(A) @ dA @ np.linalg.inv(A), atol=1e-12)


def test_error_title_reports_the_slopes():
    fig = demos.plot_first_order_error(0.01)
    title = fig._suptitle.get_text()
    slopes = demos.small_step_slopes(0.01)
    assert numbers(title)[-3:] == pytest.approx([round(s, 2) for s in slopes.values()], abs=1e-9)
    legend = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert any("inverse" in text for text in legend) and any("t^2" in text for text in legend)


# --- live updates ----------------------------------------------------------------------------------------

def pixels(png: bytes) -> np.ndarray:
    import io

    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(png), format="png")


@pytest.mark.parametrize("plot, update, first, second", [
    (demos.plot_perturbation, demos.update_perturbation, dict(t=0.3, direction="shear"), dict(t=-0.6, direction="rotate")),
    (demos.plot_first_order_error, demos.update_first_order_error, dict(smallest=0.1), dict(smallest=2.0)),
])
def test_live_update_draws_what_a_fresh_figure_draws(plot, update, first, second):
    from diffrn.demos.core import LiveFigure

    moved = LiveFigure(plot, update)
    moved.png(first)
    after_update = pixels(moved.png(second))
    fresh = pixels(LiveFigure(plot, update).png(second))
    assert after_update.shape == fresh.shape
    differing = np.mean(np.any(np.abs(after_update - fresh) > 0.1, axis=-1))
    assert differing < 0.002, f"{differing:.2%} of the pixels differ between the updated and a fresh figure"
