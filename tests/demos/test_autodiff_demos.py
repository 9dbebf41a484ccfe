"""Chapter 3 demos: they draw at the extreme control values and show the package's numbers."""
import math

import numpy as np
import pytest

from diffrn.autodiff import jacobian
from diffrn.demos import autodiff as demos
from diffrn.demos.core import frame_count


def titles(fig):
    return [ax.get_title() for ax in fig.axes]


@pytest.mark.parametrize("step", [0, 1, 2, demos.backprop_step_count()])
def test_backprop_stepper_draws_every_node(step):
    fig = demos.plot_backprop_step(step)
    ax = fig.axes[0]
    assert len(ax.patches) == 7 + 8  # 7 nodes, 8 edges
    assert f"step {step} of {demos.backprop_step_count()}" in ax.get_title()


def test_backprop_stepper_ends_with_the_gradient():
    x1, x2 = 2.0, 0.5
    output = demos.example_graph(x1, x2)
    last = demos.backprop_step_count(x1, x2)
    _, terms = demos.run_backprop_steps(output, last)
    inputs = {v.label: v for v in output.topological_order() if not v._prev}
    assert inputs["x1"].grad == pytest.approx(1 / x1 + x2)
    assert inputs["x2"].grad == pytest.approx(x1 - (1 - math.tanh(x2) ** 2))
    assert len(terms[inputs["x1"]]) == 2 and len(terms[inputs["x2"]]) == 2  # shared nodes sum two terms
    fig = demos.plot_backprop_step(last)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any(f"= {inputs['x2'].grad:.3f}" in t for t in texts)


def test_backprop_steps_follow_the_engine():
    output = demos.example_graph()
    schedule = demos.backprop_schedule(output)
    assert sorted(v.label for v in schedule) == ["v1", "v2", "v3", "v4", "v5"]
    for position, node in enumerate(schedule):  # a node runs only after every node that uses it
        users = [other for other in schedule if node in other._prev]
        assert all(schedule.index(user) < position for user in users)
    processed, _ = demos.run_backprop_steps(output, 2)
    assert processed is output  # the first closure to run is the output's


def test_backprop_demo_is_small():
    steps = list(range(demos.backprop_step_count() + 1))
    assert len(steps) <= 30


def test_chain_multiply_counts_small_case():
    counts = demos.chain_multiply_counts(n=3, m=2, width=4, depth=2)  # 3 -> 4 -> 2
    assert counts == {"evaluate": 4 * 3 + 2 * 4, "forward": 3 * 20, "reverse": 2 * 20}
    counts = demos.chain_multiply_counts(n=1, m=1, width=5, depth=3)  # 1 -> 5 -> 5 -> 1
    assert counts["evaluate"] == 5 + 25 + 5


def test_chain_is_a_map_from_n_to_m():
    chain = demos.make_chain(4, 3, width=6, depth=3)
    x = np.linspace(-1, 1, 4)
    assert chain(x).shape == (3,)
    np.testing.assert_allclose(jacobian(chain, x), jacobian(chain, x, mode="forward"), atol=1e-12)


@pytest.mark.parametrize("n,m", [(demos.COST_NS[0], demos.COST_MS[0]), (demos.COST_NS[-1], demos.COST_MS[-1]),
                                 (demos.COST_NS[0], demos.COST_MS[-1]), (demos.COST_NS[-1], demos.COST_MS[0])])
def test_mode_costs_plot_at_extremes(n, m):
    fig = demos.plot_mode_costs(n, m)
    left, right = fig.axes
    counts = demos.chain_multiply_counts(n, m)
    heights = [bar.get_height() for bar in left.patches]
    assert heights == [counts["evaluate"], counts["forward"], counts["reverse"]]
    assert f"n = {n}" in right.get_title()
    low, high = right.get_ylim()
    times = demos.measured_jacobian_times()
    assert low <= 1e3 * min(t.min() for t in times.values()) and high >= 1e3 * max(t.max() for t in times.values())


def test_mode_costs_rejects_unmeasured_sizes():
    with pytest.raises(ValueError, match="measured grid"):
        demos.plot_mode_costs(3, 1)


def test_demos_render_about_thirty_frames_at_most():
    assert len(demos.COST_NS) * len(demos.COST_MS) <= 30
