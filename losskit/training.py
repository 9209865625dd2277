"""What :func:`~losskit.fit` and :func:`~losskit.fit_runs` share: settings, checks, divergence.

- :class:`TrainConfig`: the settings of one training call, checked once and frozen;
  ``fit``, ``fit_runs`` and the batched runners all read them from it.
- :func:`check_loss`, :func:`check_data`, :func:`check_validation_data`: what both
  refuse before any update (a ``TypeError``/``ValueError`` saying what to change).
- The divergence rule, one for both: an update has diverged when its training loss
  *per example* (the mean, or the sum divided by the update's examples) is NaN/inf,
  or exceeds ``divergence_factor`` times the initial model's loss per example on the
  whole training set, plus a floor (:func:`divergence_limit`, :func:`diverged_mask`).
  A too-large learning rate makes the loss grow geometrically; in float64 it can
  climb to 1e300 and stay finite for hundreds of updates, so NaN alone is not
  enough. The reference is the whole training set, not the first batch (a batch of
  one can have a loss near 0 by chance). A healthy run does not raise its loss a
  millionfold (the default factor), not even one-example SGD: one example's loss
  is at most N times the training-set loss at the same weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import array_api_compat

from ._argcheck import check_bool, check_int, check_real, check_work
from ._arraycheck import namespace
from .backend import backend_of, quiet
from .batching import batch_plan
from .optim import SGD

__all__ = [
    "DIVERGENCE_FACTOR",
    "DIVERGENCE_FLOOR",
    "TrainConfig",
    "check_data",
    "check_divergence_factor",
    "check_loss",
    "check_validation_data",
    "diverged_mask",
    "divergence_limit",
    "divergence_message",
]

#: Default ``divergence_factor``: a run whose loss per example grows this many
#: times over the initial one has diverged.
DIVERGENCE_FACTOR = 1e6
#: Added to the initial loss per example before multiplying by the factor, so an
#: initial loss near 0 (a model that starts at the answer) does not make every
#: later loss count as a blow-up. A floor only delays detection (never causes it).
DIVERGENCE_FLOOR = 1e-3


@dataclass(frozen=True)
class TrainConfig:
    """The checked settings of one ``fit`` or ``fit_runs`` call (Python scalars and tuples).

    ``batch_sizes`` is one epoch's plan, e.g. ``(4, 4, 2)`` for N=10, B=4
    (:func:`~losskit.batching.batch_plan`); ``reduction`` is the loss's. The seeds
    are not settings: ``fit`` and ``fit_runs`` take them beside.
    """

    reduction: str
    n_samples: int
    batch_size: int
    batch_sizes: tuple
    lr: float
    epochs: int
    momentum: float = 0.0
    weight_decay: float = 0.0
    shuffle: bool = True
    drop_last: bool = False
    accumulation_steps: int = 1
    divergence_factor: float | None = DIVERGENCE_FACTOR

    @classmethod
    def check(
        cls,
        loss,
        where: str,
        *,
        n_samples: int,
        batch_size,
        lr,
        epochs,
        momentum=0.0,
        weight_decay=0.0,
        shuffle=True,
        drop_last=False,
        accumulation_steps=1,
        divergence_factor=DIVERGENCE_FACTOR,
    ) -> TrainConfig:
        """Every setting checked (messages name ``where``), or ``TypeError``/``ValueError``."""
        reduction = check_loss(loss, where)
        sgd = SGD(lr, momentum=momentum, weight_decay=weight_decay)  # its checks
        drop_last = check_bool(drop_last, "drop_last", where)
        plan = batch_plan(n_samples, batch_size, drop_last, where)
        epochs = check_int(epochs, "epochs", where, minimum=1)
        check_work(  # before the first epoch: a typo such as epochs=10**12 fails, not hangs
            epochs * int(n_samples),
            "epochs x n_samples",
            where,
            fix=f"lower epochs (got {epochs}) or use fewer samples.",
        )
        return cls(
            reduction=reduction,
            n_samples=int(n_samples),
            batch_size=plan[0],
            batch_sizes=plan,
            lr=sgd.lr,
            epochs=epochs,
            momentum=sgd.momentum,
            weight_decay=sgd.weight_decay,
            shuffle=check_bool(shuffle, "shuffle", where),
            drop_last=drop_last,
            accumulation_steps=check_int(
                accumulation_steps, "accumulation_steps", where, minimum=1
            ),
            divergence_factor=check_divergence_factor(divergence_factor, where=where),
        )

    @property
    def per_update(self) -> int:
        """Examples behind one (full) update: ``batch_size`` times the accumulation steps."""
        return min(self.batch_size * self.accumulation_steps, self.n_samples)

    def optimizer(self) -> SGD:
        """A fresh :class:`~losskit.optim.SGD` with these settings."""
        return SGD(self.lr, momentum=self.momentum, weight_decay=self.weight_decay)

    def limit(self, initial: float) -> float:
        """:func:`divergence_limit` of a run whose initial loss per example is ``initial``."""
        return divergence_limit(initial, self.divergence_factor)

    def divergence_message(self, what, value, *, update, epoch, initial=math.nan, **kw) -> str:
        """:func:`divergence_message` with this call's lr, batch size, reduction and factor."""
        return divergence_message(
            what,
            value,
            update=update,
            epoch=epoch,
            lr=self.lr,
            batch_size=self.batch_size,
            reduction=self.reduction,
            initial=initial,
            factor=self.divergence_factor,
            per_update=self.per_update,
            **kw,
        )


# ---- checks before any update -----------------------------------------------------------


def check_loss(loss, where: str) -> str:
    """The loss's ``reduction`` (``"mean"``, ``"sum"`` or ``"none"``), once ``loss`` is a loss."""
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


def check_data(model, X, y, where: str, name: str = "X"):
    """The namespace of ``X`` and ``y``, once they have matching rows on the model's device."""
    xp = namespace(X, y, where=where, names=(name, "y"))
    if X.ndim == 0 or y.ndim == 0 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"{where}: {name} and its targets must have the same number of rows; got "
            f"{tuple(X.shape)} and {tuple(y.shape)}."
        )
    p = next(iter(model.params.values()))
    same_device = array_api_compat.device(p) == array_api_compat.device(X)
    if array_api_compat.array_namespace(p) is not xp or not same_device:
        raise ValueError(
            f"{where}: the model's parameters live on {backend_of(p)!r} but {name} lives on "
            f"{backend_of(X)!r}; build the model with backend= the data's backend."
        )
    return xp


def check_validation_data(validation_data, model, where: str, evaluate):
    """``(X_val, y_val)``, checked before any training: a pair, rows matching, on the model's
    device, and one trial ``evaluate(X_val, y_val)`` so that a shape that does not fit the
    model or the loss fails now, not after an epoch of updates."""
    if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
        raise TypeError(
            f"{where}: validation_data must be a pair (X_val, y_val); got "
            f"{type(validation_data).__name__}."
        )
    X_val, y_val = validation_data
    check_data(model, X_val, y_val, where, name="X_val")
    try:
        with quiet():
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


# ---- the divergence rule ----------------------------------------------------------------


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

    ``per_example``: losses per example (a 0-d value in ``fit``, the ``(runs,
    updates)`` losses in ``fit_runs``); ``limit``: a Python float or an array
    broadcasting against it, from :func:`divergence_limit`.
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
    """What diverged, when, and what to try.

    ``epoch`` and ``update`` are 0-based indices (as in :class:`~losskit.History`);
    the message counts from 1. ``value``: the loss per example that diverged (NaN/inf,
    or a finite value over the limit), or None when ``what`` (e.g. the predictions)
    has no single value. ``batch_size``: the batch size as set; ``per_update``:
    examples per update (``batch_size`` times the accumulation steps; default
    ``batch_size``), by which the step of a summed loss grows.
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
