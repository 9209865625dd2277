"""One pure function per lesson: parameters in, a dataclass of host NumPy arrays out.

Experiments compute; they never plot (see ``losskit.plots``). Each is callable
with no arguments, and takes ``backend=`` and ``seed=``. Modules load lazily so
``import losskit`` stays fast.
"""

from __future__ import annotations

import importlib

_WHERE = {
    # lesson 2: losses and reductions
    "reductions": "reductions",
    "ReductionsResult": "reductions",
    # lesson 4: gradient noise
    "gradient_noise": "noise",
    "GradientNoiseResult": "noise",
    # lesson 3: log-sum-exp overflow
    "lse_overflow": "overflow",
    "LSEOverflowResult": "overflow",
    # lesson 8: summation precision and cross-entropy memory
    "summation_precision": "precision",
    "SummationPrecisionResult": "precision",
    "ce_memory": "precision",
    "CEMemoryResult": "precision",
    # lessons 4-5: batch-size sweep
    "batch_size_sweep": "sweep",
    "BatchSizeSweepResult": "sweep",
    # lessons 5-6: sum vs mean, gradient accumulation
    "sum_vs_mean": "scaling",
    "SumVsMeanResult": "scaling",
    "accumulation": "scaling",
    "AccumulationResult": "scaling",
    # lesson 1: batch vs dataset
    "batch_vs_dataset": "regimes",
    "BatchVsDatasetResult": "regimes",
    # lesson 7: training vs validation
    "train_val": "validation",
    "TrainValResult": "validation",
}

__all__ = sorted(_WHERE)

# Lesson 2's function has its module's name. Importing that module by path
# (``from losskit.experiments.reductions import ReductionsResult``) binds the
# package attribute ``reductions`` to the module, which would shadow the function
# for ``experiments.reductions(...)`` (and for the panels, which look experiments
# up by name). Loading it here and binding the function keeps the attribute the
# function whatever is imported later; the module needs nothing beyond what
# ``import losskit`` has already loaded, so this costs next to nothing.
from .reductions import ReductionsResult, reductions  # noqa: E402, F401


def __getattr__(name):
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'losskit.experiments' has no attribute {name!r}")


def __dir__():
    return __all__
