"""Lesson 1 figure: full-batch GD vs mini-batch vs SGD, per epoch and per update.

Left: whole-dataset loss after each epoch (median over seeds, band min..max).
Right: the same points against the number of weight updates made (log axis),
over the loss of every update's own batch (first seed): the number the
optimizer actually sees, jagged for small batches. The raw batch losses are
faint dots; over them, in windows evenly spaced on the log axis, their mean
(a line: it estimates the dataset loss) and their 10-90 % range (a band: how
jagged a single update's view is). GD makes one update per epoch, SGD N of
them; per epoch SGD is ahead, per update GD is.

One legend for both axes sits below them, clear of the data.
"""

from __future__ import annotations

import warnings

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ._builder import FigureBuilder, LineSet, make_plot_functions, set_limits
from ._style import COLORS, FONT, axes_note, finite, style_axes

__all__ = ["plot_batch_vs_dataset", "update_batch_vs_dataset"]

_COLORS = (COLORS["black"], COLORS["blue"], COLORS["vermillion"])
_MARKERS = ("s", "o", "^")
#: windows per decade of updates for the batch-loss summaries, and their least width
_PER_DECADE = 12
_MIN_WIDTH = 5
#: raw batch losses drawn per window (an even density of dots along the log axis)
_DOTS_PER_WINDOW = 30
#: the band: this central range of the batch losses in a window (percent)
_BAND = (10, 90)


def log_windows(n: int, per_decade: int = _PER_DECADE, min_width: int = _MIN_WIDTH):
    """Windows of updates ``1..n`` evenly spaced on a log axis, each at least ``min_width``
    updates wide: a list of ``(first, last)`` update numbers (inclusive)."""
    ratio = 10.0 ** (1.0 / per_decade)
    windows, start = [], 1
    while start <= n:
        end = min(max(start + min_width - 1, int(round(start * ratio))), n)
        windows.append((start, end))
        start = end + 1
    return windows


def summarise(y, windows):
    """(centre, mean, low, high) of the per-update values ``y`` (update ``i + 1`` is
    ``y[i]``) in each window that holds finite values; low/high: the :data:`_BAND`
    percentiles; centre: the window's geometric middle (a log axis)."""
    y = np.asarray(y, dtype=float).ravel()
    out = ([], [], [], [])
    for first, last in windows:
        v = finite(y[first - 1 : last])
        if v.size == 0:
            continue
        with np.errstate(over="ignore"):
            mean = float(np.mean(v))
        p_lo, p_hi = np.percentile(v, _BAND)
        for acc, value in zip(out, (np.sqrt(first * last), mean, p_lo, p_hi), strict=True):
            acc.append(value)
    return tuple(np.asarray(a, dtype=float) for a in out)


def thin(y, windows, per_window: int = _DOTS_PER_WINDOW):
    """Update numbers and values of at most ``per_window`` evenly strided updates per
    window: the raw batch losses at an even density along a log axis."""
    y = np.asarray(y, dtype=float).ravel()
    keep = np.concatenate(
        [
            np.unique(np.linspace(first, last, min(per_window, last - first + 1)).round())
            for first, last in windows
        ]
        or [np.empty(0)]
    ).astype(int)
    return keep, y[keep - 1]


class BatchVsDatasetFigure(FigureBuilder):
    """Loss of full-batch GD, mini-batch and SGD against epochs and against updates."""

    result_type = "BatchVsDatasetResult"
    figsize = (13.0, 4.9)

    def layout(self, **options):
        self.ax_epoch, self.ax_update = self.fig.subplots(1, 2)
        style_axes(
            self.ax_epoch,
            title="Loss per epoch (band: all seeds)",
            xlabel="epoch (passes over the data)",
            xint=True,
            ylabel="whole-dataset MSE",
            ylog=True,
        )
        style_axes(
            self.ax_update,
            title="Same runs, per weight update",
            xlabel="weight updates made",
            ylabel="MSE: dataset (marks), batches",
            xlog=True,
            ylog=True,
        )
        self.epoch_lines = LineSet(self.ax_epoch, markersize=5)
        self.update_lines = LineSet(self.ax_update, markersize=5, zorder=4)
        # updates' own batch losses (first seed), raw: faint dots under the summaries
        self.batch_lines = LineSet(
            self.ax_update, linestyle="none", marker=".", markersize=3.0, alpha=0.3, zorder=1
        )
        # ... and summarised per log-spaced window: the mean (line) and a 10-90 % band
        self.batch_smooth = LineSet(self.ax_update, linewidth=1.6, alpha=0.9, zorder=3)
        self.bands = []
        self.batch_bands = []
        self.floors = [
            ax.plot([], [], color="0.4", lw=1.5, ls="--", label="least-squares floor")[0]
            for ax in (self.ax_epoch, self.ax_update)
        ]
        self.legend = None
        self.note = axes_note(self.ax_epoch, 0.02, 0.03, color=COLORS["vermillion"])

    def update(self, r, *, every_batch=False):
        """``every_batch``: draw every update's batch loss as a dot (default: at most
        30 per log-spaced window, an even density along the axis)."""
        curves = np.asarray(r.epoch_loss, dtype=float)
        curves = np.where(np.isfinite(curves), curves, np.nan)
        with warnings.catch_warnings():  # regimes that diverged everywhere stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(curves, axis=1)
            lo, hi = np.nanmin(curves, axis=1), np.nanmax(curves, axis=1)
        epochs = np.arange(curves.shape[2])
        for band in self.bands + self.batch_bands:
            band.remove()
        self.bands, self.batch_bands = [], []
        per_epoch, per_update, per_batch, smooth, summaries = [], [], [], [], []
        for k, name in enumerate(r.regimes):
            style = {
                "color": _COLORS[k % 3],
                "marker": _MARKERS[k % 3],
                "label": f"{name}: {r.updates_per_epoch[k]:,} "
                f"update{'s' if r.updates_per_epoch[k] != 1 else ''}/epoch",
            }
            per_epoch.append((epochs, median[k], style))
            updates = np.asarray(r.epoch_updates[k], dtype=float)
            keep = updates > 0  # the start (0 updates) has no place on a log axis
            per_update.append((updates[keep], median[k][keep], style))
            batch = np.asarray(r.batch_loss[k], dtype=float)[0]
            windows = log_windows(batch.size)
            raw = (np.arange(1, batch.size + 1), batch) if every_batch else thin(batch, windows)
            per_batch.append((*raw, {"color": _COLORS[k % 3], "label": "_batch"}))
            centre, mean, low, high = summarise(batch, windows)
            smooth.append((centre, mean, {"color": _COLORS[k % 3], "label": "_batch mean"}))
            summaries += [mean, low, high]
            self.batch_bands.append(
                self.ax_update.fill_between(
                    centre, low, high, color=_COLORS[k % 3], alpha=0.16, lw=0, zorder=2
                )
            )
            self.bands.append(
                self.ax_epoch.fill_between(
                    epochs, lo[k], hi[k], color=_COLORS[k % 3], alpha=0.15, lw=0
                )
            )
        self.epoch_lines.set(per_epoch)
        self.update_lines.set(per_update)
        self.batch_lines.set(per_batch)
        self.batch_smooth.set(smooth)
        for floor, x in zip(
            self.floors, ([0, epochs[-1]], [1, float(np.max(r.epoch_updates))]), strict=True
        ):
            floor.set_data(x, [r.optimal_loss, r.optimal_loss])
        # the update axis frames the dataset losses and the batch summaries (10-90 % bands),
        # not every single-sample extreme; a diverging run's summaries may not stretch it
        scale = finite(median, positive=True)
        if scale.size:
            cap = 100.0 * float(scale.max())
            summaries = [v[v <= cap] for v in summaries]
        set_limits(self.ax_epoch, x=[epochs], y=[median, lo, hi, [r.optimal_loss]], margin=0.05)
        set_limits(
            self.ax_update,
            x=[u for u, _, _ in per_update] + [b[0] for b in per_batch],
            y=[median, [r.optimal_loss], *summaries],
            margin=0.08,
        )
        self._legend(r)
        bad = [r.regimes[k] for k in range(len(r.regimes)) if np.any(r.diverged[k])]
        self.note.set_text(f"diverged: {', '.join(bad)}" if bad else "")
        return self.fig

    def _legend(self, r):
        """One legend for both axes, below them (constrained layout makes room)."""
        if self.legend is not None:
            self.legend.remove()
        handles = [
            Line2D([], [], color=line.get_color(), marker=line.get_marker(), lw=2.4, ms=5)
            for line in self.epoch_lines.lines
        ]
        labels = [line.get_label() for line in self.epoch_lines.lines]
        grey = "0.35"
        handles += [
            Line2D([], [], color="0.4", lw=1.5, ls="--"),
            (Patch(color=grey, alpha=0.3, lw=0), Line2D([], [], color=grey, lw=1.6)),
            Line2D([], [], color=grey, ls="none", marker=".", ms=7, alpha=0.6),
        ]
        labels += [
            "least-squares floor",
            f"batch losses: window mean, {_BAND[0]}-{_BAND[1]} % band",
            "single batch losses (first seed)",
        ]
        self.legend = self.fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=3,
            fontsize=FONT["legend"],
            frameon=False,
        )


plot_batch_vs_dataset, update_batch_vs_dataset = make_plot_functions(
    BatchVsDatasetFigure, "batch_vs_dataset"
)
