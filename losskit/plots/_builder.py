"""Build a figure once, then update its artists in place from each new result.

A :class:`FigureBuilder` subclass lays out the axes and static artists of one
experiment's figure (``layout``) and moves data into them (``update``). The
builder is stored on the figure (``fig.losskit_builder``), so a widget keeps one
Figure for its whole life and a new result only calls ``set_data``/``set_text``
and rescales the axes: no axes are re-created, nothing flickers, and ipympl only
has to redraw.

Each builder is published as a pair of functions (:func:`make_plot_functions`):
``plot_<name>(result, fig=None)`` builds (or, given a figure it already built,
updates) and returns the Figure; ``update_<name>(fig, result)`` updates a figure
that ``plot_<name>`` made. :func:`update_figure` does the latter for any builder.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
from matplotlib.cbook import normalize_kwargs
from matplotlib.lines import Line2D

from ._style import LW, finite, log_ticks, new_figure

__all__ = [
    "FigureBuilder",
    "LineSet",
    "builder_of",
    "make_plot_functions",
    "set_limits",
    "update_figure",
]

ATTR = "losskit_builder"


class FigureBuilder(ABC):
    """Axes and artists of one experiment's figure, reused across results.

    Subclasses set ``result_type`` (the experiment's dataclass name, used only in
    messages and dispatch), ``figsize``, and implement :meth:`layout` (make axes
    and artists; called once) and :meth:`update` (move a result's arrays into the
    artists and rescale; called for every result). ``fig`` may be a Figure or a
    SubFigure, so a panel can put two builders side by side in one figure.
    """

    result_type: str = ""
    figsize: tuple[float, float] = (12.0, 4.6)
    #: keyword options fixed when the figure is laid out (which axes exist); the
    #: other keywords of ``plot_<name>`` are per-update options
    layout_options: tuple[str, ...] = ()

    def __init__(self, fig, **options):
        self.fig = fig
        self.result = None
        self.options = options
        self.layout(**options)

    @abstractmethod
    def layout(self, **options) -> None:
        """Make the axes and artists (once)."""

    @abstractmethod
    def update(self, result):
        """Move ``result``'s arrays into the artists and rescale (every result)."""

    def __call__(self, result, **options):
        self.update(result, **options)
        self.result = result
        return self.fig

    def check(self, result) -> None:
        """A ``TypeError`` naming the expected result type when given another one."""
        name = type(result).__name__
        if self.result_type and name != self.result_type:
            raise TypeError(
                f"{type(self).__name__} draws a {self.result_type}; got a {name}. "
                f"Pass the result of the matching experiment function."
            )


def builder_of(fig):
    """The :class:`FigureBuilder` that drew ``fig`` (``None`` if it was not a losskit figure)."""
    return getattr(fig, ATTR, None)


def _build(cls, fig, layout_options):
    if fig is None:
        fig = new_figure(cls.figsize)
    else:
        fig.clear()
    builder = cls(fig, **layout_options)
    setattr(fig, ATTR, builder)
    return builder


def _split(cls, options):
    fixed = {k: options.pop(k) for k in list(options) if k in cls.layout_options}
    return fixed, options


def make_plot_functions(cls, name: str):
    """``plot_<name>`` and ``update_<name>`` for builder class ``cls``."""

    def plot(result, fig=None, **options):
        fixed, options = _split(cls, options)
        builder = builder_of(fig) if fig is not None else None
        if not isinstance(builder, cls) or any(
            builder.options.get(k) != v for k, v in fixed.items()
        ):
            builder = _build(cls, fig, fixed)
        builder.check(result)
        return builder(result, **options)

    def update(fig, result, **options):
        builder = builder_of(fig)
        if not isinstance(builder, cls):
            raise TypeError(
                f"update_{name}: this figure was not made by plot_{name} "
                f"(it carries {type(builder).__name__ if builder else 'no losskit builder'}); "
                f"call plot_{name}(result, fig=fig) to draw into it."
            )
        builder.check(result)
        return builder(result, **options)

    plot.__name__ = plot.__qualname__ = f"plot_{name}"
    update.__name__ = update.__qualname__ = f"update_{name}"
    plot.__module__ = update.__module__ = cls.__module__  # the lesson's module
    what = cls.__doc__.strip().splitlines()[0] if cls.__doc__ else name
    plot.__doc__ = (
        f"{what}\n\nTakes a ``{cls.result_type}`` and returns a matplotlib Figure. Given "
        f"``fig`` that this function drew before, updates its artists in place instead "
        f"of rebuilding (any other ``fig`` is cleared and drawn into). Keyword "
        f"options go to ``{cls.__name__}.update``."
    )
    update.__doc__ = (
        f"Update a figure made by ``plot_{name}`` in place from a new ``{cls.result_type}``; "
        f"returns the same Figure."
    )
    plot.builder = update.builder = cls
    return plot, update


def update_figure(fig, result):
    """Update any losskit figure in place from a new result of its experiment."""
    builder = builder_of(fig)
    if builder is None:
        raise TypeError("update_figure: this figure was not drawn by a losskit.plots builder.")
    builder.check(result)
    return builder(result)


class LineSet:
    """A varying number of lines on one axes, reused between updates.

    ``set([(x, y, style), ...])`` moves data into the first lines, creates any
    missing ones, and removes extras, so a result with a different number of
    series (say more batch sizes) still updates the same axes in place.
    """

    def __init__(self, ax, **default_style):
        self.ax = ax
        # alpha=None: a property a later style leaves out goes back to its default
        self.default = {"linewidth": LW, "alpha": None, **normalize_kwargs(default_style, Line2D)}
        self.lines = []

    def set(self, series):
        series = list(series)
        for i, (x, y, style) in enumerate(series):
            style = {**self.default, **normalize_kwargs(style, Line2D)}
            if i < len(self.lines):
                line = self.lines[i]
                line.set_data(x, y)
                line.set(**style)
            else:
                (line,) = self.ax.plot(x, y, **style)
                self.lines.append(line)
        for line in self.lines[len(series) :]:
            line.remove()
        del self.lines[len(series) :]
        return self.lines


def _span(values, log: bool, margin: float, include=()):
    v = finite(np.concatenate([finite(a, positive=log) for a in values] or [np.empty(0)]))
    extra = finite(include, positive=log)
    v = np.concatenate([v, extra])
    if v.size == 0:
        return None
    lo, hi = float(v.min()), float(v.max())
    if log:
        lo, hi = np.log10(lo), np.log10(hi)
    with np.errstate(over="ignore", invalid="ignore"):
        if not hi - lo >= 1e-12 * max(1.0, abs(hi)):  # also catches inf - inf
            pad = 0.5 if log else max(min(abs(hi), 1e300) * 0.1, 0.5)
        else:
            pad = min((hi - lo) * margin, 1e300)
        lo, hi = lo - pad, hi + pad
    # near the float range a margin can overflow: keep the limits drawable
    if log:
        lo, hi = min(max(lo, -280.0), 280.0), min(max(hi, -280.0), 280.0)
        return (10.0**lo, 10.0**hi) if hi > lo else (10.0 ** (lo - 1), 10.0 ** (lo + 1))
    lo, hi = max(lo, -1e300), min(hi, 1e300)
    return (lo, hi) if hi > lo else (lo - 1.0, lo + 1.0)


def set_limits(ax, *, x=(), y=(), margin=0.05, xinclude=(), yinclude=()):
    """Fit the axes to the finite data in ``x`` and ``y`` (lists of arrays).

    matplotlib's autoscale ignores collections (bands) and chokes on all-NaN
    lines; this looks only at finite values (positive ones on a log axis), adds
    a margin in display space, and leaves an axis alone when it has nothing to show.
    """
    for data, include, axis, setter in (
        (x, xinclude, ax.xaxis, ax.set_xlim),
        (y, yinclude, ax.yaxis, ax.set_ylim),
    ):
        if not len(data):
            continue
        log = axis.get_scale() == "log"
        span = _span(data, log, margin, include)
        if span:
            setter(*span)
            if log:
                log_ticks(axis, *span)
