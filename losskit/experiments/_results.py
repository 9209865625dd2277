"""Host-side helpers shared by the lessons' training experiments."""

from __future__ import annotations

import numpy as np

__all__ = ["least_squares_loss", "max_abs_diff", "readonly"]


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
