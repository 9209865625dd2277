"""The look shared by every losskit figure: a colour-blind-safe palette and projector-size type.

Figures are made without pyplot (``Figure`` + an Agg canvas) so that building one
never touches a global backend, never leaks a figure into pyplot's list, and
works headless (tests, the CLI). Widgets pass in a pyplot/ipympl figure instead
when an interactive front-end is present.

Styling is applied per artist (explicit font sizes, colours, line widths), not
through global ``rcParams``, so a figure looks the same whatever the notebook's
matplotlib settings are and tick labels created lazily at draw time keep the
projector size too.
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

__all__ = [
    "COLORS",
    "FONT",
    "LW",
    "PALETTE",
    "axes_note",
    "color",
    "format_number",
    "legend_below",
    "new_figure",
    "set_title",
    "style_axes",
]

#: Okabe & Ito (2008), "Color Universal Design": distinguishable with every common
#: colour-vision deficiency and in greyscale by lightness.
COLORS = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}

#: Order used for "series i": strong, distinct hues first; yellow (weak on white) last.
PALETTE = [
    COLORS["blue"],
    COLORS["vermillion"],
    COLORS["green"],
    COLORS["orange"],
    COLORS["purple"],
    COLORS["sky"],
    COLORS["black"],
    COLORS["yellow"],
]

#: Font sizes in points: readable from the back of a lecture room at 1080p.
FONT = {"title": 15, "label": 14, "tick": 12, "legend": 11.5, "note": 12}

#: Line width (points) for measured data; theory lines use the same width, dashed.
LW = 2.4


def color(i: int) -> str:
    """Colour of series ``i`` (cycles through :data:`PALETTE`)."""
    return PALETTE[i % len(PALETTE)]


def new_figure(figsize=(12.0, 4.6), dpi=100, *, fast_text=False) -> Figure:
    """A blank, pyplot-free figure with an Agg canvas and constrained layout.

    ``fast_text``: reuse rendered text bitmaps between draws (live panels; see
    :mod:`losskit.plots._fasttext`), at the price of whole-pixel text placement.
    """
    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    if fast_text:
        from ._fasttext import CachedTextCanvasAgg

        CachedTextCanvasAgg(fig)
    else:
        FigureCanvasAgg(fig)
    return fig


def axes_note(ax, x: float, y: float, **kw):
    """An empty note at ``(x, y)`` in axes fractions (0..1), in the note font; its text
    is set on every update. ``kw`` overrides the defaults (``va="bottom"``) or adds
    colour, alignment, a backing box..."""
    return ax.text(
        x, y, "", transform=ax.transAxes, fontsize=FONT["note"], **{"va": "bottom", **kw}
    )


def legend_below(parent, handles, *, ncols: int, fontsize: float = FONT["legend"]):
    """A frameless legend under the axes of ``parent`` (a Figure or SubFigure), never on data.

    Constrained layout makes room for it below the x labels. The legend is made
    once per call: a builder whose labels carry numbers removes the old one and
    calls this again on every update.
    """
    return parent.legend(
        handles=handles,
        loc="outside lower center",
        ncols=ncols,
        fontsize=fontsize,
        frameon=False,
    )


def set_title(ax, text: str) -> None:
    """Title at a fixed height: matplotlib otherwise measures the tick labels at every
    draw to dodge them, a sizeable part of a panel's redraw time."""
    ax.set_title(text, fontsize=FONT["title"], y=1.0, pad=8)


def style_axes(ax, *, title=None, xlabel=None, ylabel=None, xlog=False, ylog=False, xint=False):
    """Projector-size labels, a light grid, and log scales where asked.

    ``xint``: whole-number x ticks (epochs, updates).
    """
    if xlog:
        ax.set_xscale("log")
    if ylog:
        ax.set_yscale("log")
    if title:
        set_title(ax, title)
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=FONT["label"])
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=FONT["label"])
    ax.tick_params(labelsize=FONT["tick"])
    # five labelled ticks are plenty on a slide, and each one costs drawing time
    if not xlog:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=xint))
    if not ylog:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.grid(True, which="major", alpha=0.3, linewidth=0.8)
    # Minor ticks on log axes cost more to draw than the data (dozens of tick
    # artists per decade); the labelled decades are what a lecture room reads.
    if xlog:
        ax.xaxis.set_minor_locator(NullLocator())
    if ylog:
        ax.yaxis.set_minor_locator(NullLocator())
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax


def finite(a, *, positive=False) -> np.ndarray:
    """The finite (and, for log axes, positive) values of ``a`` as a flat float array."""
    a = np.asarray(a, dtype=float).ravel()
    keep = np.isfinite(a)
    if positive:
        keep &= a > 0
    return a[keep]


#: decades (exponents) written as plain numbers on a log axis that stays within them
_PLAIN = (-3, 4)

_SUPERSCRIPT = str.maketrans(
    "-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"
)


def _log_label(value, _pos=None, *, powers=False) -> str:
    """``0.2``, ``5000``, ``10⁻⁵``, ``2×10⁻⁵``: plain text (mathtext costs a lot per draw).

    Plain numbers from 0.001 to 99999; ``powers``: every value as a power of ten
    (``10⁰``, ``10²``), so that an axis reaching beyond that range does not mix
    ``0.01`` with ``10⁻⁶`` (see :func:`needs_powers`).
    """
    if not np.isfinite(value) or value <= 0:
        return ""
    exponent = int(np.floor(np.log10(value) + 1e-9))
    mantissa = value / 10.0**exponent
    if _PLAIN[0] <= exponent <= _PLAIN[1] and not powers:
        return f"{value:g}"
    power = "10" + str(exponent).translate(_SUPERSCRIPT)
    return power if abs(mantissa - 1) < 1e-6 else f"{mantissa:g}×{power}"


LOG_FORMATTER = FuncFormatter(_log_label)
POWER_FORMATTER = FuncFormatter(lambda value, pos=None: _log_label(value, powers=True))


def format_number(value: float) -> str:
    """A number for a title or note: ``0.1``, ``25``, ``10⁻⁸``, ``3×10⁻⁵``, ``−2×10⁶``
    (never ``1e-08``)."""
    value = float(value)
    if value == 0 or not np.isfinite(value):
        return f"{value:g}"
    sign = "−" if value < 0 else ""
    exponent = int(np.floor(np.log10(abs(value)) + 1e-9))
    if -2 <= exponent <= 3:
        return sign + f"{abs(value):.4g}"
    return sign + _log_label(float(f"{abs(value):.3g}"), powers=True)


def needs_powers(lo: float, hi: float) -> bool:
    """Whether a log axis over ``lo..hi`` shows a decade outside 0.001..10000 (then every
    tick is written with a power of ten)."""
    if not (lo > 0 and hi > lo):
        return False
    first = int(np.floor(np.log10(lo) + 1e-9))  # a 2×, 5× tick may sit in this decade
    last = int(np.floor(np.log10(hi) + 1e-9))
    return first < _PLAIN[0] or last > _PLAIN[1]


def log_ticks(axis, lo: float, hi: float) -> None:
    """Ticks for a log axis spanning ``lo..hi``: 1-2-3-5-7 within a decade, 1-2-5 within two,
    decades beyond (numticks caps the count on very wide spans). Labels are plain numbers
    while every decade shown lies in 0.001..10000, powers of ten for all of them otherwise."""
    decades = np.log10(hi) - np.log10(lo) if lo > 0 and hi > lo else 0.0
    subs = (1.0, 2.0, 3.0, 5.0, 7.0) if decades < 1 else (1.0, 2.0, 5.0) if decades < 2 else (1.0,)
    axis.set_major_locator(LogLocator(base=10, subs=subs, numticks=12))
    axis.set_major_formatter(POWER_FORMATTER if needs_powers(lo, hi) else LOG_FORMATTER)
