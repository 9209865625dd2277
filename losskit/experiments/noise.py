"""Lesson 4: a mini-batch gradient is an unbiased, noisy estimate of the full gradient.

At fixed parameters of a linear regression with MSE loss on ``N`` samples, every
sample ``i`` has a gradient ``g_i = 2 (x_i . w - y_i) x_i``; the full-batch
gradient is their mean ``G``. A batch of ``B`` distinct samples drawn without
replacement averages ``B`` of them, and the trace of its covariance is exactly

    tr Cov = sigma^2 / B * (N - B) / (N - 1),  sigma^2 = (1/N) sum_i |g_i - G|^2

(falls like 1/B, exactly 0 at B = N); with replacement it is sigma^2 / B.
:func:`gradient_noise` measures this by drawing thousands of batches and
compares with both formulas, and reports the noise scale
``B_simple = tr(Sigma) / |G|^2`` (McCandlish et al. 2018).

How it is vectorized. The centred per-sample gradients ``D_i = g_i - G`` are
built once, stored features-major as a (d, N) array. For draws without
replacement every draw gets a uniformly random permutation of ``0..N-1`` (on
the host, from the seeded NumPy generator, then moved to the device); its
first B entries are a uniformly random B-subset, so one permutation per draw
serves every batch size (the curves share random numbers and come out smooth).
The batch sums for all draws are then prefix sums over the permutation
columns: going up the batch-size grid, each step gathers only the new columns
(``take`` along the sample axis) and adds them, so each sample of each draw is
gathered once, whatever the number of batch sizes. For ``2B > N`` the suffix
(the complement of the batch) is summed instead and negated: the centred
gradients sum to zero, so this is the same number in exact arithmetic, and at
``B = N`` the empty complement makes the measured variance exactly 0, as the
formula says. With replacement, each draw's B indices are independent uniform
integers and the same prefix sums apply. Draws are processed in blocks so
memory stays bounded for large ``N``.

The training curves per batch size (loss bands) belong to the
``batch_size_sweep`` experiment; this one never trains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._argcheck import check_bool, check_dtype, check_int, check_real, check_seed
from ..backend import get_backend

__all__ = ["GradientNoiseResult", "default_batch_sizes", "gradient_noise", "regression_data"]

_WHERE = "gradient_noise"
_CHUNK_ELEMENTS = 1 << 23  # draws are processed in blocks of at most this many draws x N x d values


@dataclass(frozen=True)
class GradientNoiseResult:
    """Mini-batch gradient variance against batch size (host NumPy arrays, read-only).

    Arrays have shape ``(K,)``, one entry per batch size:

    - ``batch_sizes`` (int64): the batch sizes B, increasing, each in 1..N.
    - ``measured_variance`` (float64): mean over draws of ``|g_B - G|^2``, the
      trace of the covariance of the mini-batch mean gradient, batches drawn
      without replacement (unbiased: the exact mean ``G`` is known).
    - ``measured_variance_se`` (float64): its Monte-Carlo standard error
      (std of the per-draw values / sqrt(draws)), for error bars.
    - ``theory_variance`` (float64): ``sigma^2 / B * (N - B) / (N - 1)``.
    - ``with_replacement_variance`` (float64): theory with replacement, ``sigma^2 / B``.
    - ``with_replacement_measured`` (float64): measured with replacement (NaN
      when ``with_replacement=False``).

    Scalars: ``trace_sigma`` (``sigma^2``: trace of the per-sample gradient
    covariance, population form dividing by N), ``full_gradient_norm`` (``|G|``),
    ``noise_scale`` (``B_simple = trace_sigma / |G|^2``), and the parameters
    ``n_samples``, ``n_features``, ``n_draws``, ``noise``, ``progress``,
    ``dtype`` (name), ``backend`` (name), ``seed``.
    """

    batch_sizes: np.ndarray
    measured_variance: np.ndarray
    measured_variance_se: np.ndarray
    theory_variance: np.ndarray
    with_replacement_variance: np.ndarray
    with_replacement_measured: np.ndarray
    trace_sigma: float
    full_gradient_norm: float
    noise_scale: float
    n_samples: int
    n_features: int
    n_draws: int
    noise: float
    progress: float
    dtype: str
    backend: str
    seed: int | None


def regression_data(n_samples: int, n_features: int, noise: float, rng):
    """The experiment's data on the host: ``X`` (N, d), ``y`` (N,), ``w*`` (d,), all float64.

    ``X`` and ``w*`` standard normal, ``y = X w* + noise * eps``, drawn in that
    order from ``rng`` (a seed or a NumPy ``Generator``), so a test or a
    notebook can rebuild exactly what :func:`gradient_noise` used.
    """
    rng = np.random.default_rng(rng)
    X = rng.standard_normal((n_samples, n_features))
    w_star = rng.standard_normal(n_features)
    y = X @ w_star + noise * rng.standard_normal(n_samples)
    return X, y, w_star


def default_batch_sizes(n_samples: int, count: int = 13) -> np.ndarray:
    """About ``count`` log-spaced distinct batch sizes from 1 to ``n_samples`` (both included)."""
    return np.unique(np.round(np.geomspace(1, n_samples, count)).astype(np.int64))


def _batch_sizes(batch_sizes, n):
    if batch_sizes is None:
        return default_batch_sizes(n)
    try:
        arr = np.asarray(batch_sizes)
    except Exception as exc:  # ragged or odd input
        raise TypeError(f"{_WHERE}: batch_sizes must be a sequence of ints; {exc}") from exc
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"{_WHERE}: batch_sizes must be a non-empty 1-D sequence of ints; got "
            f"{batch_sizes!r}. Example: batch_sizes=[1, 10, 100]."
        )
    bad = arr[(arr < 1) | (arr > n)]
    if bad.size:
        raise ValueError(
            f"{_WHERE}: batch sizes must lie in 1..n_samples={n} (sampling without "
            f"replacement); got {bad.tolist()}."
        )
    return np.unique(arr.astype(np.int64))


def gradient_noise(
    *,
    n_samples: int = 1000,
    n_features: int = 10,
    batch_sizes=None,
    n_draws: int = 2000,
    noise: float = 0.5,
    progress: float = 0.0,
    with_replacement: bool = True,
    dtype: str | None = None,
    backend="auto",
    seed: int | None = 0,
) -> GradientNoiseResult:
    """Measure mini-batch gradient variance against batch size and compare with theory.

    Data: ``X`` (N, d) standard normal, ``y = X w* + noise * eps``. The gradient
    is taken at ``w = progress * w*``, ``progress`` in 0..1: ``progress=0`` is the
    start of training (large gradient, small noise scale), ``progress`` near 1 is
    close to the optimum (the gradient shrinks, noise dominates, ``noise_scale`` grows).

    ``batch_sizes``: ints in 1..``n_samples`` (default: 13 log-spaced sizes
    from 1 to N). ``n_draws`` batches are drawn per batch size; the Monte-Carlo
    error of ``measured_variance`` shrinks like ``1/sqrt(n_draws)`` (about 4%
    at B = 1 with the default 2000, less at larger B). ``dtype`` defaults to
    the backend's (float64 on the CPU, float32 on a GPU). ``backend`` is a name
    or a :class:`~losskit.Backend`; the default ``"auto"`` follows
    ``LOSSKIT_BACKEND`` (a GPU hub computes this on the GPU). ``seed`` (an int, or anything
    ``numpy.random.default_rng`` takes; the result records it when it is an int) fixes the
    data and the draws, the same on every backend. Defaults run in well under
    0.3 s on a laptop CPU (``benchmarks/bench_noise.py``).
    """
    seed = check_seed(seed, "seed", _WHERE, rng_like=True, allow_none=True)
    n = check_int(n_samples, "n_samples", _WHERE, minimum=2)
    d = check_int(n_features, "n_features", _WHERE, minimum=1)
    reps = check_int(n_draws, "n_draws", _WHERE, minimum=2)
    noise = check_real(noise, "noise", _WHERE, minimum=0.0)
    progress = check_real(
        progress,
        "progress",
        _WHERE,
        minimum=0.0,
        maximum=1.0,
        hint="The gradient is taken at w = progress * w*: 0 is the start of training, 1 the "
        "true weights. Use a fraction such as 0.5.",
    )
    with_replacement = check_bool(with_replacement, "with_replacement", _WHERE)
    sizes = _batch_sizes(batch_sizes, n)
    b = get_backend(backend)
    xp = b.xp
    dt, dtype_name = check_dtype(dtype, "dtype", _WHERE, backend=b)
    rng = b.rng(seed)

    # Data and per-sample gradients, centred on the full gradient.
    X_host, y_host, w_star = regression_data(n, d, noise, rng)
    # Features-major layout (d, N), contiguous: gathering samples along the last axis and
    # summing along it is about 30% faster than gathering rows of an (N, d) matrix.
    XT = b.asarray(np.ascontiguousarray(X_host.T), dtype=dt)
    y = b.asarray(y_host, dtype=dt)
    w = b.asarray(progress * w_star, dtype=dt)
    residual = w @ XT - y  # (N,)
    per_sample = 2.0 * residual[None, :] * XT  # (d, N): column i is the gradient of (x_i.w - y_i)^2
    full = xp.mean(per_sample, axis=1, keepdims=True)  # (d, 1)
    centred = per_sample - full
    trace_sigma = float(b.to_host(xp.sum(centred * centred))) / n
    full_sq = float(b.to_host(xp.sum(full * full)))

    chunk = max(1, min(reps, _CHUNK_ELEMENTS // (n * d)))
    k = sizes.size
    sums = np.zeros(k)
    sums_sq = np.zeros(k)
    wr_sums = np.zeros(k)

    def record(j, dev):
        sq = b.to_host(xp.sum(dev * dev, axis=0)).astype(np.float64)  # (r,) |g_B - G|^2
        sums[j] += sq.sum()
        sums_sq[j] += (sq * sq).sum()

    def batch_sums(order, start, stop):
        """Sum of centred gradients over samples ``order[:, start:stop]`` (r, m): shape (d, r)."""
        cols = order[:, start:stop]
        picked = xp.take(centred, xp.reshape(cols, (-1,)), axis=1)  # (d, r * m)
        return xp.sum(xp.reshape(picked, (d, cols.shape[0], stop - start)), axis=2)

    small = [j for j in range(k) if 2 * sizes[j] <= n]
    large = [j for j in range(k) if 2 * sizes[j] > n]
    drawn = 0
    while drawn < reps:
        r = min(chunk, reps - drawn)
        drawn += r
        # Without replacement: a random permutation per draw; the batch of size B is its
        # first B entries. Prefix sums grow with B; past N/2 the suffix (complement) is used.
        order_host = np.tile(np.arange(n, dtype=np.int32), (r, 1))
        rng.permuted(order_host, axis=1, out=order_host)
        order = b.asarray(order_host)
        acc, prev = xp.zeros((d, r), dtype=dt, device=b.device), 0
        for j in small:
            size = int(sizes[j])
            acc, prev = acc + batch_sums(order, prev, size), size
            record(j, acc / size)
        acc, prev = xp.zeros((d, r), dtype=dt, device=b.device), n
        for j in reversed(large):  # centred gradients sum to 0: batch sum = -complement sum
            size = int(sizes[j])
            acc, prev = acc + batch_sums(order, size, prev), size
            record(j, -acc / size)
        if with_replacement:  # B independent uniform indices per draw, prefix sums again
            picks = b.asarray(rng.integers(0, n, size=(r, int(sizes[-1])), dtype=np.int32))
            acc, prev = xp.zeros((d, r), dtype=dt, device=b.device), 0
            for j in range(k):
                size = int(sizes[j])
                acc, prev = acc + batch_sums(picks, prev, size), size
                dev = acc / size
                wr_sums[j] += float(b.to_host(xp.sum(dev * dev)))

    measured = sums / reps
    spread = np.sqrt(np.maximum(sums_sq / reps - measured**2, 0.0) * reps / (reps - 1))
    sizes_f = sizes.astype(np.float64)
    theory = trace_sigma / sizes_f * (n - sizes_f) / (n - 1)
    wr_theory = trace_sigma / sizes_f
    wr_measured = wr_sums / reps if with_replacement else np.full(k, np.nan)

    def ro(a):
        a = np.asarray(a)
        a.flags.writeable = False
        return a

    return GradientNoiseResult(
        batch_sizes=ro(sizes),
        measured_variance=ro(measured),
        measured_variance_se=ro(spread / math.sqrt(reps)),
        theory_variance=ro(theory),
        with_replacement_variance=ro(wr_theory),
        with_replacement_measured=ro(wr_measured),
        trace_sigma=trace_sigma,
        full_gradient_norm=math.sqrt(full_sq),
        noise_scale=trace_sigma / full_sq if full_sq > 0 else math.inf,
        n_samples=n,
        n_features=d,
        n_draws=reps,
        noise=noise,
        progress=progress,
        dtype=dtype_name,
        backend=b.name,
        seed=seed if isinstance(seed, int) else None,
    )
