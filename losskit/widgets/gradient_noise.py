"""Lesson 4 panel: gradient noise against batch size, measured next to the sampling theory."""

from __future__ import annotations

import numpy as np

from ..experiments.gradient_noise import batch_size_sweep, default_batch_sizes, gradient_noise
from ..plots import plot_batch_size_sweep, plot_gradient_noise
from ._base import Panel
from ._controls import batch_sizes_up_to, choice_slider, int_slider

__all__ = ["GradientNoisePanel"]

# powers of two plus every dataset size, so that B = N can be chosen
BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 100, 128, 200, 256, 500, 512, 1000, 1024)


class GradientNoisePanel(Panel):
    """Gradient variance vs B (``gradient_noise``) beside loss bands (``batch_size_sweep``).

    Controls: ``batch_size`` (the B ringed on the variance plot and trained
    beside B = 1 and B = N), ``n_samples`` (dataset size N), ``n_draws``
    (batches drawn per B for the variance), ``seeds`` (training runs per band),
    ``epochs``. Left: measured variance over ``σ²/B·(N−B)/(N−1)``; right: the
    whole-data loss per epoch, a band over seeds per batch size. The B slider
    offers only batches up to N (N itself included): when N shrinks below B, B
    moves to the largest one left and the panel says so.
    """

    title = "Gradient noise vs batch size"
    lesson = (
        "Lesson 4 · a mini-batch gradient is an unbiased, noisy estimate: variance σ²/B·(N−B)/(N−1)"
    )
    figsize = (13.5, 5.0)
    # the defaults of gradient_noise and batch_size_sweep, which the lesson's text runs
    # (N = 1000, 2000 draws, 16 seeds, 20 epochs), and the text's B = 256 vs B = 1
    text_settings = {"n_samples": 1000, "batch_size": 256, "n_draws": 2000, "seeds": 16,
                     "epochs": 20}  # fmt: skip

    def make_controls(self):
        return {
            "batch_size": choice_slider(BATCH_SIZES, 32, "batch size B"),
            "n_samples": choice_slider([100, 200, 500, 1000], 500, "dataset size N"),
            "n_draws": choice_slider([100, 200, 400, 2000], 200, "draws per B"),
            "seeds": int_slider(4, 1, 16, "seeds"),
            "epochs": int_slider(5, 1, 20, "epochs"),
        }

    def sync_controls(self):
        n = self.controls["n_samples"].value
        return batch_sizes_up_to(self.controls["batch_size"], BATCH_SIZES, n)

    def setup_figure(self):
        self.fig_noise, self.fig_sweep = self.subfigures(2, width_ratios=(1.1, 1))
        self._shown = (None, None, None)  # (noise, highlighted B, sweep) on screen

    def compute(self, v, backend):
        n, b = v["n_samples"], v["batch_size"]
        sizes = np.union1d(default_batch_sizes(n, 9), [b])
        noise = self.run(
            gradient_noise,
            n_samples=n,
            batch_sizes=sizes,
            n_draws=v["n_draws"],
            backend=backend,
            seed=0,
        )
        trained = sorted({1, b, n})
        sweep = self.run(
            batch_size_sweep,
            batch_sizes=trained,
            seeds=list(range(v["seeds"])),
            epochs=v["epochs"],
            n_samples=n,
            backend=backend,
            seed=0,
        )
        return noise, sweep

    def draw(self, result):
        noise, sweep = result
        shown = self._shown
        highlight = self.controls["batch_size"].value
        parts = []
        if noise is not shown[0] or highlight != shown[1]:
            plot_gradient_noise(noise, fig=self.fig_noise, highlight=highlight)
            parts.append(self.fig_noise)
        if sweep is not shown[2]:
            plot_batch_size_sweep(sweep, fig=self.fig_sweep, views=("epoch",))
            parts.append(self.fig_sweep)
        self._shown = (noise, highlight, sweep)
        self.redraw_only(parts)

    def readout_rows(self, result):
        noise, sweep = result
        b = self.controls["batch_size"].value
        i = int(np.flatnonzero(noise.batch_sizes == b)[0])
        k = int(np.flatnonzero(sweep.batch_sizes == b)[0])
        return [
            (
                f"variance at B = {b}",
                f"measured {noise.measured_variance[i]:.4g} ± {noise.measured_variance_se[i]:.2g}, "
                f"theory {noise.theory_variance[i]:.4g} "
                f"(with replacement {noise.with_replacement_variance[i]:.4g})",
            ),
            ("σ² (per-sample gradient variance)", f"{noise.trace_sigma:.4g}"),
            ("noise scale B_simple = tr Σ/|G|²", f"{noise.noise_scale:.3g}"),
            (f"updates per epoch at B = {b}", f"{sweep.updates_per_epoch[k]}"),
            (
                "final loss (median over seeds)",
                ", ".join(
                    f"B={s}: {np.median(sweep.final_loss[j]):.4g}"
                    for j, s in enumerate(sweep.batch_sizes)
                )
                + f"  (floor {sweep.optimal_loss:.4g})",
            ),
        ]

    def notes(self, result):
        return [m for m in result[1].diverged_message if m]
