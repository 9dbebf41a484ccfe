"""Demos of Chapter 7: a 2 x 2 matrix perturbed along a direction, and the error of first-order predictions."""
from __future__ import annotations

import numpy as np

from diffrn.demos.core import Control, figure, interactive_demo, set_suptitle
from diffrn.matrix_calculus import det_differential, inverse_differential, logdet_differential

# --- 1. A + t dA for a 2 x 2 matrix: the inverse and the determinant to first order ---------------

PERTURBED_A = np.array([[1.5, 0.5], [0.25, 1.0]])
DIRECTIONS = {
    "stretch": np.array([[1.0, 0.0], [0.0, 0.0]]),
    "shear": np.array([[0.0, 1.0], [0.0, 0.0]]),
    "rotate": np.array([[0.0, -1.0], [1.0, 0.0]]),
}
STEPS = tuple(np.round(np.linspace(-0.6, 0.6, 9), 2))
_CIRCLE = np.stack([np.cos(np.linspace(0, 2 * np.pi, 200)), np.sin(np.linspace(0, 2 * np.pi, 200))])
_SQUARE = np.array([[0.0, 1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0, 0.0]])


def perturbation_numbers(t: float, direction: str = "shear") -> dict:
    """What the first demo shows at step ``t`` along ``DIRECTIONS[direction]``.

    Returns:
        a dict with ``inverse`` (exact ``(A + t dA)^{-1}``), ``inverse_linear``
        (``A^{-1} + t d(A^{-1})``), ``inverse_error`` (Frobenius norm of their difference),
        ``det`` (``det(A + t dA)``) and ``det_linear`` (``det A (1 + t tr(A^{-1} dA))``).
    """
    A, dA = PERTURBED_A, DIRECTIONS[direction]
    inverse = np.linalg.inv(A + t * dA)
    inverse_linear = np.linalg.inv(A) + t * inverse_differential(A, dA)
    return {
        "inverse": inverse,
        "inverse_linear": inverse_linear,
        "inverse_error": float(np.linalg.norm(inverse - inverse_linear)),
        "det": float(np.linalg.det(A + t * dA)),
        "det_linear": float(np.linalg.det(A) + t * det_differential(A, dA)),
    }


def plot_perturbation(t: float = 0.3, direction: str = "shear"):
    """Unit circle under (A + t dA)^{-1} exactly and to first order; unit square under A + t dA; det against t."""
    A = PERTURBED_A
    fig, (ax_inverse, ax_area, ax_det) = figure(7.0, 3.4, ncols=3)
    # What depends on t and the direction starts empty; update_perturbation sets it.
    ax_inverse.plot(*(np.linalg.inv(A) @ _CIRCLE), color="0.75", lw=1, label="$A^{-1}$, $t=0$")
    ax_inverse.plot([], [], color="C0", lw=2, label="exact", gid="exact")
    ax_inverse.plot([], [], "C3--", lw=1.5, label="first order", gid="linear")
    ax_inverse.set(xlim=(-1.9, 1.9), ylim=(-1.9, 1.9), aspect="equal")
    ax_inverse.set_title("unit circle under $(A+t\\,dA)^{-1}$", fontsize=9)
    ax_inverse.legend(loc="lower right", fontsize=6, handlelength=1.5)

    ax_area.fill(*(A @ _SQUARE), color="0.85", label="$A$ · square")
    ax_area.fill(*(A @ _SQUARE), color="C0", alpha=0.6, label="$(A+t\\,dA)$ · square", gid="moved")
    ax_area.set(xlim=(-0.9, 2.6), ylim=(-1.2, 2.6), aspect="equal")
    ax_area.set_title("unit square: area = det", fontsize=9)
    ax_area.legend(loc="lower right", fontsize=6, handlelength=1.5)

    ax_det.plot([], [], color="C0", lw=2, label="det$(A+t\\,dA)$", gid="det")
    ax_det.plot([], [], "C3--", lw=1.5, label="det $A\\,(1 + t\\,$tr$\\,A^{-1}dA)$", gid="tangent")
    ax_det.plot([], [], color="k", lw=1, gid="gap")
    ax_det.plot([], [], "o", color="C0", ms=6, gid="point")
    ax_det.set(xlim=(STEPS[0] - 0.05, STEPS[-1] + 0.05), ylim=(0.4, 2.6), xlabel="$t$")
    ax_det.set_title("determinant and its tangent", fontsize=9)
    ax_det.legend(loc="upper left", fontsize=6, handlelength=1.5)
    ax_det.grid(True, lw=0.3)
    update_perturbation(fig, t, direction)
    return fig


def update_perturbation(fig, t: float = 0.3, direction: str = "shear") -> list:
    """Move a figure made by :func:`plot_perturbation` to step ``t`` along ``direction`` (in place).
    Returns the artists that changed, with the legends, which stay above them."""
    numbers = perturbation_numbers(t, direction)
    A, dA = PERTURBED_A, DIRECTIONS[direction]
    inverse, area, det = (_by_gid(ax) for ax in fig.axes)
    inverse["exact"].set_data(*(numbers["inverse"] @ _CIRCLE))
    inverse["linear"].set_data(*(numbers["inverse_linear"] @ _CIRCLE))
    area["moved"].set_xy(((A + t * dA) @ _SQUARE).T)
    steps = np.linspace(STEPS[0], STEPS[-1], 100)
    det["det"].set_data(steps, [np.linalg.det(A + s * dA) for s in steps])
    det["tangent"].set_data(steps, np.linalg.det(A) + steps * det_differential(A, dA))
    det["gap"].set_data([t, t], [numbers["det_linear"], numbers["det"]])
    det["point"].set_data([t], [numbers["det"]])
    suptitle = set_suptitle(
        fig,
        f"{direction}, t = {t:+.2f}:   ‖inverse − first order‖ = {numbers['inverse_error']:.3g}   "
        f"det = {numbers['det']:.4f}, first order {numbers['det_linear']:.4f}",
        fontsize=9,
    )
    return [*inverse.values(), *area.values(), *det.values(), *(ax.get_legend() for ax in fig.axes), suptitle]


def _by_gid(ax) -> dict:
    """The artists of ``ax`` that have a gid, by gid."""
    return {artist.get_gid(): artist for artist in ax.get_children() if artist.get_gid()}


def perturbation_alt(t: float = 0.3, direction: str = "shear") -> str:
    """Alt text for one frame of :func:`plot_perturbation`."""
    numbers = perturbation_numbers(t, direction)
    return (
        f"Three panels for the 2 by 2 matrix A moved by t = {t:+.2f} along the {direction} direction dA. "
        f"Left: the unit circle mapped by the exact inverse of A + t dA and by its first-order prediction "
        f"A^-1 - t A^-1 dA A^-1; the two matrices differ by {numbers['inverse_error']:.3g} in Frobenius norm. "
        f"Middle: the unit square mapped by A and by A + t dA, whose area is the determinant {numbers['det']:.4f}. "
        f"Right: det(A + t dA) against t with its tangent line det A (1 + t tr(A^-1 dA)), "
        f"which predicts {numbers['det_linear']:.4f} at this t."
    )


def perturbation_demo():
    return interactive_demo(
        plot_perturbation,
        [
            Control("t", STEPS, r"step \(t\)", default=0.3),
            Control("direction", tuple(DIRECTIONS), r"direction \(dA\)", default="shear"),
        ],
        update=update_perturbation,
        alt=perturbation_alt,
    )


# --- 2. The error of the first-order prediction against t: slope 2 on log axes ----------------------

ERROR_SIZE = 4
SMALLEST_SINGULAR_VALUES = (2.0, 1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01)
ERROR_STEPS = np.logspace(-4, 0, 41)


def conditioned_matrix(smallest: float, size: int = ERROR_SIZE, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """A fixed random ``size x size`` matrix with singular values ``3, ..., smallest`` and a fixed
    random direction of Frobenius norm 1 (the same rotations for every ``smallest``)."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.normal(size=(size, size)))
    v, _ = np.linalg.qr(rng.normal(size=(size, size)))
    A = u @ np.diag(np.linspace(3.0, 2.0, size - 1).tolist() + [smallest]) @ v.T
    dA = rng.normal(size=(size, size))
    return A, dA / np.linalg.norm(dA)


def first_order_errors(smallest: float, steps=ERROR_STEPS) -> dict:
    """Errors of the first-order predictions of ``(A + t dA)^{-1}`` (Frobenius norm),
    ``det(A + t dA)`` (relative to ``|det A|``) and ``log|det(A + t dA)|``, for each step ``t``."""
    A, dA = conditioned_matrix(smallest)
    inverse, d_inverse = np.linalg.inv(A), inverse_differential(A, dA)
    det, d_det = np.linalg.det(A), det_differential(A, dA)
    logdet, d_logdet = np.linalg.slogdet(A)[1], logdet_differential(A, dA)
    errors = {"inverse": [], "det": [], "log|det|": []}
    for t in steps:
        moved = A + t * dA
        errors["inverse"].append(np.linalg.norm(np.linalg.inv(moved) - (inverse + t * d_inverse)))
        errors["det"].append(abs(np.linalg.det(moved) - (det + t * d_det)) / abs(det))
        errors["log|det|"].append(abs(np.linalg.slogdet(moved)[1] - (logdet + t * d_logdet)))
    return {name: np.array(values) for name, values in errors.items()}


def small_step_slopes(smallest: float) -> dict:
    """Slope of log(error) against log(t) fitted over the steps ``t <= smallest / 10``, per quantity."""
    errors = first_order_errors(smallest)
    small = ERROR_STEPS <= smallest / 10
    return {name: float(np.polyfit(np.log(ERROR_STEPS[small]), np.log(values[small]), 1)[0])
            for name, values in errors.items()}


def plot_first_order_error(smallest: float = 0.1):
    """Error of the first-order predictions against t on log axes, with a slope-2 guide."""
    fig, ax = figure(7.0, 3.4)
    # For this direction the det and log|det| curves nearly coincide: dashes keep both visible.
    for name, color, style in zip(("inverse", "det", "log|det|"), ("C0", "C1", "C2"), ("-", "-", "--")):
        ax.loglog([], [], style, color=color, lw=2, label=name, gid=name)
    ax.loglog(ERROR_STEPS, ERROR_STEPS**2, "k:", lw=1, label="$t^2$ (slope 2)")
    # ||t dA||_2 <= t < sigma_min(A) keeps A + t dA invertible: the distance to the singular matrices.
    ax.axvline(smallest, color="0.5", lw=1, ls="--", gid="smallest")
    ax.text(smallest, 3e-9, r"invertible for $t < \sigma_{\min}(A)$ ", color="0.4", fontsize=8, ha="right",
            gid="smallest label")
    ax.set(xlim=(ERROR_STEPS[0], ERROR_STEPS[-1]), ylim=(1e-10, 1e4), xlabel="step $t$ along $dA$ ($\\|dA\\|_F = 1$)",
           ylabel="error of the first-order prediction")
    ax.grid(True, which="major", lw=0.3)
    ax.legend(loc="upper left", fontsize=8)
    update_first_order_error(fig, smallest)
    return fig


def update_first_order_error(fig, smallest: float = 0.1) -> list:
    """Show the matrix with this smallest singular value on a figure made by
    :func:`plot_first_order_error` (in place). Returns the artists that changed, with the legend."""
    errors = first_order_errors(smallest)
    slopes = small_step_slopes(smallest)
    (ax,) = fig.axes
    artists = _by_gid(ax)
    legend = ax.get_legend()
    for name, values in errors.items():
        artists[name].set_data(ERROR_STEPS, np.maximum(values, 1e-300))
    for text, line in zip(legend.get_texts(), ax.get_lines()):
        if line.get_gid() in slopes:
            text.set_text(f"{line.get_gid()}: slope {slopes[line.get_gid()]:.2f}")
    visible = smallest <= ERROR_STEPS[-1]
    artists["smallest"].set_xdata([smallest, smallest])
    artists["smallest label"].set_x(smallest)
    artists["smallest"].set_visible(visible)
    artists["smallest label"].set_visible(visible)
    suptitle = set_suptitle(fig, f"σ_min(A) = {smallest:g};  slopes fitted for t ≤ {smallest / 10:g}:  "
                                 + ",  ".join(f"{name} {slope:.2f}" for name, slope in slopes.items()), fontsize=9)
    return [*artists.values(), legend, suptitle]


def first_order_error_alt(smallest: float = 0.1) -> str:
    """Alt text for one frame of :func:`plot_first_order_error`."""
    slopes = small_step_slopes(smallest)
    errors = first_order_errors(smallest)
    at = int(np.argmin(np.abs(ERROR_STEPS - 1e-3)))
    return (
        f"Log-log plot of the error of the first-order predictions of the inverse, the determinant and "
        f"log|det| of A + t dA against t, for a 4 by 4 matrix A whose smallest singular value is {smallest:g}. "
        f"For small t all three errors are straight lines parallel to the dotted line t squared, with fitted "
        f"slopes " + ", ".join(f"{slope:.2f}" for slope in slopes.values()) + f". At t = 0.001 the error of the "
        f"inverse is {errors['inverse'][at]:.2g}: the smaller the singular value, the higher its line."
    )


def first_order_error_demo():
    return interactive_demo(
        plot_first_order_error,
        [Control("smallest", SMALLEST_SINGULAR_VALUES, r"smallest singular value \(\sigma_{\min}(A)\)", default=0.1)],
        update=update_first_order_error,
        alt=first_order_error_alt,
    )
