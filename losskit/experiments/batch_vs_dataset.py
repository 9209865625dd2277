"""Lesson 1: full-batch gradient descent vs SGD (B = 1) vs mini-batch, on one problem.

The same linear regression, initialisations, sample orders and learning rate
(mean reduction), trained three ways: one update per epoch on the whole
dataset, N updates per epoch on single examples, and ``ceil(N / B)`` updates on
mini-batches. The result gives each regime's loss against epochs, against
updates, and against wall-clock time, which is what the lesson contrasts:
full-batch GD makes the smoothest but fewest steps per pass over the data; SGD
makes the most (noisy) steps and pays a Python/launch overhead per step;
mini-batches sit in between and usually win per second.

All seeds of one regime train together (:func:`losskit.vectorized.fit_runs`), so
the wall-clock figures are for ``len(seeds)`` runs at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._argcheck import (
    check_dtype,
    check_int,
    check_learning_rate,
    check_memory,
    check_seed,
    check_seeds,
    check_work,
)
from ..backend import get_backend
from ..batching import epoch_orders
from ..data import make_linear_regression
from ..losses import MSELoss
from ..models import LinearRegression, stack_models
from ..vectorized import fit_runs
from ._results import check_noise, least_squares_loss, readonly

__all__ = ["BatchVsDatasetResult", "batch_vs_dataset"]

_WHERE = "batch_vs_dataset"


@dataclass(frozen=True)
class BatchVsDatasetResult:
    """Three regimes' loss curves (host NumPy arrays, read-only).

    Leading axis: ``regimes = ("full-batch GD", "mini-batch (B=..)", "SGD (B=1)")``;
    ``R = len(seeds)``, ``E = epochs``.

    - ``batch_sizes`` (3,) int64: N, B, 1. ``updates_per_epoch`` (3,) int64.
    - ``epoch_loss`` (3, R, E+1): per-example MSE on the whole dataset at
      initialisation and at the end of each epoch (fixed weights).
    - ``epoch_updates`` (3, E+1) int64: updates made by then (x-axis "updates").
    - ``epoch_time`` (3, E+1) float64: wall-clock seconds by then (x-axis "time";
      index 0 is 0.0; measured, so it varies between calls and machines).
    - ``batch_loss``: tuple of 3 arrays ``(R, E * updates_per_epoch[k])``, the
      loss each update was computed from (its own batch: noisy for SGD).
    - ``diverged`` (3, R) bool; ``diverged_message``: tuple of 3 (None or text):
      the loss became NaN/inf or grew past ``divergence_factor`` times its start
      (see :func:`~losskit.vectorized.fit_runs`; marked, not stopped).
    - ``optimal_loss``: least-squares MSE on the data (the floor).

    Parameters echoed: ``seeds`` (R,) int64, ``epochs``, ``n_samples``,
    ``n_features``, ``batch_size``, ``lr``, ``noise``, ``dtype``, ``backend``, ``seed``.
    """

    regimes: tuple
    batch_sizes: np.ndarray
    updates_per_epoch: np.ndarray
    epoch_loss: np.ndarray
    epoch_updates: np.ndarray
    epoch_time: np.ndarray
    batch_loss: tuple
    diverged: np.ndarray
    diverged_message: tuple
    optimal_loss: float
    seeds: np.ndarray
    epochs: int
    n_samples: int
    n_features: int
    batch_size: int
    lr: float
    noise: float
    dtype: str
    backend: str
    seed: int


def batch_vs_dataset(
    batch_size=32,
    lr=0.05,
    epochs=20,
    n_samples=1000,
    seeds=(0, 1, 2, 3),
    *,
    n_features=1,
    noise=0.5,
    backend="auto",
    dtype=None,
    seed=0,
) -> BatchVsDatasetResult:
    """Full batch vs single examples vs mini-batches of ``batch_size``; see the result class.

    ``seed`` seeds the data; ``seeds`` the runs (initialisation, sample orders),
    shared by the three regimes. ``batch_size`` must be between 1 and
    ``n_samples``. An ``lr`` that diverges is reported in ``diverged``.
    """
    n = check_int(n_samples, "n_samples", _WHERE, minimum=1)
    B = check_int(batch_size, "batch_size", _WHERE, minimum=1, maximum=n)
    lr = check_learning_rate(lr, "lr", _WHERE)
    epochs = check_int(epochs, "epochs", _WHERE, minimum=1)
    seeds = check_seeds(seeds, "seeds", _WHERE)
    seed = check_seed(seed, "seed", _WHERE)
    d = check_int(n_features, "n_features", _WHERE, minimum=1)
    fix = "lower epochs or the number of seeds (the lesson uses 20 epochs, 4 seeds)."
    check_memory(len(seeds) * epochs * n, 8, "the sample orders", _WHERE, fix=fix)
    check_work(len(seeds) * epochs * n * d, "runs x epochs x samples x features", _WHERE, fix=fix)
    noise = check_noise(noise, _WHERE)
    be = get_backend(backend)
    dt, dtype_name = check_dtype(dtype, "dtype", _WHERE, backend=be)
    X, y = make_linear_regression(n, d, noise=noise, seed=seed, backend=be, dtype=dt)
    orders = epoch_orders(seeds, n, epochs, backend=be)

    def make(s):
        return LinearRegression(d, seed=s, backend=be, dtype=dt)

    stacked = stack_models([make(s) for s in seeds])
    r0 = be.xp.reshape(stacked.forward(X) - y, (len(seeds), -1))
    initial = be.to_host(be.xp.mean(r0 * r0, axis=1)).astype(np.float64)

    regimes = ("full-batch GD", f"mini-batch (B={B})", "SGD (B=1)")
    sizes = (n, B, 1)
    loss = MSELoss()
    epoch_loss, epoch_updates, epoch_time, batch_loss = [], [], [], []
    diverged, messages, updates = [], [], []
    for b in sizes:
        runs = fit_runs(
            make,
            loss,
            X,
            y,
            seeds=seeds,
            batch_size=b,
            lr=lr,
            epochs=epochs,
            validation_data=(X, y),
            orders=orders,
        )
        u = runs.updates_per_epoch
        updates.append(u)
        epoch_loss.append(np.concatenate([initial[:, None], runs.epoch_val_loss], axis=1))
        epoch_updates.append(np.arange(epochs + 1) * u)
        epoch_time.append(np.concatenate([[0.0], runs.epoch_time]))
        batch_loss.append(readonly(runs.batch_loss, np.float64))
        diverged.append(runs.diverged_update >= 0)
        messages.append(next((m for m in runs.diverged if m is not None), None))
    return BatchVsDatasetResult(
        regimes=regimes,
        batch_sizes=readonly(sizes, np.int64),
        updates_per_epoch=readonly(updates, np.int64),
        epoch_loss=readonly(epoch_loss, np.float64),
        epoch_updates=readonly(epoch_updates, np.int64),
        epoch_time=readonly(epoch_time, np.float64),
        batch_loss=tuple(batch_loss),
        diverged=readonly(diverged, bool),
        diverged_message=tuple(messages),
        optimal_loss=least_squares_loss(be.to_host(X), be.to_host(y)),
        seeds=readonly(seeds, np.int64),
        epochs=epochs,
        n_samples=n,
        n_features=d,
        batch_size=B,
        lr=lr,
        noise=noise,
        dtype=dtype_name,
        backend=be.name,
        seed=int(seed),
    )
