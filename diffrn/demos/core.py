"""One way to turn a plotting function into a demo, live or on the static website.

A demo is a plain function ``plot_something(**params) -> Figure`` plus the controls that
choose its parameters. :func:`interactive_demo` wires the two together:

* In a live kernel (Jupyter, JupyterLite) it builds ordinary ipywidgets controls; every
  change calls the plot function again and shows the new figure.
* When the book is built (``DIFFRN_DEMO_MODE=frames``, set by the Makefile), there is no
  kernel behind the page. The plot function is rendered once per combination of control
  values, the frames are shipped as ``Image`` widgets inside nested ``Stack`` widgets, and
  each control is ``jslink``-ed to the stacks' ``selected_index``. The browser switches
  frames by itself, so moving a control changes the figure with no server at all.

Keep the number of frames small (about 30 per demo): each one is a PNG in the page.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import matplotlib.figure
import numpy as np

FRAMES_ENV = "DIFFRN_DEMO_MODE"
FRAME_DPI = 72


@dataclass(frozen=True)
class Control:
    """One control of a demo: the parameter it sets and the values it can take.

    Args:
        name: keyword argument of the plot function that this control sets.
        values: the positions of the control. On the static site these are exactly the
            frames rendered; in a live kernel an evenly spaced numeric sequence becomes a
            continuous slider over the same range.
        label: text beside the control. Use ``\\(...\\)`` for maths; ``$...$`` is not typeset
            in widget labels.
        default: starting value (must be one of ``values``); the middle value if omitted.
    """

    name: str
    values: Sequence[Any]
    label: str = ""
    default: Any = None
    fmt: str = "{:.3g}"

    def __post_init__(self):
        if len(self.values) < 2:
            raise ValueError(f"control {self.name!r} needs at least two values, got {len(self.values)}")
        if self.default is not None and not any(_same(self.default, v) for v in self.values):
            raise ValueError(f"default {self.default!r} of control {self.name!r} is not one of its values")

    @property
    def start(self):
        return self.default if self.default is not None else self.values[len(self.values) // 2]

    @property
    def start_index(self) -> int:
        return next(i for i, v in enumerate(self.values) if _same(v, self.start))

    def text(self, value) -> str:
        return self.fmt.format(value) if isinstance(value, (int, float, np.number)) else str(value)


def _same(a, b) -> bool:
    if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
        return bool(np.isclose(a, b))
    return a == b


def frames_mode() -> bool:
    """True when demos should be pre-rendered as frames (static website build)."""
    return os.environ.get(FRAMES_ENV, "").lower() == "frames"


def figure(width: float = 7.0, height: float = 3.4, ncols: int = 1, nrows: int = 1, **subplot_kw):
    """A new figure and axes that belong to no global pyplot state (nothing leaks between frames)."""
    fig = matplotlib.figure.Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, subplot_kw=subplot_kw or None)
    return fig, axes


def figure_png(fig, dpi: int = FRAME_DPI) -> bytes:
    """Render a figure to PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def interactive_demo(plot: Callable[..., Any], controls: Sequence[Control], **fixed):
    """Wire ``plot(**params)`` to ``controls``; returns a widget to display.

    ``fixed`` parameters are passed to every call unchanged.
    """
    import ipywidgets as widgets

    names = [c.name for c in controls]
    if len(set(names)) != len(names):
        raise ValueError(f"two controls set the same parameter: {names}")
    if frames_mode():
        return _frames_demo(plot, list(controls), fixed, widgets)
    return _live_demo(plot, list(controls), fixed, widgets)


def _label_widget(control, widgets):
    return widgets.HTMLMath(value=control.label or control.name)


def _frames_demo(plot, controls, fixed, widgets):
    sliders = [
        widgets.SelectionSlider(
            options=[(c.text(v), i) for i, v in enumerate(c.values)],
            value=c.start_index,
            continuous_update=True,
            layout=widgets.Layout(width="320px"),
            style={"description_width": "0px"},
        )
        for c in controls
    ]

    def build(level: int, chosen: tuple[int, ...]):
        if level == len(controls):
            params = {c.name: c.values[i] for c, i in zip(controls, chosen)}
            fig = plot(**fixed, **params)
            return widgets.Image(value=figure_png(fig), format="png", layout=widgets.Layout(max_width="100%"))
        control = controls[level]
        children = [build(level + 1, chosen + (i,)) for i in range(len(control.values))]
        stack = widgets.Stack(children=children, selected_index=control.start_index)
        widgets.jslink((sliders[level], "index"), (stack, "selected_index"))
        return stack

    view = build(0, ())
    rows = [widgets.HBox([_label_widget(c, widgets), s]) for c, s in zip(controls, sliders)]
    return widgets.VBox([*rows, view], layout=widgets.Layout(width="100%"))


def _live_demo(plot, controls, fixed, widgets):
    inputs = {c.name: _live_control(c, widgets) for c in controls}
    view = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))

    def redraw(change=None):
        params = {name: control.value for name, control in inputs.items()}
        fig = plot(**fixed, **params)
        # The same PNG path as the static frames: what the reader sees live matches the site.
        view.value = figure_png(fig)

    for control in inputs.values():
        control.observe(redraw, names="value")
    redraw()
    rows = [widgets.HBox([_label_widget(c, widgets), inputs[c.name]]) for c in controls]
    return widgets.VBox([*rows, view])


def _live_control(control, widgets):
    values = list(control.values)
    numeric = all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in values)
    if numeric:
        steps = np.diff(np.asarray(values, dtype=float))
        if np.allclose(steps, steps[0]) and steps[0] > 0:
            is_int = all(isinstance(v, (int, np.integer)) for v in values)
            cls = widgets.IntSlider if is_int else widgets.FloatSlider
            return cls(
                min=values[0],
                max=values[-1],
                step=steps[0],
                value=control.start,
                continuous_update=True,
                readout_format="d" if is_int else ".3g",
            )
    return widgets.SelectionSlider(options=[(control.text(v), v) for v in values], value=control.start)


def frame_count(controls: Sequence[Control]) -> int:
    """How many frames the static version of a demo renders."""
    return int(np.prod([len(c.values) for c in controls]))


__all__ = ["Control", "interactive_demo", "figure", "figure_png", "frames_mode", "frame_count"]
