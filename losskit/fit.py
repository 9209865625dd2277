"""The training loop: mini-batch SGD with validation, accumulation, early stopping and divergence.

``fit(model, loss, X, y, *, batch_size, lr, epochs, ...)`` runs the loop a
student would write, once, carefully, in three steps: check everything
(:func:`_check`), then epochs (:func:`_epoch`: per update ``out = model.forward(xb)``,
``value, g = loss.value_and_grad(out, yb)``, ``grads = model.backward(xb, g)``,
``SGD.step``; at the epoch's end the validation loss, without any gradient), then
the :class:`History`.

Conventions (each one is a lesson):

- **The reduction comes from the loss.** ``"mean"``: per-example gradients get
  weight 1/B, so learning rates transfer across batch sizes; ``"sum"`` (and
  ``"none"``, whose ``grad`` is that of the sum): the step grows with B.
- **Epoch losses are size-weighted**: the sum of per-example losses over the epoch
  divided by the number of examples (a mean-reduced batch counts ``B`` times, or
  its ``loss.mean_weight`` for class-weighted or ignoring cross-entropy), never the
  mean of batch means, which over-weights a short last batch (N=10, B=4: batches
  of 4, 4, 2). Validation and sum-reduced losses are per example too.
- **Gradient accumulation** (``accumulation_steps=K``): K consecutive micro-batches
  make one update. With a mean-reduced loss micro-batch ``m`` is weighted
  ``n_m / sum(n)`` (its ``mean_weight`` over theirs): exactly the gradient of the
  whole batch even for unequal micro-batches such as 4 + 4 + 2, where dividing each
  mean by K is wrong. An epoch's last group may be short; it is still one update.
- **Divergence** (the rule of :mod:`losskit.training`) stops training and is
  recorded in ``History.diverged``; it never raises. Non-finite predictions and
  validation losses also count.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import array_api_compat

from ._argcheck import _is_real, check_bool, check_int, check_real, check_seed
from ._arraycheck import NonFiniteWarning
from .backend import backend_of, quiet
from .batching import BatchLoader
from .training import (
    DIVERGENCE_FACTOR,
    TrainConfig,
    check_data,
    check_validation_data,
    diverged_mask,
)

__all__ = ["EarlyStopping", "History", "fit"]


@dataclass(frozen=True)
class History:
    """What one call of :func:`fit` recorded; arrays are host NumPy, epochs 0-based.

    Attributes
    ----------
    batch_loss : float array ``(n_updates,)``
        The loss value each update was computed from, as the loss reduces it
        (a mean, or a sum); with accumulation, that of the whole effective batch.
        NaN for a mean over a batch whose targets carry no weight (all
        ``ignore_index``, or all of zero class weight): as in PyTorch, but not counted
        as divergence, and its gradient is zero (PyTorch's is NaN for zero weights).
        On divergence it ends with the value that diverged (non-finite, or over
        the limit: see ``diverged``).
    batch_size : int array ``(n_updates,)``
        Examples behind each update (a short last batch shows up here).
    epoch_train_loss : float array ``(epochs_run,)``
        Size-weighted: sum of per-example losses / number of examples, over the
        batches of the epoch (taken while the weights moved); batches weighted by
        ``loss.mean_weight`` (class-weighted or ignoring cross-entropy).
    epoch_val_loss : float array ``(epochs_run,)``
        Validation loss per example at the end of each epoch (empty without
        validation data).
    best_epoch : int or None
        Epoch (0-based index into the epoch arrays) with the lowest monitored
        loss: validation if given, else training. None if no epoch finished.
    stopped_epoch : int or None
        Epoch at which early stopping or divergence ended training; None if it
        ran all ``epochs``.
    diverged : str or None
        None, or the message saying where and how training diverged (the loss
        became NaN/inf, or grew more than ``divergence_factor`` times) and what to try.
    epoch_time : float array ``(epochs_run,)``
        Wall-clock seconds since the start, at the end of each epoch.
    restored_best : bool
        Whether the model's weights were reset to those of ``best_epoch``.
    """

    batch_loss: Any
    batch_size: Any
    epoch_train_loss: Any
    epoch_val_loss: Any
    best_epoch: int | None
    stopped_epoch: int | None
    diverged: str | None
    epoch_time: Any
    reduction: str = "mean"
    lr: float = 0.0
    updates_per_epoch: int = 0
    restored_best: bool = False

    @property
    def epochs_run(self) -> int:
        return len(self.epoch_train_loss)

    @property
    def n_updates(self) -> int:
        return len(self.batch_loss)


class EarlyStopping:
    """Stop when the monitored loss has not improved for ``patience`` epochs.

    An epoch improves when its loss is below ``best - min_delta`` (a smaller
    improvement counts as none). With ``restore_best`` the model ends with the
    weights of the best epoch. The validation loss is monitored when ``fit`` has
    validation data, else the epoch training loss. One instance can be reused:
    ``fit`` calls :meth:`reset` first.
    """

    def __init__(self, patience=5, min_delta=0.0, restore_best=True):
        where = "EarlyStopping"
        self.patience = check_int(patience, "patience", where, minimum=1)
        self.min_delta = check_real(min_delta, "min_delta", where, minimum=0.0)
        self.restore_best = check_bool(restore_best, "restore_best", where)
        self.reset()

    def reset(self) -> None:
        self.best = math.inf
        self.best_epoch: int | None = None
        self.best_params: dict | None = None
        self.wait = 0

    def update(self, epoch: int, value: float, params: dict) -> bool:
        """Record epoch ``epoch``'s monitored ``value``; True when training should stop."""
        where = "EarlyStopping.update"
        epoch = check_int(epoch, "epoch", where, minimum=0)
        if not _is_real(value):
            raise TypeError(
                f"{where}: value must be the epoch's monitored loss (a real number); got "
                f"{type(value).__name__} {value!r}. Pass float(loss)."
            )
        value = float(value)  # NaN/inf allowed: a diverged epoch never improves
        if not isinstance(params, dict):
            raise TypeError(
                f"{where}: params must be the model's params dict; got {type(params).__name__}."
            )
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.best_params = value, epoch, dict(params)
            self.wait = 0
            return False
        self.wait += 1
        return self.wait >= self.patience

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta}, "
            f"restore_best={self.restore_best})"
        )


def fit(
    model,
    loss,
    X,
    y,
    *,
    batch_size,
    lr,
    epochs,
    momentum=0.0,
    weight_decay=0.0,
    validation_data=None,
    shuffle=True,
    drop_last=False,
    seed=0,
    accumulation_steps=1,
    early_stopping=None,
    divergence_factor=DIVERGENCE_FACTOR,
    progress=False,
) -> History:
    """Train ``model`` on ``(X, y)`` with mini-batch SGD; returns a :class:`History`.

    Parameters
    ----------
    model : a losskit model (``forward``/``backward``/``params``), updated in place.
    loss : a losskit loss; its ``reduction`` decides mean or sum.
    X, y : arrays with the same number of rows, on the model's backend.
    batch_size : int, ``1 <= batch_size <= N``: samples per (micro-)batch.
    lr : float > 0. momentum, weight_decay : see :class:`~losskit.optim.SGD`.
    epochs : int >= 1, maximum number of passes over the data.
    validation_data : ``(X_val, y_val)`` or None; evaluated once per epoch.
    shuffle, drop_last, seed : see :class:`~losskit.batching.BatchLoader`; the
        same seed gives the same sample order whatever the batch size.
    accumulation_steps : int >= 1, micro-batches per update (size-weighted).
    early_stopping : an :class:`EarlyStopping` or None.
    divergence_factor : float > 1 (default ``1e6``) or None. Training stops as
        diverged when an update's loss per example is NaN/inf or exceeds this
        many times the initial model's training-set loss per example (plus a
        floor of ``1e-3``); None flags only NaN/inf (:mod:`losskit.training`).
    progress : show a ``tqdm.auto`` progress bar over epochs.

    Invalid arguments raise ``TypeError``/``ValueError`` before any training;
    divergence never raises (see ``History.diverged``).
    """
    run = _check(
        model,
        loss,
        X,
        y,
        validation_data,
        seed,
        early_stopping,
        batch_size=batch_size,
        lr=lr,
        epochs=epochs,
        momentum=momentum,
        weight_decay=weight_decay,
        shuffle=shuffle,
        drop_last=drop_last,
        accumulation_steps=accumulation_steps,
        divergence_factor=divergence_factor,
    )
    log = _Log()
    bar = None
    if check_bool(progress, "progress", "fit"):
        from tqdm.auto import tqdm

        bar = tqdm(total=run.cfg.epochs, desc="epochs", unit="epoch", leave=False)
    t0 = time.perf_counter()
    try:
        with quiet(), warnings.catch_warnings():  # divergence is recorded, not warned about
            warnings.simplefilter("ignore", NonFiniteWarning)
            for epoch in range(run.cfg.epochs):
                monitored = _epoch(run, epoch, log)
                if monitored is None:  # diverged
                    log.stopped_epoch = epoch
                    break
                log.epoch_time.append(time.perf_counter() - t0)
                if bar is not None:
                    bar.update(1)
                    val = {"val": f"{log.epoch_val[-1]:.4g}"} if log.epoch_val else {}
                    bar.set_postfix(train=f"{log.epoch_train[-1]:.4g}", **val)
                stopper = run.early_stopping
                if stopper is not None and stopper.update(epoch, monitored, model.params):
                    log.stopped_epoch = epoch
                    break
    finally:
        if bar is not None:
            bar.close()
    return _history(run, log)


# ---- check ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    """What one ``fit`` call works with, all checked: settings, data, optimizer, divergence."""

    cfg: TrainConfig
    xp: Any
    model: Any
    loss: Any
    X: Any
    y: Any
    loader: BatchLoader
    optimizer: Any
    validation: tuple | None
    early_stopping: EarlyStopping | None
    initial: float  # the initial model's training loss per example (NaN if not needed)
    limit: float  # the loss per example beyond which an update has diverged


def _check(model, loss, X, y, validation_data, seed, early_stopping, **settings) -> _Run:
    """Every argument checked, before any update; the initial loss for the divergence rule."""
    where = "fit"
    for attr in ("forward", "backward", "params"):
        if not hasattr(model, attr):
            raise TypeError(
                f"{where}: model must be a losskit model with forward, backward and params; "
                f"got {type(model).__name__} (missing {attr!r})."
            )
    if getattr(model, "n_runs", None) is not None:
        raise ValueError(
            f"{where}: the model holds {model.n_runs} stacked runs; train it with "
            f"losskit.vectorized.fit_runs, or pass model.run(k)."
        )
    xp = check_data(model, X, y, where)
    cfg = TrainConfig.check(loss, where, n_samples=int(X.shape[0]), **settings)
    seed = check_seed(seed, "seed", where, rng_like=True)
    validation = None
    if validation_data is not None:
        validation = check_validation_data(
            validation_data,
            model,
            where,
            lambda Xv, yv: _value_per_example(xp, model, loss, cfg.reduction, Xv, yv),
        )
    if early_stopping is not None and not isinstance(early_stopping, EarlyStopping):
        raise TypeError(
            f"{where}: early_stopping must be an EarlyStopping(...) or None; got "
            f"{type(early_stopping).__name__}."
        )
    loader = BatchLoader(
        X, y, batch_size=cfg.batch_size, shuffle=cfg.shuffle, drop_last=cfg.drop_last, seed=seed
    )
    initial = math.nan
    if cfg.divergence_factor is not None:
        with quiet():
            initial = _value_per_example(xp, model, loss, cfg.reduction, X, y)
    if early_stopping is not None:
        early_stopping.reset()
    return _Run(
        cfg=cfg,
        xp=xp,
        model=model,
        loss=loss,
        X=X,
        y=y,
        loader=loader,
        optimizer=cfg.optimizer(),
        validation=validation,
        early_stopping=early_stopping,
        initial=initial,
        limit=cfg.limit(initial),
    )


# ---- epoch ----------------------------------------------------------------------------------


@dataclass
class _Log:
    """What ``fit`` records as it goes (host Python numbers)."""

    batch_loss: list = field(default_factory=list)
    batch_size: list = field(default_factory=list)
    epoch_train: list = field(default_factory=list)
    epoch_val: list = field(default_factory=list)
    epoch_time: list = field(default_factory=list)
    diverged: str | None = None
    stopped_epoch: int | None = None


def _epoch(run: _Run, epoch: int, log: _Log) -> float | None:
    """One pass over the data, recorded in ``log``: the monitored loss, or None if it diverged."""
    xp, cfg, K = run.xp, run.cfg, run.cfg.accumulation_steps
    values, sizes, weights = [], [], []
    batches = list(run.loader.index_batches())
    for g in range(0, len(batches), K):
        group = batches[g : g + K]
        value, grads, weight, bad = _group_step(run, group)
        total = sum(int(idx.shape[0]) for idx in group)
        values.append(value)
        sizes.append(total)
        weights.append(weight)
        per_example = value if cfg.reduction == "mean" else value / total
        # weight 0: every target ignored; the mean is NaN by definition, not divergence
        if bad is None and weight > 0 and bool(diverged_mask(xp, per_example, run.limit)):
            bad = "the training loss"
        if bad is not None:
            log.diverged = cfg.divergence_message(
                bad,
                float(per_example) if bad == "the training loss" else None,
                update=len(log.batch_loss) + len(values) - 1,
                epoch=epoch,
                initial=run.initial,
            )
            break
        run.optimizer.step(run.model.params, grads)
    host = [float(v) for v in backend_of(run.X).to_host(xp.stack(values))] if values else []
    log.batch_loss.extend(host)
    log.batch_size.extend(sizes)
    if log.diverged is not None:
        return None
    train_loss = _epoch_loss(host, sizes, weights, cfg.reduction)
    monitored = train_loss
    if run.validation is not None:
        val_loss = _value_per_example(xp, run.model, run.loss, cfg.reduction, *run.validation)
        if not math.isfinite(val_loss):
            log.diverged = cfg.divergence_message(
                "the validation loss", val_loss, update=len(log.batch_loss) - 1, epoch=epoch
            )
            return None
        log.epoch_val.append(val_loss)
        monitored = val_loss
    log.epoch_train.append(train_loss)
    return monitored


def _group_step(run: _Run, group):
    """One update's loss value and gradients from the micro-batches in ``group``.

    Returns ``(value, grads, weight, problem)``: ``weight`` is the update's
    ``loss.mean_weight`` (its samples; for class-index cross-entropy the summed
    class weights of the targets kept), ``problem`` names what went non-finite
    (the predictions), else None. For a mean-reduced loss micro-batch ``m`` is
    weighted by ``weight_m / weight``, so the update is that of one batch of all
    ``K`` micro-batches, whatever their sizes, class weights or ignored targets;
    micro-batches of weight 0 (all targets ignored) add nothing. If the whole
    update has weight 0 (every target ignored, or of zero class weight), its value
    is NaN (as PyTorch's mean of nothing) and its gradient is set to zero: there is
    nothing to learn from, and 0/0 must not reach the weights. For sum/none the
    values and gradients add.
    """
    xp, model, loss, reduction = run.xp, run.model, run.loss, run.cfg.reduction
    parts = []
    for idx in group:
        xb = xp.take(run.X, idx, axis=0)
        yb = xp.take(run.y, idx, axis=0)
        out = model.forward(xb)
        if not bool(xp.all(xp.isfinite(out))):
            nan = xp.asarray(math.nan, dtype=out.dtype, device=array_api_compat.device(out))
            return nan, None, 0.0, "the predictions"
        v, g_out = loss.value_and_grad(out, yb)
        if reduction == "none":
            v = xp.sum(v)
        w = _mean_weight(loss, yb) if reduction == "mean" else float(idx.shape[0])
        parts.append((v, model.backward(xb, g_out), w))
    total = sum(w for *_, w in parts)
    if reduction == "mean" and total == 0:
        zeros = {k: xp.zeros_like(gk) for k, gk in parts[0][1].items()}
        return parts[0][0], zeros, total, None
    if reduction == "mean" and len(parts) > 1:
        kept = [(v, g, w / total) for v, g, w in parts if w > 0]
        parts = [(v * f, {k: gk * f for k, gk in g.items()}, f) for v, g, f in kept]
    value, grads = parts[0][0], parts[0][1]
    for v, g, _ in parts[1:]:
        value = value + v
        grads = {k: grads[k] + g[k] for k in grads}
    return value, grads, total, None


def _mean_weight(loss, target) -> float:
    """``loss.mean_weight(target)`` for losskit losses; the rows for any other loss."""
    weigh = getattr(loss, "mean_weight", None)
    return float(target.shape[0]) if weigh is None else weigh(target)


def _epoch_loss(values, sizes, weights, reduction) -> float:
    """The epoch's training loss per example from its updates' values (host floats).

    Mean: the ``mean_weight``-weighted mean of the update means (weight-0 updates, whose
    mean is NaN, count for nothing); sum/none: the summed losses over the examples.
    """
    if reduction != "mean":
        return sum(values) / sum(sizes)
    total = sum(weights)
    if total == 0:
        return math.nan
    return sum(v * w for v, w in zip(values, weights, strict=True) if w > 0) / total


def _value_per_example(xp, model, loss, reduction, X, y) -> float:
    """The loss of ``model`` on ``(X, y)`` per example (no gradient), as a Python float."""
    out = model.forward(X)
    if not bool(xp.all(xp.isfinite(out))):
        return math.nan
    v = loss(out, y)
    if reduction == "none":
        v = xp.sum(v)
    v = float(v)
    return v if reduction == "mean" else v / X.shape[0]


# ---- history --------------------------------------------------------------------------------


def _history(run: _Run, log: _Log) -> History:
    """The :class:`History` of a finished run; restores the best weights if asked to."""
    stopper = run.early_stopping
    monitored = log.epoch_val if run.validation is not None else log.epoch_train
    best_epoch = None
    if stopper is not None and stopper.best_epoch is not None:
        best_epoch = stopper.best_epoch
    elif monitored:
        best_epoch = min(range(len(monitored)), key=monitored.__getitem__)
    restored = (
        stopper is not None
        and stopper.restore_best
        and stopper.best_params is not None
        and log.diverged is None
    )
    if restored:
        run.model.set_params(stopper.best_params)
    be = backend_of(run.X)
    K = run.cfg.accumulation_steps
    return History(
        batch_loss=be.to_host(log.batch_loss).astype(float),
        batch_size=be.to_host(log.batch_size).astype(int),
        epoch_train_loss=be.to_host(log.epoch_train).astype(float),
        epoch_val_loss=be.to_host(log.epoch_val).astype(float),
        best_epoch=best_epoch,
        stopped_epoch=log.stopped_epoch,
        diverged=log.diverged,
        epoch_time=be.to_host(log.epoch_time).astype(float),
        reduction=run.cfg.reduction,
        lr=run.cfg.lr,
        updates_per_epoch=math.ceil(run.loader.n_batches / K),
        restored_best=bool(restored),
    )
