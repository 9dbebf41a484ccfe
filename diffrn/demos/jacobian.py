"""Demos of Chapter 1, The Jacobian.

* :func:`plot_polar_zoom` / :func:`polar_zoom_demo`: a small grid around a base point, pushed
  through the polar map and through its Jacobian linearization. Zooming in makes the two
  images indistinguishable, which is what differentiability means.
* :func:`plot_directional_derivative` / :func:`directional_derivative_demo`: the slope of a
  surface along a unit direction at angle phi, a sinusoid bounded by the gradient's norm.

The small numeric helpers (:func:`linearization_gap`, :func:`directional_slope`) are the ones
the figure titles print; the tests check them against :mod:`diffrn.numerical`.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from diffrn.demos.core import Control, figure, interactive_demo

NONLINEAR_COLOR = "#7b3294"  # purple: the map itself
LINEAR_COLOR = "#1b9e77"  # green: its Jacobian linearization
POINT_COLOR = "#e6ab02"  # yellow: the base point
GRID_COLOR = "#bbbbbb"

# ---------------------------------------------------------------------------------------------
# The polar map and the zoom demo
# ---------------------------------------------------------------------------------------------

ZOOM_BASE_HALF_WIDTH = 0.6  # half-width (in r and in theta) of the grid at zoom 1
ZOOM_VALUES = (1, 2, 4, 8, 16, 32)
BASE_ANGLES_DEG = (0, 45, 90, 135, 180)
ZOOM_RADIUS = 1.5
# Limits of the zoomed panel, in units of the grid half-width. At zoom 1 the curved image
# reaches about 2.4 half-widths from the base point for r0 = 1.5, so this fits every frame.
_RELATIVE_LIMIT = 2.7
_OVERVIEW_LIMIT = 2.7


def polar_map(point) -> np.ndarray:
    """The polar map F(r, theta) = (r cos theta, r sin theta).

    Args:
        point: array whose last axis holds (r, theta); any leading shape is kept.

    Returns:
        Array of the same shape holding (x, y).
    """
    point = np.asarray(point, dtype=np.float64)
    r, theta = point[..., 0], point[..., 1]
    return np.stack([r * np.cos(theta), r * np.sin(theta)], axis=-1)


def polar_jacobian(point) -> np.ndarray:
    """Analytic Jacobian of :func:`polar_map` at one point (r, theta): a 2 x 2 array.

    Column 0 is d/dr = (cos, sin), the radial unit vector; column 1 is d/dtheta =
    r (-sin, cos), tangent to the circle and r times longer.
    """
    r, theta = np.asarray(point, dtype=np.float64).reshape(2)
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -r * s], [s, r * c]])


def linearization_gap(r0: float, theta0: float, half_width: float, samples: int = 21) -> float:
    """Worst gap between the polar map and its linearization on a grid, relative to its size.

    The grid is the square [r0 - w, r0 + w] x [theta0 - w, theta0 + w] with w = half_width.
    The result is max ||F(p) - F(p0) - J(p0)(p - p0)|| / w over the grid: the quantity whose
    limit 0 as w -> 0 defines differentiability (for the polar map it shrinks like w).

    Args:
        r0, theta0: base point (theta in radians).
        half_width: half-width w > 0 of the grid.
        samples: grid points per side.

    Returns:
        The relative gap, a float.
    """
    if half_width <= 0:
        raise ValueError(f"half_width must be positive, got {half_width}")
    base = np.array([r0, theta0], dtype=np.float64)
    offsets = np.linspace(-half_width, half_width, samples)
    steps = np.stack(np.meshgrid(offsets, offsets, indexing="ij"), axis=-1).reshape(-1, 2)
    exact = polar_map(base + steps) - polar_map(base)
    linear = steps @ polar_jacobian(base).T
    return float(np.max(np.linalg.norm(exact - linear, axis=-1)) / half_width)


def _grid_lines(half_width: float, lines: int = 5, resolution: int = 40):
    """Offsets (dr, dtheta) tracing a square grid: a list of (resolution, 2) polylines."""
    ticks = np.linspace(-half_width, half_width, lines)
    fine = np.linspace(-half_width, half_width, resolution)
    polylines = []
    for t in ticks:
        polylines.append(np.stack([np.full_like(fine, t), fine], axis=-1))  # r fixed, theta varies
        polylines.append(np.stack([fine, np.full_like(fine, t)], axis=-1))  # theta fixed, r varies
    return polylines


def _square_outline(half_width: float, resolution: int = 40) -> np.ndarray:
    """Offsets tracing the boundary of the square [-w, w]^2 once, counter-clockwise."""
    fine = np.linspace(-half_width, half_width, resolution)
    low, high = np.full_like(fine, -half_width), np.full_like(fine, half_width)
    return np.concatenate([
        np.stack([fine, low], axis=-1),
        np.stack([high, fine], axis=-1),
        np.stack([fine[::-1], high], axis=-1),
        np.stack([low, fine[::-1]], axis=-1),
    ])


def plot_polar_zoom(theta0_deg: float = 45.0, zoom: float = 1.0, r0: float = ZOOM_RADIUS) -> Figure:
    """Image of a small grid around (r0, theta0) under the polar map and under its linearization.

    Left: the two images in coordinates centred at F(p0) and scaled by the grid half-width w,
    so the axes follow the grid as it shrinks (fixed limits in these units). Right: where the
    patch sits in the plane.

    Args:
        theta0_deg: angle of the base point, in degrees.
        zoom: magnification; the grid half-width is ZOOM_BASE_HALF_WIDTH / zoom.
        r0: radius of the base point.

    Returns:
        The figure.
    """
    if zoom <= 0:
        raise ValueError(f"zoom must be positive, got {zoom}")
    fig, (ax_zoom, ax_plane) = figure(7.0, 3.4, ncols=2)

    # The grid's images start empty; update_polar_zoom draws them for (theta0, zoom).
    for k in range(len(_grid_lines(ZOOM_BASE_HALF_WIDTH))):
        ax_zoom.plot([], [], color=NONLINEAR_COLOR, lw=1.3, label="map $F$" if k == 0 else None, gid=f"exact {k}")
        ax_zoom.plot([], [], color=LINEAR_COLOR, lw=1.3, ls="--", label="linearization" if k == 0 else None,
                     gid=f"linear {k}")
    ax_zoom.plot(0, 0, "o", color=POINT_COLOR, mec="black", ms=7, zorder=5)
    ax_zoom.set_xlim(-_RELATIVE_LIMIT, _RELATIVE_LIMIT)
    ax_zoom.set_ylim(-_RELATIVE_LIMIT, _RELATIVE_LIMIT)
    ax_zoom.set_aspect("equal")
    ax_zoom.set_xlabel(r"$(x - x_0)\,/\,w$")
    ax_zoom.set_ylabel(r"$(y - y_0)\,/\,w$")

    # The polar coordinate net for orientation, then the patch and the base point.
    angles = np.linspace(0, 2 * np.pi, 200)
    # (A sparse net: every antialiased curve here is repeated in all 30 frames of the page.)
    for radius in (1.0, 2.0):
        ax_plane.plot(radius * np.cos(angles), radius * np.sin(angles), color=GRID_COLOR, lw=0.6)
    for ray in np.deg2rad(np.arange(0, 360, 90)):
        ax_plane.plot([0, 2.5 * np.cos(ray)], [0, 2.5 * np.sin(ray)], color=GRID_COLOR, lw=0.6)
    ax_plane.fill([0, 0, 0], [0, 0, 0], color=NONLINEAR_COLOR, alpha=0.45, lw=1, gid="patch")
    ax_plane.plot([], [], "o", color=POINT_COLOR, mec="black", ms=6, zorder=5, gid="center")
    ax_plane.set_xlim(-_OVERVIEW_LIMIT, _OVERVIEW_LIMIT)
    ax_plane.set_ylim(-_OVERVIEW_LIMIT, _OVERVIEW_LIMIT)
    ax_plane.set_aspect("equal")
    ax_plane.set_xlabel("$x$")
    ax_plane.set_ylabel("$y$")
    ax_zoom.legend(loc="lower left", fontsize=8, framealpha=0.9)
    update_polar_zoom(fig, theta0_deg, zoom, r0)
    return fig


def update_polar_zoom(fig: Figure, theta0_deg: float = 45.0, zoom: float = 1.0, r0: float = ZOOM_RADIUS) -> list:
    """Show the grid around (r0, theta0) at this zoom on a figure made by :func:`plot_polar_zoom`
    (in place). Returns the artists that changed, with what the figure draws over them."""
    theta0 = np.deg2rad(theta0_deg)
    base = np.array([r0, theta0])
    half_width = ZOOM_BASE_HALF_WIDTH / zoom
    center = polar_map(base)
    jac = polar_jacobian(base)
    gap = linearization_gap(r0, theta0, half_width)
    ax_zoom, ax_plane = fig.axes
    images = {line.get_gid(): line for line in ax_zoom.lines if line.get_gid()}
    for k, offsets in enumerate(_grid_lines(half_width)):
        images[f"exact {k}"].set_data(*((polar_map(base + offsets) - center) / half_width).T)
        images[f"linear {k}"].set_data(*(offsets @ jac.T / half_width).T)
    ax_zoom.set_title(f"half-width $w$ = {half_width:.3g}:  max gap / $w$ = {gap:.3f}", fontsize=10)

    (patch,) = [p for p in ax_plane.patches if p.get_gid() == "patch"]
    patch.set_xy(polar_map(base + _square_outline(half_width)))
    (point,) = [line for line in ax_plane.lines if line.get_gid() == "center"]
    point.set_data([center[0]], [center[1]])
    ax_plane.set_title(rf"patch around $r_0$ = {r0:g}, $\theta_0$ = {theta0_deg:g}°", fontsize=10)
    # The base points, the polar net (drawn over the patch) and the legend stay on top.
    return [*ax_zoom.lines, ax_zoom.title, ax_zoom.get_legend(), patch, *ax_plane.lines, ax_plane.title]


def polar_zoom_alt(theta0_deg: float = 45.0, zoom: float = 1.0, r0: float = ZOOM_RADIUS) -> str:
    """Alt text of a :func:`plot_polar_zoom` frame: what it shows and the numbers in its titles."""
    half_width = ZOOM_BASE_HALF_WIDTH / zoom
    gap = linearization_gap(r0, np.deg2rad(theta0_deg), half_width)
    if gap < 0.06:
        look = "the curved image and the straight grid of the linearization nearly coincide"
    elif gap < 0.3:
        look = "the image of the grid bends slightly away from the straight linearization"
    else:
        look = "the image of the grid is clearly curved and far from the straight linearization"
    return (f"Left: a square grid of half-width {half_width:.3g} around r = {r0:g}, theta = {theta0_deg:g} degrees, "
            f"mapped by the polar map (purple) and by its Jacobian linearization (green dashed), rescaled by the "
            f"half-width; {look}, largest gap divided by the half-width {gap:.3f}. Right: the small patch on the "
            f"circle of radius {r0:g} in the x-y plane.")


def polar_zoom_demo():
    """Zoom demo of the polar map: base angle x zoom, 5 x 6 = 30 frames."""
    return interactive_demo(
        plot_polar_zoom,
        [
            Control("theta0_deg", list(BASE_ANGLES_DEG), r"base angle \(\theta_0\) (degrees)", default=45),
            Control("zoom", list(ZOOM_VALUES), "zoom", default=1),
        ],
        update=update_polar_zoom,
        alt=polar_zoom_alt,
    )


# ---------------------------------------------------------------------------------------------
# Directional derivatives
# ---------------------------------------------------------------------------------------------

SLOPE_POINT = (0.2, -0.8)
DIRECTION_ANGLES_DEG = tuple(range(0, 360, 15))  # 24 directions
_SURFACE_LIMIT = 2.0


def hill(point) -> np.ndarray:
    """The demo surface f(x, y) = 0.3 x^2 + 0.15 y^2 + 1.2 exp(-((x - 0.6)^2 + (y - 0.2)^2)).

    A bowl with a bump on its side, so that the gradient at the demo point is tilted and
    not aligned with an axis.

    Args:
        point: array whose last axis holds (x, y).

    Returns:
        f at every point (the last axis is consumed).
    """
    point = np.asarray(point, dtype=np.float64)
    x, y = point[..., 0], point[..., 1]
    bump = np.exp(-((x - 0.6) ** 2 + (y - 0.2) ** 2))
    return 0.3 * x**2 + 0.15 * y**2 + 1.2 * bump


def hill_gradient(point) -> np.ndarray:
    """Analytic gradient of :func:`hill` at one point (x, y): a length-2 array."""
    x, y = np.asarray(point, dtype=np.float64).reshape(2)
    bump = np.exp(-((x - 0.6) ** 2 + (y - 0.2) ** 2))
    return np.array([0.6 * x - 2.4 * (x - 0.6) * bump, 0.3 * y - 2.4 * (y - 0.2) * bump])


def unit_direction(phi_deg: float) -> np.ndarray:
    """The unit vector (cos phi, sin phi) for an angle in degrees."""
    phi = np.deg2rad(phi_deg)
    return np.array([np.cos(phi), np.sin(phi)])


def directional_slope(phi_deg: float, point=SLOPE_POINT) -> tuple[float, float]:
    """Slope of :func:`hill` at ``point`` along the unit direction at angle ``phi_deg``.

    Returns:
        (D_u f, ||grad f||): the directional derivative grad f . u and the largest value it
        can take over all unit directions u.
    """
    grad = hill_gradient(point)
    return float(grad @ unit_direction(phi_deg)), float(np.linalg.norm(grad))


def plot_directional_derivative(phi_deg: float = 0.0, point=SLOPE_POINT) -> Figure:
    """Contours of :func:`hill` with a unit direction u, and D_u f as a function of its angle.

    Args:
        phi_deg: angle of u in degrees.
        point: where the slope is taken.

    Returns:
        The figure.
    """
    point = np.asarray(point, dtype=np.float64)
    grad = hill_gradient(point)
    grad_norm = float(np.linalg.norm(grad))
    grad_angle = np.rad2deg(np.arctan2(grad[1], grad[0])) % 360

    fig, (ax_map, ax_curve) = figure(7.0, 3.4, ncols=2)

    axis = np.linspace(-_SURFACE_LIMIT, _SURFACE_LIMIT, 160)
    xx, yy = np.meshgrid(axis, axis)
    values = hill(np.stack([xx, yy], axis=-1))
    # Filled bands rather than contour lines: flat colours keep each frame's PNG small.
    ax_map.contourf(xx, yy, values, levels=10, cmap="Blues", alpha=0.85)
    # The tangent of the level set through the point: the directions where D_u f = 0.
    tangent = np.array([-grad[1], grad[0]]) / grad_norm
    ax_map.plot(*np.stack([point - 1.2 * tangent, point + 1.2 * tangent]).T, color="0.45", lw=1, ls=":")
    ax_map.annotate("", xy=point + 0.8 * grad / grad_norm, xytext=point,
                    arrowprops=dict(arrowstyle="-|>", color="0.3", lw=1.2))
    # The direction u, its label and the point on the curve are set by update_directional_derivative.
    ax_map.annotate("", xy=point + (0.9, 0), xytext=point,
                    arrowprops=dict(arrowstyle="-|>", color=NONLINEAR_COLOR, lw=2.2), gid="u")
    ax_map.text(*(point + 0.8 * grad / grad_norm + np.array([0.05, 0.08])), r"$\nabla f$", color="0.3", fontsize=10)
    ax_map.text(*point, "$u$", color=NONLINEAR_COLOR, fontsize=11, ha="center", va="center", gid="u label")
    ax_map.plot(*point, "o", color=POINT_COLOR, mec="black", ms=7, zorder=5)
    ax_map.set_xlim(-_SURFACE_LIMIT, _SURFACE_LIMIT)
    ax_map.set_ylim(-_SURFACE_LIMIT, _SURFACE_LIMIT)
    ax_map.set_aspect("equal")
    ax_map.set_xlabel("$x$")
    ax_map.set_ylabel("$y$")

    angles = np.linspace(0, 360, 361)
    slopes = np.array([grad @ unit_direction(a) for a in angles])
    ax_curve.axhline(grad_norm, color="0.4", ls="--", lw=1)
    ax_curve.axhline(-grad_norm, color="0.4", ls="--", lw=1)
    ax_curve.axhline(0, color="0.8", lw=0.8)
    ax_curve.text(4, grad_norm * 1.04, r"$+\|\nabla f\|$", fontsize=9, color="0.3", va="bottom")
    ax_curve.text(4, -grad_norm * 1.04, r"$-\|\nabla f\|$", fontsize=9, color="0.3", va="top")
    ax_curve.axvline(grad_angle, color="0.7", lw=0.8, ls=":")
    ax_curve.plot(angles, slopes, color=LINEAR_COLOR, lw=1.8)
    ax_curve.plot([], [], "o", color=NONLINEAR_COLOR, mec="black", ms=8, zorder=5, gid="slope")
    ax_curve.set_xlim(0, 360)
    ax_curve.set_xticks(range(0, 361, 90))
    ax_curve.set_ylim(-1.35 * grad_norm, 1.35 * grad_norm)
    ax_curve.set_xlabel(r"direction angle $\varphi$ (degrees)")
    ax_curve.set_ylabel(r"$D_u f = \nabla f \cdot u$")
    ax_curve.set_title(rf"$\|\nabla f\|$ = {grad_norm:.3f}, steepest at {grad_angle:.0f}°", fontsize=10)
    update_directional_derivative(fig, phi_deg, point)
    return fig


def update_directional_derivative(fig: Figure, phi_deg: float = 0.0, point=SLOPE_POINT) -> list:
    """Turn the direction u of a figure made by :func:`plot_directional_derivative` (with the
    same point) to the angle ``phi_deg`` (in place). Returns the artists that changed."""
    point = np.asarray(point, dtype=np.float64)
    slope, _ = directional_slope(phi_deg, point)
    u = unit_direction(phi_deg)
    ax_map, ax_curve = fig.axes
    on_map = {a.get_gid(): a for a in [*ax_map.texts, *ax_map.lines] if a.get_gid()}
    on_map["u"].xy = tuple(point + 0.9 * u)
    on_map["u label"].set_position(point + 1.05 * u)
    ax_map.set_title(rf"$\varphi$ = {phi_deg:g}°:  $D_u f$ = {slope:+.3f}", fontsize=10)
    (marker,) = [line for line in ax_curve.lines if line.get_gid() == "slope"]
    marker.set_data([phi_deg], [slope])
    # The point of the map (zorder 5) stays above the arrow.
    return [on_map["u"], on_map["u label"], *ax_map.lines, ax_map.title, marker]


def directional_derivative_alt(phi_deg: float = 0.0, point=SLOPE_POINT) -> str:
    """Alt text of a :func:`plot_directional_derivative` frame, with the numbers of its titles."""
    point = np.asarray(point, dtype=np.float64)
    slope, grad_norm = directional_slope(phi_deg, point)
    grad = hill_gradient(point)
    grad_angle = np.rad2deg(np.arctan2(grad[1], grad[0])) % 360
    if abs(slope) > 0.97 * grad_norm:
        trend = "steepest ascent, along the gradient" if slope > 0 else "steepest descent, against the gradient"
    elif abs(slope) < 0.15 * grad_norm:
        trend = "nearly flat, along the level curve"
    else:
        trend = "uphill" if slope > 0 else "downhill"
    return (f"Left: filled contours of a hill with a unit arrow u at angle {phi_deg:g} degrees from the point "
            f"({point[0]:g}, {point[1]:g}), next to the gradient arrow at {grad_angle:.0f} degrees. Right: the slope "
            f"D_u f as a function of the angle, a sinusoid between plus and minus the gradient norm "
            f"{grad_norm:.3f}, with a marker at this direction: D_u f = {slope:+.3f}, {trend}.")


def directional_derivative_demo():
    """Directional-derivative demo: 24 directions, 15 degrees apart."""
    return interactive_demo(
        plot_directional_derivative,
        [Control("phi_deg", list(DIRECTION_ANGLES_DEG), r"direction \(\varphi\) (degrees)", default=0)],
        update=update_directional_derivative,
        alt=directional_derivative_alt,
    )


__all__ = [
    "polar_map",
    "polar_jacobian",
    "linearization_gap",
    "plot_polar_zoom",
    "update_polar_zoom",
    "polar_zoom_alt",
    "polar_zoom_demo",
    "hill",
    "hill_gradient",
    "unit_direction",
    "directional_slope",
    "plot_directional_derivative",
    "update_directional_derivative",
    "directional_derivative_alt",
    "directional_derivative_demo",
]
