"""Figure builders: one per experiment; each takes its result and returns a matplotlib Figure.

Every builder comes as a pair:

- ``plot_<experiment>(result, fig=None)`` draws ``result`` into a new figure (or
  into ``fig``) and returns the Figure. Called again with a figure it drew, it
  only updates that figure's artists (``set_data``, ``set_text``, limits);
- ``update_<experiment>(fig, result)`` updates a figure made by ``plot_<experiment>``
  in place, and raises ``TypeError`` for any other figure.

``update_figure(fig, result)`` updates any losskit figure; ``builder_of(fig)``
returns the object that owns its artists. Builders import the experiments'
result types only: they never compute, they draw what the experiment measured
next to the theory the experiment computed.

Per-update keyword options (also accepted by ``update_<experiment>``):
``plot_gradient_noise(..., highlight=B)`` rings one batch size;
``plot_batch_vs_dataset(..., every_batch=True)`` draws every update's batch loss
(default: at most 30 per log-spaced window, under the window mean and band);
``plot_lse_overflow(..., marker=scale, methods=("naive", "stable"))``;
``plot_reductions(..., focus="mean"|"sum")``,
``plot_sum_vs_mean(..., focus="mean"|"sum_scaled"|"sum_same_lr")`` and
``plot_accumulation(..., focus="correct"|"naive"|"forgot")`` fade the other runs.
Layout option: ``plot_batch_size_sweep(..., views=("epoch", "jitter"))`` picks
the axes (asking for other views rebuilds the figure).

``FIGURES`` lists every lesson figure (file name, lesson, experiment, plot
function, lesson-default arguments): what ``losskit figures`` renders.

Style: Okabe-Ito colour-blind-safe palette (:data:`PALETTE`), projector-size
fonts (:data:`FONT`), log axes where a quantity spans decades, units on axes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._builder import FigureBuilder, LineSet, builder_of, set_limits, update_figure
from ._style import COLORS, FONT, PALETTE, new_figure
from .noise import (
    plot_batch_size_sweep,
    plot_gradient_noise,
    update_batch_size_sweep,
    update_gradient_noise,
)
from .overflow import plot_lse_overflow, update_lse_overflow
from .precision import (
    plot_ce_memory,
    plot_summation_precision,
    update_ce_memory,
    update_summation_precision,
)
from .reductions import plot_reductions, update_reductions
from .regimes import plot_batch_vs_dataset, update_batch_vs_dataset
from .scaling import plot_accumulation, plot_sum_vs_mean, update_accumulation, update_sum_vs_mean
from .validation import plot_train_val, update_train_val

__all__ = [
    "COLORS",
    "FIGURES",
    "FONT",
    "PALETTE",
    "FigureBuilder",
    "FigureSpec",
    "LineSet",
    "builder_of",
    "new_figure",
    "plot_accumulation",
    "plot_batch_size_sweep",
    "plot_batch_vs_dataset",
    "plot_ce_memory",
    "plot_gradient_noise",
    "plot_lse_overflow",
    "plot_reductions",
    "plot_summation_precision",
    "plot_sum_vs_mean",
    "plot_train_val",
    "set_limits",
    "update_figure",
    "update_accumulation",
    "update_batch_size_sweep",
    "update_batch_vs_dataset",
    "update_ce_memory",
    "update_gradient_noise",
    "update_lse_overflow",
    "update_reductions",
    "update_summation_precision",
    "update_sum_vs_mean",
    "update_train_val",
]


@dataclass(frozen=True)
class FigureSpec:
    """One slide figure: ``name`` (PNG file stem), ``lesson``, the ``experiment``
    function's name in ``losskit.experiments``, the ``plot`` function, and the
    experiment's keyword arguments (``kwargs``; empty = the lesson defaults)."""

    name: str
    lesson: str
    experiment: str
    plot: object
    kwargs: dict = field(default_factory=dict)


FIGURES: list[FigureSpec] = [
    FigureSpec(
        "lesson1_batch_vs_dataset",
        "Lesson 1: batch or dataset loss?",
        "batch_vs_dataset",
        plot_batch_vs_dataset,
    ),
    FigureSpec(
        "lesson2_reductions",
        "Lesson 2: losses and reductions",
        "reductions",
        plot_reductions,
    ),
    FigureSpec(
        "lesson3_lse_overflow", "Lesson 3: the log-sum-exp trick", "lse_overflow", plot_lse_overflow
    ),
    FigureSpec(
        "lesson4_gradient_noise",
        "Lesson 4: gradient noise and batch size",
        "gradient_noise",
        plot_gradient_noise,
    ),
    FigureSpec(
        "lesson4_batch_size_sweep",
        "Lessons 4-5: loss curves per batch size",
        "batch_size_sweep",
        plot_batch_size_sweep,
    ),
    FigureSpec(
        "lesson5_sum_vs_mean",
        "Lesson 5: sum vs mean and the learning rate",
        "sum_vs_mean",
        plot_sum_vs_mean,
    ),
    FigureSpec(
        "lesson6_accumulation", "Lesson 6: gradient accumulation", "accumulation", plot_accumulation
    ),
    FigureSpec(
        "lesson7_train_val",
        "Lesson 7: training vs validation, early stopping",
        "train_val",
        plot_train_val,
    ),
    FigureSpec(
        "lesson8_summation_precision",
        "Lesson 8: summing many numbers",
        "summation_precision",
        plot_summation_precision,
    ),
    FigureSpec(
        "lesson8_ce_memory", "Lesson 8: cross-entropy memory at scale", "ce_memory", plot_ce_memory
    ),
]
