"""Lesson 8 figures: how summation method sets the error, and what cross-entropy holds in memory.

``plot_summation_precision``: relative error of each summation method against
the number of terms n, log-log, one axes per lesson case (``1 + n × small`` and
``n × value``). A running (sequential) sum's error grows with n; pairwise,
Kahan and float64 stay near the dtype's resolution. Exact results (error 0)
cannot sit on a log axis: they are drawn on a floor line labelled "exact".

``plot_ce_memory``: MiB of each (B, C) array a naive cross-entropy forward
materialises (logits, softmax, log-softmax) against streaming log-sum-exp's
extra working set, computed from shapes; the tracemalloc measurements, when the
experiment took them, sit beside them.
"""

from __future__ import annotations

import numpy as np

from ._builder import FigureBuilder, LineSet, make_plot_functions, set_limits
from ._style import COLORS, FONT, color, finite, set_title, style_axes

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
    "one_plus_small": "1 + n × {small:g}",
    "repeated_value": "n × {value:g}",
}


class SummationPrecisionFigure(FigureBuilder):
    """Relative error of each summation method against the number of terms."""

    result_type = "SummationPrecisionResult"
    figsize = (12.0, 4.8)

    def layout(self, **options):
        self.axes = self.fig.subplots(1, 2, sharey=True)
        self.lines, self.floors, self.floor_text = [], [], []
        for k, ax in enumerate(self.axes):
            style_axes(
                ax,
                xlabel="number of terms n",
                ylabel="|relative error|" if k == 0 else None,
                xlog=True,
                ylog=True,
            )
            self.lines.append(LineSet(ax, markersize=7))
            (floor,) = ax.plot([], [], color="0.5", lw=1, zorder=0)
            self.floors.append(floor)
            self.floor_text.append(
                ax.text(
                    0.01,
                    0,
                    "exact (error 0)",
                    ha="left",
                    va="bottom",
                    color="0.35",
                    fontsize=FONT["note"] - 1,
                    transform=ax.get_yaxis_transform(),
                )
            )
        self.axes[1].tick_params(labelleft=True)

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
            self.floors[k].set_data([n.min(), n.max()], [floor, floor])
            self.floor_text[k].set_y(floor)
            title = _CASE_TITLE.get(case, case).format(small=r.small, value=r.value)
            set_title(ax, f"{title}   ({r.dtype})")
            set_limits(ax, x=[n], y=[y for _, y, _ in series], margin=0.06)
        self.axes[0].legend(fontsize=FONT["legend"], loc="upper left")
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
