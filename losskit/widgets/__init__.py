"""Interactive lesson panels: ipywidgets controls -> experiment -> figure, with a readout.

Each panel class (one per lesson) is built as ``Panel(backend="auto", **initial
control values)`` and offers ``.controls`` (name -> ipywidgets control),
``.figure`` (one matplotlib Figure, updated in place), ``.readout`` (an
``ipywidgets.HTML`` of the key numbers), ``.message`` (HTML; why the current
values were rejected, or a warning about the result), ``.error`` (``None`` or
that message), ``.result`` (the latest valid experiment result), ``.widget``
(the ipywidgets container), ``.refresh()`` and ``.display()``. A notebook cell
that evaluates to a panel shows it (``_repr_mimebundle_``).

``PANELS`` maps a short name to each panel class, in lesson order.
``random_value(control, rng)`` draws a value a student could set (fuzz tests,
benchmarks).
"""

from __future__ import annotations

from ._base import Panel, detect_mode
from ._fuzz import random_value
from .noise import GradientNoisePanel
from .overflow import LSEOverflowPanel
from .precision import PrecisionMemoryPanel

__all__ = [
    "PANELS",
    "GradientNoisePanel",
    "LSEOverflowPanel",
    "Panel",
    "PrecisionMemoryPanel",
    "detect_mode",
    "random_value",
]

PANELS: dict[str, type[Panel]] = {
    "lse_overflow": LSEOverflowPanel,
    "gradient_noise": GradientNoisePanel,
    "precision_memory": PrecisionMemoryPanel,
}
