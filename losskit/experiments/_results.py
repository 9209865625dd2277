"""Host-side helpers shared by the lessons' training experiments."""

from __future__ import annotations

import numpy as np

from .._argcheck import check_real
from ..data import _SCALE_HINT, _SCALE_MAX

__all__ = ["check_noise", "least_squares_loss", "max_abs_diff", "readonly"]


def check_noise(noise, where: str) -> float:
    """An experiment's target ``noise`` (a standard deviation) in 0..1e6, checked on entry.

    The data generators share the bound: beyond it the lessons' squares overflow in
    float32 (and a noise of 1e308 overflows even float64 in ``noise * eps``).
    """
    return check_real(noise, "noise", where, minimum=0.0, maximum=_SCALE_MAX, hint=_SCALE_HINT)


def readonly(a, dtype=None) -> np.ndarray:
    """``a`` as a read-only host NumPy array (results are values, not workspaces)."""
    a = np.array(a, dtype=dtype)
    a.flags.writeable = False
    return a


def least_squares_loss(X: np.ndarray, y: np.ndarray) -> float:
    """The lowest MSE a linear model with bias reaches on ``(X, y)`` (host float64 lstsq)."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    A = np.concatenate([X, np.ones((X.shape[0], 1))], axis=1)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    r = A @ coef - y
    return float(np.mean(r * r))


def max_abs_diff(a, b) -> float:
    """``max |a - b|`` in float64 (host); ``inf`` when any difference is not finite."""
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))
    return float(np.max(d)) if np.all(np.isfinite(d)) else float("inf")
