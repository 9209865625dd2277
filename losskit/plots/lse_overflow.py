"""Lesson 3 figure: naive vs stable log-softmax over logit scales, with each dtype's log(max).

Left: the cross-entropy of the target class against the logit scale (log-log),
naive (solid, markers) and stable (dashed) per dtype over the float64 reference.
A dotted vertical line per dtype marks the theory, ``scale * max(pattern) =
log(finfo.max)`` (11.09 / 88.72 / 709.78): the naive curve stops there (an X
marks its first non-finite value) while the stable one runs on.

Right: where each computation is finite (a solid bar) or NaN/inf (an open,
cross-hatched bar), one row per dtype and method in the dtype's colour, over
the same scales. Each grid point owns the stretch of the axis half-way (on the
log scale) to its neighbours, and runs of equal state merge into one span, so
the state changes where the measurement says, not at a pile of grid markers.

The line styles' legend sits below the axes, clear of the curves and of the
chosen scale's label.
"""

from __future__ import annotations

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from ._builder import FigureBuilder, LineSet, make_plot_functions, set_limits
from ._style import COLORS, FONT, color, legend_below, set_title, style_axes

__all__ = ["plot_lse_overflow", "update_lse_overflow"]

_DTYPE_COLOR = {"float16": 1, "float32": 0, "float64": 2}  # vermillion, blue, green


def _dtype_color(name, i):
    return color(_DTYPE_COLOR.get(name, i))


#: half the height of a row's bar (rows are 1 apart)
_HALF = 0.3
#: the hatch that marks NaN/inf spans (drawn in dark grey over an open bar)
_BAD_HATCH = "xx"


def finite_spans(scales, finite):
    """Runs of equal state along a log axis: a list of ``(start, end, is_finite)``.

    Grid point ``i`` owns the axis from the geometric midpoint with its left
    neighbour to the one with its right neighbour (the ends stop at the first and
    last scale), so a change of state is drawn between the last point of one state
    and the first of the other, wherever the grid is dense or sparse.
    """
    s = np.asarray(scales, dtype=float)
    ok = np.asarray(finite, dtype=bool)
    if s.size == 0:
        return []
    order = np.argsort(s)
    s, ok = s[order], ok[order]
    if s.size == 1:
        edges = np.array([s[0] / 1.1, s[0] * 1.1])
    else:
        edges = np.concatenate([[s[0]], np.sqrt(s[:-1] * s[1:]), [s[-1]]])
    change = np.flatnonzero(np.diff(ok.astype(int))) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [s.size]])
    return [
        (float(edges[a]), float(edges[b]), bool(ok[a])) for a, b in zip(starts, ends, strict=True)
    ]


def _box(x0, x1, row):
    return [(x0, row - _HALF), (x1, row - _HALF), (x1, row + _HALF), (x0, row + _HALF)]


class LSEOverflowFigure(FigureBuilder):
    """Naive vs stable log-softmax over logit scales, with each dtype's exp-overflow line."""

    result_type = "LSEOverflowResult"
    figsize = (13.0, 4.8)

    def layout(self, **options):
        self.ax_ce, self.ax_ok = self.fig.subplots(1, 2, width_ratios=(1.6, 1))
        style_axes(
            self.ax_ce,
            title="Cross-entropy of the target class",
            xlabel="logit scale s   (logits = s × pattern)",
            ylabel="−log p(target)   (nats)",
            xlog=True,
            ylog=True,
        )
        style_axes(self.ax_ok, xlabel="logit scale s", xlog=True)
        self.ax_ok.grid(False, axis="y")
        # x limits come from set_limits: a lone marker line must not autoscale x to a point
        self.ax_ok.set_autoscalex_on(False)
        self.reference = LineSet(self.ax_ce, color=COLORS["black"], linewidth=1.2, zorder=1)
        self.naive = LineSet(self.ax_ce, marker="o", markersize=4)
        self.stable = LineSet(self.ax_ce, linestyle="--", zorder=2)
        self.failures = LineSet(self.ax_ce, linestyle="none", marker="X", markersize=13, zorder=4)
        # vertical lines: x in data, y in axes coordinates (0..1), whatever the y scale
        vertical = {"transform": self.ax_ce.get_xaxis_transform()}
        self.limit_lines = LineSet(self.ax_ce, linestyle=":", linewidth=2.0, zorder=1, **vertical)
        self.mark_lines = LineSet(self.ax_ce, color="0.35", linewidth=1.4, zorder=0, **vertical)
        self.mark_ok = LineSet(
            self.ax_ok,
            color="0.35",
            linewidth=1.4,
            zorder=0,
            transform=self.ax_ok.get_xaxis_transform(),
        )
        # finite: solid bars in the row's dtype colour; NaN/inf: open bars, dtype-coloured
        # outline, dark cross-hatch (the colours keep meaning "dtype" in both axes)
        self.ok_spans = self.ax_ok.add_collection(
            PolyCollection([], linewidths=0, zorder=2), autolim=False
        )
        self.bad_spans = self.ax_ok.add_collection(
            PolyCollection([], facecolors="white", linewidths=1.6, hatch=_BAD_HATCH, zorder=2),
            autolim=False,
        )
        self.bad_spans.set_hatchcolor("0.2")
        self.ax_ok.legend(
            handles=[
                Patch(facecolor="0.45", edgecolor="0.45", label="finite"),
                Patch(
                    facecolor="white",
                    edgecolor="0.45",
                    hatch=_BAD_HATCH,
                    linewidth=1.6,
                    label="NaN or inf",
                ),
            ],
            title="Finite output?",
            title_fontsize=FONT["title"],
            fontsize=FONT["legend"],
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            ncols=2,
            frameon=False,
            borderaxespad=0.2,
            handlelength=2.4,
            handleheight=1.1,
        )
        self.texts = []
        # below the axes: inside, it hid the scale marker's label and the curves' start
        self.legend = legend_below(
            self.fig,
            [
                self.ax_ce.plot([], [], color="0.3", marker="o", label="naive log(softmax)")[0],
                self.ax_ce.plot([], [], color="0.3", linestyle="--", label="stable (max-shift)")[0],
                self.ax_ce.plot(
                    [], [], color="0.3", linestyle=":", label="exp overflows: s·max = log(max)"
                )[0],
                self.ax_ce.plot(
                    [], [], color="0.3", linestyle="none", marker="X", label="naive: first NaN/inf"
                )[0],
            ],
            ncols=4,
        )

    def update(self, r, *, marker=None, methods=("naive", "stable")):
        """``marker``: a scale to mark with a grey line; ``methods``: which curves to draw."""
        for t in self.texts:
            t.remove()
        self.texts = []
        s = np.asarray(r.scales, dtype=float)
        dtypes = list(r.dtypes)
        ref_y = np.asarray(r.reference_ce, dtype=float)
        self.reference.set([(s, ref_y[-1], {"label": "_float64 reference"})])
        naive, stable, fails, limits = [], [], [], []
        for i, name in enumerate(dtypes):
            c = _dtype_color(name, i)
            if "naive" in methods:
                naive.append((s, r.naive_ce[i], {"color": c, "zorder": 3 + len(dtypes) - i}))
                bad = np.flatnonzero(~np.asarray(r.naive_finite[i]))
                if bad.size:
                    j = bad[0]
                    fails.append(([s[j]], [ref_y[i, j]], {"color": c, "zorder": 9}))
            if "stable" in methods:
                stable.append((s, r.stable_ce[i], {"color": c}))
            x = r.exp_threshold_scale.get(name, np.nan)
            if np.isfinite(x):
                limits.append(([x, x], [0, 1], {"color": c}))
                self.texts.append(
                    self.ax_ce.text(
                        x,
                        0.03 + 0.1 * i,
                        f" {name}\n log max {r.log_max[name]:.2f}",
                        transform=blended_transform_factory(
                            self.ax_ce.transData, self.ax_ce.transAxes
                        ),
                        color=c,
                        fontsize=FONT["note"] - 1,
                        va="bottom",
                        clip_on=True,  # a threshold beyond the swept scales stays hidden
                    )
                )
        self.naive.set(naive)
        self.stable.set(stable)
        self.failures.set(fails)
        self.limit_lines.set(limits)
        self.mark_lines.set([([marker, marker], [0, 1], {})] if marker else [])
        if marker:
            self.texts.append(
                self.ax_ce.text(
                    marker,
                    0.985,
                    f" s = {marker:.3g}",
                    transform=self.ax_ce.get_xaxis_transform(),
                    color="0.3",
                    fontsize=FONT["note"] - 1,
                    va="top",
                )
            )
        self.mark_ok.set([([marker, marker], [0, 1], {})] if marker else [])

        ok, ok_colors, bad, bad_colors, labels = [], [], [], [], []
        row = 0
        for i, name in enumerate(dtypes):
            c = _dtype_color(name, i)
            for method, finite in (("naive", r.naive_finite[i]), ("stable", r.stable_finite[i])):
                if method not in methods:
                    continue
                for x0, x1, is_finite in finite_spans(s, finite):
                    (ok if is_finite else bad).append(_box(x0, x1, row))
                    (ok_colors if is_finite else bad_colors).append(c)
                labels.append((row, f"{name} {method}", c))
                row += 1
        self.ok_spans.set_verts(ok)
        self.ok_spans.set_facecolor(ok_colors)
        self.bad_spans.set_verts(bad)
        self.bad_spans.set_edgecolor(bad_colors)
        xs = [s] + ([[marker]] if marker else [])
        set_limits(self.ax_ok, x=xs)
        self.ax_ok.set_yticks([y for y, _, _ in labels], [t for _, t, _ in labels])
        for tick, (_, _, c) in zip(self.ax_ok.get_yticklabels(), labels, strict=True):
            tick.set_color(c)
        self.ax_ok.set_ylim(row - 0.5, -0.5)

        set_limits(self.ax_ce, x=xs, y=[ref_y, *[y for _, y, _ in naive + stable]])
        pattern = ", ".join(f"{v:g}" for v in r.pattern)
        set_title(self.ax_ce, f"Cross-entropy of class {r.target}, logits = s × ({pattern})")
        return self.fig


plot_lse_overflow, update_lse_overflow = make_plot_functions(LSEOverflowFigure, "lse_overflow")
