"""interactive_demo: frames that switch in the browser, or live sliders in a kernel."""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import pytest

from diffrn.demos.core import Control, figure, frame_count, interactive_demo

calls = []


def plot_line(slope=1.0, offset=0.0):
    calls.append((slope, offset))
    fig, ax = figure(3, 2)
    ax.plot([0, 1], [offset, offset + slope])
    return fig


CONTROLS = [Control("slope", np.linspace(-1, 1, 3), r"\(a\)"), Control("offset", [0.0, 1.0], "offset")]


def _images(widget):
    if isinstance(widget, widgets.Image):
        return [widget]
    return [image for child in getattr(widget, "children", ()) for image in _images(child)]


def test_frames_mode_renders_every_combination_once_and_links_the_sliders(monkeypatch):
    monkeypatch.setenv("DIFFRN_DEMO_MODE", "frames")
    calls.clear()
    demo = interactive_demo(plot_line, CONTROLS)
    assert len(calls) == frame_count(CONTROLS) == 6
    assert sorted(calls) == sorted((s, o) for s in np.linspace(-1, 1, 3) for o in (0.0, 1.0))
    images = _images(demo)
    assert len(images) == 6 and all(bytes(image.value).startswith(b"\x89PNG") for image in images)
    sliders = [w for row in demo.children[:2] for w in row.children if isinstance(w, widgets.SelectionSlider)]
    assert [s.index for s in sliders] == [1, 1], "sliders start at the middle value when no default is given"
    assert demo.children[-1].selected_index == 1


def test_live_mode_uses_continuous_sliders_and_redraws(monkeypatch):
    monkeypatch.delenv("DIFFRN_DEMO_MODE", raising=False)
    calls.clear()
    demo = interactive_demo(plot_line, CONTROLS)
    slope = demo.children[0].children[1]
    assert isinstance(slope, widgets.FloatSlider) and (slope.min, slope.max, slope.step) == (-1, 1, 1)
    slope.value = 1.0
    assert calls[-1] == (1.0, 1.0)


def test_bad_controls_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="at least two values"):
        Control("x", [1.0])
    with pytest.raises(ValueError, match="not one of its values"):
        Control("x", [1.0, 2.0], default=3.0)
    with pytest.raises(ValueError, match="same parameter"):
        interactive_demo(plot_line, [CONTROLS[0], CONTROLS[0]])
