"""Jacobians from VJPs (reverse mode) and from JVPs (forward mode) over a sweep of (n, m).

For f: R^n -> R^m, reverse mode builds the Jacobian row by row (m VJPs after one forward
pass) and forward mode column by column (n JVPs), so Chapter 3 predicts that reverse wins
when m << n and forward when n << m, with the crossover near n = m. The function is a chain
of dense tanh layers R^n -> 32 -> 32 -> R^m.

Prints the two corner ratios (both > 1 if the prediction holds), and saves the grid of times
to ``_build/bench/jacobian_sweep.csv`` and a plot to ``_build/bench/jacobian_sweep.png``.
"""
from __future__ import annotations

from _common import BUILD_DIR, REPO, emit, interleaved_times, median, note

import numpy as np

from diffrn.autodiff import jacobian
from diffrn.demos.autodiff import make_chain as chapter_chain

SIZES = (1, 4, 16, 64, 256, 1024)
WIDTH, DEPTH = 32, 3
FEW, MANY = 4, 1024  # the corners reported: (n, m) = (MANY, FEW) and (FEW, MANY)
MIN_ROUNDS, MIN_SECONDS = 5, 0.3  # per cell: enough rounds to outlast a busy spell of the machine


def make_chain(n: int, m: int):
    """The chain of Chapter 3's cost explorer, at the sizes of this sweep."""
    return chapter_chain(n, m, width=WIDTH, depth=DEPTH)


def time_both_modes(n: int, m: int) -> dict:
    """Median times (seconds) of ``jacobian(chain, x, mode)`` for both modes, taking turns.

    Small cells take a millisecond: they get as many rounds as fit in ``MIN_SECONDS``, so
    that a moment when another process holds the core cannot decide the median.
    """
    chain, x = make_chain(n, m), np.linspace(-1.0, 1.0, n)
    calls = {mode: (lambda mode=mode: jacobian(chain, x, mode=mode)) for mode in ("forward", "reverse")}
    first = interleaved_times(calls, rounds=1, warmup=1)
    one_round = sum(values[0] for values in first.values())
    rounds = max(MIN_ROUNDS, int(MIN_SECONDS / one_round))
    times = interleaved_times(calls, rounds=rounds, warmup=0)
    return {mode: median(values) for mode, values in times.items()}


def sweep() -> dict:
    """``{"forward": array, "reverse": array}`` of times, indexed [i, j] for (SIZES[i], SIZES[j])."""
    times = {mode: np.zeros((len(SIZES), len(SIZES))) for mode in ("forward", "reverse")}
    for i, n in enumerate(SIZES):
        for j, m in enumerate(SIZES):
            for mode, seconds in time_both_modes(n, m).items():
                times[mode][i, j] = seconds
        note(f"jacobian sweep: n = {n} done")
    return times


def check_agreement() -> None:
    """Both modes compute the same Jacobian (a sweep of wrong answers would prove nothing)."""
    chain, x = make_chain(5, 3), np.linspace(-1.0, 1.0, 5)
    np.testing.assert_allclose(jacobian(chain, x, mode="forward"), jacobian(chain, x, mode="reverse"), rtol=1e-12)


def plot(times: dict, path) -> None:
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.0, 3.6), layout="constrained")
    by_n, by_m, grid = fig.subplots(1, 3)
    middle = SIZES.index(16)
    for ax, index, varied, fixed in ((by_n, np.s_[:, middle], "n inputs", "m = 16"),
                                     (by_m, np.s_[middle, :], "m outputs", "n = 16")):
        for mode, color in (("forward", "tab:blue"), ("reverse", "tab:orange")):
            ax.plot(SIZES, 1e3 * times[mode][index], "o-", color=color, ms=4, label=f"{mode} ({'JVPs' if mode == 'forward' else 'VJPs'})")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(SIZES, [str(s) for s in SIZES])
        ax.set_xlabel(varied)
        ax.set_ylabel("time of jacobian (ms)")
        ax.set_title(f"{fixed}, {varied.split()[0]} varies", fontsize=10)
        ax.axvline(16, color="0.7", ls=":", lw=1)
        ax.legend(fontsize=8)
    log_ratio = np.log2(times["forward"] / times["reverse"])
    limit = np.abs(log_ratio).max()
    image = grid.imshow(log_ratio.T, origin="lower", cmap="RdBu_r", norm=TwoSlopeNorm(0.0, -limit, limit))
    labels = [str(s) for s in SIZES]
    grid.set_xticks(range(len(SIZES)), labels)
    grid.set_yticks(range(len(SIZES)), labels)
    grid.plot([-0.5, len(SIZES) - 0.5], [-0.5, len(SIZES) - 0.5], "k:", lw=1)
    grid.set_xlabel("n inputs")
    grid.set_ylabel("m outputs")
    grid.set_title("log2(forward time / reverse time)", fontsize=10)
    fig.colorbar(image, ax=grid, label="> 0: reverse wins")
    fig.suptitle(f"Jacobian of a chain R^n -> {WIDTH} -> {WIDTH} -> R^m: VJPs against JVPs", fontsize=11)
    fig.savefig(path, dpi=100)


def main() -> None:
    check_agreement()
    times = sweep()
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with open(BUILD_DIR / "jacobian_sweep.csv", "w") as out:
        out.write("n,m,forward_s,reverse_s\n")
        for i, n in enumerate(SIZES):
            for j, m in enumerate(SIZES):
                out.write(f"{n},{m},{times['forward'][i, j]:.6g},{times['reverse'][i, j]:.6g}\n")
    path = BUILD_DIR / "jacobian_sweep.png"
    plot(times, path)
    many, few = SIZES.index(MANY), SIZES.index(FEW)
    emit("jacobian_sweep_corners", f"n >> m is (n, m) = ({MANY}, {FEW}); m >> n is ({FEW}, {MANY})")
    emit("jacobian_crossover_ratio_at_n_gg_m", times["forward"][many, few] / times["reverse"][many, few], "{:.1f}")
    emit("jacobian_crossover_ratio_at_m_gg_n", times["reverse"][few, many] / times["forward"][few, many], "{:.1f}")
    wins = [(times["reverse"] < times["forward"])[i, j] == (m < n) for i, n in enumerate(SIZES)
            for j, m in enumerate(SIZES) if m != n]
    emit("jacobian_sweep_cells_as_predicted", f"{sum(wins)}/{len(wins)}")
    emit("jacobian_sweep_plot", path.relative_to(REPO))


if __name__ == "__main__":
    main()
