"""Interactive lesson panels: ipywidgets controls -> experiment -> figure, with a readout.

Each panel class (one per lesson) is built as ``Panel(backend="auto", **initial
control values)`` and offers ``.controls`` (name -> ipywidgets control),
``.figure`` (one matplotlib Figure, updated in place), ``.readout`` (an
``ipywidgets.HTML`` of the key numbers), ``.message`` (HTML; why the current
values were rejected, or a warning about the result), ``.error`` (``None`` or
that message), ``.result`` (the latest valid experiment result), ``.widget``
(the ipywidgets container), ``.refresh()`` and ``.display()``. A notebook cell
that evaluates to a panel shows it (``_repr_mimebundle_``).

Other attributes: ``.updated`` (whether the last refresh redrew the figure),
``.last_traceback`` (``None``, or the text of the last internal error, which
the panel shows only as a one-line message), ``.mode`` (``"ipympl"`` when
``%matplotlib widget`` is active: the figure's own canvas is the view, updated
with ``draw_idle``; else ``"inline"``: a PNG in an ``ipywidgets.Image``).
Constructor keywords besides control values: ``mode``, ``debounce`` (seconds;
applies inside a running event loop, i.e. a kernel), ``dpi`` (of the figure; default
110, so that projector-size fonts are 18-23 px on screen).

``PANELS`` maps a short name to each panel class, in lesson order:
``batch_vs_dataset`` (lesson 1), ``reductions`` (2), ``lse_overflow`` (3), ``gradient_noise`` (4),
``sum_vs_mean`` (5), ``accumulation`` (6), ``train_val`` (7),
``precision_memory`` (8).
``use_live_figures()`` (a lesson's first cell) turns on ipympl where it is
installed, else inline images. ``random_value(control, rng)`` draws a value a
student could set (fuzz tests, benchmarks).
"""

from __future__ import annotations

from ._base import Panel, detect_mode
from ._fuzz import random_value
from ._notebook import use_live_figures
from .noise import GradientNoisePanel
from .overflow import LSEOverflowPanel
from .precision import PrecisionMemoryPanel
from .reductions import ReductionsPanel
from .regimes import BatchVsDatasetPanel
from .scaling import AccumulationPanel, SumVsMeanPanel
from .validation import TrainValPanel

__all__ = [
    "use_live_figures",
    "PANELS",
    "AccumulationPanel",
    "BatchVsDatasetPanel",
    "GradientNoisePanel",
    "LSEOverflowPanel",
    "Panel",
    "PrecisionMemoryPanel",
    "ReductionsPanel",
    "SumVsMeanPanel",
    "TrainValPanel",
    "detect_mode",
    "random_value",
]

PANELS: dict[str, type[Panel]] = {
    "batch_vs_dataset": BatchVsDatasetPanel,  # lesson 1
    "reductions": ReductionsPanel,  # lesson 2
    "lse_overflow": LSEOverflowPanel,  # lesson 3
    "gradient_noise": GradientNoisePanel,  # lesson 4
    "sum_vs_mean": SumVsMeanPanel,  # lesson 5
    "accumulation": AccumulationPanel,  # lesson 6
    "train_val": TrainValPanel,  # lesson 7
    "precision_memory": PrecisionMemoryPanel,  # lesson 8
}
