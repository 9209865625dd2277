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

One module per lesson, named by its slug (:mod:`losskit.lessons`, which also
lists the slide figures ``losskit figures`` renders); this package exports each
module's ``__all__``.

``new_figure(figsize, dpi, fast_text=False)`` makes a pyplot-free figure (``fast_text``:
rendered text reused between draws, for live panels); ``install_text_cache(canvas)``
gives an existing Agg-based canvas (ipympl's) the same text cache.

Style: Okabe-Ito colour-blind-safe palette (:data:`PALETTE`), projector-size
fonts (:data:`FONT`), log axes where a quantity spans decades, units on axes.
"""

from __future__ import annotations

from .._lessonmodules import export_lesson_modules
from ._builder import FigureBuilder, LineSet, builder_of, set_limits, update_figure
from ._fasttext import install_text_cache
from ._style import COLORS, FONT, PALETTE, new_figure

__all__ = [
    "COLORS",
    "FONT",
    "PALETTE",
    "FigureBuilder",
    "LineSet",
    "builder_of",
    "install_text_cache",
    "new_figure",
    "set_limits",
    "update_figure",
    *export_lesson_modules(__name__, __path__, globals()),
]
