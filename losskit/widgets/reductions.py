"""Lesson 2 panel: mean, sum and none, for one loss, as the batch grows."""

from __future__ import annotations

import numpy as np

from ..experiments.reductions import reductions
from ..plots import plot_reductions
from ..plots.reductions import LOSS_LABELS
from ._base import Panel
from ._controls import WIDE, choice_slider, int_slider, toggle

__all__ = ["ReductionsPanel"]

BATCH_SIZES = tuple(2**k for k in range(11))  # 1 .. 1024, the experiment's grid
N_SAMPLES = 1024


class ReductionsPanel(Panel):
    """Loss and weight-gradient norm under mean and sum against B, and one batch under none.

    Controls: ``loss`` (MSE, L1, Huber, cross-entropy, BCE with logits),
    ``highlight`` (stress the mean or the sum curves, or both), ``batch_size``
    (the batch whose ``reduction="none"`` losses are shown right and whose
    sum/mean ratios the readout gives), ``seed`` (data, model outputs, batches).
    The readout says how many times the sum is the mean at that B: B, exactly
    or to rounding, for the loss and for the gradient. Its labels tell apart the
    numbers averaged over random batches (the left plot) from the one batch of
    the ``none`` view (the right plot), whose sum loss differs from the average.
    """

    title = "Losses and reductions: mean, sum, none"
    lesson = (
        "Lesson 2 · sum grows like B (scale lr by 1/B); mean stays put; none: one loss a sample"
    )
    figsize = (13.0, 4.9)

    def make_controls(self):
        import ipywidgets as W

        return {
            "loss": W.Dropdown(
                options=[(label, name) for name, label in LOSS_LABELS.items()],
                value="mse",
                description="loss",
                style=WIDE,
                layout=W.Layout(width="230px"),
            ),
            "highlight": toggle(["both", "mean", "sum"], "both", "highlight"),
            "batch_size": choice_slider(BATCH_SIZES, 64, "batch B (none view)"),
            "seed": int_slider(0, 0, 9, "seed", width="240px"),
        }

    def compute(self, v, backend):
        return self.run(
            reductions,
            loss=v["loss"],
            n_samples=N_SAMPLES,
            none_batch_size=v["batch_size"],
            backend=backend,
            seed=v["seed"],
        )

    def draw(self, result):
        focus = self.controls["highlight"].value
        plot_reductions(result, fig=self.figure, focus=None if focus == "both" else focus)

    def readout_rows(self, r):
        B = r.none_batch_size
        hit = np.flatnonzero(r.batch_sizes == B)
        # the left plot's numbers are averages over random batches, the "none" view is
        # one fixed batch: say which is which, so two sum losses at one B do not clash
        averaged = f"averaged over {r.n_draws} random batches"
        rows = []
        if hit.size:
            j = int(hit[0])
            rows.append(
                (
                    f"B = {B}, {averaged}",
                    f"sum loss is {r.loss_ratio[j]:g}× the mean loss; "
                    f"sum gradient norm {r.grad_ratio[j]:g}× mean's",
                )
            )
            rows.append(
                (
                    f"from B = {r.batch_sizes[0]} to B = {B}, {averaged} each",
                    f"mean loss {r.loss_mean[0]:.3g} → {r.loss_mean[j]:.3g}, "
                    f"sum loss {r.loss_sum[0]:.3g} → {r.loss_sum[j]:.3g}",
                )
            )
            rows.append(
                ("same step as mean at lr", f"sum at lr / {B} (the gradient is {B}× larger)")
            )
        losses = r.per_sample_loss
        rows.append(
            (
                f"none: one batch of {B} (the first {B} samples)",
                f"sum {r.none_loss_sum:.4g} = {B} × mean {r.none_loss_mean:.4g}; "
                f"largest {float(np.max(losses)):.3g}, median {float(np.median(losses)):.3g}; "
                f"{int(np.sum(r.per_sample_hard))} hard (corrupted) samples",
            )
        )
        return rows
