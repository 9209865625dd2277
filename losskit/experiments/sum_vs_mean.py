"""Lesson 5: sum vs mean, and how the reduction scales the step.

:func:`sum_vs_mean` trains one linear regression three ways from the same
initialisation and sample order: mean reduction at ``lr``, sum at ``lr``, and sum
at ``lr / B``. The gradient of a summed loss is B times that of the mean, so sum
at ``lr / B`` takes exactly the mean's steps: bitwise when B is a power of two
(dividing by 2^k is exact in floating point), to rounding otherwise. Sum at the
same ``lr`` takes B-times larger steps. With weight decay the equivalence needs
``weight_decay * B`` for the summed run, which the experiment applies.

It runs the library's own loss and model (``MSELoss``, ``LinearRegression``,
``model.backward``, ``SGD``), not a fused shortcut: the identity is about them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._argcheck import (
    check_dtype,
    check_int,
    check_learning_rate,
    check_memory,
    check_real,
    check_seed,
    check_work,
)
from ..backend import get_backend
from ..batching import epoch_orders
from ..data import make_linear_regression
from ..losses import MSELoss
from ..models import LinearRegression
from ..vectorized import fit_runs
from ._results import check_noise, max_abs_diff, readonly

__all__ = ["SumVsMeanResult", "sum_vs_mean"]


def _flat_trajectory(traj) -> np.ndarray:
    """``{"W": (1, T+1, D, O), "b": (1, T+1, O)}`` -> ``(T+1, D*O + O)`` host float64."""
    W, b = traj["W"][0], traj["b"][0]
    return np.concatenate([W.reshape(W.shape[0], -1), b.reshape(b.shape[0], -1)], axis=1).astype(
        np.float64
    )


@dataclass(frozen=True)
class SumVsMeanResult:
    """Three trajectories of one linear regression (host NumPy arrays, read-only).

    ``T`` updates, ``P = n_features + 1`` parameters (weights, then bias).

    - ``params_mean``, ``params_sum_same_lr``, ``params_sum_scaled`` (T+1, P):
      parameters before every update and after the last, for mean at ``lr``, sum
      at ``lr`` and sum at ``lr / batch_size`` (with ``weight_decay * batch_size``).
    - ``loss_mean``, ``loss_sum_same_lr``, ``loss_sum_scaled`` (T,): each
      update's mini-batch loss per example (sum-reduced values divided by the
      batch size, so the three are on one scale).
    - ``epoch_loss_mean``, ``epoch_loss_sum_same_lr``, ``epoch_loss_sum_scaled``
      (E,): per-example training-set loss at the end of each epoch.
    - ``max_deviation``: max |params_mean - params_sum_scaled| over the whole
      trajectory (0.0 for a power-of-two batch size); ``bitwise_equal``: whether
      the two trajectories are identical bit for bit.
    - ``max_deviation_same_lr``: the same against sum at ``lr`` (large, or inf
      when that run overflowed).
    - ``diverged``: dict run name -> None or message, names ``"mean"``,
      ``"sum_same_lr"``, ``"sum_scaled"``. A run diverges when its loss becomes
      NaN/inf or grows past ``divergence_factor`` times its start (see
      :func:`~losskit.vectorized.fit_runs`): with the defaults, sum at the
      same lr does. It is marked, not stopped (its arrays keep growing).
    - ``power_of_two``: whether ``batch_size`` is a power of two.

    Parameters echoed: ``batch_size``, ``lr``, ``weight_decay``, ``epochs``,
    ``n_samples``, ``n_features``, ``noise``, ``drop_last``, ``dtype``,
    ``backend``, ``seed``.
    """

    params_mean: np.ndarray
    params_sum_same_lr: np.ndarray
    params_sum_scaled: np.ndarray
    loss_mean: np.ndarray
    loss_sum_same_lr: np.ndarray
    loss_sum_scaled: np.ndarray
    epoch_loss_mean: np.ndarray
    epoch_loss_sum_same_lr: np.ndarray
    epoch_loss_sum_scaled: np.ndarray
    max_deviation: float
    bitwise_equal: bool
    max_deviation_same_lr: float
    diverged: dict
    power_of_two: bool
    batch_size: int
    lr: float
    weight_decay: float
    epochs: int
    n_samples: int
    n_features: int
    noise: float
    drop_last: bool
    dtype: str
    backend: str
    seed: int


def sum_vs_mean(
    batch_size=32,
    lr=0.05,
    epochs=3,
    n_samples=512,
    *,
    n_features=1,
    noise=0.5,
    weight_decay=0.0,
    drop_last=True,
    backend="auto",
    dtype=None,
    seed=0,
) -> SumVsMeanResult:
    """Mean at ``lr`` vs sum at ``lr`` vs sum at ``lr / B``; see :class:`SumVsMeanResult`.

    ``seed`` seeds the data, the initialisation and the sample order (shared by
    the three runs). ``drop_last=True`` (the default) skips a short last batch:
    with ``drop_last=False`` and ``n_samples`` not a multiple of ``batch_size``
    that batch breaks the equivalence (sum at ``lr / B`` then takes a smaller
    step than the mean on it), which is lesson 5's last point. A learning
    rate that makes a run diverge is reported in ``diverged``, not raised.
    """
    where = "sum_vs_mean"
    seed = check_seed(seed, "seed", where)
    n = check_int(n_samples, "n_samples", where, minimum=1)
    B = check_int(batch_size, "batch_size", where, minimum=1, maximum=n)
    lr = check_learning_rate(lr, "lr", where)
    epochs = check_int(epochs, "epochs", where, minimum=1)
    d = check_int(n_features, "n_features", where, minimum=1)
    fix = "lower epochs, n_samples or n_features."
    check_memory(epochs * n, 8, "the sample orders", where, fix=fix)
    check_work(3 * epochs * n * d, "3 runs x epochs x samples x features", where, fix=fix)
    noise = check_noise(noise, where)
    wd = check_real(weight_decay, "weight_decay", where, minimum=0.0)
    be = get_backend(backend)
    dt, dtype_name = check_dtype(dtype, "dtype", where, backend=be)
    X, y = make_linear_regression(n, d, noise=noise, seed=seed, backend=be, dtype=dt)
    orders = epoch_orders([seed], n, epochs, backend=be)

    def run(reduction, step_lr, step_wd):
        return fit_runs(
            lambda s: LinearRegression(d, seed=s, backend=be, dtype=dt),
            MSELoss(reduction=reduction),
            X,
            y,
            seeds=[int(seed)],
            batch_size=B,
            lr=step_lr,
            epochs=epochs,
            weight_decay=step_wd,
            drop_last=drop_last,
            validation_data=(X, y),
            orders=orders,
            record_params=True,
            fused=False,
        )

    mean = run("mean", lr, wd)
    same = run("sum", lr, wd)
    scaled = run("sum", lr / B, wd * B)
    sizes = mean.batch_size.astype(np.float64)

    def per_example(r):
        with np.errstate(invalid="ignore", over="ignore"):
            return r.batch_loss[0] if r.reduction == "mean" else r.batch_loss[0] / sizes

    p_mean = _flat_trajectory(mean.params_trajectory)
    p_same = _flat_trajectory(same.params_trajectory)
    p_scaled = _flat_trajectory(scaled.params_trajectory)
    return SumVsMeanResult(
        params_mean=readonly(p_mean),
        params_sum_same_lr=readonly(p_same),
        params_sum_scaled=readonly(p_scaled),
        loss_mean=readonly(per_example(mean)),
        loss_sum_same_lr=readonly(per_example(same)),
        loss_sum_scaled=readonly(per_example(scaled)),
        epoch_loss_mean=readonly(mean.epoch_val_loss[0]),
        epoch_loss_sum_same_lr=readonly(same.epoch_val_loss[0]),
        epoch_loss_sum_scaled=readonly(scaled.epoch_val_loss[0]),
        max_deviation=max_abs_diff(p_mean, p_scaled),
        bitwise_equal=bool(np.array_equal(p_mean, p_scaled)),
        max_deviation_same_lr=max_abs_diff(p_mean, p_same),
        diverged={
            "mean": mean.diverged[0],
            "sum_same_lr": same.diverged[0],
            "sum_scaled": scaled.diverged[0],
        },
        power_of_two=(B & (B - 1)) == 0,
        batch_size=B,
        lr=lr,
        weight_decay=wd,
        epochs=epochs,
        n_samples=n,
        n_features=d,
        noise=noise,
        drop_last=bool(drop_last),
        dtype=dtype_name,
        backend=be.name,
        seed=int(seed),
    )
