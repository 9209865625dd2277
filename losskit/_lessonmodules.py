"""How ``losskit.experiments``, ``losskit.plots`` and ``losskit.widgets`` find their lesson modules.

Each of the three packages holds one public module per lesson, named by the
lesson's slug (``gradient_noise.py`` in all three), plus private helpers
(``_style.py``, ``_base.py``...). The package exports every name in each lesson
module's ``__all__``, so adding a lesson needs no edit of the package: its
modules and one line in :mod:`losskit.lessons`.

A lesson module may define a function of its own name (the experiment
``gradient_noise`` in ``experiments/gradient_noise.py``): the package attribute
is then the function, and the module is imported with
``from losskit.experiments.gradient_noise import ...``.
"""

from __future__ import annotations

import importlib
import pkgutil

__all__ = ["export_lesson_modules", "lesson_module_names"]


def lesson_module_names(path) -> list[str]:
    """The public modules of a package folder (its lesson slugs), sorted."""
    return sorted(m.name for m in pkgutil.iter_modules(path) if not m.name.startswith("_"))


def export_lesson_modules(package: str, path, namespace: dict) -> list[str]:
    """Import every lesson module of ``package`` and copy its ``__all__`` into ``namespace``.

    Returns the exported names. Two modules exporting one name is an ``ImportError``:
    one of them would silently hide the other.
    """
    owner = {}
    for slug in lesson_module_names(path):
        module = importlib.import_module(f"{package}.{slug}")
        for name in module.__all__:
            if name in owner:
                raise ImportError(
                    f"{package}: {name!r} is exported by both {owner[name]!r} and {slug!r}; "
                    f"rename one of them."
                )
            owner[name] = slug
            namespace[name] = getattr(module, name)
    return sorted(owner)
