"""Lesson 8 figures: how summation method sets the error, and what cross-entropy holds in memory.

``plot_summation_precision``: relative error of each summation method against
the number of terms n, log-log, one axes per lesson case (``1 + n × small`` and
``n × value``). A running (sequential) sum's error grows with n; pairwise,
Kahan and float64 stay near the dtype's resolution. Exact results (error 0)
cannot sit on a log axis: they are drawn on a dashed floor line one decade below
the smallest non-zero error, whose tick reads "0", with a break mark on the axis
between it and the real decades and a note under it; no tick shows below it.
One legend for both axes sits below them.

``plot_ce_memory``: MiB of each (B, C) array a naive cross-entropy forward
materialises (logits, softmax, log-softmax) against streaming log-sum-exp's
extra working set, computed from shapes; the tracemalloc measurements, when the
experiment took them, sit beside them.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import FuncFormatter, Locator

from ._builder import FigureBuilder, LineSet, make_plot_functions, set_limits
from ._style import (
    COLORS,
    FONT,
    LOG_FORMATTER,
    POWER_FORMATTER,
    color,
    finite,
    format_number,
    needs_powers,
    set_title,
    style_axes,
)

__all__ = [
    "plot_ce_memory",
    "plot_summation_precision",
    "update_ce_memory",
    "update_summation_precision",
]

_METHOD_STYLE = {
    "sequential": {"color": COLORS["vermillion"], "marker": "o"},
    "pairwise": {"color": COLORS["blue"], "marker": "s"},
    "kahan": {"color": COLORS["green"], "marker": "^"},
    "float64": {"color": COLORS["black"], "marker": "D", "linestyle": "--"},
    "xp.sum": {"color": COLORS["purple"], "marker": "v", "linestyle": ":"},
}
_CASE_TITLE = {
    "one_plus_small": "1 + n × {small}",
    "repeated_value": "n × {value}",
}
#: room below the floor line for its note, in decades
_BELOW_FLOOR = 0.9


class _FromFloor(Locator):
    """The ticks of ``base`` at or above ``floor``: nothing below the "0" line."""

    def __init__(self, base, floor):
        self.base, self.floor = base, floor

    def __call__(self):
        lo, hi = self.axis.get_view_interval()
        return self.tick_values(lo, hi)

    def tick_values(self, vmin, vmax):
        ticks = np.asarray(self.base.tick_values(vmin, vmax), dtype=float)
        return ticks[ticks >= self.floor * (1 - 1e-9)]


def _floor_formatter(base, floor):
    """``base``'s labels, with the floor tick written "0"."""

    def label(value, pos=None):
        if value > 0 and abs(np.log10(value) - np.log10(floor)) < 1e-6:
            return "0"
        return base(value, pos)

    return FuncFormatter(label)


class SummationPrecisionFigure(FigureBuilder):
    """Relative error of each summation method against the number of terms."""

    result_type = "SummationPrecisionResult"
    figsize = (12.0, 4.8)

    def layout(self, **options):
        # a list, not subplots()'s object ndarray: gc cannot see through ndarrays, so
        # fig -> builder -> ndarray -> Axes -> fig would never be collected
        self.axes = list(self.fig.subplots(1, 2, sharey=True))
        self.lines, self.floors, self.floor_text, self.breaks = [], [], [], []
        for k, ax in enumerate(self.axes):
            style_axes(
                ax,
                xlabel="number of terms n",
                ylabel="|relative error|" if k == 0 else None,
                xlog=True,
                ylog=True,
            )
            self.lines.append(LineSet(ax, markersize=7))
            along = ax.get_yaxis_transform()  # x: 0..1 across the axes, y: data
            (floor,) = ax.plot(
                [], [], color="0.45", lw=1.2, ls="--", zorder=0, transform=along, label="_floor"
            )
            self.floors.append(floor)
            self.floor_text.append(
                ax.annotate(
                    "error exactly 0: drawn on this line",
                    xy=(0.02, 1.0),
                    xycoords=along,
                    xytext=(0, -7),
                    textcoords="offset points",
                    ha="left",
                    va="top",
                    color="0.3",
                    fontsize=FONT["note"] - 1,
                )
            )
            # an axis break between the "0" line and the real decades above it
            (mark,) = ax.plot(
                [],
                [],
                ls="none",
                marker=[(-1, -0.45), (1, 0.45)],
                ms=11,
                mew=1.6,
                color=COLORS["black"],
                transform=along,
                clip_on=False,
                zorder=6,
                label="_axis break",
            )
            self.breaks.append(mark)
        self.axes[1].tick_params(labelleft=True)
        self.legend = None

    def update(self, r):
        n = np.asarray(r.n_values, dtype=float)
        err = np.abs(np.asarray(r.rel_error, dtype=float))
        nonzero = finite(err, positive=True)
        floor = 10.0 ** (np.floor(np.log10(nonzero.min())) - 1) if nonzero.size else 1e-16
        for k, (ax, case) in enumerate(zip(self.axes, r.cases, strict=False)):
            series = []
            for m, method in enumerate(r.methods):
                style = {"color": color(m), "marker": "o", **_METHOD_STYLE.get(method, {})}
                y = np.where(err[k, m] == 0, floor, err[k, m])
                series.append((n, y, {**style, "label": method}))
            self.lines[k].set(series)
            self.floors[k].set_data([0, 1], [floor, floor])
            self.floor_text[k].xy = (0.02, floor)
            self.breaks[k].set_data([0, 0], [floor * 10**0.3, floor * 10**0.45])
            title = _CASE_TITLE.get(case, case).format(
                small=format_number(r.small), value=format_number(r.value)
            )
            set_title(ax, f"{title}   ({r.dtype})")
            set_limits(
                ax,
                x=[n],
                y=[y for _, y, _ in series],
                yinclude=[floor / 10**_BELOW_FLOOR],
                margin=0.06,
            )
        lo, hi = self.axes[0].get_ylim()
        base = POWER_FORMATTER if needs_powers(floor, hi) else LOG_FORMATTER
        for ax in self.axes:  # shared y: the same ticks; none below the floor
            locator = ax.yaxis.get_major_locator()
            if isinstance(locator, _FromFloor):  # set through the other (shared) axes
                locator = locator.base
            ax.yaxis.set_major_locator(_FromFloor(locator, floor))
            ax.yaxis.set_major_formatter(_floor_formatter(base, floor))
        if self.legend is not None:
            self.legend.remove()
        self.legend = self.fig.legend(
            handles=self.lines[0].lines,
            loc="outside lower center",
            ncols=len(self.lines[0].lines),
            fontsize=FONT["legend"],
            frameon=False,
        )
        return self.fig


_BARS = (
    ("logits (B×C)", "bytes_logits", COLORS["blue"]),
    ("softmax (B×C)", "bytes_softmax", COLORS["blue"]),
    ("log-softmax (B×C)", "bytes_log_softmax", COLORS["blue"]),
    ("naive total", "bytes_naive_total", COLORS["vermillion"]),
    ("streaming extra", "bytes_streaming_working", COLORS["green"]),
    ("naive, measured", "measured_naive_bytes", COLORS["orange"]),
    ("stable, measured", "measured_stable_bytes", COLORS["orange"]),
    ("streaming, measured", "measured_streaming_bytes", COLORS["sky"]),
)
MIB = 2**20


class CEMemoryFigure(FigureBuilder):
    """Memory of a cross-entropy forward: full (B, C) copies vs streaming log-sum-exp."""

    result_type = "CEMemoryResult"
    figsize = (9.0, 4.8)

    def layout(self, **options):
        self.ax = self.fig.subplots()
        style_axes(self.ax, xlabel="MiB (2²⁰ B); measured = logits + peak")
        self.ax.grid(False, axis="y")
        y = np.arange(len(_BARS))
        self.bars = self.ax.barh(y, np.ones(len(_BARS)), color=[c for _, _, c in _BARS], height=0.7)
        self.ax.set_yticks(y, [label for label, _, _ in _BARS], fontsize=FONT["tick"])
        self.ax.invert_yaxis()
        self.labels = [
            self.ax.text(0, i, "", va="center", fontsize=FONT["note"]) for i in range(len(_BARS))
        ]

    def update(self, r):
        values = np.array([float(getattr(r, field)) / MIB for _, field, _ in _BARS])
        top = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0
        for bar, text, v in zip(self.bars, self.labels, values, strict=True):
            shown = v if np.isfinite(v) else 0.0
            bar.set_width(shown)
            text.set_x(shown + 0.01 * top)
            text.set_text(f" {v:,.2f}" if np.isfinite(v) else " not measured")
        self.ax.set_xlim(0, top * 1.3)
        set_title(self.ax, f"CE memory, {r.dtype}: {r.batch_size:,} × {r.n_classes:,}")
        return self.fig


plot_summation_precision, update_summation_precision = make_plot_functions(
    SummationPrecisionFigure, "summation_precision"
)
plot_ce_memory, update_ce_memory = make_plot_functions(CEMemoryFigure, "ce_memory")
