"""Demos of Chapter 5: |det J| as a volume scale, pushed-forward densities, a coupling layer in the plane."""
from __future__ import annotations

import numpy as np

from diffrn.demos.core import Control, figure, interactive_demo, set_suptitle
from diffrn.flows import standard_normal_log_density

# --- 1. a small square carried by z -> z^2 ------------------------------------------------------

SQUARE_V0 = 0.5
SQUARE_POSITIONS = (0.0, 0.3, 0.6, 0.9, 1.2, 1.5)
SQUARE_SIZES = (0.8, 0.4, 0.2, 0.1, 0.05)


def square_map(points):
    """The complex square ``(u, v) -> (u^2 - v^2, 2uv)`` on an (..., 2) array of points."""
    points = np.asarray(points, dtype=np.float64)
    u, v = points[..., 0], points[..., 1]
    return np.stack([u * u - v * v, 2 * u * v], axis=-1)


def square_map_jacobian(point):
    """Jacobian of :func:`square_map`: ``[[2u, -2v], [2v, 2u]]``, with det ``4(u^2 + v^2)``."""
    u, v = point
    return np.array([[2 * u, -2 * v], [2 * v, 2 * u]])


def square_boundary(center, size, points_per_side: int = 200):
    """Counter-clockwise boundary of the axis-aligned square with this center and side."""
    h = size / 2
    s = np.linspace(-h, h, points_per_side, endpoint=False)
    sides = [
        np.column_stack([s, -h + 0 * s]),
        np.column_stack([h + 0 * s, s]),
        np.column_stack([-s, h + 0 * s]),
        np.column_stack([-h + 0 * s, -s]),
    ]
    return np.asarray(center, dtype=np.float64) + np.concatenate(sides)


def signed_area(polygon) -> float:
    """Shoelace formula: positive for a counter-clockwise closed polygon, negative if clockwise."""
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def square_image_areas(position: float, size: float) -> tuple[float, float]:
    """Area of the image of the square (shoelace on its mapped boundary) and ``|det J(center)| size^2``."""
    center = np.array([position, SQUARE_V0])
    image = signed_area(square_map(square_boundary(center, size)))
    linear = abs(np.linalg.det(square_map_jacobian(center))) * size**2
    return image, linear


def plot_square_image(position: float = 0.5, size: float = 0.4):
    """Image of a small square under z -> z^2 beside its linear prediction |det J| * area."""
    fig, (ax_plane, ax_zoom, ax_error) = figure(7.0, 3.4, ncols=3)
    # Faint images of grid lines show how the map bends the plane.
    for v in np.linspace(0.1, 0.9, 5):
        line = square_map(np.column_stack([np.linspace(-2, 2, 100), np.full(100, v)]))
        ax_plane.plot(line[:, 0], line[:, 1], color="0.85", lw=0.7)
    # What depends on the square starts as a placeholder; update_square_image sets it.
    placeholder = np.zeros((3, 2))
    ax_plane.fill(*placeholder.T, color="C0", alpha=0.8, label="image", gid="image")
    ax_plane.plot([], [], color="k", lw=1, label="square", gid="square")
    ax_plane.plot([], [], "C3--", lw=1, gid="parallelogram")
    ax_plane.set(xlim=(-1.5, 4.0), ylim=(-3.5, 3.5), aspect="equal", title="plane, $f(z)=z^2$")
    ax_plane.legend(loc="lower right", fontsize=7)

    # Blown up by 1/size around f(center): the image tends to the parallelogram J * square.
    ax_zoom.fill(*placeholder.T, color="C0", alpha=0.8, gid="image")
    ax_zoom.plot([], [], "C3--", lw=1.2, label="$J$ · square", gid="parallelogram")
    ax_zoom.set(xlim=(-3.2, 3.2), ylim=(-3.2, 3.2), aspect="equal", title="image blown up by 1/size")
    ax_zoom.legend(loc="lower right", fontsize=7)

    ax_error.loglog([], [], "o-", color="C0", ms=3, gid="errors")
    ax_error.loglog([], [], "o", color="C3", ms=7, gid="chosen")
    ax_error.set(xlim=(0.03, 1.2), ylim=(1e-5, 2.0), xlabel="size $h$", title="relative error")
    ax_error.grid(True, which="major", lw=0.3)
    update_square_image(fig, position, size)
    return fig


def update_square_image(fig, position: float = 0.5, size: float = 0.4) -> list:
    """Show the square at ``position`` with side ``size`` on a figure made by
    :func:`plot_square_image` (in place). Returns the artists that changed, with the legends
    and the frames of the axes, which stay above them."""
    center = np.array([position, SQUARE_V0])
    jac = square_map_jacobian(center)
    boundary = square_boundary(center, size)
    image = square_map(boundary)
    corners = center + size / 2 * np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]])
    parallelogram = square_map(center) + (corners - center) @ jac.T
    area, linear = square_image_areas(position, size)
    ax_plane, ax_zoom, ax_error = fig.axes
    plane, zoom, error = (_by_gid(ax) for ax in fig.axes)

    plane["image"].set_xy(image)
    plane["square"].set_data(*boundary.T)
    plane["parallelogram"].set_data(*parallelogram.T)
    zoom["image"].set_xy((image - square_map(center)) / size)
    zoom["parallelogram"].set_data(*((parallelogram - square_map(center)) / size).T)
    sizes = np.array(SQUARE_SIZES)
    errors = [abs(a - b) / a for a, b in (square_image_areas(position, s) for s in sizes)]
    error["errors"].set_data(sizes, errors)
    error["chosen"].set_data([size], [abs(area - linear) / area])
    suptitle = set_suptitle(
        fig, f"image area {area:.4g}   |det J(center)|·h² = {linear:.4g}   ratio {area / linear:.4f}", fontsize=9
    )
    # The faint grid lines, the legends and the frames are drawn over the image in the figure.
    return [*plane.values(), *ax_plane.lines, *zoom.values(), *error.values(), ax_plane.get_legend(),
            ax_zoom.get_legend(), *ax_plane.spines.values(), *ax_zoom.spines.values(), suptitle]


def _by_gid(ax) -> dict:
    """The artists of ``ax`` that have a gid, by gid."""
    return {artist.get_gid(): artist for artist in ax.get_children() if artist.get_gid()}


def square_image_alt(position: float = 0.5, size: float = 0.4) -> str:
    """Alt text of a :func:`plot_square_image` frame, with the areas its title prints."""
    area, linear = square_image_areas(position, size)
    return (f"Left: a square of side {size:g} centred at ({position:g}, {SQUARE_V0:g}) and its curved image under "
            f"z squared, with the parallelogram made by the Jacobian at the centre. Middle: both blown up by "
            f"1/{size:g}. Right: relative error of the determinant estimate against the side, on log scales. "
            f"Image area {area:.4g}, |det J| times side squared {linear:.4g}, ratio {area / linear:.4f}.")


def square_image_demo():
    return interactive_demo(
        plot_square_image,
        [
            Control("position", SQUARE_POSITIONS, r"center \(u_0\) (with \(v_0 = 0.5\))"),
            Control("size", SQUARE_SIZES, r"side \(h\)", default=0.4),
        ],
        update=update_square_image,
        alt=square_image_alt,
    )


# --- 2. a density pushed through y = tanh(a z) ----------------------------------------------

PUSH_GAINS = tuple(np.round(np.linspace(0.25, 3.0, 12), 2))
PUSH_SAMPLES = np.random.default_rng(20260501).normal(size=20_000)
PUSH_PROBE = 0.5


def tanh_pushforward_density(y, gain: float):
    """Density of ``Y = tanh(a Z)``, Z ~ N(0, 1): ``p_Z(z) |dz/dy|`` with ``z = artanh(y)/a``."""
    y = np.asarray(y, dtype=np.float64)
    z = np.arctanh(y) / gain
    return np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi) / (gain * (1 - y * y))


def plot_pushforward(gain: float = 1.0):
    """Histogram of tanh(a Z) against the change-of-variables density."""
    z_grid = np.linspace(-3.5, 3.5, 300)
    fig, (ax_map, ax_density) = figure(7.0, 3.4, ncols=2)
    # What depends on the gain starts empty; update_pushforward sets it.
    ax_map.plot(z_grid, 0 * z_grid, color="C0", gid="map")
    ax_map.fill_between(z_grid, -1.05, -1.05 + np.exp(-z_grid**2 / 2), color="0.85", label="$p_Z$")
    ax_map.plot([], [], "C3:", lw=1, gid="probe")
    ax_map.set(xlim=(-3.5, 3.5), ylim=(-1.1, 1.1), xlabel="$z$", ylabel=r"$y=\tanh(az)$")
    ax_map.legend(loc="upper left", fontsize=7)

    bins = np.linspace(-1, 1, 41)
    ax_density.hist(bins[:-1], bins=bins, weights=0 * bins[:-1], color="0.75", label="samples")
    ax_density.plot([], [], color="C0", label="formula", gid="density")
    ax_density.plot([], [], "o", color="C3", ms=5, gid="probe")
    ax_density.set(xlim=(-1, 1), ylim=(0, 3.0), xlabel="$y$", ylabel="$p_Y(y)$")
    ax_density.legend(loc="upper center", fontsize=7)
    update_pushforward(fig, gain)
    return fig


def update_pushforward(fig, gain: float = 1.0) -> list:
    """Show the gain ``gain`` on a figure made by :func:`plot_pushforward` (in place).
    Returns the artists that changed, with the legends, which stay above them."""
    z_grid = np.linspace(-3.5, 3.5, 300)
    y_grid = np.linspace(-0.999, 0.999, 600)
    z_probe = np.arctanh(PUSH_PROBE) / gain
    factor = 1 / (gain * (1 - PUSH_PROBE**2))
    p_probe = tanh_pushforward_density(PUSH_PROBE, gain)
    ax_map, ax_density = fig.axes
    on_map, on_density = _by_gid(ax_map), _by_gid(ax_density)

    on_map["map"].set_ydata(np.tanh(gain * z_grid))
    on_map["probe"].set_data([z_probe, z_probe, -3.5], [-1.05, PUSH_PROBE, PUSH_PROBE])
    heights, _ = np.histogram(np.tanh(gain * PUSH_SAMPLES), bins=np.linspace(-1, 1, 41), density=True)
    for bar, height in zip(ax_density.patches, heights):
        bar.set_height(height)
    on_density["density"].set_data(y_grid, tanh_pushforward_density(y_grid, gain))
    on_density["probe"].set_data([PUSH_PROBE], [p_probe])
    suptitle = set_suptitle(
        fig,
        f"$a$ = {gain:.2f}:  $p_Y$({PUSH_PROBE}) = $p_Z$({z_probe:.3f}) · |dz/dy| "
        f"= {p_probe / factor:.3f} · {factor:.3f} = {p_probe:.3f}",
        fontsize=9,
    )
    # The legends stay in the background: nothing that moves reaches their corners.
    return [*on_map.values(), *ax_density.patches, *on_density.values(), *ax_density.spines.values(), suptitle]


def pushforward_alt(gain: float = 1.0) -> str:
    """Alt text of a :func:`plot_pushforward` frame, with the density its title prints."""
    p_probe = tanh_pushforward_density(PUSH_PROBE, gain)
    y_grid = np.linspace(0.0, 0.999, 400)
    peak = y_grid[np.argmax(tanh_pushforward_density(y_grid, gain))]
    shape = f"two peaks near plus and minus {peak:.2f}" if peak > 0.05 else "a single peak at 0"
    return (f"Left: the curve y = tanh({gain:.2f} z) over the standard normal density of z. Right: a histogram of "
            f"samples of y with the change-of-variables density drawn over it, {shape}; at y = {PUSH_PROBE} "
            f"the density is {p_probe:.3f}.")


def pushforward_demo():
    return interactive_demo(plot_pushforward, [Control("gain", PUSH_GAINS, r"gain \(a\)", default=1.0, fmt="{:.2f}")],
                            update=update_pushforward, alt=pushforward_alt)


# --- 3. an affine coupling layer acting on a Gaussian ------------------------------------------

COUPLING_SCALES = tuple(np.round(np.linspace(-1.0, 1.5, 6), 2))
COUPLING_SHIFTS = tuple(np.round(np.linspace(-0.5, 0.5, 5), 2))
COUPLING_SAMPLES = np.random.default_rng(7).normal(size=(400, 2))
COUPLING_PROBE = np.array([1.0, 0.5])


def coupling_2d(points, scale: float, shift: float):
    """The demo's layer on the plane: ``(x1, x2) -> (x1, x2 exp(s tanh x1) + t (x1^2 - 1))``.

    Works on one point (2,) or rows (N, 2). Returns ``(y, log|det J|)``; the Jacobian is
    ``[[1, 0], [dy2/dx1, exp(s tanh x1)]]``, lower triangular, so ``log|det J| = s tanh x1``.
    """
    points = np.asarray(points, dtype=np.float64)
    x1, x2 = points[..., 0], points[..., 1]
    log_scale = scale * np.tanh(x1)
    return np.stack([x1, x2 * np.exp(log_scale) + shift * (x1**2 - 1)], axis=-1), log_scale


def coupling_2d_preimage(points, scale: float, shift: float):
    """The point x with ``coupling_2d(x)[0] == y``: ``x1 = y1``, so s and t are known and the
    affine map of the second coordinate is undone, ``x2 = (y2 - t (y1^2 - 1)) exp(-s tanh y1)``."""
    points = np.asarray(points, dtype=np.float64)
    y1, y2 = points[..., 0], points[..., 1]
    return np.stack([y1, (y2 - shift * (y1**2 - 1)) * np.exp(-scale * np.tanh(y1))], axis=-1)


def plot_coupling(scale: float = 0.5, shift: float = 0.0):
    """Samples of N(0, I) before and after a coupling layer, coloured by log|det J|."""
    fig, (ax_in, ax_out) = figure(7.0, 3.4, ncols=2)
    # What depends on the layer starts at a placeholder; update_coupling sets it.
    style = dict(s=4, cmap="coolwarm", vmin=-1.5, vmax=1.5, linewidths=0, antialiased=False)  # small PNGs
    ax_in.scatter(COUPLING_SAMPLES[:, 0], COUPLING_SAMPLES[:, 1], c=0 * COUPLING_SAMPLES[:, 0], gid="samples", **style)
    ax_in.plot(*COUPLING_PROBE, "k*", ms=9)
    ax_in.set(xlim=(-4, 4), ylim=(-4, 4), aspect="equal", title="$x \\sim N(0, I)$", xlabel="$x_1$", ylabel="$x_2$")
    points_out = ax_out.scatter(*COUPLING_SAMPLES.T, c=0 * COUPLING_SAMPLES[:, 0], gid="samples", **style)
    ax_out.plot([], [], "k*", ms=9, gid="probe")
    ax_out.set(xlim=(-4, 4), ylim=(-4, 4), aspect="equal", title="$y$ = coupling($x$)", xlabel="$y_1$")
    fig.colorbar(points_out, ax=ax_out, label=r"$\log|\det J|$", shrink=0.8)
    update_coupling(fig, scale, shift)
    return fig


def update_coupling(fig, scale: float = 0.5, shift: float = 0.0) -> list:
    """Show the layer (scale, shift) on a figure made by :func:`plot_coupling` (in place; the
    density's level sets are made anew). Returns the artists that changed."""
    y, log_dets = coupling_2d(COUPLING_SAMPLES, scale, shift)
    probe_y, probe_log_det = coupling_2d(COUPLING_PROBE, scale, shift)

    # Density of the output: p_Y(y) = p_X(x) / |det J(x)| at x = inverse(y).
    grid = np.linspace(-4, 4, 161)
    gx, gy = np.meshgrid(grid, grid)
    points = np.column_stack([gx.ravel(), gy.ravel()])
    x_back = coupling_2d_preimage(points, scale, shift)
    log_p_y = standard_normal_log_density(x_back) - coupling_2d(x_back, scale, shift)[1]

    ax_in, ax_out = fig.axes[:2]
    samples_in, samples_out = _by_gid(ax_in)["samples"], _by_gid(ax_out)["samples"]
    samples_in.set_array(log_dets)
    samples_out.set_offsets(y)
    samples_out.set_array(log_dets)
    for level_set in ax_out.collections[1:]:
        level_set.remove()
    levels = ax_out.contour(gx, gy, np.exp(log_p_y.reshape(gx.shape)), levels=[0.01, 0.05, 0.1], colors="k", linewidths=0.6)
    probe = _by_gid(ax_out)["probe"]
    probe.set_data([probe_y[0]], [probe_y[1]])
    suptitle = set_suptitle(
        fig, f"log|det J| at ★ = s·tanh(1) = {probe_log_det:.3f}   mean over samples = {log_dets.mean():.3f}", fontsize=9
    )
    # The star on the left stays above the samples.
    return [samples_in, *ax_in.lines, samples_out, levels, probe, suptitle]


def coupling_alt(scale: float = 0.5, shift: float = 0.0) -> str:
    """Alt text of a :func:`plot_coupling` frame, with the log-determinants its title prints."""
    _, log_dets = coupling_2d(COUPLING_SAMPLES, scale, shift)
    _, probe_log_det = coupling_2d(COUPLING_PROBE, scale, shift)
    return (f"Left: samples of a standard Gaussian in the plane, coloured by the layer's log-determinant. Right: "
            f"the same samples after the affine coupling layer with scale {scale:.2f} times tanh x1 and shift "
            f"{shift:.2f} times (x1 squared minus 1), with level curves of the output density; log|det J| is "
            f"{float(np.ravel(probe_log_det)[0]):.3f} at the starred point and {log_dets.mean():.3f} on average.")


def coupling_demo():
    return interactive_demo(
        plot_coupling,
        [
            Control("scale", COUPLING_SCALES, r"scale \(s\) in \(s\tanh x_1\)", default=0.5, fmt="{:.2f}"),
            Control("shift", COUPLING_SHIFTS, r"shift \(t\) in \(t(x_1^2-1)\)", default=0.0, fmt="{:.2f}"),
        ],
        update=update_coupling,
        alt=coupling_alt,
    )


__all__ = [
    "square_map",
    "square_map_jacobian",
    "square_image_areas",
    "signed_area",
    "plot_square_image",
    "square_image_demo",
    "tanh_pushforward_density",
    "plot_pushforward",
    "pushforward_demo",
    "coupling_2d",
    "coupling_2d_preimage",
    "plot_coupling",
    "coupling_demo",
]
