"""Random valid values for ipywidgets controls: what the fuzz test and the panel benchmark set.

A "valid value" is one a student could set with the mouse: a slider position on
its step grid, one of a dropdown's options, a checkbox state. Combinations of
such values may still be invalid for the experiment (a batch larger than the
data); panels must answer those with a message.
"""

from __future__ import annotations

import numpy as np

__all__ = ["random_value"]


def _on_grid(lo, hi, step, u):
    n = int(np.floor((hi - lo) / step + 1e-9))
    return lo + step * int(np.floor(u * (n + 1) - 1e-12)) if n > 0 else lo


def random_value(control, rng: np.random.Generator):
    """A value for ``control`` drawn uniformly from what its UI allows."""
    options = getattr(control, "options", None)
    if options is not None and hasattr(control, "index"):
        values = [o[1] if isinstance(o, tuple) and len(o) == 2 else o for o in options]
        index = control.index
        if isinstance(index, tuple):  # multiple selection: a non-empty subset
            k = int(rng.integers(1, len(values) + 1))
            picks = sorted(rng.choice(len(values), size=k, replace=False).tolist())
            return tuple(values[i] for i in picks)
        return values[int(rng.integers(len(values)))]
    value = control.value
    if isinstance(value, bool):
        return bool(rng.integers(2))
    kind = type(control).__name__
    if kind == "FloatLogSlider":
        exponent = _on_grid(control.min, control.max, control.step, rng.random())
        return float(control.base**exponent)
    if hasattr(control, "min") and hasattr(control, "max"):
        lo, hi = control.min, control.max
        step = getattr(control, "step", None) or (1 if isinstance(value, int) else (hi - lo) / 100)
        if isinstance(value, tuple):  # range slider
            a, b = sorted(_on_grid(lo, hi, step, rng.random()) for _ in range(2))
            return (type(value[0])(a), type(value[1])(b))
        v = _on_grid(lo, hi, step, rng.random())
        return int(round(v)) if isinstance(value, int) else float(v)
    raise TypeError(
        f"random_value: no rule for {kind} (value {value!r}); give panels bounded controls."
    )
