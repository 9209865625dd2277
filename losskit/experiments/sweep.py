"""Lessons 4-5: the same linear regression trained at several batch sizes, many seeds each.

For every batch size, all seeds train at once (:func:`losskit.vectorized.fit_runs`:
parameters with a leading run axis, one batched step for all seeds), and every
batch size reuses the same per-seed sample orders, so the curves differ only by
batch size. What the lesson reads off the result:

- smaller batches make more updates per epoch and reach a low loss in fewer
  epochs, with noisier per-update losses (``jitter``);
- larger batches give smooth curves but fewer steps per epoch;
- with ``reduction="sum"`` the step grows with B and large batches diverge at a
  learning rate that is fine for the mean (reported in ``diverged``, not raised:
  the loss becomes NaN/inf or, in float64 usually long before, grows past
  ``divergence_factor`` times its start, see :func:`~losskit.fit.fit`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .._argcheck import (
    check_choice,
    check_dtype,
    check_int,
    check_int_sequence,
    check_learning_rate,
    check_real,
    check_seed,
    check_seeds,
)
from ..backend import get_backend
from ..batching import epoch_orders
from ..data import make_linear_regression
from ..losses import MSELoss
from ..models import LinearRegression
from ..vectorized import fit_runs
from ._results import least_squares_loss, readonly

__all__ = ["BatchSizeSweepResult", "batch_size_sweep"]

_WHERE = "batch_size_sweep"


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
    n = check_int(n_samples, "n_samples", _WHERE, minimum=1)
    sizes = check_int_sequence(batch_sizes, "batch_sizes", _WHERE, minimum=1, maximum=n)
    seeds = check_seeds(seeds, "seeds", _WHERE)
    seed = check_seed(seed, "seed", _WHERE)
    epochs = check_int(epochs, "epochs", _WHERE, minimum=1)
    d = check_int(n_features, "n_features", _WHERE, minimum=1)
    lr = check_learning_rate(lr, "lr", _WHERE)
    noise = check_real(noise, "noise", _WHERE, minimum=0.0)
    reduction = check_choice(reduction, "reduction", _WHERE, choices=("mean", "sum"))
    momentum = check_real(
        momentum, "momentum", _WHERE, minimum=0.0, maximum=1.0, strict_maximum=True
    )
    be = get_backend(backend)
    dt, dtype_name = check_dtype(dtype, "dtype", _WHERE, backend=be)

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
