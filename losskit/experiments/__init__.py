"""One pure function per lesson: parameters in, a dataclass of host NumPy arrays out.

Experiments compute; they never plot (see ``losskit.plots``). Each is callable
with no arguments, and takes ``backend=`` and ``seed=``. Modules load lazily so
``import losskit`` stays fast.
"""

from __future__ import annotations

import importlib

_WHERE = {
    # lesson 2: losses and reductions
    "reductions": "reduction",
    "ReductionsResult": "reduction",
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


def __getattr__(name):
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'losskit.experiments' has no attribute {name!r}")


def __dir__():
    return __all__
