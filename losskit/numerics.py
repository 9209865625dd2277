"""Log-sum-exp, softmax and log-softmax: the stable versions, and the naive ones they replace.

``logsumexp(x) = m + log(sum(exp(x - m)))`` with ``m = max(x)`` is exact algebra
(numerator and denominator both scale by ``exp(-m)``) and keeps the largest
exponent at ``exp(0) = 1``, so nothing overflows. The naive versions compute
``exp(x)`` directly and overflow past ``log(finfo.max)`` (11.09 in float16,
88.72 in float32, 709.78 in float64): they are kept, on purpose, for the lessons.

All functions work on any array-API backend, along any axis, and keep the input's
floating dtype. ``-inf`` entries are fine (they get probability 0); a slice that
is entirely ``-inf`` has ``logsumexp == -inf`` and no distribution, so
``softmax``/``log_softmax`` return NaN there, as PyTorch and SciPy do. A slice
holding ``+inf`` has ``logsumexp == inf`` and, as in PyTorch, an all-NaN
``softmax``/``log_softmax`` (inf/inf has no value).
"""

from __future__ import annotations

from ._argcheck import check_bool, check_int
from ._arraycheck import check_axis, check_float, namespace
from .backend import errstate, quiet

__all__ = [
    "log_softmax",
    "logsumexp",
    "naive_log_softmax",
    "naive_softmax",
    "sigmoid",
    "softmax",
    "streaming_logsumexp",
]


def _prepare(x, axis, where):
    xp = namespace(x, where=where)
    check_float(x, "x", where, xp=xp)
    if x.ndim == 0:
        raise ValueError(f"{where}: x must have at least one dimension; got a 0-d array.")
    return xp, check_axis(axis, "axis", where, ndim=x.ndim)


def work_dtype(xp, dtype):
    """The dtype to compute in: float16 is accumulated in float32 (as PyTorch does).

    A float16 running sum stops growing once it reaches 2048 (its spacing there
    is 2), so a softmax over a few thousand classes would not sum to 1. Shared
    with the losses.
    """
    f16 = getattr(xp, "float16", None)  # not every namespace has it (array-api-strict)
    return xp.float32 if f16 is not None and dtype == f16 else dtype


def _work(xp, x):
    """``x`` in :func:`work_dtype` (no copy unless it is float16)."""
    return xp.astype(x, work_dtype(xp, x.dtype), copy=False)


def _finite_max(xp, x, axis):
    """Slice max with non-finite maxima replaced by 0, so ``x - m`` never makes ``inf - inf``."""
    m = xp.max(x, axis=axis, keepdims=True)
    return xp.where(xp.isfinite(m), m, xp.zeros_like(m))


def softmax_shift(xp, m):
    """The max-shift of softmax from slice maxima ``m``: ``m``, but 0 where it is ``-inf``.

    A slice with no finite entry (all ``-inf``) then gives ``-inf - 0`` and NaN from
    0/0; a ``+inf`` max is kept, so ``x - m`` is NaN and the whole slice is NaN, as in
    PyTorch. The one rule of softmax, log_softmax and every cross-entropy kernel
    (NumPy, CuPy, generic): ``xp`` may be ``numpy`` or ``cupy`` itself.
    """
    return xp.where(m == -xp.inf, xp.zeros_like(m), m)


def _shift(xp, x, axis):
    """:func:`softmax_shift` of the maxima of ``x`` along ``axis`` (keepdims)."""
    return softmax_shift(xp, xp.max(x, axis=axis, keepdims=True))


def _logsumexp(xp, x, axis):
    """keepdims logsumexp of ``x`` (already in its working dtype); an empty slice sums to 0."""
    if x.shape[axis] == 0:  # log(0): no terms at all, as for an all -inf slice
        shape = x.shape[:axis] + (1,) + x.shape[axis + 1 :]
        return xp.full(shape, -xp.inf, dtype=x.dtype, device=x.device)
    m = _finite_max(xp, x, axis)
    with errstate(divide="ignore", invalid="ignore"):  # log(0) = -inf for all -inf slices
        return xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True)) + m


def logsumexp(x, axis=-1, keepdims=False):
    """``log(sum(exp(x), axis))`` without overflow; dtype of ``x``, shape reduced on ``axis``.

    An empty ``axis`` gives ``-inf`` (the log of an empty sum).
    """
    xp, axis = _prepare(x, axis, "logsumexp")
    keepdims = check_bool(keepdims, "keepdims", "logsumexp")
    out = xp.astype(_logsumexp(xp, _work(xp, x), axis), x.dtype, copy=False)
    return out if keepdims else xp.squeeze(out, axis=axis)


def log_softmax(x, axis=-1):
    """``x - logsumexp(x)``: log-probabilities, exact where the naive form is NaN.

    Computed as ``z - log(sum(exp(z)))`` with ``z = x - max(x)``: subtracting
    ``logsumexp`` from ``x`` itself would round each result to the spacing of
    ``|x|`` (about 2e-3 for float32 logits near 2e4). Same shape and floating
    dtype as ``x``.
    """
    xp, axis = _prepare(x, axis, "log_softmax")
    if x.shape[axis] == 0:
        return xp.asarray(x, copy=True)
    w = _work(xp, x)
    # NaN by definition: inf - inf on +inf slices, -inf - (-inf) on all -inf slices
    with errstate(divide="ignore", invalid="ignore"):
        z = w - _shift(xp, w, axis)
        out = z - xp.log(xp.sum(xp.exp(z), axis=axis, keepdims=True))
    return xp.astype(out, x.dtype, copy=False)


def softmax(x, axis=-1):
    """Probabilities along ``axis`` (they sum to 1), via the max-shift. Shape and dtype of ``x``."""
    xp, axis = _prepare(x, axis, "softmax")
    if x.shape[axis] == 0:
        return xp.asarray(x, copy=True)
    w = _work(xp, x)
    with errstate(invalid="ignore"):  # inf - inf on +inf slices, 0/0 on all -inf slices
        e = xp.exp(w - _shift(xp, w, axis))
        return xp.astype(e / xp.sum(e, axis=axis, keepdims=True), x.dtype, copy=False)


def sigmoid(x):
    """``1 / (1 + exp(-x))`` element-wise, without overflow for large ``|x|`` of either sign.

    Uses ``e = exp(-|x|) <= 1``: ``1 / (1 + e)`` for ``x >= 0`` and ``e / (1 + e)``
    otherwise. Same shape and floating dtype as ``x``. Note that in float32 it
    still *rounds* to exactly 1 from about ``x = 17``: a probability can't say
    more than its dtype holds, which is why ``BCEWithLogitsLoss`` takes logits.
    """
    xp = namespace(x, where="sigmoid")
    check_float(x, "x", "sigmoid", xp=xp)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def naive_softmax(x, axis=-1):
    """Textbook ``exp(x) / sum(exp(x))``. Overflows to ``inf/inf = NaN`` on large logits: a demo."""
    xp, axis = _prepare(x, axis, "naive_softmax")
    with errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        e = xp.exp(x)
        return e / xp.sum(e, axis=axis, keepdims=True)


def naive_log_softmax(x, axis=-1):
    """Textbook ``log(softmax(x))``, no shift: NaN on overflow, ``-inf`` on underflow. A demo."""
    xp, axis = _prepare(x, axis, "naive_log_softmax")
    with errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        return xp.log(naive_softmax(x, axis=axis))


def streaming_logsumexp(x, chunk_size=4096, *, keepdims=False, split=False):
    """``logsumexp`` over the last axis, reading ``chunk_size`` classes at a time.

    Keeps a running max ``m`` and normaliser ``s`` (``s`` rescaled by
    ``exp(m_old - m_new)`` whenever the max grows), so the working memory is
    O(rows x chunk_size) instead of a full ``exp(x)`` copy of ``x``. Same result
    as :func:`logsumexp` up to rounding. ``x``: (..., C) floating.

    ``split=True`` returns ``(m, log s)`` instead, softmax's shift and log-normaliser
    (``m`` from :func:`softmax_shift`, ``log s = log sum exp(x - m)``, so
    ``softmax(x) = exp(x - m) / s``), each (...,) or (..., 1) with ``keepdims``.
    Kept apart for a caller that subtracts a logit: ``lse - x_y`` rounds to the
    spacing of ``|m|`` (1e-3 for float32 logits of 1e4), ``log s - (x_y - m)`` does
    not. A slice holding ``+inf`` has no softmax: its ``log s`` is NaN.
    """
    where = "streaming_logsumexp"
    xp, _ = _prepare(x, -1, where)
    chunk_size = check_int(chunk_size, "chunk_size", where, minimum=1)
    keepdims = check_bool(keepdims, "keepdims", where)
    split = check_bool(split, "split", where)
    n = x.shape[-1]
    if n == 0:
        out = logsumexp(x, axis=-1, keepdims=True)
        parts = (xp.zeros_like(out), out) if split else (out,)
        return _squeezed(xp, parts, keepdims)
    dtype = x.dtype
    x = _work(xp, x)  # float16 blocks are summed in float32
    m = s = None  # running max (raw, may be +-inf) and sum of exp(x - finite(m))
    with quiet():
        for start in range(0, n, chunk_size):
            block = x[..., start : min(start + chunk_size, n)]  # in-bounds stop (array API)
            new_m = xp.max(block, axis=-1, keepdims=True)
            if m is not None:
                new_m = xp.maximum(m, new_m)
            shift = xp.where(xp.isfinite(new_m), new_m, xp.zeros_like(new_m))
            block_sum = xp.sum(xp.exp(block - shift), axis=-1, keepdims=True)
            if s is None:
                s = block_sum
            else:  # rescale the old sum to the new max; equal maxes (incl. -inf/-inf) keep it
                one = xp.ones_like(new_m)
                s = s * xp.where(m == new_m, one, xp.exp(m - new_m)) + block_sum
            m = new_m
        log_s = xp.log(s)
        if split:  # shift differs from softmax_shift(m) only at +inf, where log s is NaN
            nan = xp.full_like(log_s, xp.nan)
            parts = (softmax_shift(xp, m), xp.where(m == xp.inf, nan, log_s))
        else:
            parts = (log_s + shift,)
        parts = tuple(xp.astype(p, dtype, copy=False) for p in parts)
    return _squeezed(xp, parts, keepdims)


def _squeezed(xp, parts, keepdims):
    """One array or a pair from :func:`streaming_logsumexp`, squeezed unless ``keepdims``."""
    if not keepdims:
        parts = tuple(xp.squeeze(p, axis=-1) for p in parts)
    return parts if len(parts) > 1 else parts[0]
