"""interactive_demo: frames that switch in the browser, or live sliders in a kernel."""
from __future__ import annotations

import io
import re

import ipywidgets as widgets
import numpy as np
import pytest
from PIL import Image

from diffrn.demos.core import (FRAME_DPI, Control, figure, figure_png, frame_count, interactive_demo, picture_alt, picture_png,
                               pictures, set_suptitle)

calls = []


def plot_line(slope=1.0, offset=0.0):
    calls.append((slope, offset))
    fig, ax = figure(3, 2)
    ax.plot([0, 1], [offset, offset + slope])
    return fig


CONTROLS = [Control("slope", np.linspace(-1, 1, 3), r"\(a\)"), Control("offset", [0.0, 1.0], "offset")]


def _images(widget):
    return pictures(widget)


def test_frames_mode_renders_every_combination_once_and_links_the_sliders(monkeypatch):
    monkeypatch.setenv("DIFFRN_DEMO_MODE", "frames")
    calls.clear()
    demo = interactive_demo(plot_line, CONTROLS)
    assert len(calls) == frame_count(CONTROLS) == 6
    assert sorted(calls) == sorted((s, o) for s in np.linspace(-1, 1, 3) for o in (0.0, 1.0))
    images = _images(demo)
    assert len(images) == 6 and all(picture_png(image).startswith(b"\x89PNG") for image in images)
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
        np.testing.assert_array_equal(_pixels(picture_png(image)), _pixels(figure_png(plot_wave(value), dpi=FRAME_DPI, colours=None)))
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
    np.testing.assert_array_equal(_pixels(picture_png(image)), _pixels(figure_png(plot_wave(2.0), dpi=FRAME_DPI, colours=None)))


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
        live, frame = _pixels(picture_png(image)), _pixels(figure_png(plot_levels(value), dpi=FRAME_DPI, colours=None))
        # A few antialiased pixels where the level sets meet the tick marks may differ.
        assert live.shape == frame.shape and np.mean(np.any(live != frame, axis=-1)) < 1e-3


# ----- alt text ---------------------------------------------------------------------------------

def _line_alt(slope=1.0, offset=0.0):
    return f"Line through (0, {offset:g}) with slope {slope:g} & <no> markup"


def test_every_frame_carries_its_own_alt_text(monkeypatch):
    monkeypatch.setenv("DIFFRN_DEMO_MODE", "frames")
    demo = interactive_demo(plot_line, CONTROLS, alt=_line_alt)
    alts = [picture_alt(image) for image in _images(demo)]
    assert sorted(alts) == sorted(_line_alt(s, o) for s in np.linspace(-1, 1, 3) for o in (0.0, 1.0))
    markup = _images(demo)[0].value
    assert markup.startswith("<img ") and "&amp; &lt;no&gt;" in markup, "alt text is escaped inside the attribute"


def test_live_picture_alt_text_follows_the_controls(monkeypatch):
    monkeypatch.delenv("DIFFRN_DEMO_MODE", raising=False)
    demo = interactive_demo(plot_line, CONTROLS, alt=_line_alt)
    image = _images(demo)[0]
    assert picture_alt(image) == _line_alt(0.0, 1.0)
    demo.children[0].children[1].value = -1.0
    assert picture_alt(image) == _line_alt(-1.0, 1.0)


def test_a_fixed_alt_string_and_the_fallback(monkeypatch):
    monkeypatch.setenv("DIFFRN_DEMO_MODE", "frames")
    demo = interactive_demo(plot_wave, [Control("phase", [0.0, 1.0])], alt="A sine wave shifted left by the phase")
    assert {picture_alt(i) for i in _images(demo)} == {"A sine wave shifted left by the phase"}
    demo = interactive_demo(plot_wave, [Control("phase", [0.0, 1.0])])
    assert picture_alt(_images(demo)[1]) == "plot_wave (phase = 1)", "without alt: the plot's name and its values"


def test_empty_alt_text_is_refused(monkeypatch):
    monkeypatch.setenv("DIFFRN_DEMO_MODE", "frames")
    with pytest.raises(ValueError, match="non-empty string"):
        interactive_demo(plot_line, CONTROLS, alt=lambda **params: "  ")


def test_pictures_are_shown_at_css_size_whatever_their_density():
    from diffrn.demos.core import picture_html

    png = figure_png(plot_line(), dpi=144)
    width, height = Image.open(io.BytesIO(png)).size
    markup = picture_html(png, "A line", dpi=144)
    assert f'width="{round(width / 2)}" height="{round(height / 2)}"' in markup


def test_site_frames_are_palette_pngs_at_twice_the_css_size(monkeypatch):
    monkeypatch.setenv("DIFFRN_DEMO_MODE", "frames")
    demo = interactive_demo(plot_line, CONTROLS, alt=_line_alt)
    frame = Image.open(io.BytesIO(picture_png(_images(demo)[0])))
    assert frame.mode == "P" and frame.size == (2 * 3 * 72, 2 * 2 * 72)
    assert f'width="{3 * 72}" height="{2 * 72}"' in _images(demo)[0].value
    full = Image.open(io.BytesIO(figure_png(plot_line(-1.0, 0.0), colours=None))).convert("RGB")  # the first frame
    difference = np.abs(np.asarray(frame.convert("RGB"), dtype=int) - np.asarray(full, dtype=int))
    assert difference.max() <= 24 and difference.mean() < 0.5, "the palette keeps the picture"
    assert frame.convert("RGB").getpixel((0, 0)) == (255, 255, 255), "white stays white"


def test_live_pictures_are_drawn_at_the_css_size(monkeypatch):
    monkeypatch.delenv("DIFFRN_DEMO_MODE", raising=False)
    demo = interactive_demo(plot_line, CONTROLS, alt=_line_alt)
    assert Image.open(io.BytesIO(picture_png(_images(demo)[0]))).size == (3 * 72, 2 * 72)
    assert f'width="{3 * 72}" height="{2 * 72}"' in _images(demo)[0].value


def test_static_figures_carry_alt_text_and_refuse_none():
    from diffrn.demos.core import static_figure

    html = static_figure(plot_line(), "A rising line").data
    assert 'alt="A rising line"' in html and 'width="216"' in html
    with pytest.raises(ValueError, match="alt text"):
        static_figure(plot_line(), "")


GENERIC_ALT = {"figure", "plot", "image", "picture", "graph", "chart", "demo", "frame"}


def _course_demos():
    import importlib
    import inspect
    import pkgutil

    import diffrn.demos

    for info in pkgutil.iter_modules(diffrn.demos.__path__):
        if info.name == "core":
            continue
        module = importlib.import_module(f"diffrn.demos.{info.name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name.endswith("_demo") and function.__module__ == module.__name__:
                yield module, name, function


COURSE_DEMOS = list(_course_demos())


@pytest.mark.parametrize("module, name, demo", COURSE_DEMOS, ids=[f"{m.__name__.split('.')[-1]}.{n}" for m, n, _ in COURSE_DEMOS])
def test_every_course_demo_describes_each_frame(monkeypatch, module, name, demo):
    """Each demo passes its own alt text; evaluated (without drawing) at every combination of
    its controls' first, default and last values, it is a real description."""
    import itertools

    captured = {}

    def capture(plot, controls, update=None, *, alt=None, **fixed):
        captured.update(plot=plot, controls=list(controls), alt=alt, fixed=fixed)
        return None

    monkeypatch.setattr(module, "interactive_demo", capture)
    demo()
    assert captured, f"{name} does not call interactive_demo"
    assert captured["alt"] is not None, f"{name} passes no alt= to interactive_demo"
    choices = [[c.values[0], c.start, c.values[-1]] for c in captured["controls"]]
    names = [c.name for c in captured["controls"]]
    seen = set()
    for values in itertools.product(*choices):
        params = {**captured["fixed"], **dict(zip(names, values))}
        alt = captured["alt"](**params) if callable(captured["alt"]) else captured["alt"]
        assert isinstance(alt, str) and alt.strip(), f"{name}: empty alt text for {params}"
        words = alt.lower().strip(" .").split()
        assert len(words) >= 4 and " ".join(words) not in GENERIC_ALT and not (
            len(words) <= 2 and words[0] in GENERIC_ALT), f"{name}: alt text {alt!r} does not say what is shown"
        assert not alt.lower().startswith(("figure", "image of", "picture of", "plot of")), \
            f"{name}: alt text {alt!r} should start with what is shown, not with the kind of picture"
        seen.add(alt)
    if callable(captured["alt"]) and len(list(itertools.product(*choices))) > 1:
        assert len(seen) > 1, f"{name}: every frame has the same alt text {seen}; say what changes"


# ----- names of the controls --------------------------------------------------------------------

@pytest.mark.parametrize("label, name", [
    (r"base angle \(\theta_0\) (degrees)", "base angle θ0 (degrees)"),
    ("zoom", "zoom"),
    (r"center \(u_0\) (with \(v_0 = 0.5\))", "center u0 (with v0 = 0.5)"),
    (r"scale \(s\) in \(s\tanh x_1\)", "scale s in s tanh x1"),
    (r"shift \(t\) in \(t(x_1^2-1)\)", "shift t in t(x1^2-1)"),
    (r"\(\log_{10}\lambda\)", "log10 λ"),
    (r"smallest singular value \(\sigma_{\min}(A)\)", "smallest singular value σmin(A)"),
    (r"start at angle \(\varphi\) (degrees)", "start at angle φ (degrees)"),
    (r"\(\|x\|_2\) and \(A^\top\)", "‖x‖2 and Aᵀ"),
    (r"\(\tfrac{1}{2}\rho\) &amp; <b>bold</b>", "(1)/(2)ρ & bold"),
])
def test_labels_become_plain_text_names(label, name):
    from diffrn.demos.core import accessible_name

    assert accessible_name(label) == name


def _named_controls(demo):
    return [w for row in demo.children if isinstance(row, widgets.HBox) for w in row.children
            if isinstance(w, (widgets.SelectionSlider, widgets.FloatSlider, widgets.IntSlider))]


@pytest.mark.parametrize("mode", ["frames", "live"])
def test_every_control_carries_its_label_as_plain_text(monkeypatch, mode):
    """The tooltip is what assets/a11y.js turns into the slider's aria-label on the site."""
    if mode == "frames":
        monkeypatch.setenv("DIFFRN_DEMO_MODE", "frames")
    else:
        monkeypatch.delenv("DIFFRN_DEMO_MODE", raising=False)
    controls = [*CONTROLS, Control("kind", ["a", "b"], r"kind of \(\rho\)"), Control("n", [1, 2, 3])]
    demo = interactive_demo(plot_labelled, controls, alt=lambda **params: f"A line for {params}")
    named = _named_controls(demo)
    assert [c.tooltip for c in named] == ["a", "offset", "kind of ρ", "n"]
    labels = [w.value for row in demo.children if isinstance(row, widgets.HBox) for w in row.children
              if isinstance(w, widgets.HTMLMath)]
    assert labels == [r"\(a\)", "offset", r"kind of \(\rho\)", "n"], "the visible labels keep their maths"


def plot_labelled(slope=1.0, offset=0.0, kind="a", n=1):
    return plot_line(slope, offset)


def test_every_course_control_has_a_plain_name(monkeypatch):
    """Every control of every course demo: a name with its maths in letters (no backslash,
    brace or dollar left), containing the label's words outside the maths."""
    from diffrn.demos.core import accessible_name

    labels = []
    for module, _, demo in COURSE_DEMOS:
        monkeypatch.setattr(module, "interactive_demo", lambda plot, controls, *a, **k: labels.extend(controls))
        demo()
    assert len(labels) >= 15, [c.label for c in labels]
    for control in labels:
        name = accessible_name(control.label or control.name)
        assert name and not re.search(r"[\\{}$]", name), (control.label, name)
        words = re.sub(r"\\\(.*?\\\)", " ", control.label).split()
        assert all(word in name for word in words), (control.label, name)
