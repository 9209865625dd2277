"""One pure function per lesson: parameters in, a dataclass of host NumPy arrays out.

Experiments compute; they never plot (see ``losskit.plots``). Each is callable
with no arguments, and takes ``backend=`` and ``seed=``. One module per lesson,
named by its slug (:mod:`losskit.lessons`); this package exports each module's
``__all__``.
"""

from __future__ import annotations

from .._lessonmodules import export_lesson_modules

__all__ = export_lesson_modules(__name__, __path__, globals())
