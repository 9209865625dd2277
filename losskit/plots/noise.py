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

import numpy as np

from ._builder import FigureBuilder, LineSet, make_plot_functions, set_limits
from ._style import COLORS, FONT, LW, style_axes

__all__ = ["plot_gradient_noise", "update_gradient_noise"]


class GradientNoiseFigure(FigureBuilder):
    """Mini-batch gradient variance vs batch size: measurement over σ²/B·(N−B)/(N−1)."""

    result_type = "GradientNoiseResult"
    figsize = (8.5, 6.0)

    def layout(self):
        self.ax, self.ax_ratio = self.fig.subplots(2, 1, sharex=True, height_ratios=(3, 1.1))
        style_axes(
            self.ax,
            title="Gradient noise falls like 1/B",
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
        self.note = self.ax.text(
            0.02, 0.04, "", transform=self.ax.transAxes, fontsize=FONT["note"], va="bottom"
        )
        self.ax.legend(fontsize=FONT["legend"], loc="upper right")
        self.ratio_band = self.ax_ratio.fill_between(
            [1, 2], [1, 1], [1, 1], color=blue, alpha=0.22, lw=0
        )
        self.ax_ratio.axhline(1.0, color=COLORS["black"], lw=1.5)
        (self.ratio,) = self.ax_ratio.plot([], [], color=blue, marker="o", ms=6, lw=1.5)

    def update(self, r):
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
        self.note.set_text("\n".join(notes))
        ys = [th[pos], m[pos], r.with_replacement_variance, r.with_replacement_measured]
        set_limits(self.ax, x=[B], y=ys, margin=0.08)
        set_limits(self.ax_ratio, y=[ratio, 1 - half, 1 + half], yinclude=[0.8, 1.2])
        return self.fig


plot_gradient_noise, update_gradient_noise = make_plot_functions(
    GradientNoiseFigure, "gradient_noise"
)
