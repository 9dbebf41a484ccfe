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


def test_jacobian_times_are_measured_once_however_the_call_is_spelled():
    assert demos.measured_jacobian_times() is demos.measured_jacobian_times(width=32, depth=3)
    assert demos.measured_jacobian_times() is demos.measured_jacobian_times(list(demos.COST_NS), demos.COST_MS, 32, 3)


def test_mode_costs_rejects_unmeasured_sizes():
    with pytest.raises(ValueError, match="measured grid"):
        demos.plot_mode_costs(3, 1)


def test_demos_render_about_thirty_frames_at_most():
    assert len(demos.COST_NS) * len(demos.COST_MS) <= 30


# ----- vanishing and exploding gradients ---------------------------------------------------------

from diffrn.autodiff import vjp  # noqa: E402
from diffrn.demos.core import Control  # noqa: E402


@pytest.mark.parametrize("activation", demos.GRADIENT_ACTIVATIONS)
def test_layer_jacobians_are_the_engines(activation):
    weights, x = demos.deep_chain(3, 1.2, activation, width=5)
    jacobians = demos.layer_jacobians(weights, x, activation)
    h = x
    for W, J in zip(weights, jacobians):
        layer = demos.chain_function([W], activation)
        np.testing.assert_allclose(J, jacobian(layer, h), atol=1e-12)
        h = layer(h)
    product = np.linalg.multi_dot(jacobians[::-1])
    np.testing.assert_allclose(product, jacobian(demos.chain_function(weights, activation), x), atol=1e-12)


@pytest.mark.parametrize("activation", demos.GRADIENT_ACTIVATIONS)
def test_backpropagated_norms_follow_the_engines_vjp(activation):
    weights, x = demos.deep_chain(6, 1.5, activation, width=4)
    jacobians = demos.layer_jacobians(weights, x, activation)
    u = np.array([0.6, -0.8, 0.0, 0.0])
    norms = demos.backpropagated_norms(jacobians, u)
    assert norms.shape == (7,) and norms[-1] == pytest.approx(1.0)
    _, pull_back = vjp(demos.chain_function(weights, activation), x)
    assert norms[0] == pytest.approx(np.linalg.norm(pull_back(u)), rel=1e-12)


def test_product_singular_values_are_those_of_the_product():
    weights, x = demos.deep_chain(4, 2.0, "tanh", width=3)
    jacobians = demos.layer_jacobians(weights, x, "tanh")
    values = demos.product_singular_values(jacobians)
    assert len(values) == 4
    expected = np.linalg.svd(jacobians[1] @ jacobians[0], compute_uv=False)
    np.testing.assert_allclose(values[1], expected)
    assert np.all(np.diff(values[-1]) <= 0)


def test_linear_chains_explode_and_shrink_with_the_scale():
    # A linear layer scales the length of a random vector by about `scale`: over 40 layers the
    # largest singular value grows or shrinks geometrically with it.
    big = demos.gradient_flow(40, 3.0, "linear")["singular_values"][-1][0]
    small = demos.gradient_flow(40, 0.5, "linear")["singular_values"][-1][0]
    assert big > 1e12 and small < 1e-8


def test_deep_tanh_chain_at_scale_one_vanishes():
    norms = demos.gradient_flow(40, 1.0, "tanh")["norms"]
    assert norms[-1] == pytest.approx(1.0) and norms[0] < 0.05


@pytest.mark.parametrize("depth", [min(demos.GRADIENT_DEPTHS), max(demos.GRADIENT_DEPTHS)])
@pytest.mark.parametrize("scale", [min(demos.GRADIENT_SCALES), max(demos.GRADIENT_SCALES)])
@pytest.mark.parametrize("activation", demos.GRADIENT_ACTIVATIONS)
def test_gradient_flow_plot_at_extremes(depth, scale, activation):
    fig = demos.plot_gradient_flow(depth, scale, activation)
    left, right = fig.axes
    flow = demos.gradient_flow(depth, scale, activation)
    assert f"{flow['singular_values'][-1][0]:.2g}" in left.get_title()
    assert f"{flow['norms'][0]:.2g}" in right.get_title()
    (norm_line,) = right.lines[:1]
    np.testing.assert_allclose(norm_line.get_ydata(), flow["norms"])
    low, high = right.get_ylim()
    assert low <= flow["norms"].min() and flow["norms"].max() <= high  # nothing is clipped
    top = [values[0] for values in flow["singular_values"]]
    low, high = left.get_ylim()
    assert low <= min(top) and max(top) <= high
    alt = demos.gradient_flow_alt(depth, scale, activation)
    assert f"{depth} layers" in alt and activation in alt and f"{flow['norms'][0]:.2g}" in alt


def test_gradient_flow_rejects_unknown_activation():
    with pytest.raises(ValueError, match="activation must be one of"):
        demos.deep_chain(3, 1.0, "relu")


def test_gradient_flow_demo_is_small():
    controls = [Control("depth", list(demos.GRADIENT_DEPTHS)), Control("scale", list(demos.GRADIENT_SCALES)),
                Control("activation", list(demos.GRADIENT_ACTIVATIONS))]
    assert frame_count(controls) <= 30


def test_backprop_alt_text_says_what_each_step_shows():
    last = demos.backprop_step_count()
    assert "no adjoints yet" in demos.backprop_step_alt(0)
    final = demos.backprop_step_alt(last)
    assert f"Step {last} of {last}" in final
    assert "adjoint of x1 = 0.500 + 0.500" in final  # x1 = 2, x2 = 0.5: 1/x1 through log, x2 through the product


def test_mode_costs_alt_text_has_the_counts():
    counts = demos.chain_multiply_counts(4, 256)
    alt = demos.mode_costs_alt(4, 256)
    assert f"{counts['forward']:,}" in alt and f"{counts['reverse']:,}" in alt and "R^4 to R^256" in alt
