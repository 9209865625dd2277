"""What :class:`~losskit.CrossEntropyLoss` checks, and the messages it gives.

Options at construction (class weights, ``ignore_index``); at each call the logits
``(N, C)``, the targets (class indices ``(N,)`` or probabilities ``(N, C)``) and the
weights against the logits; after the kernel, from its row max and min, the finite
check and the warnings about legal but likely-wrong input. Each error says what was
wrong, what was expected, what was given and the likely fix. Warnings are returned
as text, so that the loss raises them at its caller's line.
"""

from __future__ import annotations

import operator

from .. import _arraycheck as A
from ..backend import quiet
from ..numerics import work_dtype
from ._base import check_weight_option

__all__ = [
    "check_class_weights",
    "check_ignore_index",
    "empty_mean_warning",
    "logits_warnings",
    "parse",
]


# ---- options ----------------------------------------------------------------------------


def check_class_weights(weight, where: str):
    """``weight`` as given (None, an array or a sequence), if it can be one weight per class."""
    weight = check_weight_option(weight, "weight", where)
    ndim = getattr(weight, "ndim", 1)
    if ndim != 1:
        raise ValueError(
            f"{where}: weight must be 1-D, one weight per class (C,); got shape "
            f"{tuple(weight.shape)}."
        )
    return weight


def check_ignore_index(value, where: str) -> int:
    """``ignore_index`` as a Python int (NumPy integers accepted, bools refused)."""
    try:
        if isinstance(value, bool):
            raise TypeError
        return int(operator.index(value))
    except TypeError:
        raise TypeError(
            f"{where}: ignore_index must be an int (a class index, or -100 for none); "
            f"got {type(value).__name__} {value!r}."
        ) from None


# ---- each call ---------------------------------------------------------------------------


def parse(input, target, weight, *, ignore_index: int, check_finite: bool, where: str):
    """``(xp, x, t, w)`` checked, in the compute dtype (float16 logits: float32).

    ``t``: int64 class indices (N,) or floating probabilities (N, C) (tell them apart
    by ``t.ndim``); ``w``: the class weights (C,) on the logits' device, or None.
    """
    xp = A.namespace(input, target, where=where, names=("input", "target"))
    A.check_float(input, "input (logits)", where, xp=xp)
    if input.ndim != 2:
        raise ValueError(_logits_ndim_message(where, input))
    N, C = input.shape
    if N == 0:
        raise ValueError(
            f"{where}: input is an empty batch (shape {(N, C)}); expected at least one "
            f"sample. Check the batch loader or the slicing that produced it."
        )
    if C == 0:
        raise ValueError(f"{where}: input has 0 classes (shape {(N, C)}); expected C >= 1.")
    A.check_same_device(target, input, ("target", "input"), where)
    work = work_dtype(xp, input.dtype)
    if xp.isdtype(target.dtype, "integral"):
        t = _index_targets(xp, target, N, C, ignore_index, where)
    elif xp.isdtype(target.dtype, "real floating"):
        if ignore_index >= 0:  # torch: "ignore_index is not supported for floating point target"
            raise ValueError(
                f"{where}: ignore_index={ignore_index} applies to class-index targets only; got "
                f"probability targets (float, shape {tuple(target.shape)}), as torch refuses. "
                f"Drop ignore_index (or pass integer class indices), or give the row to ignore "
                f"weight 0 by zeroing its probabilities."
            )
        _check_probability_targets(target, N, C, where)
        if check_finite:
            A.check_finite(target, "target (probabilities)", where, xp=xp)
        t = target if target.dtype == work else xp.astype(target, work)
    else:
        raise TypeError(
            f"{where}: target must be class indices (an integer array of shape (N,)) or "
            f"class probabilities (a float array of shape (N, C)); got dtype {target.dtype}."
        )
    w = None
    if weight is not None:
        w = A.as_param(weight, "weight", where, like=input, dtype=work)
        if tuple(w.shape) != (C,):
            raise ValueError(
                f"{where}: weight must have one entry per class, shape ({C},); got shape "
                f"{tuple(w.shape)}. The logits have C={C} columns: give one weight per "
                f"column (or check that the model's output size matches the classes)."
            )
        if check_finite:
            A.check_finite(w, "weight", where, xp=xp)
    x = input if work == input.dtype else xp.astype(input, work)
    return xp, x, t, w


def _index_targets(xp, target, N, C, ignore_index, where):
    """Class indices as int64 (N,), each in 0..C-1 or equal to ``ignore_index``."""
    shape = tuple(target.shape)
    if target.ndim != 1:
        if shape == (N, 1):
            fix = "flatten it, e.g. target[:, 0] or target.reshape(-1)"
            what = "a column (N, 1)"
        elif shape == (N, C):
            fix = (
                "these look like one-hot labels: pass class indices target.argmax(axis=1), "
                "or cast to float to use them as probability targets"
            )
            what = "an integer (N, C) array"
        else:
            fix = "pass one class index per sample"
            what = f"a {target.ndim}-D array"
        raise ValueError(
            f"{where}: class-index targets must have shape (N,) = ({N},); got {what} of "
            f"shape {shape}. Fix: {fix}."
        )
    if shape[0] != N:
        raise ValueError(
            f"{where}: batch sizes differ: input has {N} samples (rows) but target has "
            f"{shape[0]}. Pass the targets of the same batch (check slicing/shuffling)."
        )
    if target.dtype == getattr(xp, "uint64", None) and bool(xp.any(target >= 2**63)):
        raise ValueError(  # int64 would wrap these around to negative labels
            f"{where}: a uint64 target holds {int(xp.max(target))}, beyond any class index "
            f"(expected 0..{C - 1}). Check how the labels were made; cast valid ones with "
            f"target.astype(int64)."
        )
    t = target if target.dtype == xp.int64 else xp.astype(target, xp.int64)
    bad = (t != ignore_index) & ((t < 0) | (t >= C))
    if bool(xp.any(bad)):
        first = int(xp.argmax(xp.astype(bad, xp.int8)))
        value = int(t[first])
        n_bad = int(xp.sum(xp.astype(bad, xp.int64)))
        if value < 0:
            fix = (
                f"negative labels are only allowed as ignore_index (now {ignore_index}); if "
                f"{value} marks padding, pass ignore_index={value}"
            )
        elif C == 1:
            fix = (
                "one output column cannot hold two classes; for binary labels with one "
                "logit per sample use BCEWithLogitsLoss, or give the model 2 outputs"
            )
        else:
            fix = (
                f"labels must be 0..{C - 1}; if they start at 1 subtract 1, otherwise the "
                f"model needs more output classes"
            )
        raise ValueError(
            f"{where}: target {value} out of range for {C} classes (valid 0..{C - 1}); "
            f"first at position {first}, {n_bad} such target(s) in all. Fix: {fix}."
        )
    return t


def _check_probability_targets(target, N, C, where):
    shape = tuple(target.shape)
    if target.ndim == 1:
        raise TypeError(
            f"{where}: float targets of shape {shape}, but class indices must be integers "
            f"and probability targets must have shape (N, C) = ({N}, {C}). If these are "
            f"class labels, convert them: target.astype(int64)."
        )
    if target.ndim == 2 and shape[1] == C and shape[0] != N:
        raise ValueError(
            f"{where}: batch sizes differ: input has {N} samples (rows) but target has "
            f"{shape[0]}. Pass the targets of the same batch."
        )
    if shape != (N, C):
        raise ValueError(
            f"{where}: probability targets must have the logits' shape (N, C) = ({N}, {C}); "
            f"got {shape}. One row per sample, one column per class (the model has C={C} "
            f"outputs)."
        )


def _logits_ndim_message(where, x) -> str:
    shape = tuple(x.shape)
    if x.ndim == 0:
        fix = "a scalar is not a set of class scores; pass an (N, C) array"
    elif x.ndim == 1:
        fix = (
            f"for a single sample with {shape[0]} classes use x[None, :] (shape (1, "
            f"{shape[0]})) and a target of shape (1,); for N binary scores use BCEWithLogitsLoss"
        )
    else:
        fix = (
            "losskit supports only (N, C); for PyTorch's (N, C, d1, ...) layout move the class "
            "axis last and flatten, e.g. moveaxis(x, 1, -1).reshape(-1, C) with targets "
            "reshaped to (-1,)"
        )
    return (
        f"{where}: logits must be 2-D (N, C): one row of class scores per sample; got a "
        f"{x.ndim}-D array of shape {shape}. Fix: {fix}."
    )


# ---- after the kernel -------------------------------------------------------------------


def logits_warnings(xp, x, hi, lo, *, check_finite: bool, where: str) -> list[str]:
    """The finite check, from the row max ``hi`` and min ``lo`` (no pass over ``x`` unless
    it fails), and the warnings: a single class, or softmax output passed as logits."""
    with quiet():
        finite = bool(xp.all(xp.isfinite(hi))) and bool(xp.all(xp.isfinite(lo)))
    if check_finite and not finite:
        A.check_finite(x, "input (logits)", where, xp=xp)  # raises, with counts
    C = x.shape[1]
    if C == 1:
        return [
            f"{where}: the logits have a single class (shape {tuple(x.shape)}): softmax over "
            f"one class is 1, so the loss and its gradient are always 0. For binary "
            f"classification with one output per sample use BCEWithLogitsLoss (targets 0/1), "
            f"or give the model 2 outputs."
        ]
    if finite and float(xp.min(lo)) >= 0.0 and float(xp.max(hi)) <= 1.0:
        tol = 1e-3 if x.dtype in (xp.float32, xp.float64) else 1e-2
        if bool(xp.all(xp.abs(xp.sum(x, axis=1) - 1.0) <= tol)):
            return [
                f"{where}: every row of the logits lies in [0, 1] and sums to 1: these look "
                f"like probabilities (softmax output), but CrossEntropyLoss applies "
                f"log-softmax itself. Pass the raw scores (logits); applying softmax twice "
                f"flattens the loss and shrinks the gradient."
            ]
    return []


def empty_mean_warning(n_rows: int, n_kept: int, ignore_index: int, where: str) -> str:
    """Why ``"mean"`` is 0/0 (NaN, as in PyTorch): every target ignored, or zero weights."""
    if n_kept == 0:
        return (
            f"{where}: all {n_rows} targets equal ignore_index={ignore_index}, so the mean is "
            f"over zero samples: the loss is NaN (as in PyTorch) and the gradient is zero."
        )
    return (
        f"{where}: the class weights of the {n_kept} targets sum to 0, so the weighted mean "
        f"is undefined: losskit returns NaN (PyTorch: NaN, or +-inf when the weighted sum is "
        f"not 0). Give these classes a weight > 0 or use "
        f"reduction='sum'."
    )
