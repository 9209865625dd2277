"""Argument checks shared by numerics, losses and training: clear errors, never silent.

Each check raises ``TypeError``/``ValueError`` whose message says what was wrong,
what was expected, what was given and the likely fix.
"""

from __future__ import annotations

import array_api_compat

from .backend import errstate


def namespace(*arrays, where: str):
    """The array-API namespace of ``arrays``; a ``TypeError`` for lists, scalars and mixes."""
    for a in arrays:
        if not hasattr(a, "shape") or not hasattr(a, "dtype"):
            raise TypeError(
                f"{where}: expected an array (NumPy, CuPy or array-API); got {type(a).__name__}. "
                f"Wrap it first, e.g. numpy.asarray(x, dtype=float) or backend.asarray(x)."
            )
    try:
        return array_api_compat.array_namespace(*arrays)
    except TypeError as exc:
        kinds = sorted({type(a).__module__.split(".")[0] for a in arrays})
        raise TypeError(
            f"{where}: arrays come from different libraries ({', '.join(kinds)}); "
            f"put them on one backend with backend.asarray(...)."
        ) from exc


def is_floating(xp, x) -> bool:
    return xp.isdtype(x.dtype, "real floating")


def require_float(xp, x, name: str, where: str) -> None:
    """``x`` must hold real floating values (float16/32/64)."""
    if not is_floating(xp, x):
        raise TypeError(
            f"{where}: {name} must be a real floating array (float16, float32 or float64); "
            f"got dtype {x.dtype}. Convert it first, e.g. {name}.astype(float32)."
        )


def normalize_axis(axis: int, ndim: int, where: str) -> int:
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise TypeError(f"{where}: axis must be an int; got {type(axis).__name__}.")
    if not -ndim <= axis < max(ndim, 1):
        raise ValueError(
            f"{where}: axis {axis} is out of range for a {ndim}-D array "
            f"(valid {-ndim}..{ndim - 1})."
        )
    return axis % max(ndim, 1)


def require_finite(xp, x, name: str, where: str) -> None:
    """No NaN or inf in ``x`` (one reduction; callers can switch the check off)."""
    with errstate(invalid="ignore", over="ignore"):
        ok = bool(xp.all(xp.isfinite(x)))
    if not ok:
        n_nan = int(xp.sum(xp.astype(xp.isnan(x), xp.int64)))
        n_inf = int(xp.sum(xp.astype(xp.isinf(x), xp.int64)))
        raise ValueError(
            f"{where}: {name} contains {n_nan} NaN and {n_inf} inf value(s); expected finite "
            f"numbers. A diverging model or an upstream overflow is the usual cause; pass "
            f"check_finite=False to compute anyway."
        )


def require_nonempty(x, name: str, where: str) -> None:
    if x.ndim >= 1 and x.shape[0] == 0:
        raise ValueError(
            f"{where}: {name} is an empty batch (shape {tuple(x.shape)}); expected at least "
            f"one sample. Check the batch loader or the slicing that produced it."
        )


def require_same_shape(input, target, where: str) -> None:
    """Shapes must match exactly: (N, 1) against (N,) would broadcast to (N, N)."""
    if tuple(input.shape) == tuple(target.shape):
        return
    hint = ""
    s_in, s_t = tuple(input.shape), tuple(target.shape)
    if s_in[:1] == s_t[:1] and (s_in[1:] == (1,) and s_t[1:] == () or s_t[1:] == (1,) and s_in[1:] == ()):
        hint = (
            " Broadcasting (N, 1) against (N,) would silently build an N x N matrix; "
            "squeeze the column, e.g. input[:, 0] or input.reshape(-1)."
        )
    raise ValueError(
        f"{where}: input and target must have the same shape; got input {s_in} and target "
        f"{s_t}.{hint or ' Reshape one of them so they match.'}"
    )
