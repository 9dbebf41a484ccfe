"""The demos of Chapter 2 draw at every extreme of their controls and show what they claim."""
import itertools

import matplotlib.figure
import numpy as np
import pytest

from diffrn.demos import chain_rule
from diffrn.demos.core import frame_count
from diffrn.numerical import jacobian_fd


@pytest.mark.parametrize("controls", [chain_rule.composition_controls(), chain_rule.curve_controls()])
def test_demos_stay_within_the_frame_budget(controls):
    assert frame_count(controls) <= 30


def _extremes(controls):
    return [dict(zip([c.name for c in controls], values)) for values in itertools.product(*[(c.values[0], c.values[-1]) for c in controls])]


@pytest.mark.parametrize("params", _extremes(chain_rule.composition_controls()))
def test_plot_composition_runs_at_extreme_controls(params):
    fig = chain_rule.plot_composition(**params)
    assert isinstance(fig, matplotlib.figure.Figure)
    gap = chain_rule.composition_gap(params["x1"], params["radius"])
    assert f"{gap:.1%}" in fig._suptitle.get_text()


@pytest.mark.parametrize("params", _extremes(chain_rule.curve_controls()))
def test_plot_curve_rate_runs_at_extreme_controls(params):
    fig = chain_rule.plot_curve_rate(**params)
    assert isinstance(fig, matplotlib.figure.Figure)
    chain, difference = chain_rule.curve_rates(params["t"])
    title = fig.axes[1].get_title()
    assert f"{chain:+.4f}" in title and f"{difference:+.4f}" in title


def test_composition_jacobian_matches_finite_differences():
    curves = chain_rule.composition_curves(0.3, 0.1)
    composed = lambda p: chain_rule.wrap(chain_rule.bend(p))
    np.testing.assert_allclose(curves["jacobian"], jacobian_fd(composed, curves["x"]), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("x1", chain_rule.COMPOSITION_X1_VALUES)
def test_circle_and_ellipse_gap_shrinks_with_the_radius(x1):
    radii = [0.4, 0.2, 0.1, 0.05, 0.025, 0.0125]
    gaps = np.array([chain_rule.composition_gap(x1, r) for r in radii])
    assert np.all(np.diff(gaps) < 0)
    assert gaps[-1] < 0.02
    # The remainder is second order, so the *relative* gap is first order in the radius:
    # halving the radius roughly halves it.
    ratios = gaps[1:] / gaps[:-1]
    assert np.all((ratios > 0.4) & (ratios < 0.6))


def test_curve_rate_chain_rule_agrees_with_the_closed_form():
    for t in chain_rule.CURVE_T_VALUES:
        chain, difference = chain_rule.curve_rates(t)
        # f(x(t)) = (1 + cos 2t + sin 2t) / 2 on the unit circle.
        assert chain == pytest.approx(np.cos(2 * t) - np.sin(2 * t), abs=1e-12)
        assert difference == pytest.approx(chain, abs=1e-6)


def test_alt_texts_carry_the_numbers_of_the_titles():
    for x1, radius in [(chain_rule.COMPOSITION_X1_VALUES[0], 0.05), (1.0, 0.5)]:
        gap = chain_rule.composition_curves(x1, radius)["gap"]
        assert f"{gap:.1%}" in chain_rule.composition_alt(x1, radius)
    for t in (0.0, np.pi / 8, 2.0):
        chain, difference = chain_rule.curve_rates(t)
        alt = chain_rule.curve_rate_alt(t)
        assert f"{chain:+.4f}" in alt and f"{difference:+.4f}" in alt
    assert "rising" in chain_rule.curve_rate_alt(3.0) and "falling" in chain_rule.curve_rate_alt(0.5)
