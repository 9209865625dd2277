"""Cross-entropy kernels: one contract, three implementations, one chooser (:func:`kernel_for`).

A kernel ``kernel(x, t, ga, gb, gc, w, *, want_zw, want_grad)`` takes logits ``x``
(N, C) in their compute dtype, class indices ``t`` (N,) (ignored rows mapped to any
valid class, with zero factors), per-row factors ``ga, gb`` (N,) and ``gc`` (N,) or
None, and class weights ``w`` (C,) or None (ones). With ``m`` = :func:`softmax_shift`
of the row max, it returns ``(grad, log_s, zy, zw, hi, lo)``::

    grad  = ga exp(x - m) / s - gb onehot(t) - gc w     (None unless want_grad)
    log_s = log s,  s = sum_c exp(x_c - m)
    zy    = x_t - m
    zw    = sum_c w_c (x_c - m)                         (None unless want_zw)
    hi, lo = row max and min of x                       (for the caller's checks)

all (N,) but ``grad``. The gradient is the only (N, C) array a kernel allocates;
without it (``want_grad=False``, the forward alone) there is none. ``ga, gb, gc``
may be None when ``want_grad`` is False.

- NumPy: :mod:`._ce_numpy`, fused, row-chunked in cache, threaded;
- CuPy: :mod:`._ce_cupy`, fused GPU kernels;
- any other array-API library: :func:`generic` here, one ``exp`` over (N, C) for the
  gradient, and blocks of ``chunk_size`` classes for the forward alone.
"""

from __future__ import annotations

import functools

import array_api_compat

from ..backend import quiet
from ..numerics import softmax_shift, streaming_logsumexp

__all__ = ["generic", "kernel_for"]


def kernel_for(x, chunk_size: int):
    """The kernel for ``x``'s library; ``chunk_size`` classes per block on the generic path."""
    xp = array_api_compat.array_namespace(x)
    if array_api_compat.is_numpy_namespace(xp):
        from ._ce_numpy import fused_value_and_grad

        return fused_value_and_grad
    if array_api_compat.is_cupy_namespace(xp):
        from ._ce_cupy import fused_value_and_grad

        return fused_value_and_grad
    return functools.partial(generic, chunk_size=chunk_size)


def generic(x, t, ga, gb, gc, w, *, want_zw, want_grad=True, chunk_size=2048):
    """The kernel on any array-API library (see the module docstring)."""
    xp = array_api_compat.array_namespace(x)
    with quiet():
        hi, lo = xp.max(x, axis=1), xp.min(x, axis=1)
        m = softmax_shift(xp, hi)[:, None]
        zy = xp.take_along_axis(x, t[:, None], axis=1)[:, 0] - m[:, 0]
        if not want_grad:  # bounded memory: blocks of chunk_size classes
            _, log_s = streaming_logsumexp(x, chunk_size, split=True)
            zw = _shifted_dot(xp, x, m, w, chunk_size) if want_zw else None
            return None, log_s, zy, zw, hi, lo
        z = x - m
        zw = (xp.sum(z, axis=1) if w is None else z @ w) if want_zw else None
        e = xp.exp(z)
        s = xp.sum(e, axis=1)
        classes = xp.arange(x.shape[1], dtype=t.dtype, device=array_api_compat.device(x))
        onehot = xp.astype(classes[None, :] == t[:, None], x.dtype)
        grad = e * (ga / s)[:, None] - onehot * gb[:, None]
        if gc is not None:
            grad = grad - (gc[:, None] if w is None else gc[:, None] * w[None, :])
        return grad, xp.log(s), zy, zw, hi, lo


def _shifted_dot(xp, x, m, w, chunk_size):
    """``sum_c w_c (x_c - m)`` per row (w None: ones), ``chunk_size`` classes at a time."""
    C = x.shape[1]
    total = None
    for start in range(0, C, chunk_size):
        stop = min(start + chunk_size, C)  # array API: no out-of-bounds slices
        z = x[:, start:stop] - m
        part = xp.sum(z, axis=1) if w is None else z @ w[start:stop]
        total = part if total is None else total + part
    return total
