"""Checks of array arguments, shared by numerics, losses and training: clear errors, never silent.

The convention of :mod:`losskit._argcheck`: ``check_<kind>(x, name, where, *, options)``,
with the array namespace passed as ``xp=`` where the check computes on the array.
Each raises ``TypeError``/``ValueError`` whose message says what was wrong, what was
expected, what was given and the likely fix.
"""

from __future__ import annotations

import operator
import warnings

import array_api_compat

from .backend import errstate


def _refuse_kind(a, name: str, where: str) -> None:
    """pandas objects and ndarray subclasses (np.matrix, masked arrays) are refused by name:
    their operators (matrix ``*``, masks) would silently change the maths."""
    module = type(a).__module__.split(".")[0]
    if module == "pandas":
        raise TypeError(
            f"{where}: {name} is a pandas {type(a).__name__}; losskit takes arrays, not pandas "
            f"objects (their index would align, not compute). Convert it first, e.g. "
            f"{name}.to_numpy(dtype=float)."
        )
    if module == "numpy" and type(a).__name__ != "ndarray" and hasattr(a, "__array_priority__"):
        import numpy as np

        if isinstance(a, np.ndarray):
            kind = {
                "matrix": "numpy.matrix (its * is a matrix product)",
                "MaskedArray": "masked array (masks would be half-honoured)",
            }.get(type(a).__name__, f"ndarray subclass {type(a).__name__}")
            fix = (
                "numpy.ma.filled(x, fill) or x.compressed()"
                if isinstance(a, np.ma.MaskedArray)
                else "numpy.asarray(x)"
            )
            raise TypeError(
                f"{where}: {name} is a {kind}; losskit takes plain arrays only. Convert it "
                f"explicitly, e.g. {fix}."
            )


def namespace(*arrays, where: str, names=None):
    """The array-API namespace of ``arrays``; a ``TypeError`` for lists, scalars, mixes,
    pandas objects and ndarray subclasses, naming the argument (``names``) at fault."""
    names = names or (
        ("x",) if len(arrays) == 1 else tuple(f"argument {i + 1}" for i in range(len(arrays)))
    )
    for a, name in zip(arrays, names, strict=True):
        _refuse_kind(a, name, where)
        if not hasattr(a, "shape") or not hasattr(a, "dtype"):
            raise TypeError(
                f"{where}: {name}: expected an array (NumPy, CuPy or array-API); got "
                f"{type(a).__name__}. Wrap it first, e.g. numpy.asarray({name}, dtype=float) "
                f"or backend.asarray({name})."
            )
    try:
        return array_api_compat.array_namespace(*arrays)
    except TypeError as exc:
        kinds = ", ".join(
            f"{n} from {type(a).__module__.split('.')[0]}"
            for a, n in zip(arrays, names, strict=True)
        )
        raise TypeError(
            f"{where}: arrays come from different libraries ({kinds}); "
            f"put them on one backend with backend.asarray(...)."
        ) from exc


def check_float(x, name: str, where: str, *, xp) -> None:
    """``x`` must hold real floating values (float16/32/64)."""
    if not xp.isdtype(x.dtype, "real floating"):
        raise TypeError(
            f"{where}: {name} must be a real floating array (float16, float32 or float64); "
            f"got dtype {x.dtype}. Convert it first, e.g. {name.split()[0]}.astype(float32)."
        )


def check_axis(axis, name: str, where: str, *, ndim: int) -> int:
    """``axis`` (an int, negative counts from the end) as an index into ``ndim`` axes."""
    try:
        if isinstance(axis, bool):
            raise TypeError
        axis = operator.index(axis)  # NumPy integers are fine; floats and arrays are not
    except TypeError:
        raise TypeError(f"{where}: {name} must be an int; got {type(axis).__name__}.") from None
    if not -ndim <= axis < max(ndim, 1):
        raise ValueError(
            f"{where}: {name} {axis} is out of range for a {ndim}-D array "
            f"(valid {-ndim}..{ndim - 1})."
        )
    return axis % max(ndim, 1)


def check_finite(x, name: str, where: str, *, xp) -> None:
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


def check_cast_in_range(x, name: str, where: str, *, xp, original) -> None:
    """``x``, just cast down from the finite dtype ``original``, did not overflow to inf."""
    with errstate(invalid="ignore", over="ignore"):
        ok = bool(xp.all(xp.isfinite(x)))
    if not ok:
        raise ValueError(
            f"{where}: {name} ({original}) holds values beyond the range of {x.dtype}, the "
            f"dtype the loss is computed in (that of the input); expected magnitudes below "
            f"{float(xp.finfo(x.dtype).max):.4g}. Rescale the targets, or pass the input as "
            f"{original}."
        )


def check_nonempty(x, name: str, where: str) -> None:
    """At least one row (sample)."""
    if x.ndim >= 1 and x.shape[0] == 0:
        raise ValueError(
            f"{where}: {name} is an empty batch (shape {tuple(x.shape)}); expected at least "
            f"one sample. Check the batch loader or the slicing that produced it."
        )


def check_same_shape(input, target, where: str) -> None:
    """Shapes must match exactly: (N, 1) against (N,) would broadcast to (N, N)."""
    if tuple(input.shape) == tuple(target.shape):
        return
    hint = ""
    s_in, s_t = tuple(input.shape), tuple(target.shape)
    if s_in[:1] == s_t[:1] and (
        s_in[1:] == (1,) and s_t[1:] == () or s_t[1:] == (1,) and s_in[1:] == ()
    ):
        hint = (
            " Broadcasting (N, 1) against (N,) would silently build an N x N matrix; "
            "squeeze the column, e.g. input[:, 0] or input.reshape(-1)."
        )
    raise ValueError(
        f"{where}: input and target must have the same shape; got input {s_in} and target "
        f"{s_t}.{hint or ' Reshape one of them so they match.'}"
    )


def check_same_device(a, b, names: tuple[str, str], where: str) -> None:
    """Arrays of one library must also sit on one device (losskit never moves data silently)."""
    da, db = array_api_compat.device(a), array_api_compat.device(b)
    if da != db:
        raise ValueError(
            f"{where}: {names[0]} is on device {da!r} but {names[1]} is on device {db!r}; "
            f"expected both on one device. Move one explicitly, e.g. with backend.asarray(...) "
            f"or x.to_device(...)."
        )


def check_nonempty_size(x, name: str, where: str) -> None:
    """At least one element (an empty batch has no mean; ``(N, 0)`` has nothing to score)."""
    check_nonempty(x, name, where)
    size = 1
    for n in x.shape:
        size *= n
    if size == 0:
        raise ValueError(
            f"{where}: {name} has no elements (shape {tuple(x.shape)}); expected at least one. "
            f"Check the slicing or the layer width that produced it."
        )


def as_real(target, name: str, where: str, *, xp, dtype):
    """Real-valued ``target`` (float, int or bool 0/1 labels) cast to the compute ``dtype``."""
    if xp.isdtype(target.dtype, ("real floating", "integral", "bool")):
        return target if target.dtype == dtype else xp.astype(target, dtype)
    raise TypeError(
        f"{where}: {name} must hold real numbers; got dtype {target.dtype}. "
        f"Convert it first, e.g. {name}.astype(input.dtype)."
    )


def as_param(value, name: str, where: str, *, like, dtype):
    """``value`` (a sequence, a NumPy array or an array of ``like``'s library) on ``like``'s device.

    Host data is copied to ``like``'s device; an array of the same library on another
    device is refused (losskit never moves data between devices behind your back).
    Returns an array of ``dtype`` (the input's floating dtype).
    """
    xp = array_api_compat.array_namespace(like)
    dev = array_api_compat.device(like)
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        try:
            same_lib = array_api_compat.array_namespace(value, like) is not None
        except TypeError:
            same_lib = False
        if same_lib:
            check_same_device(value, like, (name, "input"), where)
            arr = value
        elif type(value).__module__.split(".")[0] == "numpy":
            arr = xp.asarray(value)
            if array_api_compat.device(arr) != dev:
                arr = array_api_compat.to_device(arr, dev)
        else:
            raise TypeError(
                f"{where}: {name} is a {type(value).__module__}.{type(value).__name__}, but the "
                f"input is a {type(like).__module__}.{type(like).__name__}; expected a sequence, "
                f"a NumPy array or an array of the input's library."
            )
    else:
        try:
            arr = xp.asarray(value)
        except Exception as exc:
            raise TypeError(
                f"{where}: {name} must be an array or a sequence of numbers; got "
                f"{type(value).__name__} {value!r}."
            ) from exc
        if array_api_compat.device(arr) != dev:
            arr = array_api_compat.to_device(arr, dev)
    if not xp.isdtype(arr.dtype, ("real floating", "integral")):
        raise TypeError(
            f"{where}: {name} must hold real numbers; got dtype {arr.dtype} (from a "
            f"{type(value).__name__}). Pass one number per entry, e.g. a list of floats."
        )
    if arr.dtype == dtype:
        return arr
    with errstate(over="ignore", under="ignore", invalid="ignore"):
        out = xp.astype(arr, dtype)
        if xp.isdtype(arr.dtype, "real floating"):
            _check_cast(arr, out, name, where, xp=xp)
    return out


def _check_cast(arr, out, name: str, where: str, *, xp) -> None:
    """Your finite, non-zero values stayed finite and non-zero in the input's dtype."""
    over = xp.isfinite(arr) & xp.isinf(out)
    under = (arr != 0) & (out == 0)
    for bad, what in ((over, "overflow to inf"), (under, "underflow to 0")):
        if bool(xp.any(bad)):
            info = xp.finfo(out.dtype)
            raise ValueError(
                f"{where}: {name} is finite as given ({arr.dtype}), but cast to {out.dtype} (the "
                f"input's dtype) {int(xp.sum(xp.astype(bad, xp.int64)))} value(s) {what}; "
                f"{out.dtype} holds magnitudes {float(info.smallest_normal):.3g} to "
                f"{float(info.max):.3g}. Rescale {name} or pass the input "
                f"as {arr.dtype}."
            )


def check_unit_interval(x, name: str, where: str, *, xp, hint: str) -> None:
    """Every value of ``x`` in [0, 1] (NaN passes: that is the finite check's job)."""
    lo, hi = float(xp.min(x)), float(xp.max(x))
    if lo < 0.0 or hi > 1.0:
        n_bad = int(xp.sum(xp.astype((x < 0) | (x > 1), xp.int64)))
        raise ValueError(
            f"{where}: {name} must lie in [0, 1]; got {n_bad} value(s) outside it "
            f"(min {lo:.6g}, max {hi:.6g}). {hint}"
        )


class NonFiniteWarning(RuntimeWarning):
    """losskit's one warning for a finite input whose result overflowed (instead of NumPy's)."""


def warn_overflow(x, what: str, where: str, *, xp, stacklevel: int = 3) -> bool:
    """Warn once (:class:`NonFiniteWarning`) if ``x``, computed from finite inputs, holds inf."""
    with errstate(invalid="ignore", over="ignore"):  # the sum first: no array of x's size
        bad = not bool(xp.isfinite(xp.sum(x))) and bool(xp.any(xp.isinf(x)))
    if bad:
        top = float(xp.finfo(x.dtype).max)
        warnings.warn(
            f"{where}: the {what} overflowed to inf in {x.dtype} although the inputs are "
            f"finite ({x.dtype} holds magnitudes up to {top:.4g}). Compute in float64 or "
            f"rescale the inputs.",
            NonFiniteWarning,
            stacklevel=stacklevel,
        )
    return bad
