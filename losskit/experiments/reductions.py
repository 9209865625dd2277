"""Lesson 2: what the reduction does to the loss and to the gradient as the batch grows.

:func:`reductions` scores fixed model outputs (no training) on a seeded dataset
with one of losskit's losses, for each batch size B of a grid, under
``reduction="mean"`` and ``reduction="sum"``, and keeps the ``reduction="none"``
per-sample losses of one batch:

- ``"sum"`` adds B per-sample terms: the loss and the gradient with respect to
  the model's weights grow like B, so a learning rate tuned at one batch size
  takes B-times larger steps at another (it has to shrink by 1/B);
- ``"mean"`` divides the same sum by B: loss and weight gradient stay on one
  scale whatever B is, which is why a learning rate transfers across batch sizes;
- ``"none"`` returns one loss per sample, for weighting, hard-example mining and
  diagnostics: a few corrupted samples ("hard examples") stand out.

Sum and mean of one batch differ by the factor B exactly (to the rounding of one
division; bit for bit when B is a power of two), for the loss and for both
gradients: the experiment measures that identity, it does not assume it.

The model is a losskit linear model with its seeded initialisation (``LinearRegression``
for ``"mse"``, ``"l1"``, ``"huber"``; ``SoftmaxRegression`` for ``"cross_entropy"``;
``LogisticRegression`` for ``"bce_with_logits"``); its outputs on ``X`` are the
predictions. The targets are made from those outputs so that the model is right
about most samples but not all:

- regression: ``y = f - 1 + 0.5 eps`` (the model over-predicts by one: a shared
  error, as early in training); hard samples get ``y = f -+ U(4, 6)`` (outliers);
- cross-entropy: ``y = argmax f`` (right, with low confidence); hard samples get
  ``argmin f`` (the class the model finds least likely: a mislabelled sample);
- BCE with logits: ``y = [f > 0]``; hard samples get the flipped label.

Every value comes from the losses' ``value_and_grad`` and the models'
``backward``; the experiment itself only takes norms and averages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._argcheck import (
    check_choice,
    check_dtype,
    check_int,
    check_int_sequence,
    check_memory,
    check_real,
    check_seed,
    check_work,
)
from ..backend import get_backend
from ..losses import BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss
from ..models import LinearRegression, LogisticRegression, SoftmaxRegression
from ._results import readonly

__all__ = ["LOSSES", "ReductionsResult", "reductions"]

_WHERE = "reductions"

#: loss name -> (loss class, model kind)
LOSSES = {
    "mse": (MSELoss, "regression"),
    "l1": (L1Loss, "regression"),
    "huber": (HuberLoss, "regression"),
    "cross_entropy": (CrossEntropyLoss, "multiclass"),
    "bce_with_logits": (BCEWithLogitsLoss, "binary"),
}

DEFAULT_BATCH_SIZES = tuple(2**k for k in range(11))  # 1, 2, 4, ..., 1024
_SHIFT = 1.0  # regression: the model over-predicts every target by this much
_NOISE = 0.5  # regression: target noise (standard deviation)
_OUTLIER = (4.0, 6.0)  # regression: hard samples are off by this much (either sign)
_LOGIT_SCALE = 3.0  # classification: features scaled so the model is confident (logits ~ 3)


@dataclass(frozen=True)
class ReductionsResult:
    """Loss and gradient norms under ``"mean"`` and ``"sum"`` against batch size (host, read-only).

    Arrays of shape ``(K,)``, one entry per batch size, each an average over
    ``n_draws`` batches of B distinct samples drawn at random (the same batches
    for both reductions):

    - ``batch_sizes`` (int64): the batch sizes B, increasing.
    - ``loss_mean``, ``loss_sum`` (float64): the batch loss under each reduction.
    - ``grad_norm_mean``, ``grad_norm_sum`` (float64): Euclidean norm of the
      gradient with respect to the linear model's parameters (weights and bias
      together, ``n_features * n_outputs + n_outputs`` numbers): the vector the
      learning rate multiplies. Under ``"sum"`` it grows like B once B is past
      the gradient noise scale (lesson 4); below that, single samples disagree
      and it grows more slowly; under ``"mean"`` it levels off.
    - ``pred_grad_norm_mean``, ``pred_grad_norm_sum`` (float64): norm of the
      gradient with respect to the predictions. That vector has one entry per
      sample (times outputs), so its length grows with B: under ``"mean"`` it
      shrinks like 1/sqrt(B), under ``"sum"`` it grows like sqrt(B).
    - ``loss_ratio``, ``grad_ratio``, ``pred_grad_ratio`` (float64): sum over
      mean for each quantity, batch by batch, averaged: B up to rounding.

    The ``"none"`` view, one batch: the first ``none_batch_size`` samples of the
    dataset (which is in random order):

    - ``per_sample_loss`` (none_batch_size,) float64: ``reduction="none"`` losses.
    - ``per_sample_hard`` (none_batch_size,) bool: the sample is a hard one
      (corrupted target, see the module docstring).
    - ``none_loss_mean``, ``none_loss_sum`` (float): the same batch under
      ``"mean"`` and ``"sum"``; ``per_sample_loss`` sums to ``none_loss_sum``
      and averages to ``none_loss_mean`` (to rounding).

    Parameters echoed: ``loss_name``, ``n_samples``, ``n_features``,
    ``n_outputs`` (1 for regression and BCE, the number of classes for
    cross-entropy), ``n_draws``, ``none_batch_size``, ``hard_fraction``,
    ``n_hard`` (hard samples in the whole dataset), ``dtype`` (name of the
    dtype computed in), ``backend`` (name), ``seed``.
    """

    batch_sizes: np.ndarray
    loss_mean: np.ndarray
    loss_sum: np.ndarray
    grad_norm_mean: np.ndarray
    grad_norm_sum: np.ndarray
    pred_grad_norm_mean: np.ndarray
    pred_grad_norm_sum: np.ndarray
    loss_ratio: np.ndarray
    grad_ratio: np.ndarray
    pred_grad_ratio: np.ndarray
    per_sample_loss: np.ndarray
    per_sample_hard: np.ndarray
    none_loss_mean: float
    none_loss_sum: float
    loss_name: str
    n_samples: int
    n_features: int
    n_outputs: int
    n_draws: int
    none_batch_size: int
    hard_fraction: float
    n_hard: int
    dtype: str
    backend: str
    seed: int


def _dataset(kind, n, d, n_classes, hard_fraction, rng, be, dt, seed):
    """Features, targets (on the device), the model, and the hard-sample mask (host)."""
    xp = be.xp
    scale = 1.0 if kind == "regression" else _LOGIT_SCALE
    X = be.asarray(scale * rng.standard_normal((n, d)), dtype=dt)
    if kind == "regression":
        model = LinearRegression(d, seed=seed, backend=be, dtype=dt)
    elif kind == "multiclass":
        model = SoftmaxRegression(d, n_classes, seed=seed, backend=be, dtype=dt)
    else:
        model = LogisticRegression(d, seed=seed, backend=be, dtype=dt)
    f = be.to_host(model.forward(X)).astype(np.float64)
    # evenly spread (every 20th sample at 0.05), so any first-B batch holds its share
    i = np.arange(n)
    hard = np.floor((i + 1) * hard_fraction) > np.floor(i * hard_fraction)
    if kind == "regression":
        y = f - _SHIFT + _NOISE * rng.standard_normal(f.shape)
        sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)[:, None]
        y = np.where(hard[:, None], f + sign * rng.uniform(*_OUTLIER, size=f.shape), y)
        y = be.asarray(y, dtype=dt)
    elif kind == "multiclass":
        y = be.asarray(np.where(hard, np.argmin(f, axis=1), np.argmax(f, axis=1)), dtype=xp.int64)
    else:
        y = be.asarray(np.where(hard, f <= 0, f > 0).astype(np.float64), dtype=dt)
    return X, y, model, hard


def _norm(be, grads) -> float:
    """Euclidean norm of one array or of a dict of arrays taken together (host float)."""
    xp = be.xp
    parts = grads.values() if isinstance(grads, dict) else (grads,)
    return float(np.sqrt(sum(float(be.to_host(xp.sum(g * g))) for g in parts)))


def reductions(
    loss="mse",
    batch_sizes=DEFAULT_BATCH_SIZES,
    n_samples=1024,
    *,
    n_draws=8,
    none_batch_size=64,
    n_features=4,
    n_classes=5,
    hard_fraction=0.05,
    dtype=None,
    backend="auto",
    seed=0,
) -> ReductionsResult:
    """Mean vs sum vs none on fixed predictions, per batch size; see :class:`ReductionsResult`.

    ``loss``: ``"mse"``, ``"l1"``, ``"huber"`` (delta 1), ``"cross_entropy"``
    (``n_classes`` classes) or ``"bce_with_logits"`` (one binary label per
    sample). ``batch_sizes``: ints in 1..``n_samples`` (default 1, 2, 4, ...,
    1024). ``n_draws``: random batches per batch size (their values are
    averaged; at B = ``n_samples`` every draw is the whole dataset).
    ``none_batch_size``: size of the batch whose per-sample losses are kept.
    ``hard_fraction``: share of samples with a corrupted target, in [0, 1).
    ``dtype``: ``"float32"``, ``"float64"`` or None (the backend's default).
    ``seed`` fixes the data, the model, the hard samples and the batches, the
    same on every backend. Defaults run in a few tens of milliseconds on NumPy.
    """
    loss_name = check_choice(loss, "loss", _WHERE, choices=LOSSES)
    n = check_int(n_samples, "n_samples", _WHERE, minimum=1)
    sizes = check_int_sequence(batch_sizes, "batch_sizes", _WHERE, minimum=1, maximum=n)
    sizes = np.unique(np.asarray(sizes, dtype=np.int64))
    draws = check_int(n_draws, "n_draws", _WHERE, minimum=1)
    b0 = check_int(none_batch_size, "none_batch_size", _WHERE, minimum=1, maximum=n)
    d = check_int(n_features, "n_features", _WHERE, minimum=1)
    c = check_int(n_classes, "n_classes", _WHERE, minimum=2)
    hard_fraction = check_real(
        hard_fraction, "hard_fraction", _WHERE, minimum=0.0, maximum=1.0, strict_maximum=True
    )
    seed = check_seed(seed, "seed", _WHERE)
    be = get_backend(backend)
    xp = be.xp
    dt, dtype_name = check_dtype(dtype, "dtype", _WHERE, backend=be)
    fix = "lower n_samples, n_features, n_classes or n_draws."
    check_memory(
        n * d + d * c + draws * n + 6 * len(sizes) * draws,
        8,
        "the data (n_samples x n_features), model and sample orders (n_draws x n_samples)",
        _WHERE,
        fix=fix,
    )
    check_work(
        2 * draws * sum(sizes) * d * c,
        "2 reductions x n_draws x sum(batch_sizes) x n_features x n_classes",
        _WHERE,
        fix=fix,
    )
    loss_cls, kind = LOSSES[loss_name]
    rng = be.rng(seed)
    X, y, model, hard = _dataset(kind, n, d, c, hard_fraction, rng, be, dt, seed)
    by_reduction = {r: loss_cls(reduction=r) for r in ("mean", "sum", "none")}

    def evaluate(idx, reduction):
        """(loss, weight-gradient norm, prediction-gradient norm) of batch ``idx``."""
        xb, yb = xp.take(X, idx, axis=0), xp.take(y, idx, axis=0)
        value, g = by_reduction[reduction].value_and_grad(model.forward(xb), yb)
        return float(be.to_host(value)), _norm(be, model.backward(xb, g)), _norm(be, g)

    k = sizes.size
    stats = {r: np.zeros((3, k, draws)) for r in ("mean", "sum")}
    orders = [rng.permutation(n) for _ in range(draws)]
    for j, size in enumerate(sizes.tolist()):
        for r in range(draws):
            if size == n and r > 0:  # every draw is the whole dataset: the same batch
                for reduction in ("mean", "sum"):
                    stats[reduction][:, j, r] = stats[reduction][:, j, 0]
                continue
            idx = be.asarray(orders[r][:size], dtype=xp.int64)
            for reduction in ("mean", "sum"):
                stats[reduction][:, j, r] = evaluate(idx, reduction)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.mean(stats["sum"] / stats["mean"], axis=2)  # (3, K)
    mean_of = {red: np.mean(s, axis=2) for red, s in stats.items()}  # (3, K) each

    first = be.asarray(np.arange(b0), dtype=xp.int64)
    xb, yb = xp.take(X, first, axis=0), xp.take(y, first, axis=0)
    out = model.forward(xb)
    per_sample = be.to_host(by_reduction["none"](out, yb)).astype(np.float64)
    none_mean = float(be.to_host(by_reduction["mean"](out, yb)))
    none_sum = float(be.to_host(by_reduction["sum"](out, yb)))

    return ReductionsResult(
        batch_sizes=readonly(sizes),
        loss_mean=readonly(mean_of["mean"][0]),
        loss_sum=readonly(mean_of["sum"][0]),
        grad_norm_mean=readonly(mean_of["mean"][1]),
        grad_norm_sum=readonly(mean_of["sum"][1]),
        pred_grad_norm_mean=readonly(mean_of["mean"][2]),
        pred_grad_norm_sum=readonly(mean_of["sum"][2]),
        loss_ratio=readonly(ratios[0]),
        grad_ratio=readonly(ratios[1]),
        pred_grad_ratio=readonly(ratios[2]),
        per_sample_loss=readonly(per_sample.reshape(b0)),
        per_sample_hard=readonly(hard[:b0]),
        none_loss_mean=none_mean,
        none_loss_sum=none_sum,
        loss_name=loss_name,
        n_samples=n,
        n_features=d,
        n_outputs=c if kind == "multiclass" else 1,
        n_draws=draws,
        none_batch_size=b0,
        hard_fraction=hard_fraction,
        n_hard=int(hard.sum()),
        dtype=dtype_name,
        backend=be.name,
        seed=seed,
    )
