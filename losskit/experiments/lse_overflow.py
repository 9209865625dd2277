"""Lesson 3: why log-softmax and cross-entropy are computed with the log-sum-exp trick.

:func:`lse_overflow` evaluates the naive ``log(exp(x) / sum(exp(x)))`` and the
stable ``x - logsumexp(x)`` on logits ``scale * pattern`` over a grid of scales,
in float16, float32 and float64. ``exp`` overflows once its argument passes
``log(finfo.max)`` (11.09 / 88.72 / 709.78), so the naive version turns NaN
(``inf / inf``) from ``scale = log(finfo.max) / max(pattern)`` on, while the
stable one stays exact: subtracting the row maximum is exact algebra and keeps
the largest exponent at ``exp(0) = 1``.

Precisely, the naive version fails where its denominator ``sum(exp(x))``
overflows, i.e. once ``logsumexp(scale * pattern) > log(finfo.max)``: a hair
*before* the largest term alone overflows, since the other terms add to the sum.
In float32/float64 the difference is invisible (the next term is ``e^-29``
smaller); in float16 with pattern (1, 2, 3) it is about 0.2% of the scale.
:func:`threshold_scale` solves for that scale, and the default grid, geometric
from 1 to 10^4, adds for each dtype the threshold, a scale just below it and a
ladder of scales just above it (up to 0.1%; 0.4% in float16, whose rounding of
the logits is coarser), so the first failure is pinned down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._argcheck import check_int, check_memory, check_seed
from ..backend import errstate, get_backend
from ..numerics import log_softmax, naive_log_softmax

__all__ = ["LSEOverflowResult", "default_scales", "lse_overflow", "threshold_scale"]

_WHERE = "lse_overflow"
DTYPES = ("float16", "float32", "float64")
_SIDE = {"float16": 4e-3, "float32": 1e-3, "float64": 1e-3}  # grid: threshold * (1 -+ side)
#: Most classes in ``pattern`` and most ``scales``: the lesson uses 3 classes and about
#: 70 scales; beyond these the grid is a plot nobody can read and the work grows as S x C.
MAX_CLASSES = 10_000
MAX_SCALES = 10_000


@dataclass(frozen=True)
class LSEOverflowResult:
    """Naive vs stable log-softmax / cross-entropy over logit scales and dtypes (host, read-only).

    Shapes: ``T`` dtypes, ``S`` scales, ``C`` classes.

    - ``scales`` (S,) float64, increasing; ``dtypes`` tuple of T names;
      ``pattern`` (C,) float64; the logits of row ``s`` are ``scales[s] * pattern``.
    - ``logits`` (T, S, C) float64: the logits as each dtype stores them (rounded).
    - ``naive_log_softmax``, ``stable_log_softmax`` (T, S, C) float64: the outputs
      computed in each dtype (NaN/inf kept: they are the lesson).
    - ``reference_log_softmax`` (T, S, C) float64: stable log-softmax in float64 of
      the *rounded* logits, so errors measure the computation, not the input rounding.
    - ``naive_finite``, ``stable_finite`` (T, S) bool: every entry finite.
    - ``naive_error``, ``stable_error`` (T, S) float64: max abs error against the
      reference over the row (NaN where the output has a NaN, inf where it has
      an inf).
    - ``target`` (int), ``naive_ce``, ``stable_ce``, ``reference_ce`` (T, S)
      float64: cross-entropy ``-log_softmax[target]``.
    - ``first_failure``: dict dtype -> smallest grid scale where the naive
      output is not finite (NaN if it never fails on the grid).
    - ``threshold_scale``: dict dtype -> the scale where ``sum(exp(logits))``
      reaches ``finfo.max`` (:func:`threshold_scale`; NaN when
      ``max(pattern) <= 0``): where the naive version starts to fail.
    - ``exp_threshold_scale``: dict dtype -> ``log_max / max(pattern)``, where the
      largest ``exp`` alone overflows (slightly above ``threshold_scale``).
    - ``log_max``: dict dtype -> ``log(finfo.max)`` (11.09, 88.72, 709.78).
    - ``exp_limit``: dict dtype -> largest value ``v`` of that dtype with
      ``exp(v)`` finite in that dtype (11.0859375; 88.72283172607421875; 709.78...).
    - ``exp_at_limit``: dict dtype -> ``exp(exp_limit)`` computed in the dtype (65248 in float16).
    - ``backend`` (name), ``seed`` (unused: the experiment is deterministic; kept
      for the common signature).
    """

    scales: np.ndarray
    dtypes: tuple
    pattern: np.ndarray
    target: int
    logits: np.ndarray
    naive_log_softmax: np.ndarray
    stable_log_softmax: np.ndarray
    reference_log_softmax: np.ndarray
    naive_finite: np.ndarray
    stable_finite: np.ndarray
    naive_error: np.ndarray
    stable_error: np.ndarray
    naive_ce: np.ndarray
    stable_ce: np.ndarray
    reference_ce: np.ndarray
    first_failure: dict
    threshold_scale: dict
    exp_threshold_scale: dict
    log_max: dict
    exp_limit: dict
    exp_at_limit: dict
    backend: str
    seed: int | None


def _vector(values, name, *, min_size, max_size, where=_WHERE):
    """``values`` as a 1-D finite float64 array of ``min_size..max_size`` entries.

    The length is checked before any conversion when ``values`` has one (a huge
    ``range`` or array is refused at once, not copied first).
    """
    if isinstance(values, str | bytes | dict | set) or not hasattr(values, "__len__"):
        raise TypeError(
            f"{where}: {name} must be a 1-D sequence of real numbers (a list, tuple or "
            f"array); got {type(values).__name__} {values!r:.80}. Example: {name}=[1.0, 2.0, 3.0]."
        )
    size = len(values) if getattr(values, "ndim", 1) == 1 else None
    if size is not None and size > max_size:
        raise ValueError(
            f"{where}: {name} has {size} entries, more than the {max_size} this lesson "
            f"can evaluate and plot; pass at most {max_size} (the lesson uses a handful)."
        )
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError(
            f"{where}: {name} must be a 1-D sequence of real numbers; got {values!r:.80}. "
            f"Example: {name}=[1.0, 2.0, 3.0]."
        ) from exc
    if arr.ndim != 1 or arr.size < min_size:
        raise ValueError(
            f"{where}: {name} must be 1-D with at least {min_size} value(s); got shape {arr.shape}."
        )
    if arr.size > max_size:
        raise ValueError(
            f"{where}: {name} has {arr.size} entries, more than the {max_size} this lesson "
            f"can evaluate and plot; pass at most {max_size}."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{where}: {name} must be finite; got {arr.tolist()[:20]}.")
    return arr


def _dtype_names(dtypes, where) -> tuple:
    """``dtypes`` (one name or a sequence of names among :data:`DTYPES`) as a tuple of names."""
    if isinstance(dtypes, str):
        dtypes = (dtypes,)
    if not isinstance(dtypes, list | tuple):
        raise TypeError(
            f"{where}: dtypes must be a name or a list of names among {list(DTYPES)}; got "
            f"{type(dtypes).__name__} {dtypes!r:.80}. Example: dtypes=['float16', 'float32']."
        )
    if not dtypes:
        raise ValueError(f"{where}: dtypes is empty; pass some of {list(DTYPES)}.")
    names = []
    for name in dtypes:
        if not isinstance(name, str):
            raise TypeError(
                f"{where}: each entry of dtypes must be a name (a str) among {list(DTYPES)}; "
                f"got {type(name).__name__} {name!r:.80}. Pass e.g. 'float32', not a dtype object."
            )
        if name not in DTYPES:
            raise ValueError(
                f"{where}: unknown dtype {name!r}; expected names among {list(DTYPES)}."
            )
        if name not in names:
            names.append(name)
    return tuple(names)


def _round_down(x: float, digits: int = 5) -> float:
    """``x > 0`` cut (not rounded) to ``digits`` significant digits: a limit safe to quote."""
    step = 10.0 ** (math.floor(math.log10(x)) - digits + 1)
    return math.floor(x / step) * step


def threshold_scale(pattern, dtype: str) -> float:
    """Scale ``t`` with ``logsumexp(t * pattern) == log(finfo(dtype).max)`` (float64 bisection).

    Beyond it the naive softmax's denominator overflows (ignoring the rounding
    of the logits to ``dtype``). NaN when ``max(pattern) <= 0``: then exp never
    overflows for positive scales (it underflows instead).
    """
    where = "threshold_scale"
    p = _vector(pattern, "pattern", min_size=1, max_size=MAX_CLASSES, where=where)
    if not isinstance(dtype, str):
        raise TypeError(
            f"{where}: dtype must be a name (a str) among {list(DTYPES)}; got "
            f"{type(dtype).__name__} {dtype!r:.80}. Pass e.g. dtype='float32'."
        )
    if dtype not in DTYPES:
        raise ValueError(f"{where}: unknown dtype {dtype!r}; expected one of {list(DTYPES)}.")
    top = float(p.max())
    if top <= 0:
        return math.nan
    log_max = math.log(float(np.finfo(dtype).max))

    def lse(t):
        z = t * p
        return float(z.max() + np.log(np.sum(np.exp(z - z.max()))))

    # lse(t) lies in [t*top, t*top + log C]: the root lies in [lo, hi].
    lo, hi = (log_max - math.log(p.size)) / top, log_max / top
    lo = max(lo, 0.0)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if lse(mid) < log_max:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 4 * np.spacing(hi):
            break
    return hi


def default_scales(pattern=(1.0, 2.0, 3.0), dtypes=DTYPES) -> np.ndarray:
    """Geometric 1..10^4 (41 points) plus, per dtype, its threshold scale ``t``, ``t (1 - side)``
    and a ladder ``t (1 + side / 2^k)``, k = 0..5, above it.

    The ladder resolves where the naive version really fails: the logits are rounded to
    the dtype first, so in float16 the failure sits a little above ``t`` (about 2e-4).
    ``pattern``: 1 to :data:`MAX_CLASSES` finite numbers; ``dtypes``: a name or names
    among ``"float16"``, ``"float32"``, ``"float64"``.
    """
    where = "default_scales"
    pattern = _vector(pattern, "pattern", min_size=1, max_size=MAX_CLASSES, where=where)
    grid = [np.geomspace(1.0, 1e4, 41)]
    for name in _dtype_names(dtypes, where):
        t = threshold_scale(pattern, name)
        if math.isfinite(t):
            side = _SIDE[name]
            grid.append(t * (1 + side * np.array([-1.0, 0.0, *(0.5**k for k in range(6))])))
    return np.unique(np.concatenate(grid))


def _exp_limit(b, name):
    """Largest ``v`` of dtype ``name`` with ``exp(v)`` finite in that dtype, and ``exp(v)``."""
    xp = b.xp
    dt = getattr(xp, name)
    v = b.asarray(math.log(float(np.finfo(name).max)), dtype=dt)
    down = b.asarray(-math.inf, dtype=dt)
    up = b.asarray(math.inf, dtype=dt)
    with errstate(over="ignore"):
        while not bool(xp.isfinite(xp.exp(v))):
            v = xp.nextafter(v, down)
        while bool(xp.isfinite(xp.exp(xp.nextafter(v, up)))):
            v = xp.nextafter(v, up)
        return float(b.to_host(v)), float(b.to_host(xp.exp(v)))


def lse_overflow(
    *,
    scales=None,
    pattern=(1.0, 2.0, 3.0),
    dtypes=None,
    target: int = 0,
    backend="auto",
    seed: int | None = None,
) -> LSEOverflowResult:
    """Naive vs stable log-softmax and cross-entropy on ``scale * pattern``, per dtype.

    ``scales``: positive finite numbers (default :func:`default_scales`, which
    straddles every dtype's overflow threshold). ``pattern``: the logit shape,
    at least two finite numbers (default ``(1, 2, 3)``; ``(10, 11, 12)`` with
    ``scales=[1]`` shows float16 failing already). ``dtypes``: names among
    ``"float16"``, ``"float32"``, ``"float64"``; default all three where the
    backend has them (array_api_strict, like the array API standard, has no
    float16, so it computes float32 and float64 only; asking it for float16
    raises). ``target``: the class index whose cross-entropy is reported.
    ``backend``: a name or :class:`~losskit.Backend` (default ``"auto"``: the
    dtype behaviour is the same on every backend). ``seed`` is accepted for the
    common experiment signature and ignored (nothing is random here).
    """
    seed = check_seed(seed, "seed", _WHERE, rng_like=True, allow_none=True)  # unused
    b = get_backend(backend)
    xp = b.xp
    pat = _vector(pattern, "pattern", min_size=2, max_size=MAX_CLASSES)
    if dtypes is None:
        names = tuple(n for n in DTYPES if hasattr(xp, n))
    else:
        names = _dtype_names(dtypes, _WHERE)
        for name in names:
            if not hasattr(xp, name):
                raise ValueError(
                    f"{_WHERE}: the {b.name} backend has no {name} (the array API standard "
                    f"defines only float32 and float64); use backend='numpy' for {name}."
                )
    if scales is None:
        sc = default_scales(pat, names)
    else:
        sc = _vector(scales, "scales", min_size=1, max_size=MAX_SCALES)
    if np.any(sc <= 0):
        raise ValueError(f"{_WHERE}: scales must be positive; got {sc[sc <= 0].tolist()}.")
    sc = np.unique(sc)
    target = check_int(target, "target", _WHERE)
    if not 0 <= target < pat.size:
        raise ValueError(
            f"{_WHERE}: target {target} out of range for {pat.size} classes "
            f"(valid 0..{pat.size - 1})."
        )
    target = int(target)
    check_memory(
        16 * len(names) * sc.size * pat.size,  # about 16 float64 (T, S, C) arrays at once
        8,
        "the logits and outputs (dtypes x scales x classes)",
        _WHERE,
        fix="pass fewer scales or a shorter pattern (the lesson uses 3 classes).",
    )
    # The largest logit as a Python float first: a product beyond float64 is refused
    # below, not computed with NumPy's overflow warning.
    biggest = float(np.max(np.abs(sc))) * float(np.max(np.abs(pat)))
    for name in names:
        largest = float(np.finfo(name).max)
        if biggest > largest:
            top = float(np.max(np.abs(pat)))
            raise ValueError(
                f"{_WHERE}: the largest logit |scale * pattern| = {biggest:g} is beyond the "
                f"{name} range ({largest:g}): the logits themselves would be inf before any "
                f"exp. In {name} this pattern allows scales up to {_round_down(largest / top):g}"
                f" ({largest:g} / {top:g}); use a smaller scale or a wider dtype."
            )

    logits_host = sc[:, None] * pat[None, :]  # (S, C) float64, finite (checked above)
    out = {k: [] for k in ("logits", "naive", "stable", "ref", "nce", "sce", "rce")}
    log_max, exp_limit, exp_at_limit, threshold, exp_threshold, first = {}, {}, {}, {}, {}, {}
    for name in names:
        dt = getattr(xp, name)
        x = b.asarray(logits_host, dtype=dt)
        x64 = xp.astype(x, xp.float64)  # the rounded logits, exactly
        naive = naive_log_softmax(x, axis=-1)
        stable = log_softmax(x, axis=-1)
        ref = log_softmax(x64, axis=-1)
        for key, arr in (("logits", x64), ("naive", naive), ("stable", stable), ("ref", ref)):
            out[key].append(b.to_host(arr).astype(np.float64))
        for key, arr in (("nce", naive), ("sce", stable), ("rce", ref)):
            out[key].append(-b.to_host(arr[:, target]).astype(np.float64))
        log_max[name] = math.log(float(np.finfo(name).max))
        threshold[name] = threshold_scale(pat, name)
        exp_threshold[name] = log_max[name] / float(pat.max()) if pat.max() > 0 else math.nan
        exp_limit[name], exp_at_limit[name] = _exp_limit(b, name)

    stack = {k: np.stack(v) for k, v in out.items()}
    naive_finite = np.all(np.isfinite(stack["naive"]), axis=-1)
    stable_finite = np.all(np.isfinite(stack["stable"]), axis=-1)
    with np.errstate(invalid="ignore"):
        naive_error = np.max(np.abs(stack["naive"] - stack["ref"]), axis=-1)
        stable_error = np.max(np.abs(stack["stable"] - stack["ref"]), axis=-1)
    for i, name in enumerate(names):
        bad = np.flatnonzero(~naive_finite[i])
        first[name] = float(sc[bad[0]]) if bad.size else math.nan

    def ro(a):
        a = np.asarray(a)
        a.flags.writeable = False
        return a

    return LSEOverflowResult(
        scales=ro(sc),
        dtypes=names,
        pattern=ro(pat),
        target=target,
        logits=ro(stack["logits"]),
        naive_log_softmax=ro(stack["naive"]),
        stable_log_softmax=ro(stack["stable"]),
        reference_log_softmax=ro(stack["ref"]),
        naive_finite=ro(naive_finite),
        stable_finite=ro(stable_finite),
        naive_error=ro(naive_error),
        stable_error=ro(stable_error),
        naive_ce=ro(stack["nce"]),
        stable_ce=ro(stack["sce"]),
        reference_ce=ro(stack["rce"]),
        first_failure=first,
        threshold_scale=threshold,
        exp_threshold_scale=exp_threshold,
        log_max=log_max,
        exp_limit=exp_limit,
        exp_at_limit=exp_at_limit,
        backend=b.name,
        seed=seed if isinstance(seed, int) else None,
    )
