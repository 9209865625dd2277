"""Lesson 7 panel: training vs validation loss per batch and per epoch, with early stopping."""

from __future__ import annotations

import ipywidgets as W

from ..experiments.train_val import train_val
from ..plots import plot_train_val
from ._base import Panel
from ._controls import WIDE, choice_slider, int_slider, log_slider

__all__ = ["TrainValPanel"]


def _best_epoch(r) -> str:
    """The best epoch's losses; after a divergence, that it diverged and nothing was restored."""
    best = r.best_epoch
    if r.history.diverged:
        return "none restored: training diverged (see the message above)"
    if best is None:
        return "none"
    return (
        f"{best + 1}: validation {r.epoch_val_loss[best]:.4g}, "
        f"training {r.epoch_train_loss[best]:.4g}"
    )


def _stopped(r) -> str:
    """Why training ended: early stopping, divergence, or the last epoch."""
    if r.history.diverged:
        return "training diverged, not early stopping"
    if r.stopped_epoch is not None:
        return f"after epoch {r.stopped_epoch + 1} of {r.max_epochs}"
    return f"no: ran all {len(r.epoch_train_loss)} epochs"


class TrainValPanel(Panel):
    """An RBF model fitted to 15 noisy points, watched per batch and per epoch (``train_val``).

    Controls: ``patience`` and ``min_delta`` (early stopping), ``n_centers``
    (model size: the default 40 narrow bumps overfit; a few wide ones, each one
    centre spacing wide, give a smooth fit that does not), ``batch_size`` (2..20: more
    than the 15 training points is rejected; 2 rather than 1 keeps a redraw
    under 0.3 s), ``lr`` (too large diverges: the message says so), ``max_epochs``
    (40..400; the default 400 is the lesson text's setting).
    """

    title = "Training vs validation loss, and early stopping"
    lesson = "Lesson 7 · validation once per epoch on fixed weights; stop when it stops improving"
    figsize = (13.5, 5.0)

    def make_controls(self):
        return {
            "patience": int_slider(20, 1, 60, "patience (epochs)"),
            "min_delta": W.FloatSlider(
                value=0.0,
                min=0.0,
                max=0.02,
                step=0.001,
                readout_format=".3f",
                description="min_delta",
                continuous_update=True,
                style=WIDE,
                layout=W.Layout(width="330px"),
            ),
            "n_centers": int_slider(40, 2, 80, "model size (RBF centres)"),
            "batch_size": int_slider(5, 2, 20, "batch size"),
            "lr": log_slider(0.2, -2, 1, "learning rate"),
            # the experiment's (and the lesson text's) 400: the validation loss visibly
            # turns up (0.150 at its best, 0.216 at the end) only well after it bottoms out
            "max_epochs": choice_slider([40, 80, 120, 200, 400], 400, "max epochs"),
        }

    def compute(self, v, backend):
        return self.run(
            train_val,
            max_epochs=v["max_epochs"],
            batch_size=v["batch_size"],
            lr=v["lr"],
            patience=v["patience"],
            min_delta=v["min_delta"],
            n_centers=v["n_centers"],
            backend=backend,
            seed=0,
        )

    def draw(self, result):
        plot_train_val(result, fig=self.figure)

    def readout_rows(self, r):
        h = r.history
        rows = [
            ("updates per epoch", f"{r.updates_per_epoch} (batch size {r.batch_size_setting})"),
            # "(restored)" only when fit() put the best epoch's weights back: it does
            # not after a divergence, whose message is in the message area
            ("best epoch (restored)" if h.restored_best else "best epoch", _best_epoch(r)),
            ("stopped", _stopped(r)),
            (
                "without stopping, at the end",
                f"training {r.full_epoch_train_loss[-1]:.4g}, "
                f"validation {r.full_epoch_val_loss[-1]:.4g}"
                if len(r.full_epoch_train_loss)
                else "diverged in the first epoch",
            ),
        ]
        return rows

    def notes(self, r):
        return [r.diverged] if r.diverged else []
