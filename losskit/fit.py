"""The training loop: mini-batch SGD with validation, accumulation, early stopping and divergence.

``fit(model, loss, X, y, *, batch_size, lr, epochs, ...)`` runs the loop a
student would write, once, carefully:

1. every epoch a :class:`~losskit.batching.BatchLoader` draws a new order
   (seeded) and cuts it into batches (the last one may be short);
2. per update: ``out = model.forward(xb)``, ``value, g = loss.value_and_grad(out, yb)``,
   ``grads = model.backward(xb, g)``, ``SGD.step``; the value is recorded;
3. once per epoch, on the end-of-epoch weights and without any gradient,
   the validation loss.

Conventions (each one is a lesson):

- **The reduction comes from the loss.** ``"mean"``: per-example gradients get
  weight 1/B, so learning rates transfer across batch sizes; ``"sum"`` (and
  ``"none"``, whose ``grad`` is that of the sum): the step grows with B.
- **Epoch losses are size-weighted.** ``epoch_train_loss`` is the sum of
  per-example losses over the epoch divided by the number of examples (for a
  mean-reduced loss each batch value counts ``B`` times; for cross-entropy
  with class weights or ignored targets, its ``loss.mean_weight``), never the
  mean of batch means, which over-weights a short last batch (N=10, B=4:
  batches of 4, 4, 2). ``epoch_val_loss`` is on the same per-example scale. For a
  sum-reduced loss both are divided by the sample count too, so curves from
  the two reductions are comparable.
- **Gradient accumulation** (``accumulation_steps=K``): K consecutive
  micro-batches make one update, the gradient zeroed once per update. With a
  mean-reduced loss each micro-batch is weighted by its size over the total
  count (``n_m / sum(n)``, exactly the gradient of the whole batch even for
  unequal micro-batches such as 4 + 4 + 2); dividing each micro-batch mean by K
  would be wrong whenever the sizes differ. For cross-entropy with class
  weights or ``ignore_index`` the count is what its mean divides by, the kept
  targets' summed weights (``loss.mean_weight``); epoch losses are weighted
  the same way. An epoch's last group may have
  fewer than K micro-batches; it is still one update, with its own count.
- **Divergence** stops training and is recorded in ``History.diverged`` with a
  message; it never raises. NumPy overflow warnings are silenced inside the
  loop for the same reason. The rule (:func:`diverged_mask`, shared with
  :func:`losskit.vectorized.fit_runs`): an update has diverged when its
  training loss *per example* (the mean, or the sum divided by the batch's
  examples) is NaN/inf, or exceeds ``divergence_factor`` times the loss per
  example of the initial model on the whole training set (plus a floor of
  ``1e-3``, so an initial loss near 0 does not make every later loss look
  huge). A too-large learning rate makes the loss grow geometrically; in
  float64 it can climb to 1e300 and stay finite for hundreds of updates, so
  NaN alone is not enough. The reference is the whole training set, not the
  first batch: a batch of one example can have a loss near 0 by chance. A
  healthy run does not raise its loss a millionfold (the default factor
  ``1e6``), not even one-example SGD: one example's loss is at most N times the
  training-set loss at the same weights, and the lessons' noisiest runs stay
  within a few hundred times the start. Non-finite predictions and validation
  losses also count.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import array_api_compat

from ._argcheck import check_int, check_real, check_seed
from ._arraycheck import namespace
from .backend import backend_of, errstate
from .batching import BatchLoader
from .optim import SGD

__all__ = [
    "DIVERGENCE_FACTOR",
    "EarlyStopping",
    "History",
    "check_divergence_factor",
    "divergence_limit",
    "divergence_message",
    "diverged_mask",
    "fit",
    "loss_reduction",
]

_QUIET = {"over": "ignore", "invalid": "ignore", "divide": "ignore", "under": "ignore"}

#: Default ``divergence_factor``: a run whose loss per example grows this many
#: times over the initial one has diverged.
DIVERGENCE_FACTOR = 1e6
#: Added to the initial loss per example before multiplying by the factor, so an
#: initial loss near 0 (a model that starts at the answer) does not make every
#: later loss count as a blow-up. A floor only delays detection (never causes it).
DIVERGENCE_FLOOR = 1e-3


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
        self.restore_best = bool(restore_best)
        self.reset()

    def reset(self) -> None:
        self.best = math.inf
        self.best_epoch: int | None = None
        self.best_params: dict | None = None
        self.wait = 0

    def update(self, epoch: int, value: float, params: dict) -> bool:
        """Record epoch ``epoch``'s monitored ``value``; True when training should stop."""
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


def loss_reduction(loss, where: str = "fit") -> str:
    """The loss's ``reduction`` attribute, checked: ``"mean"``, ``"sum"`` or ``"none"``."""
    if isinstance(loss, type):
        raise TypeError(
            f"{where}: loss must be a loss instance; got the class {loss.__name__}. Did you pass "
            f"the class instead of an instance? Write {loss.__name__}() (with parentheses)."
        )
    if not callable(loss) or not hasattr(loss, "value_and_grad"):
        raise TypeError(
            f"{where}: loss must be a losskit loss such as MSELoss() (callable, with "
            f".value_and_grad); got {type(loss).__name__}. Did you pass the class instead of "
            f"an instance, or a plain function?"
        )
    reduction = getattr(loss, "reduction", None)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(
            f"{where}: loss.reduction must be 'mean', 'sum' or 'none'; got {reduction!r}."
        )
    return reduction


def _check_data(model, X, y, where, name="X"):
    xp = namespace(X, y, where=where)
    if X.ndim == 0 or y.ndim == 0 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"{where}: {name} and its targets must have the same number of rows; got "
            f"{tuple(X.shape)} and {tuple(y.shape)}."
        )
    p = next(iter(model.params.values()))
    if array_api_compat.array_namespace(p) is not xp or array_api_compat.device(
        p
    ) != array_api_compat.device(X):
        raise ValueError(
            f"{where}: the model's parameters live on {backend_of(p)!r} but {name} lives on "
            f"{backend_of(X)!r}; build the model with backend= the data's backend."
        )
    return xp


def check_validation_data(validation_data, model, where, evaluate):
    """``(X_val, y_val)``, checked before any training: a pair, rows matching, on the model's
    device, and one trial ``evaluate(X_val, y_val)`` so that a shape that does not fit the
    model or the loss fails now, not after an epoch of updates."""
    if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
        raise TypeError(
            f"{where}: validation_data must be a pair (X_val, y_val); got "
            f"{type(validation_data).__name__}."
        )
    X_val, y_val = validation_data
    _check_data(model, X_val, y_val, where, name="X_val")
    try:
        with errstate(**_QUIET):
            evaluate(X_val, y_val)
    except (TypeError, ValueError) as exc:
        raise type(exc)(
            f"{where}: validation_data does not fit the model and the loss (checked before "
            f"training): {exc}"
        ) from exc
    return X_val, y_val


def check_divergence_factor(value, name: str = "divergence_factor", where: str = "fit"):
    """``divergence_factor`` checked: None (finite blow-ups not checked) or a float > 1."""
    if value is None:
        return None
    return check_real(
        value,
        name,
        where,
        minimum=1.0,
        strict_minimum=True,
        hint=f"It is how many times the initial loss counts as a blow-up, e.g. "
        f"{DIVERGENCE_FACTOR:g}; pass None to flag only NaN/inf losses.",
    )


def divergence_limit(initial: float, factor) -> float:
    """The loss per example above which a run has diverged: ``factor * (initial + floor)``.

    ``initial`` is the initial model's loss per example on the training set.
    ``math.inf`` (only NaN/inf losses count) when ``factor`` is None or
    ``initial`` is not finite (such a run is caught by the NaN/inf check).
    """
    if factor is None or not math.isfinite(initial):
        return math.inf
    return factor * (abs(initial) + DIVERGENCE_FLOOR)


def diverged_mask(xp, per_example, limit):
    """Where ``per_example`` losses have diverged: NaN/inf, or above ``limit``.

    The one divergence rule of :func:`fit` and :func:`~losskit.vectorized.fit_runs`.
    ``per_example``: an array of losses per example (a 0-d value in ``fit``, the
    ``(runs, updates)`` losses in ``fit_runs``); ``limit``: a Python float or an
    array broadcasting against it, from :func:`divergence_limit`.
    """
    return xp.logical_not(xp.isfinite(per_example)) | (per_example > limit)


def divergence_message(
    what,
    value,
    *,
    update,
    epoch,
    lr,
    batch_size,
    reduction,
    initial=math.nan,
    factor=None,
    prefix="training diverged",
    per_update=None,
) -> str:
    """What diverged, when, and what to try; shared by :func:`fit` and ``fit_runs``.

    ``epoch`` and ``update`` are 0-based indices (as in :class:`History`); the
    message counts from 1. ``value``: the loss per example that diverged (NaN/inf, or a finite value
    over the limit), or None when ``what`` (e.g. the predictions) has no single value.
    ``batch_size``: the batch size as set; ``per_update``: examples per update
    (``batch_size`` times the accumulation steps; default ``batch_size``), by
    which the step of a summed loss grows.
    """
    per_update = batch_size if per_update is None else per_update
    where = f"in epoch {epoch + 1}, update {update + 1}"  # counted from 1, as people count
    if value is None:
        happened = f"{what} became non-finite {where}"
    elif not math.isfinite(value):
        happened = f"{what} became {value} {where}"
    else:
        growth = f"x{value / initial:.2g}, " if initial > 0 else ""
        happened = (
            f"{what} per example grew from {initial:.3g} at the start to {value:.3g} "
            f"({growth}over divergence_factor={factor:g}) {where}"
        )
    fix = f"try lr={lr / 10:g}."
    if reduction != "mean" and per_update > 1:  # at one example per update sum == mean
        fix += (
            f" A summed loss makes the step grow with the batch: reduction='mean' at lr={lr:g}, "
            f"or sum at lr / {per_update} = {lr / per_update:.3g}, takes 1/{per_update} of "
            f"these steps."
        )
    return (
        f"{prefix}: {happened} (lr={lr:g}, batch_size={batch_size}, reduction={reduction!r}). "
        f"The learning rate is too high for this reduction and batch size: {fix}"
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
        floor of ``1e-3``); None flags only NaN/inf. See :func:`diverged_mask`.
    progress : show a ``tqdm.auto`` progress bar over epochs.

    Invalid arguments raise ``TypeError``/``ValueError`` before any training;
    divergence never raises (see ``History.diverged``).
    """
    where = "fit"
    reduction = loss_reduction(loss, where)
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
    xp = _check_data(model, X, y, where)
    optimizer = SGD(lr, momentum=momentum, weight_decay=weight_decay)
    lr = optimizer.lr
    epochs = check_int(epochs, "epochs", where, minimum=1)
    K = check_int(accumulation_steps, "accumulation_steps", where, minimum=1)
    seed = check_seed(seed, "seed", where, rng_like=True)
    if validation_data is not None:
        X_val, y_val = check_validation_data(
            validation_data,
            model,
            where,
            lambda Xv, yv: _per_example_value(xp, model, loss, reduction, Xv, yv),
        )
    if early_stopping is not None and not isinstance(early_stopping, EarlyStopping):
        raise TypeError(
            f"{where}: early_stopping must be an EarlyStopping(...) or None; got "
            f"{type(early_stopping).__name__}."
        )
    factor = check_divergence_factor(divergence_factor, "divergence_factor", where)
    loader = BatchLoader(
        X, y, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed
    )
    be = backend_of(X)
    initial = math.nan
    if factor is not None:
        with errstate(**_QUIET):
            initial = _per_example_value(xp, model, loss, reduction, X, y)
    limit = divergence_limit(initial, factor)
    per_update = min(loader.batch_size * K, int(X.shape[0]))
    if early_stopping is not None:
        early_stopping.reset()

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc="epochs", unit="epoch", leave=False)

    batch_values, batch_sizes = [], []
    epoch_train, epoch_val, epoch_time = [], [], []
    diverged = None
    stopped_epoch = None
    t0 = time.perf_counter()
    n_groups = math.ceil(loader.n_batches / K)
    try:
        with errstate(**_QUIET):
            for epoch in range(epochs):
                values, sizes, weights = [], [], []
                batches = list(loader.index_batches())
                for g in range(n_groups):
                    group = batches[g * K : (g + 1) * K]
                    total = sum(int(idx.shape[0]) for idx in group)
                    value, grads, weight, bad = _group_step(xp, model, loss, reduction, X, y, group)
                    values.append(value)
                    sizes.append(total)
                    weights.append(weight)
                    per_example = value if reduction == "mean" else value / total
                    # weight 0: every target ignored; the mean is NaN by definition, not divergence
                    if bad is None and weight > 0 and bool(diverged_mask(xp, per_example, limit)):
                        bad = "the training loss"
                    if bad is not None:
                        diverged = divergence_message(
                            bad,
                            float(per_example) if bad == "the training loss" else None,
                            update=len(batch_values) + len(values) - 1,
                            epoch=epoch,
                            lr=lr,
                            batch_size=batch_size,
                            reduction=reduction,
                            initial=initial,
                            factor=factor,
                            per_update=per_update,
                        )
                        break
                    optimizer.step(model.params, grads)
                host = [float(v) for v in be.to_host(xp.stack(values))] if values else []
                batch_values.extend(host)
                batch_sizes.extend(sizes)
                if diverged is not None:
                    stopped_epoch = epoch
                    break
                train_loss = _epoch_loss(host, sizes, weights, reduction)
                monitored = train_loss
                if validation_data is not None:
                    val_loss = _per_example_value(xp, model, loss, reduction, X_val, y_val)
                    if not math.isfinite(val_loss):
                        diverged = divergence_message(
                            "the validation loss",
                            val_loss,
                            update=len(batch_values) - 1,
                            epoch=epoch,
                            lr=lr,
                            batch_size=batch_size,
                            reduction=reduction,
                            per_update=per_update,
                        )
                        stopped_epoch = epoch
                        break
                    epoch_val.append(val_loss)
                    monitored = val_loss
                epoch_train.append(train_loss)
                epoch_time.append(time.perf_counter() - t0)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(
                        train=f"{train_loss:.4g}",
                        **({"val": f"{epoch_val[-1]:.4g}"} if epoch_val else {}),
                    )
                if early_stopping is not None and early_stopping.update(
                    epoch, monitored, model.params
                ):
                    stopped_epoch = epoch
                    break
    finally:
        if bar is not None:
            bar.close()

    monitored_curve = epoch_val if validation_data is not None else epoch_train
    best_epoch = None
    if early_stopping is not None and early_stopping.best_epoch is not None:
        best_epoch = early_stopping.best_epoch
    elif monitored_curve:
        best_epoch = min(range(len(monitored_curve)), key=monitored_curve.__getitem__)
    restored = False
    if (
        early_stopping is not None
        and early_stopping.restore_best
        and early_stopping.best_params is not None
        and diverged is None
    ):
        model.set_params(early_stopping.best_params)
        restored = True
    return History(
        batch_loss=be.to_host(batch_values).astype(float),
        batch_size=be.to_host(batch_sizes).astype(int),
        epoch_train_loss=be.to_host(epoch_train).astype(float),
        epoch_val_loss=be.to_host(epoch_val).astype(float),
        best_epoch=best_epoch,
        stopped_epoch=stopped_epoch,
        diverged=diverged,
        epoch_time=be.to_host(epoch_time).astype(float),
        reduction=reduction,
        lr=lr,
        updates_per_epoch=n_groups,
        restored_best=restored,
    )


def _group_step(xp, model, loss, reduction, X, y, group):
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
    parts = []
    for idx in group:
        xb = xp.take(X, idx, axis=0)
        yb = xp.take(y, idx, axis=0)
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


def _per_example_value(xp, model, loss, reduction, X, y) -> float:
    """The loss of ``model`` on ``(X, y)`` per example (no gradient), as a Python float."""
    out = model.forward(X)
    if not bool(xp.all(xp.isfinite(out))):
        return math.nan
    v = loss(out, y)
    if reduction == "none":
        v = xp.sum(v)
    v = float(v)
    return v if reduction == "mean" else v / X.shape[0]
