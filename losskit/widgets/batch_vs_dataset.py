"""Lesson 1 panel: full-batch GD vs mini-batch vs SGD on the same data."""

from __future__ import annotations

import numpy as np

from ..experiments.batch_vs_dataset import batch_vs_dataset
from ..plots import plot_batch_vs_dataset
from ._base import Panel
from ._controls import batch_sizes_up_to, choice_slider, int_slider, log_slider

__all__ = ["BatchVsDatasetPanel"]

BATCH_SIZES = (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class BatchVsDatasetPanel(Panel):
    """Whole-data loss per epoch and per update for GD, mini-batch and SGD (``batch_vs_dataset``).

    Controls: ``batch_size`` (the mini-batch B), ``n_samples`` (N), ``lr``,
    ``epochs``, ``seeds`` (runs per regime: the bands). The B slider offers only
    batches up to N: when N shrinks below B, B moves to the largest one left and
    the panel says so. A diverging lr is reported.
    """

    title = "Is the loss computed on a batch or on the whole dataset?"
    lesson = "Lesson 1 · one update per batch: GD 1 per epoch, mini-batch ⌈N/B⌉, SGD N"
    figsize = (13.0, 4.9)

    def make_controls(self):
        return {
            "batch_size": choice_slider(BATCH_SIZES, 32, "mini-batch B"),
            "n_samples": choice_slider([100, 200, 500], 200, "dataset size N"),
            "lr": log_slider(0.05, -3, 0, "learning rate"),
            "epochs": int_slider(8, 1, 12, "epochs"),
            "seeds": int_slider(3, 1, 5, "seeds"),
        }

    def sync_controls(self):
        n = self.controls["n_samples"].value
        return batch_sizes_up_to(self.controls["batch_size"], BATCH_SIZES, n)

    def compute(self, v, backend):
        return self.run(
            batch_vs_dataset,
            batch_size=v["batch_size"],
            lr=v["lr"],
            epochs=v["epochs"],
            n_samples=v["n_samples"],
            seeds=tuple(range(v["seeds"])),
            backend=backend,
            seed=0,
        )

    def draw(self, result):
        plot_batch_vs_dataset(result, fig=self.figure)

    def readout_rows(self, r):
        rows = []
        for k, name in enumerate(r.regimes):
            final = np.asarray(r.epoch_loss[k, :, -1], dtype=float)
            rows.append(
                (
                    name,
                    f"{r.updates_per_epoch[k]:,} updates/epoch, "
                    f"{int(r.epoch_updates[k, -1]):,} in all; final loss "
                    f"{np.median(final):.4g} (median of {final.size})",
                )
            )
        rows.append(("least-squares floor", f"{r.optimal_loss:.4g}"))
        return rows

    def notes(self, r):
        return [m for m in r.diverged_message if m]
