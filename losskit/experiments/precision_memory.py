"""Lesson 8: summing many numbers, and what cross-entropy over many classes costs in memory.

:func:`summation_precision` runs every method of :mod:`losskit.summation` (and
the backend's own ``xp.sum``) on the lesson's two float32 cases over a grid of
lengths ``n``: ``1.0`` followed by ``n`` copies of ``1e-8`` (a running sum never
moves off 1.0), and ``n`` copies of ``0.1`` (a running sum drifts to 100958.34
at n = 10^6, +0.96%). Errors are against the exact sum of the values as the
dtype stores them.

:func:`ce_memory` counts the bytes of the ``(B, C)`` arrays a naive
cross-entropy forward materialises (logits, softmax, log-softmax: shape times
itemsize, so 25,600,000 B = 24.41 MiB each for float32 (128, 50000), 73.24 MiB
for the three), and measures peak allocations with :mod:`tracemalloc` around a
naive forward, a stable (max-shifted, still full-width) forward, and a
streaming forward (:func:`~losskit.numerics.streaming_logsumexp` over chunks of
classes plus a gather of the target logit).
"""

from __future__ import annotations

import math
import tracemalloc
import warnings
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .._argcheck import check_bool, check_int, check_real, check_seed, check_work
from .._arraycheck import NonFiniteWarning
from ..backend import errstate, get_backend
from ..numerics import log_softmax, naive_softmax, streaming_logsumexp
from ..summation import SUMMATION_METHODS

__all__ = [
    "CEMemoryResult",
    "SummationPrecisionResult",
    "ce_memory",
    "summation_precision",
    "vanishing_term",
]

MIB = 2**20
_DTYPES = ("float16", "float32", "float64")
CASES = ("one_plus_small", "repeated_value")


def _dtype(name, where, backend=None):
    if not isinstance(name, str) or name not in _DTYPES:
        raise ValueError(f"{where}: unknown dtype {name!r}; expected one of {list(_DTYPES)}.")
    if backend is not None and not hasattr(backend.xp, name):
        raise ValueError(
            f"{where}: the {backend.name} backend has no {name} (the array API standard "
            f"defines only float32 and float64); use backend='numpy' for {name}."
        )
    return name


def _ro(a):
    a = np.asarray(a)
    a.flags.writeable = False
    return a


def vanishing_term(dtype: str) -> float:
    """The largest power of ten below half the spacing of 1 in ``dtype``: ``1 + it == 1`` there.

    1e-4 for float16 (spacing 9.8e-4), 1e-8 for float32 (1.2e-7: the lesson's
    term), 1e-16 for float64 (2.2e-16). Each is a normal, non-zero number of its
    dtype, so ``1 + n x it`` shows the same trap at every precision: a running
    sum never leaves 1 while the exact total grows. (float32's 1e-8 would round
    to 0 in float16, whose smallest positive number is 6e-8.)
    """
    dtype = _dtype(dtype, "vanishing_term")
    half_spacing = float(np.finfo(dtype).eps) / 2
    return 10.0 ** math.floor(math.log10(half_spacing))


@dataclass(frozen=True)
class SummationPrecisionResult:
    """Each summation method on the two lesson cases, over lengths ``n`` (host, read-only).

    Shapes: 2 cases x M methods x K lengths.

    - ``cases``: ``("one_plus_small", "repeated_value")``: ``[1.0] + n x small``
      and ``n x value`` (``n + 1`` and ``n`` elements).
    - ``methods``: names, ``("sequential", "pairwise", "kahan", "float64", "xp.sum")``;
      the last is the backend's own ``sum`` (NumPy: blocked pairwise).
    - ``n_values`` (K,) int64.
    - ``results`` (2, M, K) float64: each method's sum (converted from its
      accumulation dtype: ``dtype`` for all but ``"float64"``).
    - ``exact`` (2, K) float64: the exact sum of the stored inputs (rational
      arithmetic, then rounded once to float64).
    - ``abs_error``, ``rel_error`` (2, M, K) float64: ``results - exact`` (signed)
      and that over ``exact``.
    - ``one_plus_small_is_one`` (bool): ``1 + small == 1`` in ``dtype``.
    - parameters ``dtype`` (name), ``small``, ``value`` (as floats of the
      stored ``dtype`` values), ``backend`` (name), ``seed`` (unused).
    """

    cases: tuple
    methods: tuple
    n_values: np.ndarray
    results: np.ndarray
    exact: np.ndarray
    abs_error: np.ndarray
    rel_error: np.ndarray
    one_plus_small_is_one: bool
    dtype: str
    small: float
    value: float
    backend: str
    seed: int | None


def summation_precision(
    *,
    n_values=(100, 1_000, 10_000, 100_000, 1_000_000),
    dtype: str = "float32",
    small: float = 1e-8,
    value: float = 0.1,
    backend="numpy",
    seed: int | None = None,
) -> SummationPrecisionResult:
    """Compare summation methods on ``1 + n x small`` and ``n x value`` in ``dtype``.

    ``n_values``: lengths, ints in 1..10^8. ``dtype``: ``"float32"`` (the
    lesson) or ``"float16"``/``"float64"``. ``small`` and ``value`` are stored
    in ``dtype`` first; ``small=1e-8`` rounds to 0 in float16
    (:func:`vanishing_term` gives one per dtype that does not), and a ``value``
    that is or rounds to 0 is refused (``n x 0`` has no relative error). ``backend`` defaults to
    ``"numpy"``, not ``"auto"``: the lesson's figures (100958.34) are the NumPy
    running sum, while CuPy's, PyTorch's and JAX's prefix sums are parallel scans.
    ``seed`` is accepted for the common signature; nothing is random.
    Defaults take about 0.2 s.
    """
    where = "summation_precision"
    seed = check_seed(seed, "seed", where, rng_like=True, allow_none=True)  # ignored: deterministic
    b = get_backend(backend)
    xp = b.xp
    dtype = _dtype(dtype, where, b)
    try:
        ns = np.asarray(n_values)
    except Exception as exc:
        raise TypeError(f"{where}: n_values must be a sequence of ints; {exc}") from exc
    if ns.ndim != 1 or ns.size == 0 or not np.issubdtype(ns.dtype, np.integer):
        raise TypeError(
            f"{where}: n_values must be a non-empty 1-D sequence of ints; got {n_values!r}."
        )
    for n in ns.tolist():
        check_int(n, "every n in n_values", where, minimum=1, maximum=10**8)
    ns = np.unique(ns.astype(np.int64))
    check_work(
        2 * (len(SUMMATION_METHODS) + 1) * int(ns.sum()),
        "2 cases x methods x the sum of n_values",
        where,
        fix="use fewer or shorter lengths in n_values (the lesson's are 100..10**6).",
    )
    top = float(np.finfo(dtype).max)
    for name, v in (("small", small), ("value", value)):
        v = check_real(v, name, where)
        if abs(v) > top:
            raise ValueError(
                f"{where}: {name}={v:g} overflows {dtype} (largest {top:.4g}), so it would be "
                f"stored as inf. Choose |{name}| <= {top:.4g}, or dtype='float64'."
            )
    dt = getattr(xp, dtype)
    small_s = float(np.asarray(small, dtype=dtype))  # as the dtype stores them
    value_s = float(np.asarray(value, dtype=dtype))
    if value_s == 0:
        tiny = float(np.finfo(dtype).smallest_subnormal)
        raise ValueError(
            f"{where}: value {value!r} is 0 as {dtype} stores it, so n x value is exactly 0 "
            f"and its relative error is 0/0. Choose a non-zero value of at least {tiny:.3g} "
            f"in magnitude (the smallest positive {dtype}), e.g. the lesson's 0.1."
        )

    methods = dict(SUMMATION_METHODS)
    methods["xp.sum"] = lambda x: xp.sum(x)
    results = np.empty((2, len(methods), ns.size))
    exact = np.empty((2, ns.size))
    for k, n in enumerate(ns.tolist()):
        one_then_small = xp.concat(
            (
                xp.ones((1,), dtype=dt, device=b.device),
                xp.full((n,), small_s, dtype=dt, device=b.device),
            )
        )
        arrays = (one_then_small, xp.full((n,), value_s, dtype=dt, device=b.device))
        exact[0, k] = float(1 + n * Fraction(small_s))
        if exact[0, k] == 0:
            raise ValueError(
                f"{where}: 1 + {n} x small is exactly 0 for small={small!r}, so its relative "
                f"error is 0/0. Choose a small term whose n multiples do not cancel the 1, "
                f"e.g. the lesson's 1e-8."
            )
        exact[1, k] = float(n * Fraction(value_s))
        with errstate(over="ignore", invalid="ignore"):  # said once below, in losskit's words
            for c, x in enumerate(arrays):
                for m, f in enumerate(methods.values()):
                    results[c, m, k] = float(b.to_host(f(x)))
    if not np.isfinite(results).all():
        bad = sorted({CASES[c] for c in np.nonzero(~np.isfinite(results).all(axis=(1, 2)))[0]})
        warnings.warn(
            f"{where}: a sum overflowed to inf in {dtype} although every term is finite "
            f"({dtype} holds magnitudes up to {top:.4g}; case {', '.join(map(str, bad))}); "
            f"its errors are inf. Use shorter n_values, a smaller value, or dtype='float32'.",
            NonFiniteWarning,
            stacklevel=2,
        )
    with np.errstate(over="ignore", invalid="ignore"):
        abs_error = results - exact[:, None, :]
        rel_error = abs_error / exact[:, None, :]
    one = b.asarray(np.ones(1), dtype=dt)
    is_one = bool(b.to_host(one + b.asarray(np.full(1, small_s), dtype=dt) == one)[0])
    return SummationPrecisionResult(
        cases=CASES,
        methods=tuple(methods),
        n_values=_ro(ns),
        results=_ro(results),
        exact=_ro(exact),
        abs_error=_ro(abs_error),
        rel_error=_ro(rel_error),
        one_plus_small_is_one=is_one,
        dtype=dtype,
        small=small_s,
        value=value_s,
        backend=b.name,
        seed=seed if isinstance(seed, int) else None,
    )


@dataclass(frozen=True)
class CEMemoryResult:
    """Memory of a cross-entropy forward over ``(batch_size, n_classes)`` logits (bytes).

    Computed from shapes (exact, every backend):

    - ``bytes_logits``, ``bytes_softmax``, ``bytes_log_softmax``: ``B x C x itemsize``
      each (25,600,000 for float32 (128, 50000) = 24.41 MiB).
    - ``bytes_naive_total``: the three together (73.24 MiB in that case).
    - ``bytes_streaming_working``: what streaming adds to the logits:
      two ``(B, chunk)`` blocks alive at once (``x - shift`` and its ``exp``)
      plus four ``(B, 1)`` running vectors (max, new max, shift, sum).

    Measured with :mod:`tracemalloc` (NaN when ``measured`` is False: CuPy's,
    PyTorch's and JAX's memory is invisible to it, or ``measure=False``): the footprint
    ``bytes_logits + peak bytes allocated during the forward``, for

    - ``measured_naive_bytes``: ``p = naive_softmax(z); logp = log(p)``, gather.
    - ``measured_stable_bytes``: ``logp = log_softmax(z)``, gather (max-shifted
      but still materialising (B, C) temporaries).
    - ``measured_streaming_bytes``: ``streaming_logsumexp(z, chunk_size)``
      minus the gathered target logits.

    ``loss_naive``, ``loss_stable``, ``loss_streaming``: the mean CE each
    forward computed (they agree to rounding on these standard-normal logits).
    Parameters: ``batch_size``, ``n_classes``, ``dtype`` (name), ``itemsize``,
    ``chunk_size``, ``measured`` (bool), ``backend`` (name), ``seed``.
    """

    batch_size: int
    n_classes: int
    dtype: str
    itemsize: int
    chunk_size: int
    bytes_logits: int
    bytes_softmax: int
    bytes_log_softmax: int
    bytes_naive_total: int
    bytes_streaming_working: int
    measured_naive_bytes: float
    measured_stable_bytes: float
    measured_streaming_bytes: float
    loss_naive: float
    loss_stable: float
    loss_streaming: float
    measured: bool
    backend: str
    seed: int | None

    @property
    def mib(self) -> dict:
        """Every byte count above in MiB (2^20 bytes), by field name."""
        names = [f for f in self.__dataclass_fields__ if f.startswith(("bytes_", "measured_"))]
        return {f: getattr(self, f) / MIB for f in names}


def _traced_peak(fn):
    """Peak bytes allocated (above the starting level) while ``fn()`` runs, and its result."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        if started:
            tracemalloc.stop()
    return max(peak, 0), out


def ce_memory(
    *,
    batch_size: int = 128,
    n_classes: int = 50_000,
    dtype: str = "float32",
    chunk_size: int = 4096,
    measure: bool = True,
    backend="numpy",
    seed: int | None = 0,
) -> CEMemoryResult:
    """Bytes of the arrays a cross-entropy forward materialises, computed and measured.

    ``batch_size`` x ``n_classes`` logits of ``dtype`` (standard normal, seeded;
    targets uniform). ``chunk_size``: classes per streaming block. ``measure``:
    run the three forwards under :mod:`tracemalloc` (about 0.3 s at the
    defaults). tracemalloc sees allocations of NumPy buffers only, so
    measurement happens where ``backend.adapter.numpy_memory`` (``"numpy"`` and
    ``"array_api_strict"``) and the measured fields are NaN elsewhere. ``backend``
    defaults to ``"numpy"`` for that reason.
    """
    where = "ce_memory"
    seed = check_seed(seed, "seed", where, allow_none=True)
    rows = check_int(batch_size, "batch_size", where, minimum=1)
    classes = check_int(n_classes, "n_classes", where, minimum=1)
    chunk = check_int(chunk_size, "chunk_size", where, minimum=1)
    measure = check_bool(measure, "measure", where)
    b = get_backend(backend)
    dtype = _dtype(dtype, where, b if measure else None)
    itemsize = np.dtype(dtype).itemsize
    full = rows * classes * itemsize
    width = min(chunk, classes)
    streaming = 2 * rows * width * itemsize + 4 * rows * itemsize

    nan = math.nan
    measured_naive = measured_stable = measured_streaming = nan
    losses = [nan, nan, nan]
    can_trace = b.adapter.numpy_memory
    if measure:
        if full > 2**31:
            raise ValueError(
                f"{where}: measuring would allocate about {3 * full / 2**30:.1f} GiB; "
                f"pass measure=False for the computed figures only."
            )
        xp = b.xp
        rng = b.rng(seed)
        host = rng.standard_normal((rows, classes), dtype=np.float32)
        logits = b.asarray(host, dtype=getattr(xp, dtype))
        del host
        target = b.asarray(rng.integers(0, classes, size=(rows, 1)), dtype=xp.int64)

        def picked(z):
            return xp.take_along_axis(z, target, axis=1)

        def naive():
            # float16: exp(logits) summed over many classes overflows, probabilities round
            # to 0 and log gives -inf: the result the panel explains, not a warning
            with errstate(over="ignore", divide="ignore", invalid="ignore"):
                p = naive_softmax(logits, axis=1)
                logp = xp.log(p)
                return float(b.to_host(-xp.mean(picked(logp))))

        def stable():
            return float(b.to_host(-xp.mean(picked(log_softmax(logits, axis=1)))))

        def stream():
            lse = streaming_logsumexp(logits, chunk, keepdims=True)
            return float(b.to_host(xp.mean(lse - picked(logits))))

        peaks = []
        for i, fn in enumerate((naive, stable, stream)):
            if can_trace:
                peak, losses[i] = _traced_peak(fn)
                peaks.append(float(full + peak))
            else:
                losses[i] = fn()
                peaks.append(nan)
        measured_naive, measured_stable, measured_streaming = peaks

    return CEMemoryResult(
        batch_size=rows,
        n_classes=classes,
        dtype=dtype,
        itemsize=itemsize,
        chunk_size=chunk,
        bytes_logits=full,
        bytes_softmax=full,
        bytes_log_softmax=full,
        bytes_naive_total=3 * full,
        bytes_streaming_working=streaming,
        measured_naive_bytes=measured_naive,
        measured_stable_bytes=measured_stable,
        measured_streaming_bytes=measured_streaming,
        loss_naive=losses[0],
        loss_stable=losses[1],
        loss_streaming=losses[2],
        measured=bool(measure and can_trace),
        backend=b.name,
        seed=seed,
    )
