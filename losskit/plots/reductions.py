"""Lesson 2 figure: the three reductions, as the batch grows and for one batch.

``plot_reductions``: left, log-log against the batch size B, the batch loss and
the norm of the gradient with respect to the model's weights under ``"mean"``
(blue) and ``"sum"`` (vermillion), with a grey reference line proportional to B
through each sum curve's last point: the sum curves run parallel to it (slope 1:
B-times the batch, B-times the loss and the step), the mean curves level off.
A vertical line marks the batch shown on the right.

Right, ``reduction="none"``: that batch's per-sample losses sorted from the
largest, as bars; the hard samples (corrupted targets) in vermillion stand out
at the left. The dashed line is their mean (what ``"mean"`` returns); the note
gives their sum (what ``"sum"`` returns).
"""

from __future__ import annotations

import numpy as np

from ._builder import FigureBuilder, LineSet, make_plot_functions, set_limits
from ._style import COLORS, FONT, LW, axes_note, set_title, style_axes

__all__ = ["LOSS_LABELS", "plot_reductions", "update_reductions"]

LOSS_LABELS = {
    "mse": "MSE",
    "l1": "L1",
    "huber": "Huber",
    "cross_entropy": "cross-entropy",
    "bce_with_logits": "BCE with logits",
}

_COLOR = {"mean": COLORS["blue"], "sum": COLORS["vermillion"]}


class ReductionsFigure(FigureBuilder):
    """Loss and gradient norm vs batch size under mean and sum; one batch's per-sample losses."""

    result_type = "ReductionsResult"
    figsize = (13.0, 4.9)

    def layout(self, **options):
        self.ax, self.ax_none = self.fig.subplots(1, 2, width_ratios=(1.15, 1))
        style_axes(
            self.ax,
            title="mean vs sum as the batch grows",
            xlabel="batch size B (samples)",
            ylabel="batch loss (o), ‖∇ weights‖ (□)",
            xlog=True,
            ylog=True,
        )
        style_axes(
            self.ax_none,
            title="reduction='none'",
            xlabel="sample, sorted by its loss",
            ylabel="per-sample loss",
            xint=True,
        )
        self.curves = LineSet(self.ax, markersize=6)
        self.reference = LineSet(self.ax, color="0.55", linewidth=1.6, linestyle=":", zorder=1)
        (self.marker,) = self.ax.plot(
            [], [], color="0.35", lw=1.2, ls="-", label="_batch shown right", zorder=0
        )
        self.easy = self.ax_none.stairs(
            [0.0], [0.0, 1.0], fill=True, color=COLORS["blue"], alpha=0.85, label="sample"
        )
        self.hard = self.ax_none.stairs(
            [0.0], [0.0, 1.0], fill=True, color=COLORS["vermillion"], label="hard (corrupted)"
        )
        (self.mean_line,) = self.ax_none.plot(
            [], [], color=COLORS["black"], lw=LW * 0.8, ls="--", label="their mean"
        )
        self.note = axes_note(self.ax_none, 0.97, 0.55, ha="right")
        self.ax_none.legend(fontsize=FONT["legend"], loc="upper right")

    def update(self, r, *, focus=None):
        """``focus``: ``"mean"`` or ``"sum"`` to stress one reduction (the other is drawn faint)."""
        if focus not in (None, "mean", "sum"):
            raise ValueError(
                f"plot_reductions: focus must be 'mean', 'sum' or None; got {focus!r}."
            )
        B = np.asarray(r.batch_sizes, dtype=float)
        series, refs, ys = [], [], []
        for red in ("mean", "sum"):
            faint = {"alpha": 0.25} if focus is not None and focus != red else {}
            loss = np.asarray(getattr(r, f"loss_{red}"), dtype=float)
            grad = np.asarray(getattr(r, f"grad_norm_{red}"), dtype=float)
            style = {"color": _COLOR[red], **faint}
            series.append((B, loss, {**style, "marker": "o", "label": f"loss, {red}"}))
            series.append(
                (B, grad, {**style, "marker": "s", "ls": "--", "label": f"‖∇ weights‖, {red}"})
            )
            ys += [loss, grad]
        for k, field in enumerate(("loss_sum", "grad_norm_sum")):
            y = np.asarray(getattr(r, field), dtype=float)
            label = "∝ B" if k == 0 else "_∝ B"
            refs.append((B, y[-1] * B / B[-1], {"label": label}))
        self.curves.set(series)
        self.reference.set(refs)
        set_limits(self.ax, x=[B], y=ys, margin=0.06)
        b0 = r.none_batch_size
        self.marker.set_data([b0, b0], self.ax.get_ylim())
        if self.ax.get_legend() is None:  # the entries never change: made once
            self.ax.legend(fontsize=FONT["legend"] - 1, loc="upper left")

        losses = np.asarray(r.per_sample_loss, dtype=float)
        order = np.argsort(-losses, kind="stable")
        sorted_losses = losses[order]
        hard = np.asarray(r.per_sample_hard, dtype=bool)[order]
        edges = np.arange(losses.size + 1, dtype=float)
        self.easy.set_data(np.where(hard, 0.0, sorted_losses), edges)
        self.hard.set_data(np.where(hard, sorted_losses, 0.0), edges)
        self.mean_line.set_data([0, losses.size], [r.none_loss_mean, r.none_loss_mean])
        set_limits(self.ax_none, x=[edges], y=[sorted_losses, [0.0]], margin=0.04)
        name = LOSS_LABELS.get(r.loss_name, r.loss_name)
        set_title(self.ax_none, f"reduction='none': {name}, batch of B = {b0}")
        n_hard = int(hard.sum())
        self.note.set_text(
            f"mean = {r.none_loss_mean:.4g}\nsum = {r.none_loss_sum:.4g}\n"
            f"   = {b0} × mean\n{n_hard} hard of {b0}"
        )
        return self.fig


plot_reductions, update_reductions = make_plot_functions(ReductionsFigure, "reductions")
