"""Lesson 1 figure: full-batch GD vs mini-batch vs SGD, per epoch and per update.

Left: whole-dataset loss after each epoch (median over seeds, band min..max).
Right: the same points against the number of weight updates made (log axis),
over the loss of every update's own batch (thin, first seed): the number the
optimizer actually sees, jagged for small batches. GD makes one update per
epoch, SGD N of them; per epoch SGD is ahead, per update GD is.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._builder import FigureBuilder, LineSet, make_plot_functions, set_limits
from ._style import COLORS, FONT, style_axes

__all__ = ["plot_batch_vs_dataset", "update_batch_vs_dataset"]

_COLORS = (COLORS["black"], COLORS["blue"], COLORS["vermillion"])
_MARKERS = ("s", "o", "^")


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
            ylabel="MSE: dataset (marks), each batch (thin)",
            xlog=True,
            ylog=True,
        )
        self.epoch_lines = LineSet(self.ax_epoch, markersize=5)
        self.update_lines = LineSet(self.ax_update, markersize=5)
        self.batch_lines = LineSet(self.ax_update, linewidth=0.6, alpha=0.18, zorder=1)
        self.bands = []
        self.floors = [
            ax.plot([], [], color="0.4", lw=1.5, ls="--", label="least-squares floor")[0]
            for ax in (self.ax_epoch, self.ax_update)
        ]
        self.note = self.ax_epoch.text(
            0.02,
            0.03,
            "",
            transform=self.ax_epoch.transAxes,
            fontsize=FONT["note"],
            color=COLORS["vermillion"],
            va="bottom",
        )

    def update(self, r):
        curves = np.asarray(r.epoch_loss, dtype=float)
        curves = np.where(np.isfinite(curves), curves, np.nan)
        with warnings.catch_warnings():  # regimes that diverged everywhere stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(curves, axis=1)
            lo, hi = np.nanmin(curves, axis=1), np.nanmax(curves, axis=1)
        epochs = np.arange(curves.shape[2])
        for band in self.bands:
            band.remove()
        self.bands = []
        per_epoch, per_update, per_batch = [], [], []
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
            per_batch.append(
                (np.arange(1, batch.size + 1), batch, {"color": _COLORS[k % 3], "label": "_batch"})
            )
            self.bands.append(
                self.ax_epoch.fill_between(
                    epochs, lo[k], hi[k], color=_COLORS[k % 3], alpha=0.15, lw=0
                )
            )
        self.epoch_lines.set(per_epoch)
        self.update_lines.set(per_update)
        self.batch_lines.set(per_batch)
        for floor, x in zip(
            self.floors, ([0, epochs[-1]], [1, float(np.max(r.epoch_updates))]), strict=True
        ):
            floor.set_data(x, [r.optimal_loss, r.optimal_loss])
        # the update axis also shows the batch losses: widen it to their central 80%,
        # not to every single-sample extreme
        typical = [
            np.nanpercentile(b[1][np.isfinite(b[1])], [10, 90])
            for b in per_batch
            if np.isfinite(b[1]).any()
        ]
        set_limits(self.ax_epoch, x=[epochs], y=[median, lo, hi, [r.optimal_loss]], margin=0.05)
        set_limits(
            self.ax_update,
            x=[u for u, _, _ in per_update] + [b[0] for b in per_batch],
            y=[median, [r.optimal_loss], *typical],
            margin=0.08,
        )
        self.ax_update.legend(fontsize=FONT["legend"], loc="upper right")
        bad = [r.regimes[k] for k in range(len(r.regimes)) if np.any(r.diverged[k])]
        self.note.set_text(f"diverged: {', '.join(bad)}" if bad else "")
        return self.fig


plot_batch_vs_dataset, update_batch_vs_dataset = make_plot_functions(
    BatchVsDatasetFigure, "batch_vs_dataset"
)
