"""Demos of Chapter 3: backpropagation one step at a time, and what forward and reverse mode cost.

* :func:`plot_backprop_step` draws the graph of f(x1, x2) = log x1 + x1 x2 - tanh x2 built with
  the scalar engine, with the adjoints known after ``step`` steps of its backward pass.
* :func:`plot_mode_costs` compares, for a chain of dense layers from R^n to R^m, the multiplies
  needed to build the Jacobian with JVPs (forward mode) or VJPs (reverse mode), and the times
  the tensor engine measures for ``jacobian(mode="forward")`` and ``jacobian(mode="reverse")``.
* :func:`plot_gradient_flow` shows vanishing and exploding gradients in a deep tanh or linear
  chain: the singular values of the product J_l ... J_1 of its layer Jacobians, and the norm of a
  gradient pulled back from the output, layer by layer.
"""
from __future__ import annotations

import functools
import time

import numpy as np
from matplotlib.patches import Circle, FancyArrowPatch
from matplotlib.ticker import NullLocator

from diffrn.autodiff import jacobian
from diffrn.autodiff import numpy as anp
from diffrn.autodiff.scalar import Value
from diffrn.demos.core import Control, figure, interactive_demo

# ----- backpropagation, step by step ------------------------------------------------------------

# Where each node of the example graph is drawn, its name, and the formula that made it.
GRAPH_LAYOUT = {
    "x1": (0.0, 1.0), "x2": (0.0, -1.0),
    "v1": (2.3, 1.75), "v2": (2.3, 0.0), "v3": (2.3, -1.75),
    "v4": (4.6, 0.9), "v5": (6.6, 0.0),
}
NAMES = {"x1": "x_1", "x2": "x_2", "v1": "v_1", "v2": "v_2", "v3": "v_3", "v4": "v_4", "v5": "f"}
FORMULAS = {
    "+": "{c} = {a} + {b}", "-": "{c} = {a} - {b}", "*": r"{c} = {a}\,{b}",
    "log": r"{c} = \log {a}", "tanh": r"{c} = \tanh {a}",
}
# How each operation of the scalar engine sends the adjoint of c = op(a, b) to its inputs.
RULES = {
    "+": r"$\bar{{{a}}}$ += $\bar{{{c}}}$,  $\bar{{{b}}}$ += $\bar{{{c}}}$",
    "-": r"$\bar{{{a}}}$ += $\bar{{{c}}}$,  $\bar{{{b}}}$ -= $\bar{{{c}}}$",
    "*": r"$\bar{{{a}}}$ += ${b}\,\bar{{{c}}}$,  $\bar{{{b}}}$ += ${a}\,\bar{{{c}}}$",
    "log": r"$\bar{{{a}}}$ += $\bar{{{c}}}\,/\,{a}$",
    "tanh": r"$\bar{{{a}}}$ += $(1 - {c}^2)\,\bar{{{c}}}$",
}


def example_graph(x1: float = 2.0, x2: float = 0.5) -> Value:
    """f(x1, x2) = log(x1) + x1 * x2 - tanh(x2) with the scalar engine; every node is labelled.

    x1 feeds log and the product, x2 feeds the product and tanh: both collect two adjoint terms.
    """
    a, b = Value(x1, label="x1"), Value(x2, label="x2")
    v1 = a.log()
    v2 = a * b
    v3 = b.tanh()
    v4 = v1 + v2
    f = v4 - v3
    for node, label in [(v1, "v1"), (v2, "v2"), (v3, "v3"), (v4, "v4"), (f, "v5")]:
        node.label = label
    return f


def backprop_schedule(output: Value) -> list[Value]:
    """The operations in the order ``Value.backward`` runs their ``_backward`` (inputs excluded)."""
    return [v for v in reversed(output.topological_order()) if v._prev]


def run_backprop_steps(output: Value, step: int) -> tuple[Value | None, dict]:
    """Replay the first ``step`` steps of ``output.backward()``.

    Step 0 is the forward pass (no adjoints yet), step 1 seeds d f / d f = 1, and step k >= 2 runs
    the backward closure of the (k-1)-th operation of :func:`backprop_schedule`.

    Returns:
        the node whose closure ran last (the output at step 1, None at step 0), and for every
        node the list of terms its adjoint has received so far (their sum is ``node.grad``).
    """
    order = output.topological_order()
    terms = {v: [] for v in order}
    for v in order:
        v.grad = 0.0
    if step == 0:
        return None, terms
    output.grad = 1.0
    terms[output].append(1.0)
    schedule = backprop_schedule(output)
    for node in schedule[: step - 1]:
        before = {child: child.grad for child in node._prev}
        node._backward()
        for child in set(node._prev):
            terms[child].append(child.grad - before[child])
    return (schedule[step - 2] if step >= 2 else output), terms


def backprop_step_count(x1: float = 2.0, x2: float = 0.5) -> int:
    """The last step of the demo: the seed plus one step per operation."""
    return 1 + len(backprop_schedule(example_graph(x1, x2)))


def plot_backprop_step(step: int = 0, x1: float = 2.0, x2: float = 0.5):
    """The example graph after ``step`` steps of backpropagation.

    Circles show each node's value; under a circle are the terms its adjoint (d f / d node) has
    received so far and their sum. The operation whose closure just ran is orange, the edges it
    sent adjoints along are thick, and the title states the rule it applied.
    """
    output = example_graph(x1, x2)
    fig, ax = figure(7.0, 3.6)
    ax.set_xlim(-0.9, 7.5)
    ax.set_ylim(-2.75, 2.6)
    ax.set_aspect("equal")
    ax.axis("off")
    nodes = {v.label: v for v in output.topological_order()}
    for label, node in nodes.items():
        for child in node._prev:
            ax.add_patch(FancyArrowPatch(GRAPH_LAYOUT[child.label], GRAPH_LAYOUT[label], **EDGE_STYLE, lw=1.0, color="0.5"))
    for label, node in nodes.items():
        x, y = GRAPH_LAYOUT[label]
        face = "#dbe9f6" if node._prev else "#e8e8e8"
        ax.add_patch(Circle((x, y), NODE_RADIUS, facecolor=face, edgecolor="0.2", lw=1.2, zorder=3))
        ax.text(x, y + 0.13, f"${NAMES[label]}$", ha="center", va="center", fontsize=10, zorder=4)
        ax.text(x, y - 0.15, f"{node.data:.3f}", ha="center", va="center", fontsize=8, zorder=4)
        if node._prev:
            names = [NAMES[v.label] for v in node._prev] + [""]
            formula = FORMULAS[node._op].format(a=names[0], b=names[1], c=NAMES[label])
            ax.text(x, y + 0.6, f"${formula}$", ha="center", va="center", fontsize=8, color="0.3")
        ax.text(x, y - 0.58, "", ha="center", va="top", fontsize=8, color="tab:red", gid=f"adjoint {label}")
    # The operation of the current step is drawn once more, highlighted, over the graph at rest;
    # these artists belong to the figure (in the axes' data coordinates) and move from step to
    # step, so that a live demo redraws only them, the adjoints and the title.
    on_axes = dict(transform=ax.transData, visible=False)
    for i in range(2):  # an operation has at most two inputs
        fig.add_artist(FancyArrowPatch((0, 0), (1, 1), **EDGE_STYLE, lw=2.8, color="tab:orange", gid=f"active edge {i}", **on_axes))
    fig.add_artist(Circle((0, 0), NODE_RADIUS, facecolor="tab:orange", edgecolor="0.2", lw=1.2, zorder=3, gid="active node", **on_axes))
    fig.text(0, 0, "", ha="center", va="center", fontsize=10, zorder=4, gid="active name", **on_axes)
    fig.text(0, 0, "", ha="center", va="center", fontsize=8, zorder=4, gid="active value", **on_axes)
    update_backprop_step(fig, step, x1, x2)
    return fig


EDGE_STYLE = dict(arrowstyle="-|>", mutation_scale=12, shrinkA=21, shrinkB=21)
NODE_RADIUS = 0.42


def update_backprop_step(fig, step: int = 0, x1: float = 2.0, x2: float = 0.5) -> list:
    """Show ``step`` on a figure made by :func:`plot_backprop_step` with the same x1 and x2
    (in place): the highlighted operation, the adjoints and the title.

    Returns:
        the artists it changed, which a live demo redraws.
    """
    output = example_graph(x1, x2)
    processed, terms = run_backprop_steps(output, step)
    ax = fig.axes[0]
    artists = {a.get_gid(): a for a in [*fig.get_children(), *ax.get_children()] if a.get_gid()}
    edges = [artists[f"active edge {i}"] for i in range(2)]
    node, name, value = artists["active node"], artists["active name"], artists["active value"]
    for artist in (*edges, node, name, value):
        artist.set_visible(False)
    if processed is not None:
        x, y = GRAPH_LAYOUT[processed.label]
        node.set_center((x, y))
        name.set_position((x, y + 0.13))
        name.set_text(f"${NAMES[processed.label]}$")
        value.set_position((x, y - 0.15))
        value.set_text(f"{processed.data:.3f}")
        for artist in (node, name, value):
            artist.set_visible(True)
        if step >= 2:
            for edge, child in zip(edges, processed._prev):
                edge.set_positions(GRAPH_LAYOUT[child.label], (x, y))
                edge.set_visible(True)
    for v in output.topological_order():
        text = ""
        if terms[v]:
            parts = " + ".join(f"{t:.3f}" for t in terms[v]).replace("+ -", "- ")
            text = rf"$\bar{{{NAMES[v.label]}}}$ = {parts}"
            if len(terms[v]) > 1:
                text += f"\n= {v.grad:.3f}"
        artists[f"adjoint {v.label}"].set_text(text)
    ax.set_title(_step_title(step, backprop_step_count(x1, x2), processed, output), fontsize=10)
    return [*edges, node, name, value, *(artists[f"adjoint {v.label}"] for v in output.topological_order()), ax.title]


def _step_title(step, last, processed, output) -> str:
    if step == 0:
        return f"step 0 of {last}: forward pass, f = {output.data:.3f}; no adjoints yet"
    if step == 1:
        return rf"step 1 of {last}: seed $\bar f = \partial f / \partial f = 1$"
    names = [NAMES[v.label] for v in processed._prev] + [""]
    values = dict(a=names[0], b=names[1], c=NAMES[processed.label])
    formula = FORMULAS[processed._op].format(**values)
    done = "  (done)" if step == last else ""
    return f"step {step} of {last}: ${formula}$ sends  {RULES[processed._op].format(**values)}{done}"


def backprop_demo():
    """Step through the backward pass of the example graph."""
    steps = list(range(backprop_step_count() + 1))
    return interactive_demo(plot_backprop_step, [Control("step", steps, "backward step", default=0, fmt="{:d}")],
                            update=update_backprop_step, alt=backprop_step_alt)


def backprop_step_alt(step: int = 0, x1: float = 2.0, x2: float = 0.5) -> str:
    """Alt text of one frame of :func:`backprop_demo`: the step, the rule applied, the adjoints known."""
    output = example_graph(x1, x2)
    processed, terms = run_backprop_steps(output, step)
    last = backprop_step_count(x1, x2)
    graph = ("Graph of f = log x1 + x1 x2 - tanh x2 with inputs x1, x2, nodes v1 = log x1, v2 = x1 x2, "
             f"v3 = tanh x2, v4 = v1 + v2 and output f = v4 - v3 = {output.data:.3f}. ")
    if processed is None:
        return graph + f"Step 0 of {last}: the forward pass only; no adjoints yet."
    known = "; ".join(f"adjoint of {NAMES[v.label].replace('_', '')} = " + " + ".join(f"{t:.3f}" for t in terms[v])
                      for v in output.topological_order() if terms[v])
    if step == 1:
        return graph + f"Step 1 of {last}: the output's adjoint is seeded with 1. Known: {known}."
    inputs = " and ".join(NAMES[v.label].replace("_", "") for v in processed._prev)
    name = NAMES[processed.label].replace("_", "")
    return (graph + f"Step {step} of {last}: node {name} ({processed._op}) sends its adjoint to {inputs}. "
            f"Known: {known}.")


# ----- forward versus reverse mode: counts and timings ------------------------------------------

def chain_dims(n: int, m: int, width: int, depth: int) -> list[int]:
    """Sizes d_0 = n, d_1 = ... = d_{depth-1} = width, d_depth = m of a chain of dense layers."""
    return [n] + [width] * (depth - 1) + [m]


def chain_multiply_counts(n: int, m: int, width: int = 32, depth: int = 3) -> dict[str, int]:
    """Multiplies in the matrix-vector products of a chain of ``depth`` dense layers R^n -> R^m.

    One pass through layer k (a JVP, a VJP, or evaluating it) multiplies a d_k x d_{k-1} matrix
    by a vector: d_k d_{k-1} multiplies; elementwise steps are ignored (they are lower order).

    Returns:
        ``evaluate``: one pass, P = sum_k d_k d_{k-1}; ``forward``: the Jacobian from n JVPs,
        n P; ``reverse``: the Jacobian from m VJPs, m P.
    """
    dims = chain_dims(n, m, width, depth)
    one_pass = sum(a * b for a, b in zip(dims[:-1], dims[1:]))
    return {"evaluate": one_pass, "forward": n * one_pass, "reverse": m * one_pass}


def make_chain(n: int, m: int, width: int = 32, depth: int = 3, seed: int = 0):
    """A chain of dense tanh layers R^n -> R^m (the last layer linear), as an ``anp`` function."""
    rng = np.random.default_rng(seed)
    dims = chain_dims(n, m, width, depth)
    weights = [rng.standard_normal((b, a)) / np.sqrt(a) for a, b in zip(dims[:-1], dims[1:])]

    def chain(x):
        for W in weights[:-1]:
            x = anp.tanh(W @ x)
        return weights[-1] @ x
    return chain


def time_jacobian(n: int, m: int, mode: str, width: int = 32, depth: int = 3, repeats: int = 3) -> float:
    """Best of ``repeats`` wall-clock times (seconds) of ``jacobian(chain, x, mode)``."""
    chain, x = make_chain(n, m, width, depth), np.linspace(-1.0, 1.0, n)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        jacobian(chain, x, mode=mode)
        best = min(best, time.perf_counter() - start)
    return best


COST_NS = (1, 4, 16, 64, 256)
COST_MS = (1, 4, 16, 64, 256)


def measured_jacobian_times(ns=COST_NS, ms=COST_MS, width: int = 32, depth: int = 3) -> dict:
    """Times of both modes on the grid ``ns x ms``, measured once per process (cached).

    Returns:
        ``{"forward": array, "reverse": array}``, each of shape (len(ns), len(ms)), in seconds.
    """
    # One cache entry per grid, however the call spells its arguments: a second measurement
    # would differ from the first, and a figure's limits must fit the times it shows.
    return _measured_jacobian_times(tuple(ns), tuple(ms), int(width), int(depth))


@functools.lru_cache(maxsize=None)
def _measured_jacobian_times(ns: tuple, ms: tuple, width: int, depth: int) -> dict:
    times = {mode: np.zeros((len(ns), len(ms))) for mode in ("forward", "reverse")}
    for i, n in enumerate(ns):
        for j, m in enumerate(ms):
            for mode in times:
                times[mode][i, j] = time_jacobian(n, m, mode, width, depth)
    return times


def plot_mode_costs(n: int = 16, m: int = 16, width: int = 32, depth: int = 3):
    """Left: multiplies for the Jacobian of the chain R^n -> R^m by each mode (log scale).
    Right: measured time of ``jacobian`` in both modes against m, for this n; the dot is (n, m)."""
    fig, (left, right) = figure(7.0, 3.4, ncols=2)
    left.bar(range(3), [1.0] * 3, color=["0.6", "tab:blue", "tab:orange"])
    for i in range(3):
        left.text(i, 1.0, "", ha="center", fontsize=8)
    left.set_yscale("log")
    left.set_ylim(1e2, 1e7)
    left.set_yticks([1e2, 1e3, 1e4, 1e5, 1e6, 1e7])
    left.set_ylabel("multiplies")
    left.set_title(f"Jacobian of a {depth}-layer chain, width {width}", fontsize=9)
    left.tick_params(axis="x", labelsize=8)

    times = measured_jacobian_times(width=width, depth=depth)
    for mode, color in (("forward", "tab:blue"), ("reverse", "tab:orange")):
        right.plot(COST_MS, 1e3 * times[mode][0], "o-", color=color, label=f"mode={mode!r}", ms=4, gid=f"{mode} times")
        right.plot([m], [1.0], "o", color=color, ms=10, mfc="none", mew=2, gid=f"{mode} chosen")
    right.set_xscale("log", base=2)
    right.set_xticks(COST_MS, [str(size) for size in COST_MS])
    right.set_yscale("log")
    everything = 1e3 * np.concatenate([times["forward"].ravel(), times["reverse"].ravel()])
    right.set_ylim(everything.min() / 1.5, everything.max() * 3)  # the same for every frame
    right.set_xlabel("outputs m")
    right.set_ylabel("time of jacobian (ms)")
    right.axvline(n, color="0.7", ls=":", lw=1, gid="n")
    right.legend(fontsize=8, loc="upper left")
    for axis in (left.yaxis, right.xaxis, right.yaxis):
        axis.set_minor_locator(NullLocator())  # fewer ticks: frames render several times faster
    update_mode_costs(fig, n, m, width, depth)
    return fig


def update_mode_costs(fig, n: int = 16, m: int = 16, width: int = 32, depth: int = 3) -> list:
    """Show (n, m) on a figure made by :func:`plot_mode_costs` with the same width and depth
    (in place). Returns the artists it changed, which a live demo redraws."""
    if n not in COST_NS or m not in COST_MS:
        raise ValueError(f"n must be one of {COST_NS} and m one of {COST_MS} (the measured grid)")
    left, right = fig.axes
    counts = chain_multiply_counts(n, m, width, depth)
    values = [counts["evaluate"], counts["forward"], counts["reverse"]]
    for bar, label, value in zip(left.patches, left.texts, values):
        bar.set_height(value)
        label.set_y(value * 1.25)
        label.set_text(f"{value:,}")
    left.set_xticks(range(3), ["evaluate f\nonce", f"forward:\n{n} JVPs", f"reverse:\n{m} VJPs"])

    times = measured_jacobian_times(width=width, depth=depth)
    row = COST_NS.index(n)
    lines = {line.get_gid(): line for line in right.lines}
    for mode in ("forward", "reverse"):
        lines[f"{mode} times"].set_ydata(1e3 * times[mode][row])
        lines[f"{mode} chosen"].set_data([m], [1e3 * times[mode][row][COST_MS.index(m)]])
    lines["n"].set_xdata([n, n])
    right.set_title(f"measured, n = {n} inputs", fontsize=9)
    # The legend is redrawn too, so that it stays above the moving lines.
    return [*left.patches, *left.texts, left.xaxis, *right.lines, right.title, right.get_legend()]


def mode_costs_demo():
    """Choose the numbers of inputs and outputs; compare the costs of the two modes."""
    return interactive_demo(plot_mode_costs, [
        Control("n", list(COST_NS), r"inputs \(n\)", default=16, fmt="{:d}"),
        Control("m", list(COST_MS), r"outputs \(m\)", default=16, fmt="{:d}"),
    ], update=update_mode_costs, alt=mode_costs_alt)


def mode_costs_alt(n: int = 16, m: int = 16, width: int = 32, depth: int = 3) -> str:
    """Alt text of one frame of :func:`mode_costs_demo`: the counts and the measured times."""
    counts = chain_multiply_counts(n, m, width, depth)
    times = measured_jacobian_times(width=width, depth=depth)
    i, j = COST_NS.index(n), COST_MS.index(m)
    forward, reverse = 1e3 * times["forward"][i, j], 1e3 * times["reverse"][i, j]
    return (f"Jacobian of a {depth}-layer chain from R^{n} to R^{m}. Left, bars on a log scale: evaluating f once "
            f"takes {counts['evaluate']:,} multiplies, forward mode ({n} JVPs) {counts['forward']:,}, reverse mode "
            f"({m} VJPs) {counts['reverse']:,}. Right: measured time of jacobian against the number of outputs m for "
            f"n = {n}; at m = {m} forward mode took {forward:.2g} ms and reverse mode {reverse:.2g} ms.")


# ----- vanishing and exploding gradients: products of Jacobians ---------------------------------

GRADIENT_DEPTHS = (10, 20, 40)
GRADIENT_SCALES = (0.5, 0.9, 1.0, 1.5, 3.0)
GRADIENT_ACTIVATIONS = ("tanh", "linear")
# Singular values of a product computed in float64 below this fraction of the largest one are
# rounding noise (the product was formed by multiplying matrices), so they are not drawn.
RELIABLE_FRACTION = 1e-13


def deep_chain(depth: int, scale: float, activation: str = "tanh", width: int = 8, seed: int = 0):
    """Weights and input of a deep chain h_l = phi(W_l h_{l-1}), l = 1..depth, all of width ``width``.

    Entries of W_l are normal with standard deviation scale / sqrt(width), so that ``scale = 1``
    keeps the length of a random vector about the same through one linear layer.

    Returns:
        ``(weights, x)``: a list of ``depth`` (width, width) matrices and the input h_0.
    """
    if activation not in GRADIENT_ACTIVATIONS:
        raise ValueError(f"activation must be one of {GRADIENT_ACTIVATIONS}, not {activation!r}")
    rng = np.random.default_rng(seed)
    weights = [scale * rng.standard_normal((width, width)) / np.sqrt(width) for _ in range(depth)]
    return weights, rng.standard_normal(width)


def chain_function(weights, activation: str = "tanh"):
    """The chain of :func:`deep_chain` as an ``anp`` function h_0 -> h_depth (for the engine)."""
    def chain(h):
        for W in weights:
            h = W @ h
            if activation == "tanh":
                h = anp.tanh(h)
        return h
    return chain


def layer_jacobians(weights, x, activation: str = "tanh") -> list[np.ndarray]:
    """The Jacobians J_l = diag(phi'(W_l h_{l-1})) W_l of each layer along the forward pass from ``x``."""
    jacobians, h = [], np.asarray(x, dtype=float)
    for W in weights:
        h = W @ h
        if activation == "tanh":
            h = np.tanh(h)
            jacobians.append((1 - h ** 2)[:, None] * W)
        else:
            jacobians.append(W)
    return jacobians


def product_singular_values(jacobians) -> list[np.ndarray]:
    """Singular values (descending) of J_l ... J_2 J_1 for l = 1, ..., len(jacobians)."""
    product, values = np.eye(jacobians[0].shape[1]), []
    for J in jacobians:
        product = J @ product
        values.append(np.linalg.svd(product, compute_uv=False))
    return values


def backpropagated_norms(jacobians, u) -> np.ndarray:
    """Norms of the adjoints ||d(u^T h_L)/d h_l|| for l = 0, ..., L: u pulled back one layer at a
    time, u^T J_L, then u^T J_L J_{L-1}, ... (reverse mode, from the output end)."""
    adjoint, norms = np.asarray(u, dtype=float), [np.linalg.norm(u)]
    for J in reversed(jacobians):
        adjoint = adjoint @ J
        norms.append(np.linalg.norm(adjoint))
    return np.array(norms[::-1])


def gradient_flow(depth: int = 20, scale: float = 1.0, activation: str = "tanh", width: int = 8, seed: int = 0) -> dict:
    """Everything :func:`plot_gradient_flow` draws, for one network.

    Returns:
        ``singular_values``: list over l = 1..depth of the singular values of J_l ... J_1;
        ``norms``: array over l = 0..depth of ||d(u^T h_depth)/d h_l|| for a fixed unit vector u.
    """
    weights, x = deep_chain(depth, scale, activation, width, seed)
    jacobians = layer_jacobians(weights, x, activation)
    u = np.random.default_rng(seed + 1).standard_normal(width)
    return {"singular_values": product_singular_values(jacobians),
            "norms": backpropagated_norms(jacobians, u / np.linalg.norm(u))}


def plot_gradient_flow(depth: int = 20, scale: float = 1.0, activation: str = "tanh", width: int = 8):
    """Left: the singular values of J_l ... J_1 against l (log scale); right: the norm of the
    gradient pulled back from the output to each layer."""
    flow = gradient_flow(depth, scale, activation, width)
    fig, (left, right) = figure(7.0, 3.4, ncols=2)
    top = np.array([s[0] for s in flow["singular_values"]])
    layers, kept = [], []
    for l, values in enumerate(flow["singular_values"], start=1):
        reliable = values[values >= RELIABLE_FRACTION * values[0]]
        layers += [l] * len(reliable)
        kept.append(reliable)
    # one artist for all the dots: frames render several times faster than with one per layer
    left.plot(layers, np.concatenate(kept), "o", color="#8fb8dc", ms=2.5, gid="singular values")
    left.plot(range(1, depth + 1), top, "-", color="tab:blue", lw=1, label=r"$\sigma_{\max}$")
    left.axhline(1.0, color="0.6", lw=0.8, ls=":")
    left.set_yscale("log")
    left.set_ylim(1e-26, 1e22)
    left.set_xlim(0, max(GRADIENT_DEPTHS) + 1)
    left.set_xlabel("layers multiplied, l")
    left.set_ylabel(r"singular values of $J_l\cdots J_1$")
    left.legend(fontsize=8, loc="upper left")
    left.set_title(rf"{activation}, scale {scale:g}: $\sigma_{{\max}}$ = {top[-1]:.2g} at l = {depth}", fontsize=9)

    norms = flow["norms"]
    right.plot(range(depth + 1), norms, "o-", color="tab:orange", ms=3)
    right.axhline(1.0, color="0.6", lw=0.8, ls=":")
    right.set_yscale("log")
    right.set_ylim(1e-26, 1e22)
    right.set_xlim(-1, max(GRADIENT_DEPTHS) + 1)
    right.set_xlabel("layer l (the output is l = depth)")
    right.set_ylabel(r"$\|\partial L / \partial h_l\|$")
    right.set_title(rf"gradient at the input: $\|\partial L/\partial h_0\|$ = {norms[0]:.2g}", fontsize=9)
    decades = [1e-24, 1e-16, 1e-8, 1.0, 1e8, 1e16]
    for ax in (left, right):
        ax.set_yticks(decades, [f"$10^{{{round(np.log10(d))}}}$" for d in decades])
        ax.yaxis.set_minor_locator(NullLocator())  # few tick labels: frames render much faster
    return fig


def gradient_flow_alt(depth: int = 20, scale: float = 1.0, activation: str = "tanh", width: int = 8) -> str:
    """Alt text of one frame of :func:`gradient_flow_demo`: what the two panels show, with numbers."""
    flow = gradient_flow(depth, scale, activation, width)
    top, last = flow["singular_values"][0][0], flow["singular_values"][-1][0]
    return (f"Deep {activation} chain of width {width}, {depth} layers, weight scale {scale:g}. Left: singular values "
            f"of the product of the first l layer Jacobians on a log axis; the largest goes from {top:.2g} at "
            f"l = 1 to {last:.2g} at l = {depth}. Right: the norm of the gradient of the output's projection, "
            f"pulled back layer by layer from 1 at the output to {flow['norms'][0]:.2g} at the input.")


def gradient_flow_demo():
    """Depth, weight scale and activation of a deep chain: watch gradients vanish or explode."""
    return interactive_demo(plot_gradient_flow, [
        Control("depth", list(GRADIENT_DEPTHS), "depth", default=20, fmt="{:d}"),
        Control("scale", list(GRADIENT_SCALES), "weight scale", default=1.0),
        Control("activation", list(GRADIENT_ACTIVATIONS), "activation", default="tanh"),
    ], alt=gradient_flow_alt)
