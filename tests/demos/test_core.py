"""interactive_demo: frames that switch in the browser, or live sliders in a kernel."""
from __future__ import annotations

import io

import ipywidgets as widgets
import numpy as np
import pytest
from PIL import Image

from diffrn.demos.core import Control, figure, figure_png, frame_count, interactive_demo, set_suptitle

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


# ----- live redraws: in-place updates ----------------------------------------------------------

WAVE_X = np.linspace(0.0, 6.0, 50)
wave_calls = {"plot": 0, "update": 0}


def plot_wave(phase=0.0):
    wave_calls["plot"] += 1
    fig, ax = figure(3, 2)
    ax.plot(WAVE_X, np.sin(WAVE_X + phase), gid="wave")
    ax.set_ylim(-1.5, 1.5)
    ax.set_title(f"phase {phase:.2f}")
    return fig


def update_wave(fig, phase=0.0):
    wave_calls["update"] += 1
    ax = fig.axes[0]
    (line,) = [artist for artist in ax.lines if artist.get_gid() == "wave"]
    line.set_ydata(np.sin(WAVE_X + phase))
    ax.title.set_text(f"phase {phase:.2f}")
    return [line, ax.title]


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def test_live_mode_with_an_updater_builds_the_figure_once_and_shows_what_plot_draws(monkeypatch):
    monkeypatch.delenv("DIFFRN_DEMO_MODE", raising=False)
    wave_calls.update(plot=0, update=0)
    demo = interactive_demo(plot_wave, [Control("phase", np.linspace(0.0, 3.0, 7))], update=update_wave)
    phase, image = demo.children[0].children[1], _images(demo)[0]
    for value in (0.0, 2.5, 1.0):
        phase.value = value
        np.testing.assert_array_equal(_pixels(image.value), _pixels(figure_png(plot_wave(value))))
    assert wave_calls["plot"] == 1 + 3, "live mode called plot once; the other calls are the comparisons"
    assert wave_calls["update"] >= 3


def test_frames_mode_ignores_the_updater(monkeypatch):
    monkeypatch.setenv("DIFFRN_DEMO_MODE", "frames")
    wave_calls.update(plot=0, update=0)
    interactive_demo(plot_wave, [Control("phase", [0.0, 1.0, 2.0])], update=update_wave)
    assert wave_calls == {"plot": 3, "update": 0}


def test_live_mode_without_an_updater_shows_what_plot_draws(monkeypatch):
    monkeypatch.delenv("DIFFRN_DEMO_MODE", raising=False)
    demo = interactive_demo(plot_wave, [Control("phase", np.linspace(0.0, 3.0, 7))])
    phase, image = demo.children[0].children[1], _images(demo)[0]
    phase.value = 2.0
    np.testing.assert_array_equal(_pixels(image.value), _pixels(figure_png(plot_wave(2.0))))


GRID = np.meshgrid(np.linspace(-1.0, 1.0, 30), np.linspace(-1.0, 1.0, 30))


def plot_levels(tilt=0.0):
    fig, ax = figure(3, 2)
    ax.plot([-1, 1], [0, 0], color="k", lw=3, zorder=0)  # static, under the level sets
    update_levels(fig, tilt)
    return fig


def update_levels(fig, tilt=0.0):
    """Replaces the contour set at every call and changes the figure's title."""
    ax = fig.axes[0]
    for old in ax.collections:
        old.remove()
    levels = ax.contourf(*GRID, GRID[0] ** 2 + tilt * GRID[1], levels=5)
    return [levels, set_suptitle(fig, f"tilt {tilt:.1f}", fontsize=9)]


def test_live_updates_may_replace_artists_and_keep_the_title_in_place(monkeypatch):
    monkeypatch.delenv("DIFFRN_DEMO_MODE", raising=False)
    demo = interactive_demo(plot_levels, [Control("tilt", [0.0, 0.5, 1.0])], update=update_levels)
    tilt, image = demo.children[0].children[1], _images(demo)[0]
    for value in (1.0, 0.0):
        tilt.value = value
        live, frame = _pixels(image.value), _pixels(figure_png(plot_levels(value)))
        # A few antialiased pixels where the level sets meet the tick marks may differ.
        assert live.shape == frame.shape and np.mean(np.any(live != frame, axis=-1)) < 1e-3
