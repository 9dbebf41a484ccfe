"""Demos of Chapter 6: an implicit curve, the ridge path, implicit vs unrolled gradients."""
from __future__ import annotations

import functools

import numpy as np

from diffrn.demos.core import Control, figure, interactive_demo, set_suptitle
from diffrn.implicit import (
    TanhEquilibriumLayer,
    adjoint_by_iteration,
    ridge_solution,
    ridge_solution_grad,
    unrolled_fixed_point_gradient,
)

# --- 1. the folium of Descartes x^3 + y^3 = 3xy ------------------------------------------------

# Parameter values t of the point (3t/(1+t^3), 3t^2/(1+t^3)); they include the singular point
# (t = 0), the vertical tangent (t^3 = 1/2) and the horizontal tangent (t^3 = 2).
FOLIUM_T = tuple(
    sorted(
        [-4.0, -2.5, -1.6, -0.7, -0.5, -0.3, -0.15, 0.0, 0.15, 0.3, 0.45, 0.6, 0.7]
        + [0.5 ** (1 / 3), 0.9, 1.0, 1.1, 2 ** (1 / 3), 1.5, 1.8, 2.2, 2.7, 3.5, 5.0]
    )
)
# Where dF/dy = 0 on the curve: the origin (where the gradient vanishes) and (2^(2/3), 2^(1/3)).
FOLIUM_FAILURES = np.array([[0.0, 0.0], [2 ** (2 / 3), 2 ** (1 / 3)]])


def folium(x, y):
    """``F(x, y) = x^3 + y^3 - 3xy``; the curve is ``F = 0``."""
    return x**3 + y**3 - 3 * x * y


def folium_gradient(x, y) -> tuple[float, float]:
    """``(dF/dx, dF/dy) = (3x^2 - 3y, 3y^2 - 3x)``."""
    return 3 * x * x - 3 * y, 3 * y * y - 3 * x


def folium_point(t: float) -> np.ndarray:
    """The point of the folium with parameter t (slope y/x = t), for t != -1."""
    return np.array([3 * t, 3 * t * t]) / (1 + t**3)


def folium_slope(t: float) -> float | None:
    """dy/dx at the point with parameter t by the implicit function theorem; None where dF/dy = 0."""
    x, y = folium_point(t)
    F_x, F_y = folium_gradient(x, y)
    if abs(F_y) < 1e-9:
        return None
    return float(-F_x / F_y)


def plot_implicit_curve(t: float = 0.45):
    """The folium, a point on it and the tangent line from the implicit function theorem."""
    grid = np.linspace(-2.5, 2.5, 401)
    gx, gy = np.meshgrid(grid, grid)

    fig, (ax_curve, ax_slope) = figure(7.0, 3.4, ncols=2)
    ax_curve.contour(gx, gy, folium(gx, gy), levels=[0.0], colors="C0", linewidths=1.5)
    ax_curve.plot(FOLIUM_FAILURES[:, 0], FOLIUM_FAILURES[:, 1], "x", color="C3", ms=8, mew=2, label=r"$\partial F/\partial y = 0$")
    # What depends on t starts empty or hidden; update_implicit_curve sets it.
    ax_curve.plot([], [], "ko", ms=5, gid="point")
    ax_curve.plot(grid, 0 * grid, "C1-", lw=1.2, label="tangent from the theorem", gid="tangent")
    ax_curve.axvline(0, color="C3", ls="--", lw=1.2, label="vertical tangent", gid="vertical")
    ax_curve.set(xlim=(-2.5, 2.5), ylim=(-2.5, 2.5), aspect="equal", xlabel="$x$", ylabel="$y$")

    # dy/dx along the loop and the arms, with the parameter values where F_y = 0.
    ts = np.concatenate([np.linspace(-5, -1.08, 200), np.linspace(-0.92, 6, 800)])
    slopes = np.array([folium_slope(s) if folium_slope(s) is not None else np.nan for s in ts])
    slopes[np.abs(slopes) > 8] = np.nan
    ax_slope.plot(ts, slopes, color="C1", lw=1.2)
    for singular_t in (0.0, 0.5 ** (1 / 3)):
        ax_slope.axvline(singular_t, color="C3", ls=":", lw=1)
    ax_slope.plot([], [], "ko", ms=5, gid="point")
    ax_slope.set(xlim=(-5, 6), ylim=(-6, 6), xlabel="parameter $t$", ylabel="$dy/dx$")
    ax_slope.grid(True, lw=0.3)
    update_implicit_curve(fig, t)
    return fig


def update_implicit_curve(fig, t: float = 0.45) -> list:
    """Show the point with parameter ``t`` on a figure made by :func:`plot_implicit_curve` (in
    place; the legend, whose entries depend on the point, is made anew). Returns the artists
    that changed."""
    x0, y0 = folium_point(t)
    F_x, F_y = folium_gradient(x0, y0)
    slope = folium_slope(t)
    ax_curve, ax_slope = fig.axes
    on_curve = {line.get_gid(): line for line in ax_curve.lines if line.get_gid()}
    on_curve["point"].set_data([x0], [y0])
    tangent, vertical = on_curve["tangent"], on_curve["vertical"]
    tangent.set_visible(slope is not None)
    vertical.set_visible(False)
    if slope is not None:
        tangent.set_ydata(y0 + slope * (tangent.get_xdata() - x0))
        status = f"dy/dx = -F_x/F_y = -({F_x:.3f})/({F_y:.3f}) = {slope:.3f}"
    elif np.hypot(F_x, F_y) < 1e-9:
        status = "grad F = 0: a singular point, two branches cross; no tangent line"
    else:
        vertical.set_xdata([x0, x0])
        vertical.set_visible(True)
        status = "F_y = 0: vertical tangent, y is not a function of x here"
    if ax_curve.get_legend() is not None:
        ax_curve.get_legend().remove()
    shown = [line for line in ax_curve.lines if line.get_visible() and not line.get_label().startswith("_")]
    legend = ax_curve.legend(handles=shown, loc="lower left", fontsize=7)
    (on_slope,) = [line for line in ax_slope.lines if line.get_gid() == "point"]
    on_slope.set_data([t], [slope] if slope is not None else [np.nan])
    suptitle = set_suptitle(fig, f"t = {t:.3g}, point ({x0:.3f}, {y0:.3f}):  {status}", fontsize=9)
    return [*on_curve.values(), legend, on_slope, suptitle]


def implicit_curve_alt(t: float = 0.45) -> str:
    """Alt text of a :func:`plot_implicit_curve` frame: the point and what the theorem gives there."""
    x0, y0 = folium_point(t)
    F_x, F_y = folium_gradient(x0, y0)
    slope = folium_slope(t)
    if slope is not None:
        status = f"the implicit function theorem gives the tangent line of slope dy/dx = {round(slope, 3) + 0.0:.3f}"
    elif np.hypot(F_x, F_y) < 1e-9:
        status = "the gradient of F vanishes: two branches cross at this singular point and there is no tangent line"
    else:
        status = "F_y = 0: the tangent is vertical and y is not a function of x here"
    return (f"Left: the folium of Descartes x cubed + y cubed = 3xy, with the point of parameter t = {t:.3g} at "
            f"({x0:.3f}, {y0:.3f}); {status}. Right: the slope dy/dx against t, with this point marked.")


def implicit_curve_demo():
    return interactive_demo(plot_implicit_curve, [Control("t", FOLIUM_T, r"parameter \(t\)", default=0.45, fmt="{:.3g}")],
                            update=update_implicit_curve, alt=implicit_curve_alt)


# --- 2. the ridge solution path and its implicit derivative ------------------------------------

_rng = np.random.default_rng(6)
_mixing = np.array([[1.0, 0.0, 0.0], [0.9, 0.45, 0.0], [0.3, -0.6, 0.8]])
RIDGE_X = _rng.normal(size=(25, 3)) @ _mixing
RIDGE_Y = RIDGE_X @ np.array([1.5, -2.0, 0.5]) + 0.8 * _rng.normal(size=25)
RIDGE_LOG10_LAMBDAS = tuple(np.round(np.linspace(-2.0, 3.0, 21), 2))
RIDGE_FD_STEP = 1e-5


def ridge_path_derivatives(lam: float) -> tuple[np.ndarray, np.ndarray]:
    """d theta*/d lam at lam: by the implicit function theorem and by central differences."""
    implicit = ridge_solution_grad(RIDGE_X, RIDGE_Y, lam)
    h = RIDGE_FD_STEP * lam
    fd = (ridge_solution(RIDGE_X, RIDGE_Y, lam + h) - ridge_solution(RIDGE_X, RIDGE_Y, lam - h)) / (2 * h)
    return implicit, fd


def plot_ridge_path(log10_lam: float = 0.5):
    """theta*(lambda) against log10(lambda), with tangent lines from the implicit derivative."""
    path_x = np.linspace(-2.5, 3.5, 200)
    path = np.array([ridge_solution(RIDGE_X, RIDGE_Y, 10.0**p) for p in path_x])

    fig, (ax_path, ax_bars) = figure(7.0, 3.4, ncols=2)
    # What depends on lambda starts empty; update_ridge_path sets it.
    for i in range(3):
        ax_path.plot(path_x, path[:, i], color=f"C{i}", lw=1.2, label=rf"$\theta_{i + 1}$")
        ax_path.plot([], [], color="k", lw=1.5, gid=f"tangent {i}")
        ax_path.plot([], [], "o", color=f"C{i}", ms=4, gid=f"point {i}")
    ax_path.axvline(log10_lam, color="0.6", lw=0.8, gid="lambda")
    ax_path.set(xlim=(-2.5, 3.5), ylim=(-3.0, 2.5), xlabel=r"$\log_{10}\lambda$", ylabel=r"$\theta^*(\lambda)$")
    ax_path.legend(loc="lower right", fontsize=7)

    positions = np.arange(3)
    ax_bars.bar(positions - 0.18, np.zeros(3), width=0.36, color="C0", label="implicit (one solve)")
    ax_bars.bar(positions + 0.18, np.zeros(3), width=0.36, color="C1", label="finite differences")
    ax_bars.axhline(0, color="k", lw=0.6)
    ax_bars.set(
        xticks=positions,
        xticklabels=[r"$\theta_1$", r"$\theta_2$", r"$\theta_3$"],
        ylim=(-0.8, 0.8),
        ylabel=r"$d\theta^*/d\log_{10}\lambda$",
    )
    ax_bars.legend(loc="upper right", fontsize=7)
    update_ridge_path(fig, log10_lam)
    return fig


def update_ridge_path(fig, log10_lam: float = 0.5) -> list:
    """Show lambda = 10^log10_lam on a figure made by :func:`plot_ridge_path` (in place).
    Returns the artists that changed, with what the figure draws over them."""
    lam = 10.0**log10_lam
    theta = ridge_solution(RIDGE_X, RIDGE_Y, lam)
    implicit, fd = ridge_path_derivatives(lam)
    # Per unit of log10(lambda): d theta/d log10(lambda) = lambda ln(10) d theta/d lambda.
    per_decade = lam * np.log(10) * implicit
    per_decade_fd = lam * np.log(10) * fd

    ax_path, ax_bars = fig.axes
    on_path = {line.get_gid(): line for line in ax_path.lines if line.get_gid()}
    segment = np.array([-0.6, 0.6])
    for i in range(3):
        on_path[f"tangent {i}"].set_data(log10_lam + segment, theta[i] + per_decade[i] * segment)
        on_path[f"point {i}"].set_data([log10_lam], [theta[i]])
    on_path["lambda"].set_xdata([log10_lam, log10_lam])
    for bar, height in zip(ax_bars.patches, [*per_decade, *per_decade_fd]):
        bar.set_height(height)
    gap = float(np.max(np.abs(implicit - fd)) / np.max(np.abs(implicit)))
    suptitle = set_suptitle(fig, f"λ = {lam:.3g}:  max |implicit − FD| / max |implicit| = {gap:.1e}", fontsize=9)
    # The paths (drawn after the tangents of lower index), the zero line and the legends stay on top.
    return [*ax_path.lines, ax_path.get_legend(), *ax_bars.patches, *ax_bars.lines, ax_bars.get_legend(), suptitle]


def ridge_path_alt(log10_lam: float = 0.5) -> str:
    """Alt text of a :func:`plot_ridge_path` frame, with the agreement its title prints."""
    lam = 10.0**log10_lam
    implicit, fd = ridge_path_derivatives(lam)
    per_decade = lam * np.log(10) * implicit
    gap = float(np.max(np.abs(implicit - fd)) / np.max(np.abs(implicit)))
    slopes = ", ".join(f"{value:+.3f}" for value in per_decade)
    return (f"Left: the three ridge coefficients against log10 lambda, shrinking towards 0 as lambda grows, with "
            f"tangent lines at lambda = {lam:.3g}. Right: bars of their derivatives per decade of lambda, "
            f"{slopes}, by the implicit function theorem beside finite differences; they agree to a relative "
            f"gap of {gap:.1e}.")


def ridge_path_demo():
    return interactive_demo(
        plot_ridge_path, [Control("log10_lam", RIDGE_LOG10_LAMBDAS, r"\(\log_{10}\lambda\)", default=0.5, fmt="{:.2f}")],
        update=update_ridge_path,
        alt=ridge_path_alt,
    )


# --- 3. implicit vs unrolled gradient of a fixed point -----------------------------------------

_rng_deq = np.random.default_rng(11)
_W = _rng_deq.normal(size=(8, 8))
DEQ_LAYER = TanhEquilibriumLayer(0.9 * _W / np.linalg.norm(_W, 2))
DEQ_THETA = _rng_deq.normal(size=8)
DEQ_TARGET = _rng_deq.normal(size=8)
DEQ_ITERATIONS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100)


def deq_gradients() -> dict:
    """The equilibrium of the demo layer, its implicit gradient and the cost of finding both.

    Loss ``L(z*) = ||z* - target||^2 / 2``; returns z*, the gradient dL/dtheta by the implicit
    function theorem (the adjoint iteration u <- A^T u + g, with VJPs only), and the iteration counts of the forward and backward
    fixed-point problems.
    """
    layer, theta = DEQ_LAYER, DEQ_THETA
    z_star, forward_iterations = layer.solve(theta)
    adjoint, backward_iterations = adjoint_by_iteration(lambda u: layer.vjp_z(z_star, theta, u), z_star - DEQ_TARGET)
    return {
        "z_star": z_star,
        "grad": layer.vjp_theta(z_star, theta, adjoint),
        "forward_iterations": forward_iterations,
        "backward_iterations": backward_iterations,
    }


def unrolled_gradient(iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """``(z_K, dL(z_K)/dtheta)`` by backpropagation through K iterations from z0 = 0."""
    layer = DEQ_LAYER
    return unrolled_fixed_point_gradient(
        layer.T, layer.jac_z, layer.jac_theta, np.zeros(8), DEQ_THETA, iterations, lambda z: z - DEQ_TARGET
    )


def unrolled_errors(iterations) -> tuple[np.ndarray, np.ndarray]:
    """Relative errors of z_K and of the unrolled gradient, against z* and the implicit gradient."""
    reference = deq_gradients()
    z_err, g_err = [], []
    for K in iterations:
        z_K, grad_K = unrolled_gradient(K)
        z_err.append(np.linalg.norm(z_K - reference["z_star"]) / np.linalg.norm(reference["z_star"]))
        g_err.append(np.linalg.norm(grad_K - reference["grad"]) / np.linalg.norm(reference["grad"]))
    return np.array(z_err), np.array(g_err)


def plot_unrolled_vs_implicit(iterations: int = 10):
    """Error of the gradient unrolled through K iterations, and the memory/work of both methods."""
    reference = deq_gradients()
    all_K = np.array(DEQ_ITERATIONS)
    z_err, g_err = unrolled_errors(all_K)

    fig, (ax_error, ax_cost) = figure(7.0, 3.4, ncols=2)
    ax_error.semilogy(all_K, g_err, "o-", color="C0", ms=3, label="unrolled gradient")
    ax_error.semilogy(all_K, z_err, "s--", color="0.5", ms=3, label=r"$z_K$ vs $z^*$")
    ax_error.semilogy([], [], "o", color="C3", ms=8, gid="chosen")  # set by update_unrolled_vs_implicit
    ax_error.set(xlim=(0, 105), ylim=(1e-16, 10), xlabel="unrolled iterations $K$", ylabel="relative error")
    ax_error.grid(True, lw=0.3)
    ax_error.legend(loc="upper right", fontsize=7)

    # Backward pass cost, in vectors of length n kept in memory and Jacobian-vector products.
    memory_unrolled = all_K + 1
    work_unrolled = 2 * all_K
    memory_implicit = 2  # z* and the adjoint u
    work_implicit = reference["backward_iterations"] + 1
    ax_cost.plot(all_K, memory_unrolled, color="C0", label="unrolled: vectors stored")
    ax_cost.plot(all_K, work_unrolled, color="C0", ls="--", label="unrolled: VJPs")
    ax_cost.axhline(memory_implicit, color="C2", label="implicit: vectors stored")
    ax_cost.axhline(work_implicit, color="C2", ls="--", label="implicit: VJPs")
    ax_cost.axvline(iterations, color="C3", lw=1, gid="chosen")
    ax_cost.set(xlim=(0, 105), ylim=(0, 210), xlabel="unrolled iterations $K$", ylabel="backward pass cost")
    ax_cost.legend(loc="upper left", fontsize=7)
    update_unrolled_vs_implicit(fig, iterations)
    return fig


@functools.lru_cache(maxsize=1)
def _unrolled_reference():
    """The implicit gradient and the unrolled errors for every K of the demo (computed once)."""
    return deq_gradients(), unrolled_errors(np.array(DEQ_ITERATIONS))


def update_unrolled_vs_implicit(fig, iterations: int = 10) -> list:
    """Mark K = ``iterations`` on a figure made by :func:`plot_unrolled_vs_implicit` (in
    place). Returns the artists that changed, with the legends, which stay above them."""
    reference, (_, g_err) = _unrolled_reference()
    current = DEQ_ITERATIONS.index(iterations)
    ax_error, ax_cost = fig.axes
    (marker,) = [line for line in ax_error.lines if line.get_gid() == "chosen"]
    (line_at_K,) = [line for line in ax_cost.lines if line.get_gid() == "chosen"]
    marker.set_data([iterations], [g_err[current]])
    line_at_K.set_xdata([iterations, iterations])
    suptitle = set_suptitle(
        fig,
        f"K = {iterations}: unrolled gradient off by {g_err[current]:.1e}; implicit gradient: "
        f"{reference['backward_iterations']} adjoint steps after {reference['forward_iterations']} forward",
        fontsize=9,
    )
    return [marker, ax_error.get_legend(), line_at_K, ax_cost.get_legend(), suptitle]


def unrolled_alt(iterations: int = 10) -> str:
    """Alt text of a :func:`plot_unrolled_vs_implicit` frame, with the numbers its title prints."""
    reference, (_, g_err) = _unrolled_reference()
    error = g_err[DEQ_ITERATIONS.index(iterations)]
    return (f"Left: relative error of the gradient unrolled through K fixed-point iterations, on a log scale, "
            f"falling as K grows; at K = {iterations} it is {error:.1e}. Right: backward-pass cost against K: the "
            f"unrolled gradient stores K + 1 vectors and needs 2K products, growing in straight lines, while the "
            f"implicit gradient stores 2 vectors and needs {reference['backward_iterations'] + 1} products, flat.")


def unrolled_demo():
    return interactive_demo(
        plot_unrolled_vs_implicit, [Control("iterations", DEQ_ITERATIONS, r"iterations \(K\)", default=10, fmt="{:d}")],
        update=update_unrolled_vs_implicit,
        alt=unrolled_alt,
    )


__all__ = [
    "folium",
    "folium_gradient",
    "folium_point",
    "folium_slope",
    "plot_implicit_curve",
    "implicit_curve_demo",
    "ridge_path_derivatives",
    "plot_ridge_path",
    "ridge_path_demo",
    "deq_gradients",
    "unrolled_gradient",
    "unrolled_errors",
    "plot_unrolled_vs_implicit",
    "unrolled_demo",
]
