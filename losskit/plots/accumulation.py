"""Lesson 6 figure: gradient accumulation.

``plot_accumulation``: training-set loss per update for one batch of
``sum(sizes)`` examples and three ways of accumulating micro-batches, one axes
for the equal split and one for the unequal split; each legend entry carries
the largest parameter deviation from the one-batch run. Each legend sits below
its axes, so a diverging curve never runs under it.
"""

from __future__ import annotations

import numpy as np

from ._builder import FigureBuilder, LineSet, make_plot_functions, set_limits
from ._style import COLORS, FONT, legend_below, set_title, style_axes

__all__ = ["plot_accumulation", "update_accumulation"]
_METHODS = (
    # short labels (the legend sits under half the figure): the panel's own words
    ("full", "one batch of Σn", {"color": COLORS["black"], "linewidth": 4.5, "alpha": 0.45}),
    ("correct", "weighted nₘ/Σn", {"color": COLORS["blue"], "linestyle": "--"}),
    ("naive", "divided by K", {"color": COLORS["vermillion"], "linestyle": ":"}),
    ("forgot", "forgot ÷ K", {"color": COLORS["green"]}),
)


class AccumulationFigure(FigureBuilder):
    """Gradient accumulation: one batch vs correctly and wrongly scaled micro-batches."""

    result_type = "AccumulationResult"
    figsize = (13.0, 4.9)

    def layout(self, **options):
        # one SubFigure per split, each with its legend below its axes (the labels carry
        # that split's deviations): inside, a diverging curve ran under the legend
        self.subs = list(self.fig.subfigures(1, 2))
        # one y range for both (update sets the same limits on each): matplotlib's sharey
        # across SubFigures would redraw the whole canvas on every set_ylim
        self.axes = [sub.subplots() for sub in self.subs]
        self.lines = []
        for k, ax in enumerate(self.axes):
            style_axes(
                ax,
                xlabel="update",
                xint=True,
                ylabel="training-set MSE" if k == 0 else None,
                ylog=True,
            )
            self.lines.append(LineSet(ax))
        self.legends = [None, None]

    def update(self, r, *, focus=None):
        """``focus``: a method (``"correct"``, ``"naive"``, ``"forgot"``) to stress against
        the one-batch run; the others are drawn faint."""
        ys = []
        for k, ax in enumerate(self.axes):
            series = []
            for name, label, style in _METHODS:
                if focus is not None and name not in (focus, "full"):
                    style = {**style, "alpha": 0.25}
                y = np.asarray(getattr(r, f"loss_{name}")[k], dtype=float)
                if r.diverged[name][k]:  # NaN/inf, or past 1e6 times its start (fit's rule)
                    label = f"{label}: diverged"
                elif name != "full":
                    dev = float(getattr(r, f"max_deviation_{name}")[k])
                    label = f"{label}: max|Δθ| {dev:.1e}"
                series.append((np.arange(y.size), y, {**style, "label": label}))
                ys.append(y)
            self.lines[k].set(series)
            sizes = " + ".join(str(s) for s in r.micro_batch_sizes[k])
            set_title(ax, f"{r.cases[k]} split: {sizes}")
            if self.legends[k] is not None:
                self.legends[k].remove()
            self.legends[k] = legend_below(
                self.subs[k], self.lines[k].lines, ncols=2, fontsize=FONT["legend"] - 1
            )
        for ax in self.axes:  # the same range on both: the splits compare at a glance
            set_limits(ax, x=[np.arange(r.n_updates + 1)], y=ys, margin=0.05)
        return self.fig


plot_accumulation, update_accumulation = make_plot_functions(AccumulationFigure, "accumulation")
