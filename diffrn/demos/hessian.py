"""Demos of Chapter 4, Second derivatives and the Hessian.

* :func:`plot_quadratic_form` / :func:`quadratic_form_demo`: the quadratic form x^T Q x / 2
  with Q = R(theta) diag(lambda1, lambda2) R(theta)^T. Its level sets, its graph and the
  eigenvectors of Q; the title names the critical point at the origin.
* :func:`plot_newton_vs_gd` / :func:`newton_vs_gd_demo`: pure Newton and gradient descent on
  a smooth convex bowl that is not a quadratic, from a start chosen on an ellipse; the paths
  and the error per step on a log scale.
* :func:`plot_taylor` / :func:`taylor_demo`: a function along a line through a moving point,
  with its first-order (tangent) and second-order (osculating parabola) Taylor models.

The numbers in the titles come from :mod:`diffrn.curvature` and from the small helpers here
(:func:`quadratic_form_matrix`, :func:`bowl_runs`, :func:`taylor_errors`), which the tests use.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from diffrn.curvature import classify_critical_point, gradient_descent, newton
from diffrn.demos.core import Control, figure, interactive_demo

NEWTON_COLOR = "#d95f02"  # orange: Newton's method, second order
GD_COLOR = "#1b9e77"  # green: gradient descent, first order
FUNCTION_COLOR = "#333333"
FIRST_ORDER_COLOR = "#7570b3"  # purple: tangent (first-order model)
SECOND_ORDER_COLOR = "#d95f02"  # orange: osculating parabola (second-order model)
POINT_COLOR = "#e6ab02"
POSITIVE_COLOR = "#2166ac"  # eigenvector of a positive eigenvalue (curves up)
NEGATIVE_COLOR = "#b2182b"  # ... of a negative eigenvalue (curves down)
ZERO_COLOR = "#777777"


def _rotation(theta: float) -> np.ndarray:
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


# ---------------------------------------------------------------------------------------------
# 1. Quadratic forms and the four kinds of critical point
# ---------------------------------------------------------------------------------------------

FORM_LIMIT = 2.0  # the plots show the square [-2, 2]^2
FORM_LEVELS = np.linspace(-4.0, 4.0, 9)  # values beyond +-4 (corners of the square) share a colour
LAMBDA1_VALUES = (-1.0, 1.0)
LAMBDA2_VALUES = (-2.0, -1.0, 0.0, 1.0, 2.0)
THETA_DEG_VALUES = (0.0, 30.0, 60.0)


def quadratic_form_matrix(lambda1: float, lambda2: float, theta_deg: float) -> np.ndarray:
    """Q = R(theta) diag(lambda1, lambda2) R(theta)^T: symmetric, eigenvalues lambda1, lambda2.

    The eigenvectors are the columns of R(theta): the coordinate axes rotated by theta.
    """
    rotation = _rotation(np.radians(theta_deg))
    return rotation @ np.diag([lambda1, lambda2]) @ rotation.T


def plot_quadratic_form(lambda1: float = 1.0, lambda2: float = -1.0, theta_deg: float = 30.0) -> Figure:
    """Level sets of f(x) = x^T Q x / 2 with Q's eigenvectors (left), f along them (right).

    The Hessian of f is Q everywhere and the origin is a critical point, so the title's label
    is :func:`~diffrn.curvature.classify_critical_point` applied to Q.
    """
    fig, (ax, ax_profile) = figure(7.0, 3.4, ncols=2)
    # Everything that depends on Q starts empty or at a placeholder; update_quadratic_form sets it.
    for _ in range(2):
        for sign in (1, -1):
            ax.annotate("", xy=(sign, 0), xytext=(0, 0), arrowprops=dict(arrowstyle="-|>", lw=2))
        ax.text(0, 0, "", ha="center", va="center", fontsize=9, fontweight="bold",
                bbox=dict(fc="white", ec="none", alpha=0.7, pad=1))
    ax.plot(0, 0, "o", color=POINT_COLOR, mec="k", ms=6, zorder=2.5)  # above the level sets
    ax.set_xlim(-FORM_LIMIT, FORM_LIMIT)
    ax.set_ylim(-FORM_LIMIT, FORM_LIMIT)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")

    # Right: the form along each eigenvector is the parabola lambda t^2 / 2, so the signs of
    # the eigenvalues say which way the graph bends along the principal axes.
    ax_profile.plot([], [], color="#999999", lw=1.2, ls="--", label="halfway between")
    ax_profile.plot([], [], lw=2, ls="-", label="along eigenvector 1")
    ax_profile.plot([], [], lw=2, ls="-.", label="along eigenvector 2")
    ax_profile.axhline(0, color="k", lw=0.5)
    ax_profile.set_xlim(-FORM_LIMIT, FORM_LIMIT)
    ax_profile.set_ylim(-4.5, 4.5)
    ax_profile.set_xlabel("t (distance along the direction)")
    ax_profile.legend(loc="lower center", fontsize=7, framealpha=0.9)
    ax_profile.set_title(r"$f(t\,v) = \frac{1}{2}\,(v^\top Q v)\, t^2$", fontsize=10)
    update_quadratic_form(fig, lambda1, lambda2, theta_deg)
    return fig


def update_quadratic_form(fig: Figure, lambda1: float = 1.0, lambda2: float = -1.0, theta_deg: float = 30.0) -> list:
    """Show the form of (lambda1, lambda2, theta_deg) on a figure made by
    :func:`plot_quadratic_form` (in place; the level sets and the legend are made anew).

    Returns:
        the artists that changed, which a live demo redraws.
    """
    matrix = quadratic_form_matrix(lambda1, lambda2, theta_deg)
    kind = classify_critical_point(matrix)
    ax, ax_profile = fig.axes
    for level_set in ax.collections:
        level_set.remove()

    grid = np.linspace(-FORM_LIMIT, FORM_LIMIT, 81)
    gx, gy = np.meshgrid(grid, grid)
    points = np.stack([gx, gy], axis=-1)
    values = 0.5 * np.einsum("...i,ij,...j->...", points, matrix, points)
    filled = ax.contourf(gx, gy, values, levels=FORM_LEVELS, cmap="RdBu_r", extend="both")
    lines = ax.contour(gx, gy, values, levels=FORM_LEVELS, colors="k", linewidths=0.5, antialiased=False)
    rotation = _rotation(np.radians(theta_deg))
    eigen = list(zip((lambda1, lambda2), rotation.T))
    # ax.texts holds, per eigenvector, the arrows both ways (annotations) and the label.
    arrows = [arrow for pair in zip(ax.texts[0::3], ax.texts[1::3]) for arrow in pair]
    labels = ax.texts[2::3]
    for index, (eigenvalue, vector) in enumerate(eigen):
        color = _eigen_color(eigenvalue)
        for arrow, sign in zip(arrows[2 * index:2 * index + 2], (1, -1)):
            arrow.xy = tuple(sign * 1.6 * vector)
            arrow.arrow_patch.set_color(color)
        labels[index].set_position(1.75 * vector)
        labels[index].set_text(f"λ={eigenvalue:g}")
        labels[index].set_color(color)
    ax.set_title(f"λ = ({lambda1:g}, {lambda2:g}), θ = {theta_deg:g}°: {kind}", fontsize=10, fontweight="bold")

    t = np.linspace(-FORM_LIMIT, FORM_LIMIT, 101)
    middle = (rotation[:, 0] + rotation[:, 1]) / np.sqrt(2)
    halfway, *along = ax_profile.lines[:3]
    halfway.set_data(t, 0.5 * (middle @ matrix @ middle) * t ** 2)
    legend = ax_profile.get_legend()
    for index, (line, (eigenvalue, vector)) in enumerate(zip(along, eigen)):
        label = f"along eigenvector {index + 1} (λ={eigenvalue:g})"
        line.set_data(t, 0.5 * (vector @ matrix @ vector) * t ** 2)
        line.set_color(_eigen_color(eigenvalue))
        line.set_label(label)
        legend.get_lines()[index + 1].set_color(_eigen_color(eigenvalue))  # the legend keeps copies
        legend.get_texts()[index + 1].set_text(label)
    # The origin's marker, the zero line and the frames are redrawn too, to stay above what moves.
    return [filled, lines, *ax.texts, *ax.lines, ax.title, *ax_profile.lines, legend,
            *ax.spines.values(), *ax_profile.spines.values()]


def _eigen_color(eigenvalue: float) -> str:
    return POSITIVE_COLOR if eigenvalue > 0 else NEGATIVE_COLOR if eigenvalue < 0 else ZERO_COLOR


def quadratic_form_alt(lambda1: float = 1.0, lambda2: float = -1.0, theta_deg: float = 30.0) -> str:
    """Alt text of a :func:`plot_quadratic_form` frame: the eigenvalues, the rotation, the verdict."""
    kind = classify_critical_point(quadratic_form_matrix(lambda1, lambda2, theta_deg))
    return (f"Left: filled level sets of the quadratic form one half x transpose Q x, Q with eigenvalues "
            f"{lambda1:g} and {lambda2:g} and eigenvectors rotated by {theta_deg:g} degrees (arrows, blue for a "
            f"positive eigenvalue, red for a negative one); the critical point at the origin: {kind}. Right: the form along each "
            f"eigenvector and halfway between them, parabolas opening up or down with the sign of the eigenvalue.")


def quadratic_form_demo():
    """Sliders for lambda1, lambda2 and the rotation theta (2 x 5 x 3 = 30 frames)."""
    return interactive_demo(plot_quadratic_form, [
        Control("lambda1", LAMBDA1_VALUES, r"\(\lambda_1\)", default=1.0),
        Control("lambda2", LAMBDA2_VALUES, r"\(\lambda_2\)", default=-1.0),
        Control("theta_deg", THETA_DEG_VALUES, r"rotation \(\theta\) (degrees)", default=30.0),
    ], update=update_quadratic_form, alt=quadratic_form_alt)


# ---------------------------------------------------------------------------------------------
# 2. Newton's method against gradient descent on a convex bowl that is not quadratic
# ---------------------------------------------------------------------------------------------

# f(x) = sum_i exp(a_i . x - 0.1): a smooth, strictly convex bowl whose curvature grows
# quickly on one side (a classic test function of Boyd and Vandenberghe, Convex Optimization).
BOWL_DIRECTIONS = np.array([[1.0, 3.0], [1.0, -3.0], [-1.0, 0.0]])
BOWL_SHIFT = -0.1
# Where the gradient vanishes: x2 = 0 by symmetry and 2 e^{x1} = e^{-x1}.
BOWL_MINIMIZER = np.array([-np.log(2.0) / 2.0, 0.0])
START_ANGLES_DEG = tuple(float(a) for a in np.arange(0, 360, 30))
START_SEMI_AXES = (1.6, 0.5)
BOWL_XLIM = (-2.3, 1.6)
BOWL_YLIM = (-0.8, 0.8)
RUN_STEPS = 40


def bowl(x) -> float:
    """The bowl f(x) = sum_i exp(a_i . x - 0.1) at one point x of R^2."""
    return float(np.exp(BOWL_DIRECTIONS @ np.asarray(x, dtype=np.float64) + BOWL_SHIFT).sum())


def bowl_gradient(x) -> np.ndarray:
    """Analytic gradient sum_i exp(a_i . x - 0.1) a_i."""
    weights = np.exp(BOWL_DIRECTIONS @ np.asarray(x, dtype=np.float64) + BOWL_SHIFT)
    return BOWL_DIRECTIONS.T @ weights


def bowl_hessian(x) -> np.ndarray:
    """Analytic Hessian sum_i exp(a_i . x - 0.1) a_i a_i^T (positive definite everywhere)."""
    weights = np.exp(BOWL_DIRECTIONS @ np.asarray(x, dtype=np.float64) + BOWL_SHIFT)
    return BOWL_DIRECTIONS.T @ (weights[:, None] * BOWL_DIRECTIONS)


def start_point(angle_deg: float) -> np.ndarray:
    """The start on the ellipse around the minimizer with semi-axes :data:`START_SEMI_AXES`."""
    angle = np.radians(angle_deg)
    return BOWL_MINIMIZER + np.array([START_SEMI_AXES[0] * np.cos(angle), START_SEMI_AXES[1] * np.sin(angle)])


def safe_learning_rate(x0) -> float:
    """1 / L, where L is the largest Hessian eigenvalue on the sublevel set {f <= f(x0)}.

    Gradient descent never leaves that set with this step and decreases f at every step, so
    it is the natural fixed step to compare with Newton's method. L is the maximum over a
    fine grid covering the plotted region (the sublevel sets of the starts lie inside it).
    """
    level = bowl(x0)
    gx, gy = np.meshgrid(np.linspace(*BOWL_XLIM, 161), np.linspace(*BOWL_YLIM, 81))
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    weights = np.exp(points @ BOWL_DIRECTIONS.T + BOWL_SHIFT)
    inside = weights.sum(axis=1) <= level
    # Entries of the 2 x 2 Hessians sum_i w_i a_i a_i^T, and their largest eigenvalue.
    a11 = weights @ BOWL_DIRECTIONS[:, 0] ** 2
    a22 = weights @ BOWL_DIRECTIONS[:, 1] ** 2
    a12 = weights @ (BOWL_DIRECTIONS[:, 0] * BOWL_DIRECTIONS[:, 1])
    largest = (a11 + a22) / 2 + np.sqrt(((a11 - a22) / 2) ** 2 + a12 ** 2)
    return float(1.0 / largest[inside].max())


def bowl_runs(angle_deg: float, steps: int = RUN_STEPS) -> dict:
    """Newton's method and gradient descent on the bowl from :func:`start_point` (angle_deg).

    Returns:
        dict with ``newton`` and ``gd`` (iterate arrays from :mod:`diffrn.curvature`),
        ``newton_errors`` and ``gd_errors`` (distances to the minimizer per step) and
        ``learning_rate`` (the gradient-descent step).
    """
    x0 = start_point(angle_deg)
    learning_rate = safe_learning_rate(x0)
    newton_path = newton(bowl_gradient, bowl_hessian, x0, steps=steps, tol=1e-13)
    gd_path = gradient_descent(bowl_gradient, x0, learning_rate, steps=steps)
    return {
        "newton": newton_path,
        "gd": gd_path,
        "newton_errors": np.linalg.norm(newton_path - BOWL_MINIMIZER, axis=1),
        "gd_errors": np.linalg.norm(gd_path - BOWL_MINIMIZER, axis=1),
        "learning_rate": learning_rate,
    }


def plot_newton_vs_gd(angle_deg: float = 60.0) -> Figure:
    """Paths of Newton's method and gradient descent (left) and their errors (right)."""
    fig, (ax, ax_err) = figure(7.0, 3.4, ncols=2)

    gx, gy = np.meshgrid(np.linspace(*BOWL_XLIM, 161), np.linspace(*BOWL_YLIM, 81))
    values = np.exp(np.stack([gx, gy], axis=-1) @ BOWL_DIRECTIONS.T + BOWL_SHIFT).sum(axis=-1)
    ax.contour(gx, gy, np.log(values), levels=10, colors="#999999", linewidths=0.6)
    theta = np.linspace(0, 2 * np.pi, 200)
    ax.plot(BOWL_MINIMIZER[0] + START_SEMI_AXES[0] * np.cos(theta),
            BOWL_MINIMIZER[1] + START_SEMI_AXES[1] * np.sin(theta), ":", color="#bbbbbb", lw=1)
    # The runs start empty; update_newton_vs_gd draws them for the chosen start.
    ax.plot([], [], ".-", color=GD_COLOR, lw=1, ms=3, label="gradient descent", gid="gd")
    ax.plot([], [], "o-", color=NEWTON_COLOR, lw=1.5, ms=4, label="Newton", gid="newton")
    ax.plot([], [], "o", color=POINT_COLOR, mec="k", ms=7, gid="start")
    ax.plot(*BOWL_MINIMIZER, "*", color="k", ms=9, gid="minimizer")
    ax.set_xlim(*BOWL_XLIM)
    ax.set_ylim(*BOWL_YLIM)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="upper left", fontsize=7, framealpha=0.9)
    ax.set_title("paths (contours of log f)", fontsize=10)

    ax_err.semilogy([], [], ".-", color=GD_COLOR, ms=3, label="GD", gid="gd")
    ax_err.semilogy([], [], "o-", color=NEWTON_COLOR, ms=4, label="Newton", gid="newton")
    ax_err.set_xlim(0, RUN_STEPS)
    ax_err.set_ylim(1e-16, 1e1)
    ax_err.set_xlabel("step k")
    ax_err.set_ylabel(r"$\|x_k - x^*\|$")
    ax_err.grid(True, which="major", alpha=0.3)
    ax_err.legend(loc="upper right", fontsize=7)
    update_newton_vs_gd(fig, angle_deg)
    return fig


def update_newton_vs_gd(fig: Figure, angle_deg: float = 60.0) -> list:
    """Run both methods from the start at ``angle_deg`` and show them on a figure made by
    :func:`plot_newton_vs_gd` (in place).

    Returns:
        the artists that changed, which a live demo redraws (with the legends and the
        minimizer, which stay above the paths).
    """
    runs = bowl_runs(angle_deg)
    ax, ax_err = fig.axes
    paths = {line.get_gid(): line for line in ax.lines if line.get_gid()}
    errors = {line.get_gid(): line for line in ax_err.lines if line.get_gid()}
    paths["gd"].set_data(*runs["gd"].T)
    paths["newton"].set_data(*runs["newton"].T)
    paths["start"].set_data([runs["newton"][0][0]], [runs["newton"][0][1]])

    floor = 1e-17  # exact zeros cannot be drawn on a log scale
    for name in ("gd", "newton"):
        distances = runs[f"{name}_errors"]
        errors[name].set_data(np.arange(len(distances)), np.maximum(distances, floor))
    errors["gd"].set_label(f"GD, step 1/L = {runs['learning_rate']:.3f}")
    ax_err.get_legend().get_texts()[0].set_text(errors["gd"].get_label())
    newton_steps = int(np.argmax(runs["newton_errors"] < 1e-12)) if np.any(runs["newton_errors"] < 1e-12) else None
    reached = f"Newton: error < 1e-12 after {newton_steps} steps" if newton_steps is not None else "Newton: not converged"
    ax_err.set_title(f"{reached}\nGD: error {runs['gd_errors'][-1]:.1e} after {RUN_STEPS} steps", fontsize=9)
    return [*paths.values(), ax.get_legend(), *errors.values(), ax_err.get_legend(), ax_err.title]


def newton_vs_gd_alt(angle_deg: float = 60.0) -> str:
    """Alt text of a :func:`plot_newton_vs_gd` frame, with the step counts its titles print."""
    runs = bowl_runs(angle_deg)
    start = runs["newton"][0]
    converged = np.flatnonzero(runs["newton_errors"] < 1e-12)
    newton_text = (f"Newton's error falls below 1e-12 after {converged[0]} steps" if converged.size
                   else "Newton's method has not converged")
    return (f"Left: contour lines of a convex bowl with the paths of Newton's method (orange) and gradient descent "
            f"(green, step {runs['learning_rate']:.3f}) from the start ({start[0]:.2f}, {start[1]:.2f}), at "
            f"{angle_deg:g} degrees on an ellipse around the minimizer. Right: distance to the minimizer per step "
            f"on a log scale: {newton_text}, while gradient descent is still {runs['gd_errors'][-1]:.1e} away "
            f"after {RUN_STEPS} steps.")


def newton_vs_gd_demo():
    """One slider: the start's angle on the ellipse around the minimizer (12 frames)."""
    return interactive_demo(plot_newton_vs_gd, [
        Control("angle_deg", START_ANGLES_DEG, r"start at angle \(\varphi\) (degrees)", default=60.0),
    ], update=update_newton_vs_gd, alt=newton_vs_gd_alt)


# ---------------------------------------------------------------------------------------------
# 3. First- and second-order Taylor models along a line
# ---------------------------------------------------------------------------------------------

TAYLOR_DIRECTION = np.array([np.cos(np.radians(30.0)), np.sin(np.radians(30.0))])
TAYLOR_DISTANCE = 0.3  # the title reports the errors of both models at t = this distance
TAYLOR_T_LIMIT = 1.5
TAYLOR_POSITIONS = tuple(float(s) for s in np.linspace(-2.0, 2.0, 21))  # the point moves on a curve
TAYLOR_XLIM = (-3.0, 3.0)
TAYLOR_YLIM = (-2.0, 2.0)


def wave(x) -> float:
    """The test function f(x1, x2) = sin(x1) cos(x2) + x1^2 / 10 at one point."""
    x1, x2 = np.asarray(x, dtype=np.float64)
    return float(np.sin(x1) * np.cos(x2) + x1 ** 2 / 10)


def wave_gradient(x) -> np.ndarray:
    """Analytic gradient of :func:`wave`."""
    x1, x2 = np.asarray(x, dtype=np.float64)
    return np.array([np.cos(x1) * np.cos(x2) + x1 / 5, -np.sin(x1) * np.sin(x2)])


def wave_hessian(x) -> np.ndarray:
    """Analytic Hessian of :func:`wave`."""
    x1, x2 = np.asarray(x, dtype=np.float64)
    mixed = -np.cos(x1) * np.sin(x2)
    return np.array([[-np.sin(x1) * np.cos(x2) + 0.2, mixed], [mixed, -np.sin(x1) * np.cos(x2)]])


def taylor_point(position: float) -> np.ndarray:
    """The base point for slider value ``position``: it moves along the curve (s, sin(s) / 2)."""
    return np.array([position, 0.5 * np.sin(position)])


def taylor_models(point, t) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """f and its two Taylor models along x(t) = point + t u, u = :data:`TAYLOR_DIRECTION`.

    T1(t) = f(p) + t grad f(p) . u and T2(t) = T1(t) + t^2 u^T H(p) u / 2.

    Returns:
        (f, T1, T2) evaluated at every t (arrays of t's shape).
    """
    point = np.asarray(point, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    value = wave(point)
    slope = wave_gradient(point) @ TAYLOR_DIRECTION
    curvature = TAYLOR_DIRECTION @ wave_hessian(point) @ TAYLOR_DIRECTION
    exact = np.array([wave(point + s * TAYLOR_DIRECTION) for s in t.reshape(-1)]).reshape(t.shape)
    first = value + slope * t
    return exact, first, first + 0.5 * curvature * t ** 2


def taylor_errors(point, distance: float = TAYLOR_DISTANCE) -> tuple[float, float]:
    """|f - T1| and |f - T2| at t = distance along the direction (the numbers in the title)."""
    exact, first, second = taylor_models(point, np.array([distance]))
    return float(abs(exact[0] - first[0])), float(abs(exact[0] - second[0]))


def plot_taylor(position: float = -1.0) -> Figure:
    """The point and the line on the contour plot (left); f, T1 and T2 along the line (right)."""
    fig, (ax, ax_slice) = figure(7.0, 3.4, ncols=2)

    gx, gy = np.meshgrid(np.linspace(*TAYLOR_XLIM, 121), np.linspace(*TAYLOR_YLIM, 81))
    values = np.sin(gx) * np.cos(gy) + gx ** 2 / 10
    ax.contour(gx, gy, values, levels=np.linspace(-1.5, 1.9, 11), cmap="viridis", linewidths=0.7)
    path = np.array([taylor_point(s) for s in np.linspace(TAYLOR_POSITIONS[0], TAYLOR_POSITIONS[-1], 100)])
    ax.plot(*path.T, ":", color="#999999", lw=1)
    # What moves with the point starts empty; update_taylor sets it.
    ax.plot([], [], "-", color=FUNCTION_COLOR, lw=1.2, gid="segment")
    ax.plot([], [], "s", color="k", ms=4, gid="probe")
    ax.plot([], [], "o", color=POINT_COLOR, mec="k", ms=7, gid="point")
    ax.set_xlim(*TAYLOR_XLIM)
    ax.set_ylim(*TAYLOR_YLIM)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")

    ax_slice.plot([], [], color=FUNCTION_COLOR, lw=2, label="f(p + t u)", gid="exact")
    ax_slice.plot([], [], "--", color=FIRST_ORDER_COLOR, lw=1.5, label="first order (tangent)", gid="first")
    ax_slice.plot([], [], "-", color=SECOND_ORDER_COLOR, lw=1.5, label="second order (parabola)", gid="second")
    ax_slice.axvline(TAYLOR_DISTANCE, color="k", lw=0.6, ls=":")
    ax_slice.plot([], [], "o", color=POINT_COLOR, mec="k", ms=7, gid="point")
    ax_slice.set_xlim(-TAYLOR_T_LIMIT, TAYLOR_T_LIMIT)
    ax_slice.set_ylim(-2.5, 2.5)
    ax_slice.set_xlabel("t")
    ax_slice.legend(loc="lower left", fontsize=7, framealpha=0.9)
    update_taylor(fig, position)
    return fig


def update_taylor(fig: Figure, position: float = -1.0) -> list:
    """Move the point of a figure made by :func:`plot_taylor` to ``position`` (in place).

    Returns:
        the artists that changed, which a live demo redraws, and the legend, which stays
        above the curves.
    """
    point = taylor_point(position)
    ax, ax_slice = fig.axes
    left = {line.get_gid(): line for line in ax.lines if line.get_gid()}
    right = {line.get_gid(): line for line in ax_slice.lines if line.get_gid()}
    segment = point + np.outer([-TAYLOR_T_LIMIT, TAYLOR_T_LIMIT], TAYLOR_DIRECTION)
    probe = point + TAYLOR_DISTANCE * TAYLOR_DIRECTION
    left["segment"].set_data(*segment.T)
    left["probe"].set_data([probe[0]], [probe[1]])
    left["point"].set_data([point[0]], [point[1]])
    ax.set_title(f"p = ({point[0]:.2f}, {point[1]:.2f}), line p + t u", fontsize=10)

    t = np.linspace(-TAYLOR_T_LIMIT, TAYLOR_T_LIMIT, 121)
    exact, first, second = taylor_models(point, t)
    for name, values in (("exact", exact), ("first", first), ("second", second)):
        right[name].set_data(t, values)
    right["point"].set_data([0], [exact[len(t) // 2]])
    err1, err2 = taylor_errors(point)
    ax_slice.set_title(f"at t = {TAYLOR_DISTANCE:g}: |f − T₁| = {err1:.4f}, |f − T₂| = {err2:.4f}", fontsize=9)
    return [*left.values(), ax.title, *right.values(), ax_slice.title, ax_slice.get_legend()]


def taylor_alt(position: float = -1.0) -> str:
    """Alt text of a :func:`plot_taylor` frame, with the errors its title prints."""
    point = taylor_point(position)
    err1, err2 = taylor_errors(point)
    return (f"Left: contour lines of f with the point p = ({point[0]:.2f}, {point[1]:.2f}) and the line through "
            f"it at 30 degrees. Right: f along that line with its tangent (first-order model, dashed) and its "
            f"osculating parabola (second-order model); at t = {TAYLOR_DISTANCE:g} the tangent is off by "
            f"{err1:.4f} and the parabola by {err2:.4f}.")


def taylor_demo():
    """One slider: where the base point sits on its curve (21 frames)."""
    return interactive_demo(plot_taylor, [
        Control("position", TAYLOR_POSITIONS, r"position \(s\) of the point \(p\)", default=-1.0),
    ], update=update_taylor, alt=taylor_alt)


__all__ = [
    "plot_quadratic_form", "update_quadratic_form", "quadratic_form_demo", "quadratic_form_matrix",
    "plot_newton_vs_gd", "update_newton_vs_gd", "newton_vs_gd_demo", "bowl", "bowl_gradient", "bowl_hessian", "bowl_runs",
    "start_point", "safe_learning_rate",
    "plot_taylor", "update_taylor", "taylor_demo", "taylor_models", "taylor_errors", "taylor_point",
    "wave", "wave_gradient", "wave_hessian",
]
