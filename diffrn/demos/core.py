"""One way to turn a plotting function into a demo, live or on the static website.

A demo is a plain function ``plot_something(**params) -> Figure`` plus the controls that
choose its parameters. :func:`interactive_demo` wires the two together:

* In a live kernel (Jupyter, JupyterLite) it builds ordinary ipywidgets controls; every
  change redraws the figure and shows it as a PNG.
* When the book is built (``DIFFRN_DEMO_MODE=frames``, set by the book's extension in ``_ext/``), there is no
  kernel behind the page. The plot function is rendered once per combination of control
  values, the frames are shipped inside nested ``Stack`` widgets, and each control is
  ``jslink``-ed to the stacks' ``selected_index``. The browser switches frames by itself, so
  moving a control changes the figure with no server at all.

Every picture is an ``<img>`` with real alt text, given by the demo's ``alt``: a sentence, or
a function ``alt(**params) -> str`` that says what the frame for these parameters shows
("Unit circle and its image under A + t·dA; t = 0.5, the ellipse's axes are 1.8 and 0.4"),
never "Figure 1". ipywidgets' ``Image`` has no alt attribute (its view is a bare ``<img>``
with a blob URL), so a picture is an ``HTML`` widget holding
``<img alt="..." src="data:image/png;base64,...">``: the same bytes as an ``Image`` widget's
saved state (both are base64 in the page), understood by every widget manager, live or static.

Keep the number of frames small (about 30 per demo): each one is a PNG in the page.

A live redraw should take a few tens of milliseconds. Building a figure and laying it out
costs ten times that, so a demo can also give an updater, ``update(fig, **params)``: it
changes the data of the artists that move (``set_data``, ``set_offsets``, ``set_array``,
``set_text``) on the figure that ``plot`` made, and returns them. Live mode then builds the
figure once and redraws only those artists, over a saved picture of the rest::

    def plot_wave(phase=0.0):                        # frames, and the first live picture
        fig, ax = figure()
        ax.plot(X, np.sin(X + phase), gid="wave")
        ax.set_ylim(-1.1, 1.1)
        return fig

    def update_wave(fig, phase=0.0):                 # every later live picture
        (line,) = [a for a in fig.axes[0].lines if a.get_gid() == "wave"]
        line.set_ydata(np.sin(X + phase))
        return [line]

    interactive_demo(plot_wave, [Control("phase", ...)], update=update_wave)

Moving artists are drawn above the others (return a legend or a marker too if it must stay
on top; the frames of the axes are redrawn anyway), and the layout of the first picture is kept: change the figure's title with
:func:`set_suptitle`. An updater may also replace an artist (remove the old one, return the
new one), e.g. a contour set computed anew. Have ``plot`` build the static parts and then call
the updater, so that the frames and the live pictures come from the same code. Without an
updater every change calls ``plot`` again (with the first picture's layout).
"""
from __future__ import annotations

import base64
import html
import io
import os
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import matplotlib.figure
import numpy as np

FRAMES_ENV = "DIFFRN_DEMO_MODE"
FRAME_DPI = 72  # a figure inch is shown as 72 CSS pixels; live pictures are drawn at this density
# The site's frames (and the chapters' static figures) are drawn at twice that density, so they
# are sharp on high-density screens, and reduced to a palette of 256 colours, which makes them
# smaller than the full-colour 72 dpi frames were (plots are mostly flat colour; antialiased
# edges need few shades).
FRAME_DENSITY = 2
FRAME_COLOURS = 256
CSS_DPI = FRAME_DPI
PICTURE_CLASS = "diffrn-picture"
# zlib level of live PNGs: level 1 compresses a frame several times faster than the default 6,
# and the file is only about 20% larger (plots are mostly flat colour).
LIVE_PNG_COMPRESSION = 1


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


def figure_png(fig, dpi: float = FRAME_DPI * FRAME_DENSITY, compress_level: int | None = None,
               colours: int | None = FRAME_COLOURS) -> bytes:
    """Render a figure to PNG bytes, as the site ships it.

    Args:
        fig: the figure.
        dpi: pixels per figure inch; by default twice the CSS scale (see :func:`picture_html`).
        compress_level: zlib level 0-9 (matplotlib's default if None; 9 for palette images).
        colours: reduce the picture to a palette of this many colours (no dithering, so flat
            areas stay flat); None keeps full RGBA colour.
    """
    buffer = io.BytesIO()
    if colours is None:
        options = {} if compress_level is None else {"pil_kwargs": {"compress_level": compress_level}}
        fig.savefig(buffer, format="png", dpi=dpi, **options)
        return buffer.getvalue()
    from PIL import Image

    fig.savefig(buffer, format="png", dpi=dpi)
    full = Image.open(io.BytesIO(buffer.getvalue())).convert("RGBA")
    if full.getextrema()[3][0] == 255:  # opaque (the usual white figure): no alpha in the palette
        full = full.convert("RGB")
    # Maximum coverage keeps white exactly white and every colour within a few levels.
    palette = full.quantize(colors=colours, method=Image.Quantize.MAXCOVERAGE, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    palette.save(buffer, format="png", compress_level=9 if compress_level is None else compress_level)
    return buffer.getvalue()


def picture_html(png: bytes, alt: str, dpi: float = FRAME_DPI * FRAME_DENSITY) -> str:
    """The ``<img>`` element that shows ``png`` with ``alt`` as its alt text.

    Its CSS size is the figure's size at 72 pixels per inch, whatever ``dpi`` it was rendered
    at, so a frame drawn at twice that density is sharp on high-density screens and no larger
    on the page; it shrinks with a narrow column and keeps its aspect ratio.
    """
    width, height = struct.unpack(">II", png[16:24])
    scale = dpi / CSS_DPI
    return (f'<img class="diffrn-picture" alt="{html.escape(alt, quote=True)}" '
            f'width="{round(width / scale)}" height="{round(height / scale)}" '
            f'style="display:block;max-width:100%;height:auto" '
            f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">')


def static_figure(fig, alt: str):
    """A figure for a chapter page: sharp (drawn like a demo frame) and with real alt text.

    ``display(static_figure(fig, "..."))``, or make it the last expression of a cell. It is an
    HTML output holding the same ``<img>`` as a demo frame, so Jupyter and the book show it
    at the figure's size with ``alt`` read out by screen readers.
    """
    from IPython.display import HTML

    if not isinstance(alt, str) or not alt.strip():
        raise ValueError(f"static_figure needs alt text that says what the figure shows, got {alt!r}")
    return HTML(picture_html(figure_png(fig), " ".join(alt.split())))


def _picture_widget(value: str, widgets):
    view = widgets.HTML(value=value, layout=widgets.Layout(max_width="100%"))
    view.add_class(PICTURE_CLASS)  # how pictures() tells a picture from a label
    return view


_SRC = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]*)"')
_ALT = re.compile(r'alt="([^"]*)"')


def picture_png(widget) -> bytes:
    """The PNG bytes shown by a demo's picture widget (for tests and benchmarks)."""
    match = _SRC.search(widget.value)
    if match is None:
        raise ValueError("this widget shows no PNG picture")
    return base64.b64decode(match.group(1))


def picture_alt(widget) -> str:
    """The alt text of a demo's picture widget, as a screen reader reads it."""
    match = _ALT.search(widget.value)
    if match is None:
        raise ValueError("this widget's picture has no alt text")
    return html.unescape(match.group(1))


def pictures(widget) -> list:
    """Every picture widget inside a demo (one per frame on the static site, one live)."""
    if PICTURE_CLASS in getattr(widget, "_dom_classes", ()):
        return [widget]
    return [found for child in getattr(widget, "children", ()) for found in pictures(child)]


def alt_text(alt, plot: Callable[..., Any], params: dict) -> str:
    """The alt text of the frame drawn by ``plot(**params)``: ``alt`` itself, or
    ``alt(**params)``; without ``alt``, the first line of ``plot``'s docstring and the values."""
    if alt is None:
        summary = (plot.__doc__ or plot.__name__).strip().splitlines()[0].rstrip(".")
        values = ", ".join(f"{name} = {_plain(value)}" for name, value in params.items())
        text = f"{summary} ({values})" if values else summary
    else:
        text = alt(**params) if callable(alt) else alt
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"alt text of {plot.__name__} must be a non-empty string describing the picture, "
                         f"got {text!r} for {params}")
    return " ".join(text.split())


def _plain(value) -> str:
    return f"{value:.3g}" if isinstance(value, (float, np.floating)) else str(value)


def set_suptitle(fig, text: str, **kwargs):
    """Set the title of the whole figure (``fig.suptitle``) so that updaters can change it.

    The first call makes the title; later calls change only its text, so it keeps the place
    the layout engine gave it (``fig.suptitle`` would move it back to its default place, and a
    live demo does not run the layout again).
    """
    for text_artist in fig.texts:
        if text_artist.get_gid() == "suptitle":
            text_artist.set_text(text)
            return text_artist
    return fig.suptitle(text, gid="suptitle", **kwargs)


def interactive_demo(plot: Callable[..., Any], controls: Sequence[Control],
                     update: Callable[..., Any] | None = None, *, alt: str | Callable[..., str] | None = None,
                     **fixed):
    """Wire ``plot(**params)`` to ``controls``; returns a widget to display.

    Args:
        plot: draws the figure for one choice of parameters and returns it.
        controls: one :class:`Control` per parameter that the reader can change.
        update: optional ``update(fig, **params)`` for live mode: changes the moving artists
            of a figure made by ``plot`` and returns them (see the module docstring). The
            static site always uses ``plot``.
        alt: what the picture shows, for readers who cannot see it: a string, or
            ``alt(**params) -> str`` called with the same parameters as ``plot`` (the fixed
            ones too) so each frame says what it shows (values, what changed). It becomes the
            ``alt`` attribute of every frame and of the live picture. Without it, the first
            line of ``plot``'s docstring and the parameter values are used; every demo of
            the course passes its own.
        fixed: parameters passed to every call unchanged.
    """
    import ipywidgets as widgets

    names = [c.name for c in controls]
    if len(set(names)) != len(names):
        raise ValueError(f"two controls set the same parameter: {names}")
    if frames_mode():
        return _frames_demo(plot, list(controls), fixed, widgets, alt)
    describe = lambda params: alt_text(alt, plot, {**fixed, **params})  # noqa: E731
    return _live_demo(LiveFigure(plot, update, fixed), list(controls), widgets, describe)


def _label_widget(control, widgets):
    return widgets.HTMLMath(value=control.label or control.name)


# The controls' accessible names. ipywidgets draws a slider as a noUiSlider handle
# (role="slider") with no name of its own, and the visible label beside it is a separate
# widget with typeset maths. Each control therefore carries its label as plain text in its
# ``tooltip`` (ipywidgets writes it into the page as the title of the control's hidden
# description label); assets/a11y.js copies it onto the handle as aria-label, so a
# screen reader says "base angle θ0 (degrees), slider, 45" and the name contains the words
# the reader sees (WCAG 2.5.3, label in name).
_GREEK = {name: chr(code) for name, code in [
    ("alpha", 0x3B1), ("beta", 0x3B2), ("gamma", 0x3B3), ("delta", 0x3B4), ("epsilon", 0x3F5),
    ("varepsilon", 0x3B5), ("zeta", 0x3B6), ("eta", 0x3B7), ("theta", 0x3B8), ("vartheta", 0x3D1),
    ("iota", 0x3B9), ("kappa", 0x3BA), ("lambda", 0x3BB), ("mu", 0x3BC), ("nu", 0x3BD), ("xi", 0x3BE),
    ("pi", 0x3C0), ("rho", 0x3C1), ("sigma", 0x3C3), ("tau", 0x3C4), ("upsilon", 0x3C5), ("phi", 0x3D5),
    ("varphi", 0x3C6), ("chi", 0x3C7), ("psi", 0x3C8), ("omega", 0x3C9), ("Gamma", 0x393), ("Delta", 0x394),
    ("Theta", 0x398), ("Lambda", 0x39B), ("Xi", 0x39E), ("Pi", 0x3A0), ("Sigma", 0x3A3), ("Phi", 0x3A6),
    ("Psi", 0x3A8), ("Omega", 0x3A9)]}
_SYMBOLS = {"cdot": "·", "times": "×", "top": "ᵀ", "nabla": "∇", "partial": "∂", "infty": "∞", "to": "→",
            "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "approx": "≈", "in": "∈", "pm": "±",
            "|": "‖", "{": "{", "}": "}", "%": "%", "_": "_", "ell": "ℓ"}
_SPACES = {",", ";", ":", "!", " ", "quad", "qquad"}
_INVISIBLE = {"left", "right", "big", "Big", "mathbf", "mathrm", "mathit", "mathcal", "mathbb", "boldsymbol",
              "operatorname", "text", "textrm", "displaystyle"}
_TEX_TOKEN = re.compile(r"\\([A-Za-z]+|.)|([{}])|(.)", re.S)
_MATH = re.compile(r"\\\((.*?)\\\)", re.S)


def _tex_tokens(tex: str):
    """(kind, text) pairs: ("cmd", name), ("group", inside braces) or ("char", c)."""
    tokens, depth, start = [], 0, 0
    for match in _TEX_TOKEN.finditer(tex):
        command, brace, char = match.groups()
        if brace == "{":
            if depth == 0:
                start = match.end()
            depth += 1
        elif brace == "}" and depth:
            depth -= 1
            if depth == 0:
                tokens.append(("group", tex[start:match.start()]))
        elif depth == 0:
            tokens.append(("cmd", command) if command is not None else ("char", char))
    return tokens


def _tex_plain(tex: str) -> str:
    """Inline TeX as the words a screen reader should say: Greek letters as letters,
    subscripts run on (x_1 is x1), operators as words (s\\tanh x is "s tanh x")."""

    def one(kind, text):
        if kind == "group":
            return _tex_plain(text)
        if kind == "char":
            return text
        if text in _GREEK:
            return _GREEK[text]
        if text in _SYMBOLS:
            return _SYMBOLS[text]
        if text in _SPACES:
            return " "
        if text in _INVISIBLE:
            return ""
        return text  # \\log, \\tanh, \\min, ...: the operator's name

    out, word_before, tokens = "", False, _tex_tokens(tex)
    k = 0
    while k < len(tokens):
        kind, text = tokens[k]
        k += 1
        if kind == "char" and text in "_^" and k < len(tokens):
            script = one(*tokens[k])
            out += ("" if text == "_" or script == "ᵀ" else "^") + script
            k += 1
            continue
        if kind == "cmd" and text in ("frac", "tfrac", "dfrac") and k + 1 < len(tokens):
            out += f"({one(*tokens[k])})/({one(*tokens[k + 1])})"
            k += 2
            continue
        piece = one(kind, text)
        operator = kind == "cmd" and text.isalpha() and text not in _GREEK and text not in _SYMBOLS \
            and text not in _SPACES and text not in _INVISIBLE
        # TeX separates \\tanh from what follows by itself; in plain text a space must.
        if piece[:1].isalnum() and out[-1:].isalnum() and (operator or word_before):
            out += " "
        out += piece
        if piece.strip():
            word_before = operator
    return " ".join(out.split())


def accessible_name(label: str) -> str:
    """A control's label as plain text: ``r"base angle \\(\\theta_0\\) (degrees)"`` becomes
    "base angle θ0 (degrees)" (the maths in words and letters, HTML tags dropped)."""
    text = _MATH.sub(lambda match: _tex_plain(match.group(1)), label)
    text = html.unescape(re.sub(r"<[^>]*>", " ", text))
    return " ".join(text.split())


def _name(control) -> str:
    return accessible_name(control.label or control.name)


def _frames_demo(plot, controls, fixed, widgets, alt=None):
    sliders = [
        widgets.SelectionSlider(
            options=[(c.text(v), i) for i, v in enumerate(c.values)],
            value=c.start_index,
            continuous_update=True,
            layout=widgets.Layout(width="320px"),
            style={"description_width": "0px"},
            tooltip=_name(c),
        )
        for c in controls
    ]

    def build(level: int, chosen: tuple[int, ...]):
        if level == len(controls):
            params = {c.name: c.values[i] for c, i in zip(controls, chosen)}
            fig = plot(**fixed, **params)
            return _picture_widget(picture_html(figure_png(fig), alt_text(alt, plot, {**fixed, **params})), widgets)
        control = controls[level]
        children = [build(level + 1, chosen + (i,)) for i in range(len(control.values))]
        stack = widgets.Stack(children=children, selected_index=control.start_index)
        widgets.jslink((sliders[level], "index"), (stack, "selected_index"))
        return stack

    view = build(0, ())
    rows = [widgets.HBox([_label_widget(c, widgets), s]) for c, s in zip(controls, sliders)]
    return widgets.VBox([*rows, view], layout=widgets.Layout(width="100%"))


def _live_demo(live_figure, controls, widgets, describe):
    inputs = {c.name: _live_control(c, widgets) for c in controls}

    def picture():
        # The same <img> as a static frame: what the reader sees (and hears) live matches the site.
        params = {name: control.value for name, control in inputs.items()}
        return picture_html(live_figure.png(params), describe(params), FRAME_DPI)

    view = _picture_widget(picture(), widgets)

    def redraw(change=None):
        view.value = picture()

    for control in inputs.values():
        control.observe(redraw, names="value")
    rows = [widgets.HBox([_label_widget(c, widgets), inputs[c.name]]) for c in controls]
    return widgets.VBox([*rows, view])


class LiveFigure:
    """The picture of a live demo, redrawn as cheaply as the demo allows.

    * With ``update``: the figure is built once by ``plot`` and laid out once. Then the
      artists that ``update`` returns are marked animated, everything else is drawn once and
      saved (the background), and each change restores the background, lets ``update`` move
      its artists and draws only them (blitting). Text metrics stay cached in the renderer.
    * Without: each change builds a new figure with ``plot``; it takes the axes positions of
      the first figure instead of running the constrained layout again.

    Both encode the PNG with a fast zlib level (:data:`LIVE_PNG_COMPRESSION`).
    """

    def __init__(self, plot: Callable[..., Any], update: Callable[..., Any] | None = None, fixed=None):
        self.plot, self.update, self.fixed = plot, update, dict(fixed or {})
        self.fig = self.canvas = self.background = None
        self.moving: list = []  # the artists update() changes, drawn over the background
        self.in_background: set = set()  # ids of the artists drawn into the background
        self.positions = None  # axes positions of the first figure (plot-only demos)

    def png(self, params: dict) -> bytes:
        """The PNG of the figure for ``params``."""
        if self.update is None:
            self._draw_new_figure(params)
        elif self.fig is None:
            self._build(params)
        else:
            self._blit(params)
        return _canvas_png(self.canvas)

    def _draw_new_figure(self, params):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        fig = self.plot(**self.fixed, **params)
        fig.set_dpi(FRAME_DPI)
        if self.positions is not None and len(fig.axes) == len(self.positions):
            fig.set_layout_engine("none")
            for ax, position in zip(fig.axes, self.positions):
                ax.set_position(position)
        self.fig, self.canvas = fig, FigureCanvasAgg(fig)
        self.canvas.draw()
        if self.positions is None:
            self.positions = [ax.get_position(original=True) for ax in fig.axes]

    def _build(self, params):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.fig = self.plot(**self.fixed, **params)
        self.fig.set_dpi(FRAME_DPI)
        self.canvas = FigureCanvasAgg(self.fig)
        self.canvas.draw()  # runs the layout engine once ...
        self.fig.set_layout_engine("none")  # ... and keeps the positions it chose
        self._blit(params)

    def _blit(self, params):
        moved = [a for a in self.update(self.fig, **self.fixed, **params) if a is not None]
        # The frames (spines) of the axes where something moves are drawn over it in the figure.
        moved += [spine for ax in {id(a.axes): a.axes for a in moved if a.axes}.values() for spine in ax.spines.values()]
        unknown = list(dict.fromkeys(a for a in moved if not a.get_animated()))
        for artist in unknown:
            artist.set_animated(True)  # left out of canvas.draw(): drawn over the background each time
        # Artists the updater removed are forgotten; the ones it returns for the first time join.
        self.moving = [a for a in [*self.moving, *unknown] if a.figure is not None]
        # A new artist (say a recomputed contour set) is not in the background: it is simply
        # drawn. An artist that was drawn into the background has to be taken out of it.
        if self.background is None or any(id(a) in self.in_background for a in unknown):
            self.canvas.draw()
            self.background = self.canvas.copy_from_bbox(self.fig.bbox)
            self.in_background = {id(a) for a in self.fig.findobj() if not a.get_animated()}
        else:
            self.canvas.restore_region(self.background)
        renderer = self.canvas.get_renderer()
        for artist in sorted(self.moving, key=self._draw_order()):
            artist.draw(renderer)

    def _draw_order(self):
        """Sort key: the order in which ``fig.draw`` would draw the moving artists (axes by
        axes, then by zorder, then in the order they were added; the figure's own last)."""
        axes_rank = {id(ax): i for i, ax in enumerate(self.fig.axes)}
        child_rank = {}
        for parent in [*self.fig.axes, self.fig]:
            child_rank.update((id(child), i) for i, child in enumerate(parent.get_children()))
        return lambda a: (axes_rank.get(id(a.axes), len(axes_rank)), a.get_zorder(), child_rank.get(id(a), 0))


def _canvas_png(canvas) -> bytes:
    """The canvas's pixels as a PNG, written directly with zlib.

    PNG is simple: a signature and three chunks (header, compressed rows, end), each with
    its length and a CRC. Rows are stored unfiltered (a 0 byte in front of each): Pillow's
    adaptive row filters cost several times the compression itself.
    """
    pixels = np.asarray(canvas.buffer_rgba())
    height, width = pixels.shape[:2]
    rows = np.zeros((height, 1 + 4 * width), dtype=np.uint8)
    rows[:, 1:] = pixels.reshape(height, 4 * width)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA, not interlaced
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), LIVE_PNG_COMPRESSION)) + chunk(b"IEND", b""))


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
                tooltip=_name(control),
            )
    return widgets.SelectionSlider(options=[(control.text(v), v) for v in values], value=control.start,
                                   tooltip=_name(control))


def frame_count(controls: Sequence[Control]) -> int:
    """How many frames the static version of a demo renders."""
    return int(np.prod([len(c.values) for c in controls]))


__all__ = ["Control", "interactive_demo", "figure", "figure_png", "frames_mode", "frame_count", "LiveFigure",
           "set_suptitle", "picture_html", "picture_png", "picture_alt", "pictures", "alt_text", "static_figure",
           "accessible_name"]
