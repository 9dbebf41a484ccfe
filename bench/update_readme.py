"""Run the benchmarks and rewrite the "Measured performance" page, bench/RESULTS.md.

    python bench/update_readme.py                      # runs every bench/*.py (as `make bench`),
                                                       # saving the output in _build/bench/bench.txt
    python bench/update_readme.py --from bench.txt     # uses saved `make bench` output instead
    python bench/update_readme.py --baseline before.txt

The section between ``<!-- bench:start -->`` and ``<!-- bench:end -->`` becomes a table of
every figure (``name: value`` lines) with its target, the machine and the date. The "before"
column holds figures measured before an optimization: ``--baseline`` reads them from saved
output (``python bench/widgets.py --baseline`` for the live demos), and otherwise the column
of the current page is kept. Everything outside the markers (notes written by hand) stays.
The README links the page; the figures are kept out of it so they do not bury the instructions.
"""
from __future__ import annotations

import argparse
import datetime
import os
import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "RESULTS.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"

# Targets from the issue; a figure without one is printed for information.
TARGETS = {
    "engine_grad_over_forward": ("≤ 3", lambda v: v <= 3),
    "engine_vs_autograd": ("≤ 1.0", lambda v: v <= 1.0),
    "jacobian_crossover_ratio_at_n_gg_m": ("> 1", lambda v: v > 1),
    "jacobian_crossover_ratio_at_m_gg_n": ("> 1", lambda v: v > 1),
    "widget_update_ms_median": ("≤ 30", lambda v: v <= 30),
    "grading_speedup_vs_nbgrader": ("≥ 5", lambda v: v >= 5),
    "grading_worst_submission_seconds": ("≤ 70", lambda v: v <= 70),
}
MACHINE_KEYS = ("cpu_count", "cpu_model", "python", "numpy", "blas", "openblas_core", "blas_threads",
                "openblas_coretype_env", "load_average_1min")


def scripts() -> list[Path]:
    """The scripts `make bench` runs: bench/*.py except helpers (_*.py) and this one."""
    return [p for p in sorted(BENCH.glob("*.py")) if not p.name.startswith("_") and p.name != Path(__file__).name]


def run_benchmarks() -> str:
    output = []
    for script in scripts():
        print(f"running {script.relative_to(REPO)}", file=sys.stderr, flush=True)
        result = subprocess.run([sys.executable, str(script)], cwd=REPO, stdout=subprocess.PIPE, text=True, check=True)
        output.append(result.stdout)
    return "".join(output)


def parse(text: str) -> dict:
    """``{name: value}`` from ``name: value`` lines, in order."""
    figures = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_]+(?:\[[^\]]*\])?): (.*)$", line.strip())
        if match:
            figures[match.group(1)] = match.group(2).strip()
    return figures


def number(value: str) -> float | None:
    match = re.match(r"^(?:median )?(-?[0-9.]+(?:e[-+]?\d+)?)", value)
    return float(match.group(1)) if match else None


def target_cell(name: str, value: str) -> str:
    key = re.sub(r"\[.*\]$", "", name) if name.startswith("engine") else name
    if name.startswith("widget_update_ms[") and "median" in value:
        text, check = "≤ 30 (median)", lambda v: v <= 30
    elif key in TARGETS and (name == key or name.startswith("engine")):
        text, check = TARGETS[key]
        if name != key:  # the same figure with another BLAS setting: for information
            return f"({text})"
    else:
        return ""
    measured = number(value)
    return text if measured is None else f"{text} {'✓' if check(measured) else '✗'}"


def previous_before_column() -> dict:
    """The "before" column of the table now on the page."""
    before = {}
    if not RESULTS.is_file():
        return before
    section = RESULTS.read_text().partition(START)[2].partition(END)[0]
    for row in section.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`") and cells[2]:
            before[cells[0].strip("`")] = cells[2]
    return before


def baseline_figures(path: str) -> dict:
    """Figures of a baseline run, renamed to the figures they are the "before" of."""
    return {name.replace("widget_update_ms_baseline", "widget_update_ms"): value
            for name, value in parse(Path(path).read_text()).items()}


def section(figures: dict, before: dict) -> str:
    machine = {k: figures.pop(k) for k in MACHINE_KEYS if k in figures}
    cpu = f"{machine.get('cpu_count', os.cpu_count())} × {machine.get('cpu_model', '?')}"
    date = datetime.date.today().isoformat()
    lines = [
        START,
        "# Measured performance",
        "",
        "`make bench` runs `bench/*.py` (not part of `make test`); each prints `name: value` lines,",
        "and `make bench-readme` rewrites this page from them. Times are medians of interleaved",
        "repeats after a warm-up; the engine and Jacobian figures use one OpenBLAS thread",
        "(`OPENBLAS_NUM_THREADS=1`, unless set), and `bench/engine.py` repeats them with one thread per",
        "core (`[blas_threads=N]`). The engine benchmark is a 784-512-512-10 tanh MLP with softmax",
        "cross-entropy, batch 128, float64; like a training loop it first calls",
        "`diffrn.autodiff.reuse_freed_memory()` (`[malloc=default]`: without). \"before\" is the figure",
        "before the optimization (`python bench/widgets.py --baseline` redraws the demos as they used",
        "to be drawn: a new figure and a full `savefig` per change). The plot of the Jacobian sweep is",
        "written to `_build/bench/jacobian_sweep.png`.",
        "",
        f"Machine: {cpu}; Python {machine.get('python', '?')}, numpy {machine.get('numpy', '?')}, "
        f"{machine.get('blas', '?')} (core {machine.get('openblas_core', '?')}, "
        f"`OPENBLAS_CORETYPE` {machine.get('openblas_coretype_env', 'unset')}); "
        f"load average {machine.get('load_average_1min', '?')} during the run.",
        "",
        "| figure | value | before | target | machine | date |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, value in figures.items():
        lines.append(f"| `{name}` | {value} | {before.get(name, '')} | {target_cell(name, value)} | {cpu} | {date} |")
    lines += [
        "",
        "Wall-clock latencies include the time the kernel waits for a core when the machine is",
        "busy (see the load average); `cpu_median` is the CPU time of the kernel's thread alone.",
        END,
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--from", dest="source", help="saved output of `make bench` instead of running it")
    parser.add_argument("--baseline", help="saved output with the figures before an optimization")
    args = parser.parse_args()
    if args.source:
        text = Path(args.source).read_text()
    else:
        text = run_benchmarks()
        (REPO / "_build" / "bench").mkdir(parents=True, exist_ok=True)
        (REPO / "_build" / "bench" / "bench.txt").write_text(text)  # for --from next time
    before = previous_before_column()
    if args.baseline:
        before.update(baseline_figures(args.baseline))
    write_page(section(parse(text), before))
    print(f"updated the measured-performance page {RESULTS.relative_to(REPO)}", file=sys.stderr)


def write_page(table: str, page: Path | None = None) -> None:
    """Put ``table`` between the markers of ``page`` (bench/RESULTS.md), keeping the rest."""
    page = page or RESULTS
    current = page.read_text() if page.is_file() else f"{START}\n{END}\n"
    if START not in current or END not in current:
        raise SystemExit(f"{page.relative_to(REPO) if page.is_relative_to(REPO) else page} has no "
                         f"{START} ... {END} section to rewrite")
    head, _, rest = current.partition(START)
    _, _, tail = rest.partition(END)
    page.write_text(head + table + tail)


if __name__ == "__main__":
    main()
