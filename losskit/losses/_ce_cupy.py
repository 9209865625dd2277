"""The cross-entropy kernel on CuPy (contract: :mod:`losskit.losses._ce_kernels`).

Three kernel launches read the logits: a row max/min (CuPy reductions), one
``ReductionKernel`` for ``sum exp(x - m)`` (and one for ``sum w (x - m)`` with
label smoothing), and one ``ElementwiseKernel`` that writes the whole gradient
``exp(x - m) * r - gc * w`` (``r = ga / s``); the target column is then
corrected by a scatter of N values. No (N, C) temporary besides the gradient.
CuPy is imported lazily so that importing losskit never needs it.
"""

from __future__ import annotations

import functools

from ..numerics import softmax_shift

__all__ = ["fused_value_and_grad"]


@functools.cache
def _kernels():
    import cupy

    sum_exp = cupy.ReductionKernel(
        "T x, T m",
        "T s",
        "exp(x - m)",
        "a + b",
        "s = a",
        "0",
        "losskit_ce_sum_exp",
    )
    sum_shifted = cupy.ReductionKernel(
        "T x, T m, T w",
        "T s",
        "w * (x - m)",
        "a + b",
        "s = a",
        "0",
        "losskit_ce_sum_shifted",
    )
    grad = cupy.ElementwiseKernel(
        "T x, T m, T r, T gc, T w",
        "T g",
        "g = exp(x - m) * r - gc * w",
        "losskit_ce_grad",
    )
    return sum_exp, sum_shifted, grad


def fused_value_and_grad(x, t, ga, gb, gc, w, *, want_zw, want_grad=True, out=None):
    """The kernel's contract, on CuPy arrays; ``out``: an optional (N, C) array for grad."""
    import cupy

    sum_exp, sum_shifted, grad_kernel = _kernels()
    N, C = x.shape
    dtype = x.dtype
    hi = cupy.max(x, axis=1)
    lo = cupy.min(x, axis=1)
    m = softmax_shift(cupy, hi)
    m2 = m[:, None]
    s = sum_exp(x, m2, axis=1)
    rows = cupy.arange(N)
    zy = x[rows, t] - m
    w_row = cupy.ones((1, 1), dtype=dtype) if w is None else w.astype(dtype, copy=False)[None, :]
    zw = sum_shifted(x, m2, w_row, axis=1) if want_zw else None
    if not want_grad:
        return None, cupy.log(s), zy, zw, hi, lo
    r = (cupy.asarray(ga, dtype=dtype) / s)[:, None]
    gc_col = (
        cupy.zeros((N, 1), dtype=dtype) if gc is None else cupy.asarray(gc, dtype=dtype)[:, None]
    )
    if out is None:
        out = cupy.empty((N, C), dtype=dtype)
    grad_kernel(x, m2, r, gc_col, w_row, out)
    out[rows, t] -= cupy.asarray(gb, dtype=dtype)
    return out, cupy.log(s), zy, zw, hi, lo
