"""Lesson 7 figure: training vs validation loss, per batch and per epoch, with early stopping.

Left: every update's batch loss (thin, light), the size-weighted training loss
per epoch and the validation loss per epoch (markers at each epoch's end), the
same run continued without stopping (dashed: when the model overfits, training
keeps falling while validation turns up), the best epoch (restored weights) and
the stop. The epoch axis is logarithmic: the early epochs, where stopping
happens, get as much room as the long continuation after it.
Right: the data (training points, validation points), the true curve, the
restored early-stopped fit and the full run's final fit (labelled by what it
is, "no stopping": whether it overfits is for the curves to show).

Each axes sits in its own SubFigure with its legend below it, clear of the data.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import LogLocator

from ._builder import FigureBuilder, make_plot_functions, set_limits
from ._style import COLORS, FONT, LW, axes_note, style_axes

__all__ = ["plot_train_val", "update_train_val"]


class TrainValFigure(FigureBuilder):
    """Per-batch and per-epoch training loss, validation loss, early stopping, and the fits."""

    result_type = "TrainValResult"
    figsize = (13.5, 5.0)

    def layout(self, **options):
        self.sub_loss, self.sub_fit = self.fig.subfigures(1, 2, width_ratios=(1.5, 1))
        self.ax_loss = self.sub_loss.subplots()
        self.ax_fit = self.sub_fit.subplots()
        style_axes(
            self.ax_loss,
            title="Training vs validation loss",
            xlabel="epoch (log scale)",
            ylabel="MSE",
            xlog=True,
            ylog=True,
        )
        style_axes(self.ax_fit, title="Data and fits", xlabel="x", ylabel="y")
        blue, verm = COLORS["blue"], COLORS["vermillion"]
        ax = self.ax_loss
        (self.batch,) = ax.plot(
            [], [], color=COLORS["sky"], lw=0.9, alpha=0.7, label="batch loss (training)"
        )
        (self.full_train,) = ax.plot(
            [], [], color=blue, lw=1.5, ls="--", alpha=0.6, label="training, no stopping"
        )
        (self.full_val,) = ax.plot(
            [], [], color=verm, lw=1.5, ls="--", alpha=0.6, label="validation, no stopping"
        )
        (self.train,) = ax.plot(
            [], [], color=blue, lw=LW, marker="o", ms=3.5, label="training, per epoch"
        )
        (self.val,) = ax.plot(
            [], [], color=verm, lw=LW, marker="o", ms=3.5, label="validation, per epoch"
        )
        vertical = {"transform": ax.get_xaxis_transform()}
        (self.best,) = ax.plot(
            [], [], color=COLORS["green"], lw=2.2, label="best epoch", **vertical
        )
        (self.stop,) = ax.plot(
            [], [], color=COLORS["black"], lw=1.8, ls=":", label="stopped", **vertical
        )
        self.legend = None
        self.note = axes_note(ax, 0.98, 0.97, ha="right", va="top", color=verm)
        fx = self.ax_fit
        (self.true,) = fx.plot([], [], color=COLORS["black"], lw=1.5, ls="--", label="true curve")
        (self.val_pts,) = fx.plot(
            [], [], ls="none", marker=".", ms=4, color="0.6", label="validation points"
        )
        (self.fit_final,) = fx.plot([], [], color=verm, lw=LW, label="no stopping")
        (self.fit_best,) = fx.plot(
            [], [], color=COLORS["green"], lw=LW, label="early-stopped (restored)"
        )
        (self.train_pts,) = fx.plot(
            [],
            [],
            ls="none",
            marker="o",
            ms=8,
            color=blue,
            mec="white",
            label="training points",
            zorder=5,
        )
        order = [self.true, self.val_pts, self.train_pts, self.fit_final, self.fit_best]
        self.sub_fit.legend(
            handles=order,
            loc="outside lower center",
            ncols=2,
            fontsize=FONT["legend"],
            frameon=False,
        )

    def update(self, r):
        epochs = np.arange(1, len(r.epoch_train_loss) + 1)  # losses are at each epoch's end
        full = np.arange(1, len(r.full_epoch_train_loss) + 1)
        self.batch.set_data(r.batch_epoch, r.batch_loss)
        self.train.set_data(epochs, r.epoch_train_loss)
        self.val.set_data(epochs, r.epoch_val_loss)
        self.full_train.set_data(full, r.full_epoch_train_loss)
        self.full_val.set_data(full, r.full_epoch_val_loss)
        best = r.best_epoch + 1 if r.best_epoch is not None else None
        stop = r.stopped_epoch + 1 if r.stopped_epoch is not None else None
        self.best.set_data([best, best] if best else [], [0, 1] if best else [])
        self.stop.set_data([stop, stop] if stop else [], [0, 1] if stop else [])
        self.best.set_label(
            f"best epoch {best} (val {r.epoch_val_loss[r.best_epoch]:.3g})"
            if best
            else "best epoch: none"
        )
        self.stop.set_label(
            f"stopped after epoch {stop}" if stop else f"no stop: ran {len(epochs)} epochs"
        )
        self.note.set_text("diverged" if r.diverged else "")
        if self.legend is not None:
            self.legend.remove()
        self.legend = self.sub_loss.legend(
            handles=[self.batch, self.train, self.val, self.full_train, self.full_val]
            + [self.best, self.stop],
            loc="outside lower center",
            ncols=3,
            fontsize=FONT["legend"],
            frameon=False,
        )
        set_limits(
            self.ax_loss,
            x=[full, epochs, r.batch_epoch],
            y=[
                r.batch_loss,
                r.epoch_train_loss,
                r.epoch_val_loss,
                r.full_epoch_val_loss,
                r.full_epoch_train_loss,
            ],
            margin=0.04,
        )
        # epochs 1-2-5-10-20-50: the best epoch and the stop can be read off the axis
        self.ax_loss.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        self.true.set_data(r.x_grid, r.true_curve)
        self.val_pts.set_data(r.x_val, r.y_val)
        self.train_pts.set_data(r.x_train, r.y_train)
        self.fit_best.set_data(r.x_grid, r.fit_best)
        self.fit_final.set_data(r.x_grid, r.fit_final)
        # frame the data, not a wild overfit between the training points
        lo = float(min(np.min(r.y_val), np.min(r.y_train), np.min(r.true_curve)))
        hi = float(max(np.max(r.y_val), np.max(r.y_train), np.max(r.true_curve)))
        pad = 0.35 * (hi - lo)
        x_lo = float(min(np.min(r.x_grid), np.min(r.x_train), np.min(r.x_val)))
        x_hi = float(max(np.max(r.x_grid), np.max(r.x_train), np.max(r.x_val)))
        margin = 0.03 * (x_hi - x_lo)  # edge points whole, not halved by the frame
        self.ax_fit.set_xlim(x_lo - margin, x_hi + margin)
        self.ax_fit.set_ylim(lo - pad, hi + pad)
        return self.fig


plot_train_val, update_train_val = make_plot_functions(TrainValFigure, "train_val")
