"""How long a live demo takes to redraw after a control moves.

Every function whose name ends in ``_demo`` in ``diffrn/demos/*.py`` is built in live mode
(``DIFFRN_DEMO_MODE`` unset), as in a Jupyter kernel. Its first control is then moved
``CHANGES`` times, cycling over the control's values, and each ``control.value = v`` is timed
until the demo's picture widget receives its new PNG (the observer does that synchronously,
so this is the latency the kernel adds before the browser gets the picture).

Prints ``widget_update_ms[<demo>]: median <ms> p95 <ms> cpu_median <ms>`` per demo, and
``widget_update_ms_median``: the median of the slowest demo (target <= 30 ms). The CPU time
(of the kernel's thread) is printed too: on a shared machine the wall-clock time also counts
the time spent waiting for a core.

    python bench/widgets.py [--changes 50] [--only taylor_demo] [--baseline]

``--baseline`` wires the demos the way ``diffrn.demos.core`` did before in-place updates
(a new figure and a full ``savefig`` per change): the "before" column of the README.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import io
import os
import time
from pathlib import Path

from _common import REPO, emit, median, note, percentile

os.environ.pop("DIFFRN_DEMO_MODE", None)  # live mode, as in a kernel

import numpy as np  # noqa: E402

CHANGES = 50


def demo_functions():
    """``(module, name, function)`` for every ``*_demo`` function of the demo modules."""
    found = []
    for path in sorted((REPO / "diffrn" / "demos").glob("*.py")):
        if path.stem in ("__init__", "core"):
            continue
        try:
            module = importlib.import_module(f"diffrn.demos.{path.stem}")
        except Exception as error:  # a module another change broke: say so, measure the rest
            note(f"widgets: cannot import diffrn.demos.{path.stem}: {error!r}")
            emit(f"widget_update_ms[{path.stem}]", f"failed to import ({type(error).__name__})")
            continue
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name.endswith("_demo") and function.__module__ == module.__name__:
                found.append((module, name, function))
    return found


def walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child)


def first_control_and_image(demo):
    import ipywidgets as widgets

    from diffrn.demos.core import PICTURE_CLASS

    controls = (widgets.IntSlider, widgets.FloatSlider, widgets.SelectionSlider, widgets.Dropdown)
    control = next(w for w in walk(demo) if isinstance(w, controls))
    image = next(w for w in walk(demo) if isinstance(w, widgets.Image) or PICTURE_CLASS in getattr(w, "_dom_classes", ()))
    return control, image


def control_values(control) -> list:
    """The positions of a control, in order."""
    if hasattr(control, "_options_values"):
        return list(control._options_values)
    count = int(round((control.max - control.min) / control.step)) + 1
    values = control.min + control.step * np.arange(count)
    return [type(control.value)(v) for v in values]


def measure(demo, changes: int) -> tuple[list, list, int]:
    """Wall-clock and CPU seconds per change of the first control, and how many changes left
    the image as it was. (On a busy machine the wall-clock time includes waiting for a core;
    the CPU time of this thread does not.)"""
    control, image = first_control_and_image(demo)
    values = control_values(control)
    updated = []
    image.observe(lambda change: updated.append((time.perf_counter(), time.thread_time())), names="value")
    seconds, cpu_seconds, unchanged = [], [], 0
    position = values.index(control.value) if control.value in values else 0
    while len(seconds) < changes:
        position = (position + 1) % len(values)
        if values[position] == control.value:
            continue
        updated.clear()
        start, cpu_start = time.perf_counter(), time.thread_time()
        control.value = values[position]
        end, cpu_end = updated[-1] if updated else (time.perf_counter(), time.thread_time())
        unchanged += not updated
        seconds.append(end - start)
        cpu_seconds.append(cpu_end - cpu_start)
    return seconds, cpu_seconds, unchanged


# ----- the way live demos were drawn before in-place updates (for --baseline) --------------------

def baseline_interactive_demo(plot, controls, update=None, *, alt=None, **fixed):
    """A new figure and a full ``savefig`` on every change (``update`` and ``alt`` are ignored)."""
    import ipywidgets as widgets

    from diffrn.demos import core

    inputs = {c.name: core._live_control(c, widgets) for c in controls}
    view = widgets.Image(format="png")

    def redraw(change=None):
        fig = plot(**fixed, **{name: control.value for name, control in inputs.items()})
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=core.FRAME_DPI)
        view.value = buffer.getvalue()

    for control in inputs.values():
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([*inputs.values(), view])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--changes", type=int, default=CHANGES)
    parser.add_argument("--only", nargs="*", help="names of the demos to measure")
    parser.add_argument("--baseline", action="store_true", help="redraw from scratch, as before in-place updates")
    args = parser.parse_args()
    label = "widget_update_ms_baseline" if args.baseline else "widget_update_ms"
    medians, cpu_medians = {}, {}
    for module, name, function in demo_functions():
        if args.only and name not in args.only:
            continue
        if args.baseline:
            module.interactive_demo = baseline_interactive_demo
        try:
            demo = function()
            seconds, cpu_seconds, unchanged = measure(demo, args.changes)
        except Exception as error:
            note(f"widgets: {name} failed: {error!r}")
            emit(f"{label}[{name}]", f"failed ({type(error).__name__})")
            continue
        medians[name], cpu_medians[name] = 1e3 * median(seconds), 1e3 * median(cpu_seconds)
        emit(f"{label}[{name}]", f"median {medians[name]:.1f} p95 {1e3 * percentile(seconds, 95):.1f} "
                                 f"cpu_median {cpu_medians[name]:.1f}")
        if unchanged:
            note(f"widgets: {name}: {unchanged} of {len(seconds)} changes left the image unchanged")
    if medians:
        worst = max(medians, key=medians.get)
        emit(f"{label}_median", medians[worst], "{:.1f}")
        emit(f"{label}_slowest_demo", worst)
        emit(f"{label}_cpu_median", max(cpu_medians.values()), "{:.1f}")
        emit(f"{label}_median_over_demos", median(list(medians.values())), "{:.1f}")


if __name__ == "__main__":
    main()
