"""Four ways to add up a 1-D float array, for the precision lesson (lesson 8).

Adding a small number to a large one in floating point loses the small one's low
bits: in float32 ``1 + 1e-8 == 1``. A *running* (sequential) sum therefore
drifts: each of a million ``1e-8`` added to ``1.0`` vanishes, and a million
``float32(0.1)`` added one by one give 100958.34 instead of 100000 (+0.96%),
because the running total grows and every addition rounds at its scale.
Three cures, each kept here so the lesson can compare them on one array:

- :func:`sum_pairwise` adds in a balanced tree: every element takes part in
  only ``ceil(log2 n)`` additions, so the error grows like ``log n`` instead of
  ``n`` (NumPy's own ``sum`` along a contiguous axis is a blocked pairwise sum).
- :func:`sum_kahan` carries the rounding error of every addition in a second
  variable and feeds it back (compensated summation): error about ``2 eps``,
  independent of ``n``.
- :func:`sum_float64` accumulates in a wider type.

Every function takes a 1-D real floating array of any array-API backend and
returns a 0-d array (not a NumPy scalar) on the same backend and device: in the input's dtype for
``sequential``/``pairwise``/``kahan``, in float64 for ``float64``. An empty
array sums to 0. :data:`SUMMATION_METHODS` maps method names to functions.
"""

from __future__ import annotations

import math

from array_api_compat import device as _device

from ._argcheck import check_int
from ._arraycheck import check_float, namespace
from .backend import errstate

__all__ = [
    "SUMMATION_METHODS",
    "sum_float64",
    "sum_kahan",
    "sum_pairwise",
    "sum_sequential",
]


def _vector(x, where):
    """Namespace of ``x`` after checking it is a 1-D real floating array."""
    xp = namespace(x, where=where)
    check_float(x, "x", where, xp=xp)
    if x.ndim != 1:
        raise ValueError(
            f"{where}: x must be a 1-D array; got shape {tuple(x.shape)}. "
            f"Flatten it first, e.g. xp.reshape(x, (-1,))."
        )
    return xp


def _zero(xp, x, dtype=None):
    return xp.zeros((), dtype=dtype or x.dtype, device=_device(x))


def sum_sequential(x):
    """Left-to-right running sum ``((x0 + x1) + x2) + ...`` in ``x``'s dtype: the naive loop.

    Implemented as the last element of ``xp.cumulative_sum(x)``. An inclusive
    prefix sum's element ``k`` is defined by ``s_k = s_{k-1} + x_k``, and NumPy
    (also under array_api_strict) evaluates it exactly so, one rounding per
    element, in the input dtype: bitwise the same as a Python loop over float32
    scalars (``tests/test_summation.py`` checks this), at C speed. CuPy, PyTorch
    and JAX compute prefix sums with a parallel scan, whose rounding order is a
    tree (``Backend.adapter.sequential_scan`` is False), so there this is *not*
    the sequential sum; the lesson's figures are NumPy's. Returns a 0-d array of
    ``x``'s dtype.
    """
    xp = _vector(x, "sum_sequential")
    if x.shape[0] == 0:
        return _zero(xp, x)
    return xp.reshape(xp.cumulative_sum(x)[-1:], ())


def sum_pairwise(x):
    """Tree (pairwise) sum in ``x``'s dtype: add the two halves, repeat.

    Each pass pads the vector to even length with one zero (adding 0 is exact),
    then adds its first half to its second half elementwise, halving the
    length; after ``ceil(log2 n)`` vectorized passes one value is left. Every
    element takes part in about ``log2 n`` roundings, so the error bound is
    ``O(eps log n)`` rather than the running sum's ``O(eps n)``. Returns a 0-d
    array of ``x``'s dtype.
    """
    xp = _vector(x, "sum_pairwise")
    if x.shape[0] == 0:
        return _zero(xp, x)
    pad = xp.zeros((1,), dtype=x.dtype, device=_device(x))
    while x.shape[0] > 1:
        if x.shape[0] % 2:
            x = xp.concat((x, pad))
        half = x.shape[0] // 2
        x = x[:half] + x[half:]
    return xp.reshape(x, ())


def _two_sum(a, b):
    """Knuth's error-free transformation: ``a + b == s + e`` exactly, ``s = fl(a + b)``."""
    s = a + b
    b_virtual = s - a
    a_virtual = s - b_virtual
    return s, (a - a_virtual) + (b - b_virtual)


def sum_kahan(x, *, lanes=None):
    """Compensated (Kahan) sum in ``x``'s dtype, lane-blocked so it runs vectorized.

    The textbook Kahan loop visits one element at a time (far too slow in
    Python for 10^6 elements). Here ``x`` is zero-padded and reshaped to
    ``(rows, lanes)`` in order, so lane ``j`` holds ``x[j], x[j + lanes], ...``;
    the rows are then visited one by one and every lane runs the Kahan update
    at once::

        y = row - c;  t = s + y;  c = (t - s) - y;  s = t

    (``c`` holds the part of ``y`` that the addition rounded away, with a
    minus sign, and is subtracted from the next element). Each lane is a true
    Kahan sum of its elements, with error about ``2 eps`` times the lane's
    absolute sum. The ``lanes`` pairs ``(s, -c)`` are finally combined by a
    pairwise tree of error-free ``two_sum`` additions, which carries every
    rounding error along, so the combination adds only ``O(eps^2 log lanes)``.
    ``lanes`` defaults to ``ceil(sqrt(n))``, balancing the Python loop over
    rows against the width of each vectorized step (1000 x 1000 for 10^6).
    Returns a 0-d array of ``x``'s dtype; ``inf``/``NaN`` as a plain sum gives them.
    """
    xp = _vector(x, "sum_kahan")
    n = x.shape[0]
    if n == 0:
        return _zero(xp, x)
    if lanes is None:
        lanes = math.isqrt(n - 1) + 1
    lanes = check_int(lanes, "lanes", "sum_kahan", minimum=1)
    lanes = min(lanes, n)
    rows = -(-n // lanes)
    if rows * lanes != n:
        x = xp.concat((x, xp.zeros((rows * lanes - n,), dtype=x.dtype, device=_device(x))))
    with errstate(over="ignore", invalid="ignore"):  # inf - inf: handled below
        total = _kahan_lanes(xp, x, rows, lanes)
    if not bool(xp.isfinite(total)):  # inf/NaN inputs or overflow: what the IEEE sum says
        return xp.reshape(xp.sum(x), ())  # (the compensation turns inf - inf into NaN)
    return total


def _kahan_lanes(xp, x, rows, lanes):
    """The lane-blocked Kahan loop and the error-free combination of the lanes (0-d)."""
    block = xp.reshape(x, (rows, lanes))
    s = block[0, :]
    c = xp.zeros_like(s)
    for i in range(1, rows):
        y = block[i, :] - c
        t = s + y
        c = (t - s) - y
        s = t
    # Combine the lanes: value s, correction -c, tree of two_sums carrying errors in err.
    err = -c
    while s.shape[0] > 1:
        if s.shape[0] % 2:
            pad = xp.zeros((1,), dtype=s.dtype, device=_device(s))
            s, err = xp.concat((s, pad)), xp.concat((err, pad))
        half = s.shape[0] // 2
        s, e = _two_sum(s[:half], s[half:])
        err = err[:half] + err[half:] + e
    return xp.reshape(s + err, ())


def sum_float64(x):
    """Sum accumulated in float64 (``x`` cast up first); returns a 0-d float64 array.

    A wider accumulator absorbs the rounding: float64 carries 29 more bits
    than float32, so a million float32 additions stay exact to float32
    precision. Needs a backend with float64 (all of losskit's do; some GPUs'
    libraries lack it).
    """
    xp = _vector(x, "sum_float64")
    if x.shape[0] == 0:
        return _zero(xp, x, xp.float64)
    return xp.reshape(xp.sum(xp.astype(x, xp.float64), keepdims=True), ())


SUMMATION_METHODS = {
    "sequential": sum_sequential,
    "pairwise": sum_pairwise,
    "kahan": sum_kahan,
    "float64": sum_float64,
}
"""Method name -> function ``f(x) -> 0-d array``, in the order the lesson shows them."""
