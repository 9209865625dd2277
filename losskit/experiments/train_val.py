"""Lesson 7: training vs validation loss, per batch and per epoch, and early stopping.

A regime that overfits on purpose: ``n_train`` noisy samples of ``sin(pi x)``,
featurised with ``n_centers`` Gaussian bumps evenly spaced on [-1, 1], fitted by
a linear model with mini-batch SGD. By default each bump is one centre spacing
wide, ``2 / (n_centers - 1)``, but never narrower than 0.1 (:data:`MIN_WIDTH`):

- few centres (up to 20) give wide, overlapping bumps: a smooth curve that
  cannot thread the noise, so validation loss levels off instead of turning up
  (2-3 centres are too few even for the sine: they underfit);
- many centres (the default 40) give narrow bumps, more of them than training
  points: training loss keeps falling as the model threads the noise, while
  validation loss (fresh samples of the same curve) falls, bottoms out, then
  turns up.

Early stopping watches the validation loss and keeps the best epoch's weights.

Two trainings from the same seed: one with :class:`~losskit.fit.EarlyStopping`
(``history``) and one running all ``max_epochs`` (``full_*``) to show the curve
beyond the stop. Up to the stop the two are identical (same seed, same steps).
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
from ..data import make_sine, rbf_features
from ..fit import EarlyStopping, History, fit
from ..losses import MSELoss
from ..models import LinearRegression
from ._results import check_noise, readonly

__all__ = ["MIN_WIDTH", "TrainValResult", "rbf_width", "train_val"]

_WHERE = "train_val"
#: the narrowest default bump: about the gap between neighbouring training points
#: (15 on [-1, 1]); with more centres than that the bumps stay this wide and overfit
MIN_WIDTH = 0.1


def rbf_width(n_centers: int) -> float:
    """The default RBF width for ``n_centers`` centres on [-1, 1]: their spacing, at least 0.1.

    One spacing (``2 / (n_centers - 1)``) makes neighbouring bumps overlap into a
    smooth curve, so a model of few centres is smooth; the floor keeps many
    centres narrow (0.1 from 21 centres on), the flexible model that overfits.
    """
    n_centers = check_int(n_centers, "n_centers", "rbf_width", minimum=1)
    return max(2.0 / max(n_centers - 1, 1), MIN_WIDTH)


@dataclass(frozen=True)
class TrainValResult:
    """Per-batch and per-epoch losses, with and without early stopping (host, read-only).

    - ``history``: the :class:`~losskit.fit.History` of the early-stopped run
      (its ``batch_loss``, ``batch_size``, ``epoch_train_loss``,
      ``epoch_val_loss``, ``best_epoch``, ``stopped_epoch``, ``diverged``).
    - ``batch_loss`` (U,), ``batch_size`` (U,), ``epoch_train_loss`` (E,),
      ``epoch_val_loss`` (E,): copies of the history's, for convenience
      (``E = history.epochs_run``, ``U = E * updates_per_epoch``).
    - ``batch_epoch`` (U,) float64: each update's position in epochs (for
      plotting per-batch and per-epoch curves on one axis: update ``i`` of
      epoch ``e`` sits at ``e + (i + 1) / updates_per_epoch``).
    - ``best_epoch``, ``stopped_epoch`` (None if it never stopped).
    - ``diverged``: None, or the message of the run that diverged: the
      early-stopped one (``history.diverged``: the loss became NaN/inf or grew
      past ``divergence_factor``, see :func:`~losskit.fit.fit`), else the full
      run, which can diverge after early stopping ended the other.
    - ``full_epoch_train_loss``, ``full_epoch_val_loss`` (max_epochs,): the same
      run continued to ``max_epochs`` without early stopping (shorter only if it
      diverged).
    - ``x_train``, ``y_train`` (n_train,), ``x_val``, ``y_val`` (n_val,): the points.
    - ``x_grid`` (200,), ``true_curve`` (200,): ``sin(pi x)`` on [-1, 1];
      ``fit_best`` (200,): the early-stopped (restored) model's prediction;
      ``fit_final`` (200,): the full run's final prediction (an overfit when the
      model is flexible enough, see the module docstring).
    - ``max_epochs``, ``updates_per_epoch``, and the parameters ``n_train``,
      ``n_val``, ``noise``, ``n_centers``, ``width`` (the one used),
      ``batch_size``, ``lr``,
      ``patience``, ``min_delta``, ``dtype``, ``backend``, ``seed``.
    """

    history: History
    max_epochs: int
    batch_loss: np.ndarray
    batch_size: np.ndarray
    batch_epoch: np.ndarray
    epoch_train_loss: np.ndarray
    epoch_val_loss: np.ndarray
    best_epoch: int | None
    stopped_epoch: int | None
    diverged: str | None
    full_epoch_train_loss: np.ndarray
    full_epoch_val_loss: np.ndarray
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_grid: np.ndarray
    true_curve: np.ndarray
    fit_best: np.ndarray
    fit_final: np.ndarray
    updates_per_epoch: int
    n_train: int
    n_val: int
    noise: float
    n_centers: int
    width: float
    batch_size_setting: int
    lr: float
    patience: int
    min_delta: float
    dtype: str
    backend: str
    seed: int


def train_val(
    max_epochs=400,
    batch_size=5,
    lr=0.2,
    patience=20,
    *,
    n_train=15,
    n_val=200,
    noise=0.3,
    n_centers=40,
    width=None,
    min_delta=0.0,
    backend="auto",
    dtype=None,
    seed=0,
) -> TrainValResult:
    """Train an overfitting model with validation and early stopping; see the result class.

    ``width``: the bumps' width; ``None`` (default) scales it with the number of
    centres, :func:`rbf_width` (their spacing, at least 0.1: few centres give a
    smooth fit, many overfit); a number fixes it for every ``n_centers``.
    ``seed`` seeds the training points (validation points use ``seed + 1``), the
    initialisation and the sample orders. ``batch_size`` must be 1..``n_train``.
    An ``lr`` that diverges (NaN/inf, or a finite blow-up) is reported in
    ``diverged``, not raised.
    """
    seed = check_seed(seed, "seed", _WHERE)
    max_epochs = check_int(max_epochs, "max_epochs", _WHERE, minimum=1)
    n_train = check_int(n_train, "n_train", _WHERE, minimum=2)
    n_val = check_int(n_val, "n_val", _WHERE, minimum=1)
    B = check_int(batch_size, "batch_size", _WHERE, minimum=1)
    if B > n_train:
        raise ValueError(
            f"{_WHERE}: batch_size {B} is larger than the {n_train} training samples; expected "
            f"1..{n_train}. Use batch_size={n_train} for full-batch training or raise n_train."
        )
    lr = check_learning_rate(lr, "lr", _WHERE)
    patience = check_int(patience, "patience", _WHERE, minimum=1)
    noise = check_noise(noise, _WHERE)
    k = check_int(n_centers, "n_centers", _WHERE, minimum=1)
    rows = n_train + n_val + 200  # training, validation and the 200-point grid
    check_memory(
        rows * k,
        8,
        "the RBF features (n_train + n_val + 200) x n_centers",
        _WHERE,
        fix="lower n_centers, n_train or n_val.",
    )
    check_work(
        2 * max_epochs * (n_train + n_val) * k,
        "2 runs x max_epochs x (n_train + n_val) x n_centers",
        _WHERE,
        fix="lower max_epochs, n_train, n_val or n_centers.",
    )
    if width is None:
        width = rbf_width(k)
    width = check_real(width, "width", _WHERE, minimum=0.0, strict_minimum=True)
    min_delta = check_real(min_delta, "min_delta", _WHERE, minimum=0.0)
    be = get_backend(backend)
    xp = be.xp
    dt, dtype_name = check_dtype(dtype, "dtype", _WHERE, backend=be)

    x_tr, y_tr = make_sine(n_train, noise=noise, seed=seed, backend=be, dtype=dt)
    x_va, y_va = make_sine(n_val, noise=noise, seed=seed + 1, backend=be, dtype=dt)
    F_tr, F_va = rbf_features(x_tr, k, width), rbf_features(x_va, k, width)
    grid_h = np.linspace(-1.0, 1.0, 200)
    grid = be.asarray(grid_h[:, None], dtype=dt)
    F_grid = rbf_features(grid, k, width)

    def make():
        return LinearRegression(k, seed=seed, backend=be, dtype=dt)

    kw = {
        "batch_size": B,
        "lr": lr,
        "epochs": max_epochs,
        "seed": seed,
        "validation_data": (F_va, y_va),
    }
    stopped_model, full_model = make(), make()
    history = fit(
        stopped_model,
        MSELoss(),
        F_tr,
        y_tr,
        early_stopping=EarlyStopping(patience, min_delta, restore_best=True),
        **kw,
    )
    full = fit(full_model, MSELoss(), F_tr, y_tr, **kw)

    diverged = history.diverged
    if diverged is None and full.diverged is not None:
        diverged = (
            f"early stopping ended training after epoch {history.stopped_epoch + 1}, before it "
            f"diverged; continued to max_epochs without it, {full.diverged}"
        )
    u = history.updates_per_epoch
    n_upd = len(history.batch_loss)
    batch_epoch = np.arange(n_upd) // u + (np.arange(n_upd) % u + 1) / u

    def curve(model):
        with np.errstate(over="ignore", invalid="ignore"):
            return be.to_host(xp.reshape(model.forward(F_grid), (-1,))).astype(np.float64)

    def flat(a):
        return be.to_host(xp.reshape(a, (-1,))).astype(np.float64)

    return TrainValResult(
        history=history,
        max_epochs=max_epochs,
        batch_loss=readonly(history.batch_loss),
        batch_size=readonly(history.batch_size),
        batch_epoch=readonly(batch_epoch),
        epoch_train_loss=readonly(history.epoch_train_loss),
        epoch_val_loss=readonly(history.epoch_val_loss),
        best_epoch=history.best_epoch,
        stopped_epoch=history.stopped_epoch,
        diverged=diverged,
        full_epoch_train_loss=readonly(full.epoch_train_loss),
        full_epoch_val_loss=readonly(full.epoch_val_loss),
        x_train=readonly(flat(x_tr)),
        y_train=readonly(flat(y_tr)),
        x_val=readonly(flat(x_va)),
        y_val=readonly(flat(y_va)),
        x_grid=readonly(grid_h),
        true_curve=readonly(np.sin(np.pi * grid_h)),
        fit_best=readonly(curve(stopped_model)),
        fit_final=readonly(curve(full_model)),
        updates_per_epoch=u,
        n_train=n_train,
        n_val=n_val,
        noise=noise,
        n_centers=k,
        width=width,
        batch_size_setting=B,
        lr=lr,
        patience=patience,
        min_delta=min_delta,
        dtype=dtype_name,
        backend=be.name,
        seed=int(seed),
    )
