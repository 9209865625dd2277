"""Lesson 7 figure: training vs validation loss, per batch and per epoch, with early stopping.

Left: every update's batch loss (thin, light), the size-weighted training loss
per epoch and the validation loss per epoch (markers at each epoch's end), the
same run continued without stopping (dashed: training keeps falling while
validation turns up), the best epoch (restored weights) and the stop.
Right: the data (training points, validation points), the true curve, the
restored early-stopped fit and the overfit of the full run.
"""

from __future__ import annotations

import numpy as np

from ._builder import FigureBuilder, make_plot_functions, set_limits
from ._style import COLORS, FONT, LW, style_axes

__all__ = ["plot_train_val", "update_train_val"]


class TrainValFigure(FigureBuilder):
    """Per-batch and per-epoch training loss, validation loss, early stopping, and the fits."""

    result_type = "TrainValResult"
    figsize = (13.5, 5.0)

    def layout(self, **options):
        self.ax_loss, self.ax_fit = self.fig.subplots(1, 2, width_ratios=(1.35, 1))
        style_axes(
            self.ax_loss,
            title="Training vs validation loss",
            xlabel="epoch",
            xint=True,
            ylabel="MSE",
            ylog=True,
        )
        style_axes(self.ax_fit, title="Data and fits", xlabel="x", ylabel="y")
        blue, verm = COLORS["blue"], COLORS["vermillion"]
        ax = self.ax_loss
        (self.batch,) = ax.plot(
            [], [], color=COLORS["sky"], lw=0.9, alpha=0.7, label="per-batch training loss"
        )
        (self.full_train,) = ax.plot(
            [], [], color=blue, lw=1.5, ls="--", alpha=0.6, label="_train, no stopping"
        )
        (self.full_val,) = ax.plot(
            [], [], color=verm, lw=1.5, ls="--", alpha=0.6, label="without early stopping"
        )
        (self.train,) = ax.plot(
            [], [], color=blue, lw=LW, marker="o", ms=3.5, label="training loss per epoch"
        )
        (self.val,) = ax.plot(
            [], [], color=verm, lw=LW, marker="o", ms=3.5, label="validation loss per epoch"
        )
        vertical = {"transform": ax.get_xaxis_transform()}
        (self.best,) = ax.plot(
            [], [], color=COLORS["green"], lw=2.2, label="best epoch", **vertical
        )
        (self.stop,) = ax.plot(
            [], [], color=COLORS["black"], lw=1.8, ls=":", label="stopped", **vertical
        )
        ax.legend(fontsize=FONT["legend"] - 0.5, loc="lower left")
        self.note = ax.text(
            0.98, 0.97, "", transform=ax.transAxes, ha="right", va="top", fontsize=FONT["note"]
        )
        fx = self.ax_fit
        (self.true,) = fx.plot([], [], color=COLORS["black"], lw=1.5, ls="--", label="true curve")
        (self.val_pts,) = fx.plot(
            [], [], ls="none", marker=".", ms=4, color="0.6", label="validation points"
        )
        (self.fit_final,) = fx.plot([], [], color=verm, lw=LW, label="no stopping (overfit)")
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
        fx.legend(fontsize=FONT["legend"] - 1, loc="lower left")

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
        notes = []
        if best:
            notes.append(f"best epoch {best}: val {r.epoch_val_loss[r.best_epoch]:.3g}")
        notes.append(f"stopped after epoch {stop}" if stop else "ran all epochs")
        if r.diverged:
            notes.append("diverged")
        self.note.set_text("\n".join(notes))
        set_limits(
            self.ax_loss,
            x=[full, epochs],
            y=[
                r.batch_loss,
                r.epoch_train_loss,
                r.epoch_val_loss,
                r.full_epoch_val_loss,
                r.full_epoch_train_loss,
            ],
            margin=0.04,
        )
        self.true.set_data(r.x_grid, r.true_curve)
        self.val_pts.set_data(r.x_val, r.y_val)
        self.train_pts.set_data(r.x_train, r.y_train)
        self.fit_best.set_data(r.x_grid, r.fit_best)
        self.fit_final.set_data(r.x_grid, r.fit_final)
        # frame the data, not a wild overfit between the training points
        lo = float(min(np.min(r.y_val), np.min(r.y_train), np.min(r.true_curve)))
        hi = float(max(np.max(r.y_val), np.max(r.y_train), np.max(r.true_curve)))
        pad = 0.35 * (hi - lo)
        self.ax_fit.set_xlim(float(np.min(r.x_grid)), float(np.max(r.x_grid)))
        self.ax_fit.set_ylim(lo - pad, hi + pad)
        return self.fig


plot_train_val, update_train_val = make_plot_functions(TrainValFigure, "train_val")
