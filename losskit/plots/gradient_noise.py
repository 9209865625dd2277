"""Lesson 4 figure: measured mini-batch gradient variance against the sampling theory.

Top: variance of the mini-batch mean gradient (trace of its covariance) against
batch size B, log-log. Measured without replacement (dots, ±2 standard-error
band) over the theory ``σ²/B · (N−B)/(N−1)`` (solid), and with replacement
(open squares) over ``σ²/B`` (dotted). The finite-population factor bends the
curve down to exactly 0 at B = N (off a log axis: the note says so). A vertical
line marks the noise scale ``B_simple = tr Σ / |G|²``.

Bottom: measured / theory, which should sit at 1 within the band.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._builder import FigureBuilder, LineSet, make_plot_functions, set_limits
from ._style import COLORS, FONT, LW, axes_note, color, style_axes

__all__ = [
    "plot_batch_size_sweep",
    "plot_gradient_noise",
    "update_batch_size_sweep",
    "update_gradient_noise",
]


class GradientNoiseFigure(FigureBuilder):
    """Mini-batch gradient variance vs batch size: measurement over σ²/B·(N−B)/(N−1)."""

    result_type = "GradientNoiseResult"
    figsize = (8.5, 6.0)

    def layout(self, **options):
        self.ax, self.ax_ratio = self.fig.subplots(2, 1, sharex=True, height_ratios=(3, 1.1))
        style_axes(
            self.ax,
            title="Gradient variance falls like 1/B (std like 1/√B)",
            ylabel="variance of batch gradient\n(squared gradient units)",
            xlog=True,
            ylog=True,
        )
        style_axes(self.ax_ratio, xlabel="batch size B (samples)", ylabel="measured\n/ theory")
        self.ax.tick_params(labelbottom=False)
        blue, orange = COLORS["blue"], COLORS["orange"]
        self.band = self.ax.fill_between([1, 2], [1, 1], [2, 2], color=blue, alpha=0.22, lw=0)
        (self.theory,) = self.ax.plot(
            [], [], color=COLORS["black"], lw=LW, label="theory σ²/B·(N−B)/(N−1)"
        )
        (self.theory_wr,) = self.ax.plot(
            [], [], color=orange, lw=LW, ls=":", label="with replacement σ²/B"
        )
        (self.measured,) = self.ax.plot(
            [], [], color=blue, ls="none", marker="o", ms=8, label="measured (±2 s.e.)", zorder=4
        )
        (self.measured_wr,) = self.ax.plot(
            [],
            [],
            color=orange,
            ls="none",
            marker="s",
            ms=7,
            mfc="none",
            mew=2,
            label="measured, with repl.",
        )
        self.noise_line = LineSet(
            self.ax, color=COLORS["green"], lw=2, ls="--", transform=self.ax.get_xaxis_transform()
        )
        (self.highlight,) = self.ax.plot(
            [],
            [],
            ls="none",
            marker="o",
            ms=17,
            mfc="none",
            mec=COLORS["vermillion"],
            mew=2.5,
            zorder=5,
            label="_highlight",
        )
        self.note = axes_note(self.ax, 0.02, 0.04)
        self.ax.legend(fontsize=FONT["legend"], loc="upper right")
        self.ratio_band = self.ax_ratio.fill_between(
            [1, 2], [1, 1], [1, 1], color=blue, alpha=0.22, lw=0
        )
        self.ax_ratio.axhline(1.0, color=COLORS["black"], lw=1.5)
        (self.ratio,) = self.ax_ratio.plot([], [], color=blue, marker="o", ms=6, lw=1.5)

    def update(self, r, *, highlight=None):
        """``highlight``: a batch size to ring (it must be one of ``r.batch_sizes``)."""
        B = np.asarray(r.batch_sizes, dtype=float)
        m = np.asarray(r.measured_variance, dtype=float)
        se = np.asarray(r.measured_variance_se, dtype=float)
        th = np.asarray(r.theory_variance, dtype=float)
        pos = th > 0  # B = N has variance exactly 0: not on a log axis
        lo = np.where(m - 2 * se > 0, m - 2 * se, np.nan)
        self.band.set_data(B[pos], np.fmax(lo[pos], m[pos] * 1e-3), m[pos] + 2 * se[pos])
        self.theory.set_data(B[pos], th[pos])
        self.theory_wr.set_data(B, r.with_replacement_variance)
        self.measured.set_data(B[pos], m[pos])
        self.measured_wr.set_data(B, r.with_replacement_measured)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = m[pos] / th[pos]
            half = 2 * se[pos] / th[pos]
        hit = (B == highlight) & pos
        self.highlight.set_data(B[hit], m[hit])
        self.ratio.set_data(B[pos], ratio)
        self.ratio_band.set_data(B[pos], 1 - half, 1 + half)
        bs = r.noise_scale
        show = np.isfinite(bs) and B.min() <= bs <= B.max()
        self.noise_line.set([([bs, bs], [0, 1], {"label": "_noise scale"})] if show else [])
        notes = [f"N = {r.n_samples}, σ² = {r.trace_sigma:.3g}, {r.n_draws} draws per B"]
        if show:
            notes.append(f"dashed: noise scale B_simple = tr Σ/|G|² = {bs:.3g}")
        if (~pos).any():
            notes.append(f"B = N: measured {m[~pos][0]:.3g}, theory exactly 0")
            if highlight is not None and highlight == r.n_samples:
                notes[-1] += "  (your B: off the log axis)"
        self.note.set_text("\n".join(notes))
        ys = [th[pos], m[pos], r.with_replacement_variance, r.with_replacement_measured]
        set_limits(self.ax, x=[B], y=ys, margin=0.08)
        set_limits(self.ax_ratio, y=[ratio, 1 - half, 1 + half], yinclude=[0.8, 1.2])
        return self.fig


plot_gradient_noise, update_gradient_noise = make_plot_functions(
    GradientNoiseFigure, "gradient_noise"
)


class BatchSizeSweepFigure(FigureBuilder):
    """Loss curves per batch size (a band over seeds per epoch) and the per-update jitter.

    ``views`` (layout option): ``("epoch", "jitter")`` (default) or either alone.
    ``"epoch"``: whole-training-set loss after each epoch, median over seeds
    with a min..max band, and the least-squares floor. ``"jitter"``: standard
    deviation of the per-update batch losses over the last epoch against B
    (log-log, band over seeds), each point labelled with its updates per epoch.
    """

    result_type = "BatchSizeSweepResult"
    figsize = (13.0, 4.8)
    layout_options = ("views",)

    def layout(self, views=("epoch", "jitter")):
        views = tuple(views)
        if not views or set(views) - {"epoch", "jitter"}:
            raise ValueError(f"views must be some of ('epoch', 'jitter'); got {views!r}.")
        axes = self.fig.subplots(1, len(views), squeeze=False)[0]
        found = dict(zip(views, axes, strict=True))
        self.ax_epoch, self.ax_jitter = found.get("epoch"), found.get("jitter")
        note_ax = self.ax_epoch if self.ax_epoch is not None else self.ax_jitter
        if self.ax_epoch is not None:
            style_axes(
                self.ax_epoch,
                title="Loss per epoch (band: all seeds)",
                xlabel="epoch",
                xint=True,
                ylabel="training-set MSE",
                ylog=True,
            )
            self.medians = LineSet(self.ax_epoch, marker="o", markersize=4)
            self.bands = []
            (self.floor,) = self.ax_epoch.plot(
                [], [], color=COLORS["black"], lw=1.5, ls="--", label="least-squares floor"
            )
        if self.ax_jitter is not None:
            style_axes(
                self.ax_jitter,
                title="Per-update loss jitter (last epoch)",
                xlabel="batch size B (samples)",
                ylabel="std of batch losses",
                xlog=True,
                ylog=True,
            )
            self.jitter_band = self.ax_jitter.fill_between(
                [1, 2], [1, 1], [2, 2], color=COLORS["blue"], alpha=0.2, lw=0
            )
            (self.jitter,) = self.ax_jitter.plot([], [], color=COLORS["blue"], marker="o", ms=8)
            self.update_labels = []
        self.note = axes_note(note_ax, 0.02, 0.03, color=COLORS["vermillion"])

    def update(self, r):
        sizes = np.asarray(r.batch_sizes)
        k = len(sizes)
        if self.ax_epoch is not None:
            epochs = np.arange(r.epochs + 1)
            start = np.broadcast_to(
                np.asarray(r.initial_loss, dtype=float)[None, :, None], (k, len(r.seeds), 1)
            )
            curves = np.concatenate([start, np.asarray(r.epoch_loss, dtype=float)], axis=2)
            curves = np.where(np.isfinite(curves), curves, np.nan)
            with warnings.catch_warnings():  # all-NaN columns (diverged everywhere) stay NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                median = np.nanmedian(curves, axis=1)
                lo, hi = np.nanmin(curves, axis=1), np.nanmax(curves, axis=1)
            for band in self.bands:
                band.remove()
            self.bands = [
                self.ax_epoch.fill_between(epochs, lo[i], hi[i], color=color(i), alpha=0.18, lw=0)
                for i in range(k)
            ]
            self.medians.set(
                (epochs, median[i], {"color": color(i), "label": f"B = {sizes[i]}"})
                for i in range(k)
            )
            self.floor.set_data([0, r.epochs], [r.optimal_loss, r.optimal_loss])
            set_limits(self.ax_epoch, x=[epochs], y=[median, lo, hi, [r.optimal_loss]], margin=0.05)
            self.ax_epoch.legend(fontsize=FONT["legend"], loc="upper right", ncols=2)
        if self.ax_jitter is not None:
            B = sizes.astype(float)
            per_seed = np.asarray(r.jitter_per_seed, dtype=float)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                lo, hi = np.nanmin(per_seed, axis=1), np.nanmax(per_seed, axis=1)
            self.jitter.set_data(B, r.jitter)
            self.jitter_band.set_data(B, lo, hi)
            for t in self.update_labels:
                t.remove()
            self.update_labels = [
                self.ax_jitter.annotate(
                    f"{u} upd/epoch",
                    (b, j),
                    textcoords="offset points",
                    xytext=(6, 6),
                    fontsize=FONT["note"] - 2,
                    color="0.3",
                )
                for b, j, u in zip(B, r.jitter, r.updates_per_epoch, strict=True)
                if np.isfinite(j) and j > 0
            ]
            set_limits(self.ax_jitter, x=[B], y=[r.jitter, lo, hi], margin=0.12)
        bad = [f"B = {sizes[i]}" for i in range(k) if np.any(r.diverged[i])]
        self.note.set_text(f"diverged: {', '.join(bad)}" if bad else "")
        return self.fig


plot_batch_size_sweep, update_batch_size_sweep = make_plot_functions(
    BatchSizeSweepFigure, "batch_size_sweep"
)
