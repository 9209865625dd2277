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

One module per lesson, named by its slug; :data:`losskit.lessons.PANELS` maps each
slug to its panel class, in lesson order. This package exports each lesson module's
``__all__``.
``use_live_figures()`` (a lesson's first cell) turns on ipympl where it is
installed, else inline images. ``reveal(text)`` folds a predict-first
answer into a closed ``<details>`` block (Markdown). ``attempt(fn, *args)`` runs
one call and keeps what a student would see (its value, its warnings or its error)
as an ``Attempt`` whose ``str`` is one line of Markdown. ``random_value(control,
rng)`` draws a value a student could set (fuzz tests, benchmarks).
"""

from __future__ import annotations

from .._lessonmodules import export_lesson_modules
from ._attempt import Attempt, attempt
from ._base import Panel, detect_mode
from ._fuzz import random_value
from ._notebook import use_live_figures
from ._reveal import reveal

__all__ = [
    "Attempt",
    "Panel",
    "attempt",
    "detect_mode",
    "random_value",
    "reveal",
    "use_live_figures",
    *export_lesson_modules(__name__, __path__, globals()),
]
