"""Demos of Chapter 2: linear approximations compose, and so do rates of change along a curve.

* :func:`plot_composition` pushes a small circle through two nonlinear maps of the plane,
  f then g, and sets its image beside the ellipse that the single matrix
  J_g(f(x)) J_f(x) makes of the same circle.
* :func:`plot_curve_rate` walks along the unit circle over the contour lines of the saddle
  f = x1^2 + x1 x2 and compares grad f . g'(t) with a finite difference of t -> f(g(t)).
"""
from __future__ import annotations

import numpy as np

from diffrn.chain import chain_jacobian
from diffrn.demos.core import Control, figure, interactive_demo, set_suptitle

# --- 1. composing two maps of the plane ------------------------------------------------------
# f bends the plane; g wraps the bent strip around the origin (polar coordinates with angle
# u1 and radius 2 + u2). Both are smooth everywhere; their composition is not linear anywhere.

COMPOSITION_X2 = 0.5  # the second coordinate of the centre x; the control moves the first
COMPOSITION_X1_VALUES = np.linspace(-1.0, 1.0, 5)
COMPOSITION_RADII = (0.05, 0.1, 0.2, 0.35, 0.5)
_CIRCLE = np.linspace(0.0, 2.0 * np.pi, 181)


def bend(x):
    """The inner map f(x1, x2) = (x1 + x2^2 / 2, x2 + sin(2 x1) / 2); works on (2, ...) arrays."""
    x1, x2 = x[0], x[1]
    return np.array([x1 + 0.5 * x2**2, x2 + 0.5 * np.sin(2.0 * x1)])


def bend_jacobian(x):
    """J_f(x), a 2 x 2 array."""
    x1, x2 = x[0], x[1]
    return np.array([[1.0, x2], [np.cos(2.0 * x1), 1.0]])


def wrap(u):
    """The outer map g(u1, u2) = ((2 + u2) cos u1, (2 + u2) sin u1); works on (2, ...) arrays."""
    u1, u2 = u[0], u[1]
    return np.array([(2.0 + u2) * np.cos(u1), (2.0 + u2) * np.sin(u1)])


def wrap_jacobian(u):
    """J_g(u), a 2 x 2 array."""
    u1, u2 = u[0], u[1]
    return np.array([[-(2.0 + u2) * np.sin(u1), np.cos(u1)], [(2.0 + u2) * np.cos(u1), np.sin(u1)]])


def composition_curves(x1: float, radius: float, x2: float = COMPOSITION_X2) -> dict:
    """The circle of ``radius`` around x = (x1, x2) and what the maps make of it.

    Returns:
        dict of arrays of shape (2, samples) -- ``circle`` (x-plane), ``through_f`` (f-plane),
        ``through_gf`` (g-plane, the true image), ``linear`` (g(f(x)) + J rho u, the image
        under the chain-rule Jacobian) -- plus the centre ``x``, the Jacobian ``jacobian``
        and ``gap``, the relative gap of :func:`composition_gap`.
    """
    x = np.array([x1, x2], dtype=np.float64)
    directions = np.stack([np.cos(_CIRCLE), np.sin(_CIRCLE)])
    circle = x[:, None] + radius * directions
    through_f = bend(circle)
    through_gf = wrap(through_f)
    jacobian = chain_jacobian(bend, bend_jacobian, wrap_jacobian, x)
    centre_image = wrap(bend(x))
    linear = centre_image[:, None] + radius * jacobian @ directions
    gap = np.max(np.linalg.norm(through_gf - linear, axis=0)) / np.max(np.linalg.norm(linear - centre_image[:, None], axis=0))
    return {
        "x": x,
        "circle": circle,
        "through_f": through_f,
        "through_gf": through_gf,
        "linear": linear,
        "linear_f": bend(x)[:, None] + radius * bend_jacobian(x) @ directions,
        "jacobian": jacobian,
        "gap": float(gap),
    }


def composition_gap(x1: float, radius: float, x2: float = COMPOSITION_X2) -> float:
    """Relative gap between g(f(circle)) and its chain-rule linearization.

    The largest distance between corresponding points of the two curves, divided by the
    largest radius of the ellipse. For smooth f and g it is O(radius): the little-o of the
    chain rule, made visible.
    """
    return composition_curves(x1, radius, x2)["gap"]


def _composition_limits():
    """Axis limits that hold every frame: computed once from the extreme control values."""
    stages = {"circle": [], "through_f": [], "zoom": []}
    for x1 in COMPOSITION_X1_VALUES:
        for radius in COMPOSITION_RADII:
            curves = composition_curves(x1, radius)
            stages["circle"].append(curves["circle"])
            stages["through_f"].append(np.hstack([curves["through_f"], curves["linear_f"]]))
            centre = wrap(bend(curves["x"]))[:, None]
            stages["zoom"].append(np.hstack([curves["through_gf"], curves["linear"]]) - centre)
            stages["zoom"][-1] = stages["zoom"][-1] / radius
    limits = {}
    for name, pieces in stages.items():
        points = np.hstack(pieces)
        low, high = points.min(axis=1), points.max(axis=1)
        centre, half = (low + high) / 2, (high - low).max() / 2 * 1.08
        limits[name] = (centre - half, centre + half)
    return limits


_LIMITS = None


def plot_composition(x1: float = 0.5, radius: float = 0.2):
    """Three stages of x -> f(x) -> g(f(x)) for a circle of ``radius`` around x = (x1, 0.5).

    Left: the circle in the x-plane. Middle: its image under f (solid) and under the linear
    map J_f(x) (dashed). Right: the g-plane magnified by 1/radius around g(f(x)), so that the
    curves keep their size: the true image g(f(circle)) (solid) and the ellipse made by the
    chain-rule matrix J_g(f(x)) J_f(x) (dashed). The title gives their relative gap.
    """
    global _LIMITS
    if _LIMITS is None:
        _LIMITS = _composition_limits()
    fig, (ax_x, ax_f, ax_g) = figure(7.0, 3.4, ncols=3)
    true_colour, linear_colour = "#1f5fa8", "#d1495b"

    # A faint grid and its image under f show that f is not linear at the scale of the plot.
    grid = np.linspace(-2.0, 2.0, 9)
    fine = np.linspace(-2.0, 2.0, 41)
    for value in grid:
        for line in (np.stack([np.full_like(fine, value), fine]), np.stack([fine, np.full_like(fine, value)])):
            ax_x.plot(*line, color="0.88", lw=0.7, zorder=0)
            ax_f.plot(*bend(line), color="0.88", lw=0.7, zorder=0)

    # The curves start empty; update_composition draws them for (x1, radius).
    ax_x.fill([0, 0, 0], [0, 0, 0], color=true_colour, alpha=0.25, lw=0, gid="disc")
    ax_x.plot([], [], color=true_colour, lw=1.6, gid="circle")
    ax_x.plot([], [], "k.", ms=5, gid="centre")
    ax_x.set_title("x-plane: circle around x", fontsize=9)

    ax_f.plot([], [], color=true_colour, lw=1.6, label="true image: f(circle), then g(f(circle))", gid="true")
    ax_f.plot([], [], color=linear_colour, lw=1.4, ls="--", label=r"linear image: $J_f(x)$, then $J_g(f(x))\,J_f(x)$",
              gid="linear")
    ax_f.plot([], [], "k.", ms=5, gid="centre")
    ax_f.set_title("f-plane: image under f", fontsize=9)

    ax_g.plot([], [], color=true_colour, lw=1.6, gid="true")
    ax_g.plot([], [], color=linear_colour, lw=1.4, ls="--", gid="linear")
    ax_g.plot(0, 0, "k.", ms=5)
    ax_g.set_title("g-plane, magnified ×1/ρ", fontsize=9)
    fig.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)

    for ax, name in ((ax_x, "circle"), (ax_f, "through_f"), (ax_g, "zoom")):
        low, high = _LIMITS[name]
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
        ax.set_aspect("equal")
        ax.tick_params(labelsize=7)
    update_composition(fig, x1, radius)
    return fig


def update_composition(fig, x1: float = 0.5, radius: float = 0.2) -> list:
    """Draw the circle of ``radius`` around (x1, 0.5) and its images on a figure made by
    :func:`plot_composition` (in place). Returns the artists that changed."""
    curves = composition_curves(x1, radius)
    ax_x, ax_f, ax_g = fig.axes
    on_x, on_f, on_g = ({a.get_gid(): a for a in [*ax.lines, *ax.patches] if a.get_gid()} for ax in fig.axes)
    on_x["disc"].set_xy(curves["circle"].T)
    on_x["circle"].set_data(*curves["circle"])
    on_x["centre"].set_data(*([c] for c in curves["x"]))
    centre_f = bend(curves["x"])
    on_f["true"].set_data(*curves["through_f"])
    on_f["linear"].set_data(*curves["linear_f"])
    on_f["centre"].set_data(*([c] for c in centre_f))
    centre_g = wrap(centre_f)[:, None]
    on_g["true"].set_data(*((curves["through_gf"] - centre_g) / radius))
    on_g["linear"].set_data(*((curves["linear"] - centre_g) / radius))
    suptitle = set_suptitle(
        fig,
        f"x = ({x1:.2f}, {COMPOSITION_X2:.1f}),  ρ = {radius:g}:  relative gap between the curves {curves['gap']:.1%}",
        fontsize=9,
    )
    # The centre of the g-plane stays above the curves.
    return [*on_x.values(), *on_f.values(), *ax_g.lines, suptitle]


def composition_controls():
    """The controls of :func:`composition_demo` (5 positions x 5 radii = 25 frames)."""
    return [
        Control("x1", COMPOSITION_X1_VALUES, r"position \(x_1\)", default=COMPOSITION_X1_VALUES[3], fmt="{:.2f}"),
        Control("radius", COMPOSITION_RADII, r"radius \(\rho\)", default=COMPOSITION_RADII[-1]),
    ]


def composition_alt(x1: float = 0.5, radius: float = 0.2) -> str:
    """Alt text of a :func:`plot_composition` frame, with the gap its title prints."""
    gap = composition_curves(x1, radius)["gap"]
    if gap < 0.02:
        look = "the two closed curves are almost on top of each other"
    elif gap < 0.1:
        look = "the true image is a slightly bent ellipse close to the dashed one"
    else:
        look = "the true image is visibly bent away from the dashed ellipse"
    return (f"Three panels. Left: a circle of radius {radius:g} around x = ({x1:.2f}, {COMPOSITION_X2:.1f}). "
            f"Middle: its image under the bending map f, solid, beside its image under the matrix J_f(x), dashed. "
            f"Right, magnified by 1/{radius:g}: the image under g after f, solid, and the ellipse made by the "
            f"product J_g(f(x)) J_f(x), dashed; {look}, relative gap {gap:.1%}.")


def composition_demo():
    """A circle through f then g, beside its image under J_g(f(x)) J_f(x)."""
    return interactive_demo(plot_composition, composition_controls(), update=update_composition,
                            alt=composition_alt)


# --- 2. a rate of change along a curve --------------------------------------------------------
# The worked example of the chapter: the saddle f(x1, x2) = x1^2 + x1 x2 along the unit circle
# x(t) = (cos t, sin t), where f(x(t)) = (1 + cos 2t + sin 2t) / 2.

CURVE_T_VALUES = np.linspace(0.0, 2.0 * np.pi, 24, endpoint=False)
_CURVE_STEP = 1e-5


def curve_function(x):
    """f(x1, x2) = x1^2 + x1 x2, a saddle (works on (2, ...) arrays)."""
    return x[0] ** 2 + x[0] * x[1]


def curve_function_gradient(x):
    """grad f(x) = (2 x1 + x2, x1)."""
    return np.array([2.0 * x[0] + x[1], x[0]])


def curve(t):
    """The unit circle g(t) = (cos t, sin t)."""
    return np.array([np.cos(t), np.sin(t)])


def curve_velocity(t):
    """g'(t) = (-sin t, cos t)."""
    return np.array([-np.sin(t), np.cos(t)])


def curve_rates(t: float) -> tuple[float, float]:
    """d/dt f(g(t)) two ways: the chain rule grad f(g(t)) . g'(t), and a central difference.

    Returns:
        (chain_rule_value, finite_difference_value).
    """
    chain = float(curve_function_gradient(curve(t)) @ curve_velocity(t))
    h = _CURVE_STEP
    difference = float((curve_function(curve(t + h)) - curve_function(curve(t - h))) / (2.0 * h))
    return chain, difference


def plot_curve_rate(t: float = 1.0):
    """Left: the curve over contour lines of f, with g'(t) and grad f at g(t). Right: f(g(t))
    against t with the tangent line of slope grad f . g'(t)."""
    fig, (ax_plane, ax_time) = figure(7.0, 3.4, ncols=2)
    xx, yy = np.meshgrid(np.linspace(-2.0, 2.0, 81), np.linspace(-2.0, 2.0, 81))
    levels = np.array([-0.75, -0.25, 0.25, 1.0, 2.0, 4.0])  # not 0: that level set is two crossing lines
    contours = ax_plane.contour(xx, yy, curve_function(np.stack([xx, yy])), levels=levels, cmap="viridis", linewidths=0.9)
    ax_plane.clabel(contours, levels, fontsize=7, fmt="%g")

    ts = np.linspace(0.0, 2.0 * np.pi, 241)
    ax_plane.plot(*curve(ts), color="0.25", lw=1.2)
    # The arrows, their labels and the points start anywhere; update_curve_rate places them.
    for name, colour, text in (("velocity", "#d1495b", "g′(t)"), ("gradient", "#1f5fa8", "∇f")):
        ax_plane.annotate("", xy=(1, 0), xytext=(0, 0), arrowprops=dict(arrowstyle="-|>", color=colour, lw=1.8),
                          gid=f"{name} arrow")
        ax_plane.text(0, 0, text, color=colour, fontsize=9, ha="center", va="center", gid=f"{name} label")
    ax_plane.plot([], [], "ko", ms=4, gid="point")
    # The gradient is at most 2.42 long on the circle: the arrow tips stay within 1.85 of 0.
    ax_plane.set_xlim(-2.0, 2.0)
    ax_plane.set_ylim(-2.0, 2.0)
    ax_plane.set_aspect("equal")
    ax_plane.set_xlabel("$x_1$", fontsize=8)
    ax_plane.set_ylabel("$x_2$", fontsize=8)
    ax_plane.set_title(r"$f = x_1^2 + x_1x_2$ along $(\cos t, \sin t)$ (arrows ×0.35)", fontsize=8)
    ax_plane.tick_params(labelsize=7)

    values = curve_function(curve(ts))
    ax_time.plot(ts, values, color="0.25", lw=1.4, label="f(g(t))")
    ax_time.plot([], [], color="#d1495b", lw=1.6, label="tangent", gid="tangent")
    ax_time.plot([], [], "ko", ms=4, gid="point")
    ax_time.set_xlim(0.0, 2.0 * np.pi)
    ax_time.set_ylim(-0.7, 1.7)
    ax_time.set_xlabel("t", fontsize=8)
    ax_time.legend(loc="lower right", fontsize=7, frameon=False)
    ax_time.tick_params(labelsize=7)
    update_curve_rate(fig, t)
    return fig


def update_curve_rate(fig, t: float = 1.0) -> list:
    """Move to ``t`` on a figure made by :func:`plot_curve_rate` (in place). Returns the
    artists that changed, and the legend, which stays above the tangent."""
    ax_plane, ax_time = fig.axes
    point, velocity, gradient = curve(t), curve_velocity(t), curve_function_gradient(curve(t))
    arrow_scale = 0.35  # the gradient reaches length 2.42: shrink both arrows alike to fit
    # By gid: the contour labels are texts of the axes too.
    on_plane = {text.get_gid(): text for text in ax_plane.texts if text.get_gid()}
    for name, vector in (("velocity", velocity), ("gradient", gradient)):
        arrow, label = on_plane[f"{name} arrow"], on_plane[f"{name} label"]
        tip = point + arrow_scale * vector
        arrow.xy, arrow.xyann = tuple(tip), tuple(point)
        label.set_position(tip + 0.06 * vector / np.linalg.norm(vector))
    (marker,) = [line for line in ax_plane.lines if line.get_gid() == "point"]
    marker.set_data([point[0]], [point[1]])

    chain, difference = curve_rates(t)
    on_time = {line.get_gid(): line for line in ax_time.lines if line.get_gid()}
    window = np.linspace(t - 0.8, t + 0.8, 2)
    on_time["tangent"].set_data(window, curve_function(curve(t)) + chain * (window - t))
    on_time["point"].set_data([t], [curve_function(curve(t))])
    ax_time.set_title(f"∇f·g′(t) = {chain:+.4f}   finite diff. = {difference:+.4f}", fontsize=8)
    suptitle = set_suptitle(fig, f"t = {t:.3f}", fontsize=9)
    return [*on_plane.values(), marker, *on_time.values(), ax_time.get_legend(), ax_time.title, suptitle]


def curve_controls():
    """The controls of :func:`curve_demo` (24 values of t)."""
    return [Control("t", CURVE_T_VALUES, r"\(t\)", default=CURVE_T_VALUES[4], fmt="{:.2f}")]


def curve_rate_alt(t: float = 1.0) -> str:
    """Alt text of a :func:`plot_curve_rate` frame, with the rates its title prints."""
    chain, difference = curve_rates(t)
    point = curve(t)
    trend = "rising" if chain > 1e-9 else "falling" if chain < -1e-9 else "momentarily flat"
    return (f"Left: contour lines of the saddle f = x1 squared + x1 x2 and the unit circle traced by (cos t, sin t), with the "
            f"point at t = {t:.3f}, ({point[0]:.2f}, {point[1]:.2f}), its velocity arrow g'(t) and the gradient "
            f"arrow of f. Right: f(g(t)) against t, {trend} at t = {t:.3f}, with its tangent line of slope "
            f"grad f times g'(t) = {chain:+.4f}, matching the finite difference {difference:+.4f}.")


def curve_demo():
    """Walk along (cos t, sin t) over the contours of x1^2 + x1 x2."""
    return interactive_demo(plot_curve_rate, curve_controls(), update=update_curve_rate, alt=curve_rate_alt)


__all__ = [
    "plot_composition",
    "update_composition",
    "composition_curves",
    "composition_gap",
    "composition_controls",
    "composition_alt",
    "composition_demo",
    "plot_curve_rate",
    "update_curve_rate",
    "curve_rates",
    "curve_controls",
    "curve_rate_alt",
    "curve_demo",
]
