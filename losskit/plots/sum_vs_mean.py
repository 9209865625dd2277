"""Lesson 5 figure: sum vs mean reduction.

``plot_sum_vs_mean``: left, the three parameter trajectories in the (weight,
bias) plane: mean at lr (solid), sum at lr/B (dashed, on top of it: the same
steps), sum at lr (B-times larger steps; it can leave the view or diverge).
Right, each update's per-example batch loss (log scale).
"""

from __future__ import annotations

import numpy as np

from ._builder import FigureBuilder, LineSet, make_plot_functions, set_limits
from ._style import COLORS, FONT, axes_note, finite, style_axes

__all__ = ["plot_sum_vs_mean", "update_sum_vs_mean"]


_RUNS = (
    # field suffix, label, style
    ("mean", "mean, lr", {"color": COLORS["blue"], "linewidth": 4.5, "alpha": 0.75}),
    (
        "sum_scaled",
        "sum, lr / B",
        {"color": COLORS["vermillion"], "linestyle": "--", "linewidth": 2.2},
    ),
    ("sum_same_lr", "sum, lr (B× larger steps)", {"color": COLORS["green"], "linewidth": 1.8}),
)


def _span(*arrays):
    v = np.concatenate([finite(a) for a in arrays])
    return (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)


class SumVsMeanFigure(FigureBuilder):
    """Mean at lr vs sum at lr/B vs sum at lr: parameter paths and per-update losses."""

    result_type = "SumVsMeanResult"
    figsize = (13.0, 4.9)

    def layout(self, **options):
        self.ax_path, self.ax_loss = self.fig.subplots(1, 2)
        style_axes(
            self.ax_path, title="Parameter trajectories", xlabel="weight w₁", ylabel="bias b"
        )
        style_axes(
            self.ax_loss,
            title="Per-update batch loss",
            xlabel="update",
            xint=True,
            ylabel="batch MSE per example",
            ylog=True,
        )
        self.paths = LineSet(self.ax_path)
        self.losses = LineSet(self.ax_loss)
        (self.start,) = self.ax_path.plot(
            [], [], ls="none", marker="o", ms=10, color=COLORS["black"], label="start", zorder=5
        )
        self.note = axes_note(
            self.ax_path,
            0.02,
            0.03,
            zorder=6,  # over a run that flies off: the note stays legible
            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 2},
        )
        self.legend = None

    def update(self, r, *, focus=None):
        """``focus``: a run (``"mean"``, ``"sum_scaled"``, ``"sum_same_lr"``) to stress;
        the other runs are drawn faint."""
        paths, losses = [], []
        for key, label, style in _RUNS:
            if focus is not None and key not in (focus, "mean"):
                style = {**style, "alpha": 0.25}
            p = np.asarray(getattr(r, f"params_{key}"), dtype=float)
            bias = p[:, -1]
            weight = p[:, 0]
            paths.append((weight, bias, {**style, "label": label}))
            losses.append((np.arange(1, p.shape[0]), getattr(r, f"loss_{key}"), style))
        self.paths.set(paths)
        self.losses.set(losses)
        self.start.set_data([paths[0][0][0]], [paths[0][1][0]])
        # frame the mean path (the one the others are compared with); a sum-at-lr path
        # that flies off or diverges is noted rather than allowed to squash the view
        mean_w, mean_b = paths[0][0], paths[0][1]
        lo_w, hi_w = _span(mean_w)
        lo_b, hi_b = _span(mean_b)
        pad = 0.25 * max(hi_w - lo_w, hi_b - lo_b, 1e-3)
        self.ax_path.set_xlim(lo_w - pad, hi_w + pad)
        self.ax_path.set_ylim(lo_b - pad, hi_b + pad)
        ref = np.concatenate([finite(losses[0][1]), finite(losses[1][1])])
        cap = 1e3 * float(ref.max()) if ref.size else np.inf
        wild = np.asarray(losses[2][1], dtype=float)
        set_limits(
            self.ax_loss,
            x=[losses[0][0]],
            y=[losses[0][1], losses[1][1], wild[wild <= cap]],
            margin=0.05,
        )
        same = "bit for bit" if r.bitwise_equal else f"max |Δθ| = {r.max_deviation:.2g}"
        notes = [f"B = {r.batch_size}, lr = {r.lr:g}: sum at lr/B matches mean {same}"]
        names = {key: label for key, label, _ in _RUNS}
        bad = [names.get(name, name) for name, msg in r.diverged.items() if msg]
        if bad:
            notes.append(" and ".join(bad) + " diverged")
        else:
            notes.append(f"sum at lr: max |Δθ| = {r.max_deviation_same_lr:.3g}")
        self.note.set_text("\n".join(notes))
        # one legend for both axes (same runs, same colours), below them: never on a path
        if self.legend is not None:
            self.legend.remove()
        self.legend = self.fig.legend(
            handles=[self.start, *self.paths.lines],
            loc="outside lower center",
            ncols=4,
            fontsize=FONT["legend"],
            frameon=False,
        )
        return self.fig


plot_sum_vs_mean, update_sum_vs_mean = make_plot_functions(SumVsMeanFigure, "sum_vs_mean")
