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

:func:`batch_size_sweep` makes the lesson's training curves: the same linear
regression trained at several batch sizes, many seeds each. For every batch
size, all seeds train at once (:func:`losskit.vectorized.fit_runs`: parameters
with a leading run axis, one batched step for all seeds), and every batch size
reuses the same per-seed sample orders, so the curves differ only by batch
size. What the lesson reads off the result:

- smaller batches make more updates per epoch and reach a low loss in fewer
  epochs, with noisier per-update losses (``jitter``);
- larger batches give smooth curves but fewer steps per epoch;
- with ``reduction="sum"`` the step grows with B and large batches diverge at a
  learning rate that is fine for the mean (reported in ``diverged``, not raised:
  the loss becomes NaN/inf or, in float64 usually long before, grows past
  ``divergence_factor`` times its start, see :func:`~losskit.fit.fit`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from .._argcheck import (
    check_bool,
    check_choice,
    check_dtype,
    check_int,
    check_int_sequence,
    check_learning_rate,
    check_memory,
    check_real,
    check_seed,
    check_seeds,
    check_work,
)
from ..backend import get_backend
from ..batching import epoch_orders
from ..data import make_linear_regression
from ..losses import MSELoss
from ..models import LinearRegression
from ..vectorized import fit_runs
from ._results import check_noise, least_squares_loss, readonly

__all__ = [
    "BatchSizeSweepResult",
    "GradientNoiseResult",
    "batch_size_sweep",
    "default_batch_sizes",
    "gradient_noise",
    "regression_data",
]


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
    """About ``count`` log-spaced distinct batch sizes from 1 to ``n_samples`` (both included).

    ``n_samples``: an int in 1..2**53 (exact in float64); ``count``: an int in 1..10,000
    (1 gives ``[1]``).
    """
    where = "default_batch_sizes"
    n_samples = check_int(n_samples, "n_samples", where, minimum=1, maximum=2**53)
    count = check_int(count, "count", where, minimum=1, maximum=10_000)
    if count == 1:
        return np.ones(1, dtype=np.int64)
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
    check_work(
        reps * n * d,
        "n_draws x n_samples x n_features",
        _WHERE,
        fix="lower n_draws (2000 gives about 4% Monte-Carlo error).",
    )
    noise = check_noise(noise, _WHERE)
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


_SWEEP = "batch_size_sweep"


@dataclass(frozen=True)
class BatchSizeSweepResult:
    """Loss curves per batch size and seed (host NumPy arrays, read-only).

    Shapes: ``K = len(batch_sizes)``, ``R = len(seeds)``, ``E = epochs``,
    ``U_k = updates_per_epoch[k] * E``.

    - ``batch_sizes`` (K,) int64; ``seeds`` (R,) int64.
    - ``updates_per_epoch`` (K,) int64: ``ceil(N / B)`` (``floor`` with drop_last).
    - ``step_loss``: tuple of K arrays ``(R, U_k)``, the loss each update was
      computed from (its own mini-batch, as the loss reduces it), in update order.
    - ``step_samples``: tuple of K arrays ``(U_k,)``, samples seen after each
      update (``cumsum`` of batch sizes: a common x-axis across batch sizes).
    - ``epoch_train_loss`` (K, R, E): size-weighted per-example training loss of
      each epoch (taken while the weights moved).
    - ``epoch_loss`` (K, R, E): per-example MSE on the whole training set at the
      end of each epoch (fixed weights): the smooth curve.
    - ``initial_loss`` (R,): that loss at initialisation (shared by all batch sizes).
    - ``final_loss`` (K, R): ``epoch_loss[:, :, -1]``.
    - ``jitter`` (K,): over the last epoch, the standard deviation of the
      per-update losses per seed, averaged over seeds (0 for full batches);
      the same per seed as ``jitter_per_seed`` (K, R).
    - ``diverged`` (K, R) bool; ``diverged_message``: tuple of K entries, None or
      the first diverged run's message for that batch size. A diverged run is
      marked, not stopped: its later losses keep growing (to inf/NaN).
    - ``optimal_loss``: the least-squares MSE on the training data (the floor).
    - ``elapsed`` (K,) seconds of wall-clock per batch size (all seeds).

    Parameters echoed: ``epochs``, ``n_samples``, ``n_features``, ``lr``,
    ``noise``, ``reduction``, ``momentum``, ``drop_last``, ``dtype`` (name),
    ``backend`` (name), ``seed`` (the data seed).
    """

    batch_sizes: np.ndarray
    seeds: np.ndarray
    updates_per_epoch: np.ndarray
    step_loss: tuple
    step_samples: tuple
    epoch_train_loss: np.ndarray
    epoch_loss: np.ndarray
    initial_loss: np.ndarray
    final_loss: np.ndarray
    jitter: np.ndarray
    jitter_per_seed: np.ndarray
    diverged: np.ndarray
    diverged_message: tuple
    optimal_loss: float
    elapsed: np.ndarray
    epochs: int
    n_samples: int
    n_features: int
    lr: float
    noise: float
    reduction: str
    momentum: float
    drop_last: bool
    dtype: str
    backend: str
    seed: int


def batch_size_sweep(
    batch_sizes=(1, 4, 16, 64, 256),
    seeds=tuple(range(16)),
    epochs=20,
    n_samples=1000,
    lr=0.05,
    *,
    n_features=1,
    noise=0.5,
    reduction="mean",
    momentum=0.0,
    drop_last=False,
    backend="auto",
    dtype=None,
    seed=0,
    progress=False,
) -> BatchSizeSweepResult:
    """Train ``len(seeds)`` runs per batch size on noisy linear data; see the result class.

    ``seeds``: list of ints, the run seeds (initialisation and sample orders);
    default ``tuple(range(16))`` (16 runs). ``seed``: the dataset's seed. ``lr``: learning
    rate (> 0); a value that makes some runs diverge is reported in
    ``diverged``, never raised. ``reduction``: ``"mean"`` or ``"sum"``.
    ``dtype``: None (the backend's default), ``"float32"`` or ``"float64"``.
    ``progress`` shows a ``tqdm.auto`` bar over batch sizes.
    With the defaults (5 batch sizes x 16 seeds x 20 epochs, N = 1000) it runs
    in well under a second on a laptop CPU.
    """
    n = check_int(n_samples, "n_samples", _SWEEP, minimum=1)
    sizes = check_int_sequence(batch_sizes, "batch_sizes", _SWEEP, minimum=1, maximum=n)
    seeds = check_seeds(seeds, "seeds", _SWEEP)
    seed = check_seed(seed, "seed", _SWEEP)
    epochs = check_int(epochs, "epochs", _SWEEP, minimum=1)
    d = check_int(n_features, "n_features", _SWEEP, minimum=1)
    fix = "lower epochs, n_samples, n_features or the number of seeds or batch sizes."
    check_memory(len(seeds) * epochs * n, 8, "the sample orders", _SWEEP, fix=fix)
    check_work(
        len(sizes) * len(seeds) * epochs * n * d,
        "batch sizes x runs x epochs x samples x features",
        _SWEEP,
        fix=fix,
    )
    progress = check_bool(progress, "progress", _SWEEP)
    lr = check_learning_rate(lr, "lr", _SWEEP)
    noise = check_noise(noise, _SWEEP)
    reduction = check_choice(reduction, "reduction", _SWEEP, choices=("mean", "sum"))
    momentum = check_real(
        momentum, "momentum", _SWEEP, minimum=0.0, maximum=1.0, strict_maximum=True
    )
    be = get_backend(backend)
    dt, dtype_name = check_dtype(dtype, "dtype", _SWEEP, backend=be)

    X, y = make_linear_regression(n, d, noise=noise, seed=seed, backend=be, dtype=dt)
    orders = epoch_orders(seeds, n, epochs, backend=be)
    loss = MSELoss(reduction=reduction)

    def make(s):
        return LinearRegression(d, seed=s, backend=be, dtype=dt)

    init = [make(s) for s in seeds]
    initial = [float(MSELoss()(m.forward(X), y)) for m in init]

    iterator = sizes
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(sizes, desc="batch sizes", leave=False)
    step_loss, step_samples, epoch_train, epoch_full = [], [], [], []
    jitter, diverged, messages, updates, elapsed = [], [], [], [], []
    for b in iterator:
        t0 = time.perf_counter()
        runs = fit_runs(
            make,
            loss,
            X,
            y,
            seeds=seeds,
            batch_size=b,
            lr=lr,
            epochs=epochs,
            momentum=momentum,
            drop_last=drop_last,
            validation_data=(X, y),
            orders=orders,
        )
        elapsed.append(time.perf_counter() - t0)
        u = runs.updates_per_epoch
        updates.append(u)
        step_loss.append(readonly(runs.batch_loss, np.float64))
        step_samples.append(readonly(np.cumsum(runs.batch_size), np.int64))
        epoch_train.append(runs.epoch_train_loss)
        epoch_full.append(runs.epoch_val_loss)
        last = runs.batch_loss[:, -u:]
        with np.errstate(invalid="ignore", over="ignore"):
            jitter.append(np.std(last, axis=1) if u > 1 else np.zeros(len(seeds)))
        bad = runs.diverged_update >= 0
        diverged.append(bad)
        messages.append(next((m for m in runs.diverged if m is not None), None))

    Xh, yh = be.to_host(X), be.to_host(y)
    epoch_full = np.asarray(epoch_full, dtype=np.float64)
    jitter_per_seed = np.asarray(jitter, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        jitter_mean = np.mean(jitter_per_seed, axis=1)
    return BatchSizeSweepResult(
        batch_sizes=readonly(sizes, np.int64),
        seeds=readonly(seeds, np.int64),
        updates_per_epoch=readonly(updates, np.int64),
        step_loss=tuple(step_loss),
        step_samples=tuple(step_samples),
        epoch_train_loss=readonly(epoch_train, np.float64),
        epoch_loss=readonly(epoch_full),
        initial_loss=readonly(initial, np.float64),
        final_loss=readonly(epoch_full[:, :, -1]),
        jitter=readonly(jitter_mean),
        jitter_per_seed=readonly(jitter_per_seed),
        diverged=readonly(diverged, bool),
        diverged_message=tuple(messages),
        optimal_loss=least_squares_loss(Xh, yh),
        elapsed=readonly(elapsed, np.float64),
        epochs=epochs,
        n_samples=n,
        n_features=d,
        lr=lr,
        noise=noise,
        reduction=reduction,
        momentum=momentum,
        drop_last=bool(drop_last),
        dtype=dtype_name,
        backend=be.name,
        seed=int(seed),
    )
